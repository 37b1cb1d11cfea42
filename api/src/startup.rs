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

/// Applies pending migrations, then gives the application role its statement timeout
/// (`forum-api migrate`: both must succeed).
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    migrate_schema(settings).await?;
    let done = set_app_statement_timeout(settings).await?;
    tracing::debug!(?done, "statement timeout");
    Ok(())
}

/// Applies pending migrations over the direct URL (PgBouncer's transaction pooling cannot hold
/// the session-level advisory lock sqlx takes while migrating).
async fn migrate_schema(settings: &Settings) -> anyhow::Result<()> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .connect(&settings.db.direct_url)
        .await
        .context("connecting to Postgres directly (FORUM_DATABASE_DIRECT_URL) for migrations")?;
    // Migrations may run long: the owner's sessions carry no timeout.
    sqlx::query("SET statement_timeout = 0")
        .execute(&pool)
        .await?;
    MIGRATOR.run(&pool).await.context("applying migrations")?;
    pool.close().await;
    Ok(())
}

/// What `set_app_statement_timeout` did, for the log and the tests.
#[derive(Debug, PartialEq, Eq)]
pub enum TimeoutSetting {
    /// `ALTER ROLE <app role> IN DATABASE <db> SET statement_timeout` ran (or already held).
    Set { role: String, database: String },
    /// The app connects as the database's owner or a superuser: changing that role's default
    /// would reach every tool using it, so nothing was changed.
    SkippedOwner { role: String },
}

/// Every session the application role opens in this database (the ones PgBouncer opens
/// included: a startup parameter would not survive transaction pooling) gets the timeout, and
/// nobody else's: the setting is scoped to the role the pooled URL logs in as *and* to this
/// database, so the owner role (migrations, the generator, psql, backups) is left alone.
pub async fn set_app_statement_timeout(settings: &Settings) -> anyhow::Result<TimeoutSetting> {
    use sqlx::Connection;
    let ms = settings.db.statement_timeout_ms;
    let mut conn = sqlx::PgConnection::connect(&settings.db.url)
        .await
        .context("connecting through FORUM_DATABASE_URL to set the statement timeout")?;
    let mut tx = conn.begin().await?;
    // Two processes starting together would race on the same pg_db_role_setting row.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('forum:role-settings'))")
        .execute(&mut *tx)
        .await?;
    let (role, database, privileged, current): (String, String, bool, Option<String>) =
        sqlx::query_as(
            "SELECT current_user::text, current_database()::text,
                    r.rolsuper OR d.datdba = r.oid,
                    (SELECT c FROM pg_db_role_setting s, unnest(s.setconfig) c
                      WHERE s.setrole = r.oid AND s.setdatabase = d.oid
                        AND c LIKE 'statement_timeout=%')
               FROM pg_roles r, pg_database d
              WHERE r.rolname = current_user AND d.datname = current_database()",
        )
        .fetch_one(&mut *tx)
        .await?;
    if privileged {
        tx.rollback().await?;
        tracing::warn!(
            role,
            database,
            "FORUM_DATABASE_URL logs in as the database owner (or a superuser); its statement \
             timeout is left unset so tools using that role are not cut off. Give the API its \
             own role (see README: database roles)"
        );
        return Ok(TimeoutSetting::SkippedOwner { role });
    }
    if current.as_deref() != Some(&format!("statement_timeout={ms}ms")) {
        // Identifiers cannot be bound; quote_ident makes the database name safe to splice.
        let (quoted,): (String,) = sqlx::query_as("SELECT quote_ident(current_database())")
            .fetch_one(&mut *tx)
            .await?;
        let sql = format!(
            "ALTER ROLE CURRENT_USER IN DATABASE {quoted} SET statement_timeout = '{ms}ms'"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await
            .context("setting the application role's statement timeout")?;
    }
    // This server connection opened before the role setting: give it the value too, since
    // PgBouncer hands it on to the app's next clients.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SET statement_timeout = '{ms}ms'"
    )))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    conn.close().await?;
    Ok(TimeoutSetting::Set { role, database })
}

fn spawn_timeout_setter(settings: Settings) {
    tokio::spawn(async move {
        let mut wait = Duration::from_millis(500);
        loop {
            match set_app_statement_timeout(&settings).await {
                Ok(done) => {
                    tracing::debug!(?done, "statement timeout");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "setting the statement timeout; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(30));
                }
            }
        }
    });
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
            migrate_schema(&settings).await?;
        }
        // Set before serving when it can be; otherwise (PgBouncer not up yet, or migrations run
        // elsewhere) once the database answers, without holding up the start.
        let attempt = tokio::time::timeout(
            Duration::from_millis(settings.db.acquire_timeout_ms),
            set_app_statement_timeout(&settings),
        );
        match attempt
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("timed out")))
        {
            Ok(done) => tracing::debug!(?done, "statement timeout"),
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "statement timeout not set yet; retrying in the background");
                spawn_timeout_setter(settings.clone());
            }
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
