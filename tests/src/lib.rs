//! Test harness: the real server on a random port, a fresh database per test cloned from a
//! migrated template and reached through PgBouncer, and a per-test Redis key prefix.
//!
//! Services come from the environment the test script exports (`FORUM_DATABASE_URL` through
//! PgBouncer, `FORUM_DATABASE_DIRECT_URL`, `FORUM_REDIS_URL`), with the local defaults otherwise.

use std::time::Duration;

use forum_api::startup::Application;
use forum_domain::settings::{Config, Environment, RateLimits, Settings};
use forum_domain::settings::{DEFAULT_DATABASE_DIRECT_URL, DEFAULT_DATABASE_URL};
use forum_domain::store::MIGRATOR;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, Executor, PgConnection, PgPool};
use tokio::sync::OnceCell;

pub mod wire;

pub use reqwest;
pub use serde_json;

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_string())
}

/// `postgres://…/forum` → `postgres://…/{db}`.
fn with_database(url: &str, db: &str) -> String {
    let (base, _) = url.rsplit_once('/').unwrap_or((url, ""));
    format!("{base}/{db}")
}

struct Services {
    pooled_url: String,
    direct_url: String,
    redis_url: String,
}

fn services() -> Services {
    Services {
        pooled_url: env_or("FORUM_DATABASE_URL", DEFAULT_DATABASE_URL),
        direct_url: env_or("FORUM_DATABASE_DIRECT_URL", DEFAULT_DATABASE_DIRECT_URL),
        redis_url: env_or("FORUM_REDIS_URL", "redis://127.0.0.1:6379"),
    }
}

static TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// The migrated template database, named after the migrations so a changed migration gets a
/// new template. Built once per machine; an advisory lock keeps test processes from racing.
async fn template() -> anyhow::Result<String> {
    TEMPLATE
        .get_or_try_init(|| async {
            let digest: u64 = MIGRATOR.iter().fold(0xcbf29ce484222325, |h, m| {
                m.checksum
                    .iter()
                    .chain(m.version.to_le_bytes().iter())
                    .fold(h, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100000001b3))
            });
            let name = format!("forum_tpl_{digest:016x}");
            let direct = services().direct_url;
            let mut admin = PgConnection::connect(&direct).await?;
            admin.execute("SELECT pg_advisory_lock(4242001)").await?;
            let exists: Option<(i32,)> =
                sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
                    .bind(&name)
                    .fetch_optional(&mut admin)
                    .await?;
            if exists.is_none() {
                let building = format!("{name}_building");
                admin
                    .execute(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"
                    )))
                    .await?;
                admin
                    .execute(sqlx::AssertSqlSafe(format!(
                        "CREATE DATABASE \"{building}\""
                    )))
                    .await?;
                let mut conn = PgConnection::connect(&with_database(&direct, &building)).await?;
                MIGRATOR.run(&mut conn).await?;
                conn.close().await?;
                admin
                    .execute(sqlx::AssertSqlSafe(format!(
                        "ALTER DATABASE \"{building}\" RENAME TO \"{name}\""
                    )))
                    .await?;
            }
            admin.execute("SELECT pg_advisory_unlock(4242001)").await?;
            admin.close().await?;
            Ok(name)
        })
        .await
        .cloned()
}

/// A running app with its own database and Redis prefix. Dropping it drops the database.
pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub client: reqwest::Client,
    /// The test's database, through PgBouncer, for assertions on stored rows.
    pub db: PgPool,
    pub db_name: String,
    /// The stand-in replica's database, when asked for.
    pub replica: Option<String>,
    pub redis_prefix: String,
    pub config: Config,
}

type SettingsTweak = Box<dyn FnOnce(&mut Settings) + Send>;

#[derive(Default)]
pub struct TestAppBuilder {
    tweak: Option<SettingsTweak>,
    redis_url: Option<String>,
    replica: bool,
    bootstrap_admin: Option<(String, String, String)>,
}

