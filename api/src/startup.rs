//! Building the application: pools, migrations, state and the HTTP server on its own listener.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::{Compress, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use forum_domain::settings::{Config, Settings};
use forum_domain::store::MIGRATOR;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use utoipa_actix_web::AppExt;

use crate::cache::Cache;
use crate::metrics::Metrics;
use crate::openapi;
use crate::route_table::RouteTable;
use crate::state::AppState;
use crate::tokens::JwtKeys;
use crate::{extract, middleware, routes};

pub struct Application {
    port: u16,
    server: Server,
}

/// The pool the app and workers use: through PgBouncer, connecting lazily so the process
/// starts (and reports not-ready) while the database is down.
pub fn db_pool(settings: &Settings) -> anyhow::Result<PgPool> {
    settings
        .pool(&settings.db.url)
        .context("invalid FORUM_DATABASE_URL")
}

/// Lazy too: Redis being down must not stop the API from serving from Postgres.
pub fn redis_manager(settings: &Settings) -> anyhow::Result<redis::aio::ConnectionManager> {
    let client =
        redis::Client::open(settings.redis.url.as_str()).context("invalid FORUM_REDIS_URL")?;
    let timeout = Duration::from_millis(settings.redis.timeout_ms);
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
        .set_number_of_retries(1);
    redis::aio::ConnectionManager::new_lazy_with_config(client, config)
        .context("redis connection manager")
}

/// Applies pending migrations over the direct URL (PgBouncer's transaction pooling cannot hold
/// the session-level advisory lock sqlx takes while migrating).
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .connect(&settings.db.direct_url)
        .await
        .context("connecting to Postgres directly (FORUM_DATABASE_DIRECT_URL) for migrations")?;
    // Migrations may run long; the role's statement timeout (below) is for the app.
    sqlx::query("SET statement_timeout = 0")
        .execute(&pool)
        .await?;
    MIGRATOR.run(&pool).await.context("applying migrations")?;
    // Every new session of this role gets the timeout, including the ones PgBouncer opens
    // (a startup parameter would not survive transaction pooling). Only when it changes.
    let mut attempt = 0;
    loop {
        match set_role_timeout(&pool, settings.db.statement_timeout_ms).await {
            // Role settings are cluster-wide while advisory locks are per database, so processes
            // on different databases (tests) can still collide on the row; the loser re-reads.
            Err(e) if attempt < 5 && format!("{e:#}").contains("tuple concurrently updated") => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(20 * attempt)).await;
            }
            other => break other?,
        }
    }
    pool.close().await;
    Ok(())
}

async fn set_role_timeout(pool: &sqlx::PgPool, statement_timeout_ms: u64) -> anyhow::Result<()> {
    let wanted = format!("statement_timeout={statement_timeout_ms}ms");
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('forum:role-settings'))")
        .execute(&mut *tx)
        .await?;
    let (current,): (Option<Vec<String>>,) =
        sqlx::query_as("SELECT rolconfig FROM pg_roles WHERE rolname = current_user")
            .fetch_one(&mut *tx)
            .await?;
    if !current.unwrap_or_default().contains(&wanted) {
        let sql =
            format!("ALTER ROLE CURRENT_USER SET statement_timeout = '{statement_timeout_ms}ms'");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await
            .context("setting the statement timeout")?;
    }
    tx.commit().await?;
    Ok(())
}

/// Drops idempotency keys past their 24 h every ten minutes (any API process may do it).
fn spawn_purger(db: PgPool) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(600));
        loop {
            every.tick().await;
            match forum_domain::store::idempotency::purge(&db).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, "idempotency keys purged"),
                Err(e) => tracing::warn!(error = %e, "idempotency purge failed"),
            }
        }
    });
}