async fn clone_template(direct_url: &str, template: &str) -> anyhow::Result<String> {
    let name = format!("forum_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(direct_url).await?;
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""
        )))
        .await?;
    admin.close().await?;
    Ok(name)
}

impl TestAppBuilder {
    /// Gives the app a read pool on a separate database that never receives the app's writes,
    /// standing in for a replica that lags forever.
    /// Changes settings before the app starts (after the test defaults).
    pub fn settings(mut self, tweak: impl FnOnce(&mut Settings) + Send + 'static) -> Self {
        self.tweak = Some(Box::new(tweak));
        self
    }

    /// Sets the `FORUM_BOOTSTRAP_ADMIN_*` settings.
    pub fn bootstrap_admin(mut self, username: &str, email: &str, password: &str) -> Self {
        self.bootstrap_admin = Some((username.into(), email.into(), password.into()));
        self
    }

    pub fn lagging_replica(mut self) -> Self {
        self.replica = true;
        self
    }

    pub fn redis_url(mut self, url: &str) -> Self {
        self.redis_url = Some(url.to_string());
        self
    }

    pub async fn spawn(self) -> TestApp {
        match self.try_spawn().await {
            Ok(app) => app,
            Err(e) => panic!("test app failed to start: {e:#}"),
        }
    }

    async fn try_spawn(self) -> anyhow::Result<TestApp> {
        let services = services();
        let template = template().await?;
        let db_name = clone_template(&services.direct_url, &template).await?;
        let replica = if self.replica {
            Some(clone_template(&services.direct_url, &template).await?)
        } else {
            None
        };

        let redis_prefix = format!("test:{db_name}:");
        let mut settings = Settings {
            env: Environment::Test,
            log_level: "warn".into(),
            ..Settings::default()
        };
        settings.http.addr = "127.0.0.1:0".into();
        settings.http.workers = 1;
        let db = &mut settings.db;
        db.url = with_database(&services.pooled_url, &db_name);
        db.direct_url = with_database(&services.direct_url, &db_name);
        db.max_connections = 10;
        db.read_url = replica
            .as_ref()
            .map(|r| with_database(&services.pooled_url, r));
        // Some tests generate large tables with one statement.
        db.statement_timeout_ms = 60_000;
        settings.redis.url = self.redis_url.unwrap_or(services.redis_url);
        settings.redis.prefix = redis_prefix.clone();
        // Tests send many requests from one address; the limit tests tighten these.
        let unlimited = 1_000_000;
        settings.rate_limits = RateLimits {
            enabled: true,
            ip_per_minute: unlimited,
            user_per_minute: unlimited,
            login_per_minute: unlimited,
            register_per_minute: unlimited,
            register_per_hour: unlimited,
            posts_per_hour: unlimited,
            comments_per_hour: unlimited,
            reports_per_day: unlimited,
            summaries_per_day: unlimited,
            uploads_per_hour: unlimited,
        };
        settings.media.dir = std::env::temp_dir()
            .join("forum-test-media")
            .join(&db_name)
            .to_string_lossy()
            .into_owned();
        // Retries come back quickly; no fixed metrics port (tests run in parallel).
        settings.jobs.backoff_base_ms = 100;
        settings.jobs.backoff_max_secs = 2;
        settings.jobs.metrics_addr = String::new();
        if let Some(tweak) = self.tweak {
            tweak(&mut settings);
        }
        let mut secrets = forum_domain::settings::Secrets::default();
        if let Some((username, email, password)) = self.bootstrap_admin {
            settings.auth.bootstrap_admin_username = Some(username);
            settings.auth.bootstrap_admin_email = Some(email);
            secrets.bootstrap_admin_password = Some(password.into());
        }
        let config = Config::new(settings.clone(), secrets)?;
        let app = Application::build(config.clone()).await?;
        let port = app.port();
        tokio::spawn(app.run_until_stopped());
        let db = PgPoolOptions::new()
            .max_connections(5)
            .connect(&settings.db.url)
            .await?;
        Ok(TestApp {
            address: format!("http://127.0.0.1:{port}"),
            port,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()?,
            db,
            db_name,
            replica,
            redis_prefix,
            config,
        })
    }
}