/// Creates (or promotes) an admin account; validates like registration. `Ok(true)` if created.
pub async fn ensure_admin(
    db: &PgPool,
    username: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<bool> {
    use forum_domain::rules::validation::{Email, Password, Username};
    let username = Username::parse("username", username)
        .map_err(|e| anyhow::anyhow!("username {}", e.message))?;
    let email = Email::parse("email", email).map_err(|e| anyhow::anyhow!("email {}", e.message))?;
    let password = Password::parse("password", password)
        .map_err(|e| anyhow::anyhow!("password {}", e.message))?;
    let secret = password.as_str().to_string();
    let hash = web::block(move || forum_domain::secrets::hash_password(&secret)).await??;
    let (_, created) =
        forum_domain::store::accounts::ensure_admin(db, username.as_str(), email.as_str(), &hash)
            .await?;
    Ok(created)
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let settings = config.settings.clone();
        if settings.db.migrate_on_start {
            migrate(&settings).await?;
        }
        let doc = openapi::document();
        let passwords = forum_domain::adapters::passwords::Hasher::new(
            std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
        )
        .await?;
        let redis = redis_manager(&settings)?;
        let read_db = match &settings.db.read_url {
            Some(url) => Some(
                settings
                    .pool(url)
                    .context("invalid FORUM_DATABASE_READ_URL")?,
            ),
            None => None,
        };
        let state = web::Data::new(AppState {
            db: db_pool(&settings)?,
            read_db,
            cache: Cache::new(
                redis.clone(),
                &settings.redis.prefix,
                Duration::from_millis(settings.cache.local_ttl_ms),
            ),
            limits: std::sync::Arc::new(crate::limits::Limits::new(&settings, redis.clone())),
            media: forum_domain::adapters::media::store(&config).context("object storage")?,
            redis,
            jwt: JwtKeys::new(&config.jwt_secret, settings.auth.access_token_ttl_secs),
            metrics: Metrics::new()?,
            routes: RouteTable::from_document(&doc),
            openapi_json: serde_json::to_string(&doc)?,
            sessions_seen: crate::state::SessionsSeen::new(
                Duration::from_millis(settings.cache.session_check_ttl_ms),
                crate::state::SESSIONS_SEEN_MAX,
            ),
            passwords,
            config: Arc::new(config),
        });

        spawn_purger(state.db.clone());
        crate::limits::spawn_housekeeping(state.limits.clone());
        if let (Some(username), Some(email), Some(password)) = (
            &settings.auth.bootstrap_admin_username,
            &settings.auth.bootstrap_admin_email,
            &state.config.secrets.bootstrap_admin_password,
        ) {
            use secrecy::ExposeSecret;
            let created = ensure_admin(&state.db, username, email, password.expose_secret())
                .await
                .context("bootstrap admin")?;
            tracing::info!(username, created, "bootstrap admin ensured");
        }

        let listener = TcpListener::bind(&settings.http.addr)
            .with_context(|| format!("binding {}", settings.http.addr))?;
        let port = listener.local_addr()?.port();
        let json_limit = settings.http.json_body_limit_bytes;
        let cors_origins = settings.http.cors_origins.clone();
        let server = HttpServer::new(move || {
            App::new()
                .into_utoipa_app()
                .configure(routes::configure)
                .into_app()
                .app_data(state.clone())
                .app_data(extract::json_config(json_limit))
                .app_data(extract::query_config())
                .app_data(extract::path_config())
                .default_service(web::to(openapi::fallback))
                .wrap(from_fn(crate::middleware::general))
                .wrap(middleware::cors(&cors_origins))
                .wrap(from_fn(middleware::security_headers))
                .wrap(Compress::default())
                .wrap(from_fn(middleware::observe))
        })
        .client_request_timeout(Duration::from_millis(
            settings.http.client_request_timeout_ms,
        ))
        .client_disconnect_timeout(Duration::from_secs(2))
        .shutdown_timeout(10);
        let server = if settings.http.workers > 0 {
            server.workers(settings.http.workers)
        } else {
            server
        };
        let server = server.listen(listener)?.run();
        tracing::info!(port, "listening");
        Ok(Self { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs until the server stops (SIGINT/SIGTERM stop it gracefully).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }

    pub fn into_server(self) -> Server {
        self.server
    }
}