/// Users made straight in the database, with signed access tokens, for tests that need many
/// (hashing a thousand passwords through the API would dominate the test).
pub async fn bulk_users(app: &TestApp, prefix: &str, n: usize) -> Vec<(uuid::Uuid, String)> {
    let ids: Vec<uuid::Uuid> = (0..n).map(|_| uuid::Uuid::now_v7()).collect();
    let sessions: Vec<uuid::Uuid> = (0..n).map(|_| uuid::Uuid::now_v7()).collect();
    let names: Vec<String> = (0..n).map(|i| format!("{prefix}{i}")).collect();
    let emails: Vec<String> = names.iter().map(|u| format!("{u}@example.com")).collect();
    sqlx::query(
        "INSERT INTO users (id, username, email, password_hash)
         SELECT * , 'x' FROM unnest($1::uuid[], $2::text[], $3::text[])",
    )
    .bind(&ids)
    .bind(&names)
    .bind(&emails)
    .execute(&app.db)
    .await
    .unwrap_or_else(|e| panic!("bulk users: {e}"));
    sqlx::query("INSERT INTO sessions (id, user_id) SELECT * FROM unnest($1::uuid[], $2::uuid[])")
        .bind(&sessions)
        .bind(&ids)
        .execute(&app.db)
        .await
        .unwrap_or_else(|e| panic!("bulk sessions: {e}"));
    let key =
        jsonwebtoken::EncodingKey::from_secret(forum_domain::settings::DEV_JWT_SECRET.as_bytes());
    let now = chrono::Utc::now().timestamp();
    ids.iter()
        .zip(&sessions)
        .map(|(id, sid)| {
            let claims = json!({"sub": id, "sid": sid, "jti": uuid::Uuid::new_v4(), "iat": now, "exp": now + 900, "iss": "forum"});
            let token = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key)
                .unwrap_or_else(|e| panic!("jwt: {e}"));
            (*id, token)
        })
        .collect()
}

/// What a register or login returns, plus the user's password for later logins.
#[derive(Debug, Clone)]
pub struct Session {
    pub username: String,
    pub password: String,
    pub access_token: String,
    pub refresh_token: String,
    pub user: wire::Me,
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder::default()
    }

    pub async fn spawn() -> TestApp {
        Self::builder().spawn().await
    }

    /// A second API process on the same database and Redis prefix (for shared quotas).
    /// Returns its base URL; it lives as long as the test's runtime.
    pub async fn sibling(&self) -> String {
        let mut config = self.config.clone();
        config.settings.http.addr = "127.0.0.1:0".into();
        config.settings.db.migrate_on_start = false;
        let app = Application::build(config)
            .await
            .unwrap_or_else(|e| panic!("sibling: {e:#}"));
        let url = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        url
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut req = self.request(Method::GET, path);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        send(req).await
    }

    pub async fn post(&self, path: &str, body: &Value, token: Option<&str>) -> Response {
        let mut req = self.request(Method::POST, path).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        send(req).await
    }

    pub async fn patch(&self, path: &str, body: &Value, token: &str) -> Response {
        send(
            self.request(Method::PATCH, path)
                .json(body)
                .bearer_auth(token),
        )
        .await
    }

    pub async fn put(&self, path: &str, body: Option<&Value>, token: &str) -> Response {
        let mut req = self.request(Method::PUT, path).bearer_auth(token);
        if let Some(body) = body {
            req = req.json(body);
        }
        send(req).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        send(self.request(Method::DELETE, path).bearer_auth(token)).await
    }

    /// GET that must answer 200 with JSON.
    pub async fn get_json(&self, path: &str, token: Option<&str>) -> Value {
        let res = self.get(path, token).await;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    pub async fn create_community(&self, token: &str, name: &str) -> Value {
        let res = self
            .post(
                "/api/v1/communities",
                &json!({"name": name, "title": format!("The {name} community")}),
                Some(token),
            )
            .await;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(
            status,
            StatusCode::CREATED,
            "create community {name}: {body}"
        );
        body
    }

    pub async fn create_post(
        &self,
        token: &str,
        community: &str,
        title: &str,
        body: &str,
    ) -> Value {
        let res = self
            .post(
                &format!("/api/v1/communities/{community}/posts"),
                &json!({"title": title, "body": body}),
                Some(token),
            )
            .await;
        let status = res.status();
        let json: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(status, StatusCode::CREATED, "create post {title}: {json}");
        json
    }

    /// Registers `username` (email `{username}@example.com`) and returns its session.
    pub async fn register(&self, username: &str) -> Session {
        let password = format!("pw-{username}-secret");
        let res = self
            .post(
                "/api/v1/auth/register",
                &json!({"username": username, "email": format!("{username}@example.com"), "password": password}),
                None,
            )
            .await;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(status, StatusCode::CREATED, "register {username}: {body}");
        session(username, &password, body)
    }

    /// An admin account (made the way `forum-api admin create` does), logged in.
    pub async fn admin(&self, username: &str) -> Session {
        let password = format!("pw-{username}-admin");
        forum_api::startup::ensure_admin(
            &self.db,
            username,
            &format!("{username}@example.com"),
            &password,
        )
        .await
        .unwrap_or_else(|e| panic!("admin: {e}"));
        let res = self.login(username, &password).await;
        let body: Value = res.json().await.unwrap_or(Value::Null);
        session(username, &password, body)
    }

    pub async fn login(&self, login: &str, password: &str) -> Response {
        self.post(
            "/api/v1/auth/login",
            &json!({"login": login, "password": password}),
            None,
        )
        .await
    }

    /// Reads a response that must have `status` as `T`.
    pub async fn expect<T: serde::de::DeserializeOwned>(res: Response, status: StatusCode) -> T {
        let url = res.url().to_string();
        let got = res.status();
        let text = res.text().await.unwrap_or_default();
        assert_eq!(got, status, "{url}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: {e}: {text}"))
    }

    /// GET that must answer 200, read as `T`.
    pub async fn get_as<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&str>,
    ) -> T {
        Self::expect(self.get(path, token).await, StatusCode::OK).await
    }

    /// A post as `token`'s user (or anyone) sees it.
    pub async fn post_view(&self, id: &str, token: Option<&str>) -> wire::Post {
        self.get_as(&format!("/api/v1/posts/{id}"), token).await
    }

    /// `create_post`, read as the post it answers.
    pub async fn create_post_view(
        &self,
        token: &str,
        community: &str,
        title: &str,
        body: &str,
    ) -> wire::Post {
        let json = self.create_post(token, community, title, body).await;
        serde_json::from_value(json.clone()).unwrap_or_else(|e| panic!("created post: {e}: {json}"))
    }

    /// `create_community`, read as the community it answers.
    pub async fn create_community_view(&self, token: &str, name: &str) -> wire::Community {
        let json = self.create_community(token, name).await;
        serde_json::from_value(json.clone())
            .unwrap_or_else(|e| panic!("created community: {e}: {json}"))
    }

    /// A community as `token`'s user (or anyone) sees it.
    pub async fn community(&self, name: &str, token: Option<&str>) -> wire::Community {
        self.get_as(&format!("/api/v1/communities/{name}"), token)
            .await
    }

    /// A user's public profile.
    pub async fn profile(&self, username: &str) -> wire::Profile {
        self.get_as(&format!("/api/v1/users/{username}"), None)
            .await
    }

    /// Casts a vote at `path` (`/api/v1/posts/{id}/vote` or a comment's) that must count.
    pub async fn vote(&self, path: &str, value: i64, token: &str) -> wire::VoteResult {
        Self::expect(
            self.put(path, Some(&json!({"value": value})), token).await,
            StatusCode::OK,
        )
        .await
    }

    /// The account behind `token` (`GET /me`, which must answer 200).
    pub async fn me(&self, token: &str) -> wire::Me {
        self.get_as("/api/v1/me", Some(token)).await
    }

    /// Spends a refresh token.
    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.post(
            "/api/v1/auth/refresh",
            &json!({ "refresh_token": refresh_token }),
            None,
        )
        .await
    }

    /// Outbox payloads of one topic, oldest first.
    pub async fn outbox(&self, topic: &str) -> Vec<Value> {
        forum_domain::store::outbox::pending(&self.db, 1000)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|row| row.topic == topic)
            .map(|row| row.payload)
            .collect()
    }
}

pub fn session(username: &str, password: &str, body: Value) -> Session {
    Session {
        username: username.to_string(),
        password: password.to_string(),
        access_token: body["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        refresh_token: body["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        user: serde_json::from_value(body["user"].clone())
            .unwrap_or_else(|e| panic!("auth response for {username}: {e}: {body}")),
    }
}

async fn send(req: RequestBuilder) -> Response {
    match req.send().await {
        Ok(res) => res,
        Err(e) => panic!("request failed: {e}"),
    }
}

/// Reads a response as a typed problem+json body with `status`.
pub async fn refused(res: Response, status: StatusCode) -> wire::Problem {
    let body = problem(res, status).await;
    serde_json::from_value(body).unwrap_or_else(|e| panic!("problem body: {e}"))
}

/// Reads a response as problem+json and checks its shape.
pub async fn problem(res: Response, status: StatusCode) -> Value {
    assert_eq!(res.status(), status, "unexpected status");
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(
        ct.starts_with("application/problem+json"),
        "content-type {ct}"
    );
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(body["status"], status.as_u16(), "{body}");
    for key in ["type", "title", "detail", "code"] {
        assert!(body[key].is_string(), "problem without {key}: {body}");
    }
    body
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let mut databases = vec![self.db_name.clone()];
        databases.extend(self.replica.clone());
        let prefix = self.redis_prefix.clone();
        let services = services();
        // Drop runs inside the test's runtime, so the cleanup gets a thread and runtime of its own.
        let cleanup = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut admin) = PgConnection::connect(&services.direct_url).await {
                    for db in databases {
                        let sql = format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)");
                        let _ = admin.execute(sqlx::AssertSqlSafe(sql)).await;
                    }
                }
                if let Ok(client) = redis::Client::open(services.redis_url.as_str())
                    && let Ok(mut conn) = client.get_multiplexed_async_connection().await
                {
                    let keys: Vec<String> = redis::cmd("KEYS")
                        .arg(format!("{prefix}*"))
                        .query_async(&mut conn)
                        .await
                        .unwrap_or_default();
                    if !keys.is_empty() {
                        let _: Result<(), _> =
                            redis::cmd("DEL").arg(keys).query_async(&mut conn).await;
                    }
                }
            });
        });
        let _ = cleanup.join();
    }
}

/// `forum-jobs` (relay and workers) running in this test, against the app's database and
/// Redis. Stops when dropped.
pub struct Workers {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Workers {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl TestApp {
    /// Starts the workers; mail goes to the SMTP server on `smtp_port`.
    pub fn workers(&self, smtp_port: u16, redis_url: Option<&str>) -> Workers {
        self.workers_with(smtp_port, redis_url, |_| {})
    }

    /// Starts the workers with some settings changed.
    pub fn workers_with(
        &self,
        smtp_port: u16,
        redis_url: Option<&str>,
        tweak: impl FnOnce(&mut Config),
    ) -> Workers {
        let mut config = self.config.clone();
        config.settings.mail.smtp_url = Some(format!("smtp://127.0.0.1:{smtp_port}"));
        config.settings.jobs.outbox_poll_ms = 50;
        if let Some(url) = redis_url {
            config.settings.redis.url = url.to_string();
        }
        tweak(&mut config);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            if let Err(e) = forum_jobs::run(config, async move {
                let _ = stopped.await;
            })
            .await
            {
                eprintln!("workers stopped: {e:#}");
            }
        });
        Workers { stop: Some(stop) }
    }
}

/// A real SMTP server (aiosmtpd from PyPI) that prints every message it receives.
pub struct SmtpSink {
    pub port: u16,
    child: std::process::Child,
    output: std::sync::Arc<std::sync::Mutex<String>>,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("free port: {e}"));
        let python = env_or("FORUM_PYTHON", "python3");
        let mut child = std::process::Command::new(&python)
            .args([
                "-u",
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{python} -m aiosmtpd ({e}): run ./scripts/test.sh, which installs it")
            });
        let output = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        if let Some(stdout) = child.stdout.take() {
            let sink = output.clone();
            std::thread::spawn(move || {
                use std::io::BufRead;
                for line in std::io::BufReader::new(stdout)
                    .lines()
                    .map_while(Result::ok)
                {
                    if let Ok(mut text) = sink.lock() {
                        text.push_str(&line);
                        text.push('\n');
                    }
                }
            });
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "aiosmtpd did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        SmtpSink {
            port,
            child,
            output,
        }
    }

    /// Everything received so far.
    pub fn text(&self) -> String {
        self.output.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// Waits (polling, with a deadline) until `check` holds for what was received.
    pub async fn wait_for(
        &self,
        what: &str,
        limit: Duration,
        check: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let text = self.text();
            if check(&text) {
                return text;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}; received:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `forum-jobs` as its own process (the real binary's code), so a test can SIGKILL it.
pub struct WorkerProcess {
    child: std::process::Child,
}

impl WorkerProcess {
    /// Sends SIGTERM and waits (up to `limit`) for the process to exit; its exit status.
    pub fn terminate(&mut self, limit: Duration) -> std::process::ExitStatus {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the worker did not exit within {limit:?} of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGKILL: no shutdown, no cleanup, jobs left in flight.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

impl TestApp {
    /// Starts a worker process on this test's database, Redis prefix and media folder.
    /// `exe`: `env!("CARGO_BIN_EXE_forum-jobs-under-test")` (only integration tests see it).
    pub fn worker_process(&self, exe: &str, env: &[(&str, &str)]) -> WorkerProcess {
        let s = &self.config.settings;
        let mut cmd = std::process::Command::new(exe);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("FORUM_ENV", "test")
            .env("FORUM_LOG_LEVEL", "warn")
            .env("FORUM_DATABASE_URL", &s.db.url)
            .env("FORUM_REDIS_URL", &s.redis.url)
            .env("FORUM_REDIS_PREFIX", &s.redis.prefix)
            .env("FORUM_MEDIA_DIR", &s.media.dir)
            .env(
                "FORUM_MAIL_DIR",
                std::env::temp_dir()
                    .join("forum-test-mail")
                    .join(&self.db_name),
            )
            .env("FORUM_OUTBOX_POLL_MS", "50")
            .env("FORUM_JOB_HEARTBEAT_MS", s.jobs.heartbeat_ms.to_string())
            .env("FORUM_JOBS_METRICS_ADDR", "");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting the worker process: {e}"));
        WorkerProcess { child }
    }

    /// A Redis connection, for tests that look at queues directly.
    pub async fn redis(&self) -> redis::aio::ConnectionManager {
        let client = redis::Client::open(self.config.settings.redis.url.as_str()).unwrap();
        redis::aio::ConnectionManager::new(client).await.unwrap()
    }

    /// Sends a multipart upload with `bytes` as the `file` field.
    pub async fn upload(
        &self,
        path: &str,
        token: &str,
        bytes: &[u8],
        key: Option<&str>,
    ) -> Response {
        let boundary = "forum-test-boundary-7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"upload.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let mut req = self
            .request(Method::POST, path)
            .bearer_auth(token)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        send(req).await
    }
}

/// Polls `check` until it returns `Some`, failing the test after `limit`.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
