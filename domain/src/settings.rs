//! Settings: built once from defaults, an optional TOML file and `FORUM_*` environment variables.
//!
//! Grouped by what they configure (`db`, `redis`, `http`, `auth`, `cache`, `rate_limits`, `jobs`,
//! `llm`, `mail`, `media`). Each field keeps its flat variable name through `serde(rename)`, so
//! `FORUM_DATABASE_MAX_CONNECTIONS` (or `database_max_connections` in the file) sets
//! `settings.db.max_connections`; the groups are flattened when read.
//!
//! Secrets are read from the environment only; a settings file that names one is refused so
//! that secrets never end up in a file that might be committed. They are listed once, in
//! [`Secrets`].

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// The JWT key used when none is configured. Refused in production.
pub const DEV_JWT_SECRET: &str = "dev-only-insecure-jwt-secret-do-not-use-in-production";

/// Local development: through PgBouncer on 6432 (every query of the API and workers), as the
/// application role `forum_app`, which owns nothing and carries the statement timeout.
pub const DEFAULT_DATABASE_URL: &str = "postgres://forum_app:forum@127.0.0.1:6432/forum";
/// Local development: straight to Postgres as the owner role `forum` (migrations, test
/// databases, the generator).
pub const DEFAULT_DATABASE_DIRECT_URL: &str = "postgres://forum:forum@127.0.0.1:5432/forum";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    #[default]
    Development,
    Test,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Pretty,
}

/// Every non-secret setting, with its default.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub env: Environment,
    pub log_level: String,
    /// Defaults to JSON in production, pretty otherwise.
    pub log_format: Option<LogFormat>,
    #[serde(flatten)]
    pub db: Db,
    #[serde(flatten)]
    pub redis: Redis,
    #[serde(flatten)]
    pub http: Http,
    #[serde(flatten)]
    pub auth: Auth,
    #[serde(flatten)]
    pub cache: Cache,
    #[serde(flatten)]
    pub rate_limits: RateLimits,
    #[serde(flatten)]
    pub jobs: Jobs,
    #[serde(flatten)]
    pub llm: Llm,
    #[serde(flatten)]
    pub mail: Mail,
    #[serde(flatten)]
    pub media: Media,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            env: Environment::Development,
            log_level: "info".into(),
            log_format: None,
            db: Db::default(),
            redis: Redis::default(),
            http: Http::default(),
            auth: Auth::default(),
            cache: Cache::default(),
            rate_limits: RateLimits::default(),
            jobs: Jobs::default(),
            llm: Llm::default(),
            mail: Mail::default(),
            media: Media::default(),
        }
    }
}

/// Postgres.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Db {
    /// Through PgBouncer (transaction pooling): all queries of the API and workers.
    #[serde(rename = "database_url")]
    pub url: String,
    /// Straight to Postgres: migrations and session-level features only.
    #[serde(rename = "database_direct_url")]
    pub direct_url: String,
    #[serde(rename = "database_max_connections")]
    pub max_connections: u32,
    #[serde(rename = "database_acquire_timeout_ms")]
    pub acquire_timeout_ms: u64,
    /// Optional replica for listings and searches; a user's own reads shortly after a write
    /// still go to the primary.
    #[serde(rename = "database_read_url")]
    pub read_url: Option<String>,
    /// How long after a write a user's reads stay on the primary.
    pub read_your_writes_secs: u64,
    /// Postgres `statement_timeout` for the API's queries, so one slow query cannot hold a
    /// connection forever.
    pub statement_timeout_ms: u64,
    /// Apply pending migrations at start (under Postgres' advisory lock).
    pub migrate_on_start: bool,
}

impl Default for Db {
    fn default() -> Self {
        Self {
            url: DEFAULT_DATABASE_URL.into(),
            direct_url: DEFAULT_DATABASE_DIRECT_URL.into(),
            max_connections: 20,
            acquire_timeout_ms: 5_000,
            read_url: None,
            read_your_writes_secs: 5,
            statement_timeout_ms: 5_000,
            migrate_on_start: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Redis {
    #[serde(rename = "redis_url")]
    pub url: String,
    /// Prefix of every Redis key this process writes (tests use one per test).
    #[serde(rename = "redis_prefix")]
    pub prefix: String,
    #[serde(rename = "redis_timeout_ms")]
    pub timeout_ms: u64,
}

impl Default for Redis {
    fn default() -> Self {
        Self {
            url: "redis://127.0.0.1:6379".into(),
            prefix: "forum:".into(),
            timeout_ms: 1_000,
        }
    }
}

/// The HTTP server.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Http {
    /// Address the HTTP server binds; port 0 picks a free one.
    #[serde(rename = "http_addr")]
    pub addr: String,
    /// Worker threads of the HTTP server; 0 means one per core.
    #[serde(rename = "http_workers")]
    pub workers: usize,
    /// Public base URL, used in links sent by email.
    pub public_url: String,
    pub json_body_limit_bytes: usize,
    /// Milliseconds an idle keep-alive or slow client may hold a connection.
    pub client_request_timeout_ms: u64,
    /// Comma-separated proxy addresses or CIDRs whose `X-Forwarded-For`/`Forwarded` is trusted.
    pub trusted_proxies: String,
    /// Comma-separated origins allowed by CORS (the Next.js frontend).
    pub cors_origins: String,
}

impl Default for Http {
    fn default() -> Self {
        Self {
            addr: "127.0.0.1:8080".into(),
            workers: 0,
            public_url: "http://127.0.0.1:8080".into(),
            json_body_limit_bytes: 64 * 1024,
            client_request_timeout_ms: 5_000,
            trusted_proxies: String::new(),
            cors_origins: "http://localhost:3000,http://127.0.0.1:3000".into(),
        }
    }
}

/// Accounts and tokens.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Auth {
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_days: i64,
    pub email_verification_ttl_hours: i64,
    pub password_reset_ttl_minutes: i64,
    /// With `FORUM_BOOTSTRAP_ADMIN_PASSWORD`: an admin account ensured at start.
    pub bootstrap_admin_username: Option<String>,
    pub bootstrap_admin_email: Option<String>,
}

impl Default for Auth {
    fn default() -> Self {
        Self {
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_days: 30,
            email_verification_ttl_hours: 48,
            password_reset_ttl_minutes: 60,
            bootstrap_admin_username: None,
            bootstrap_admin_email: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cache {
    /// Lifetime of a cached anonymous listing page (writes also version it away at once).
    #[serde(rename = "cache_listing_ttl_secs")]
    pub listing_ttl_secs: u64,
    /// Lifetime of a cached post (writes delete it at once).
    #[serde(rename = "cache_post_ttl_secs")]
    pub post_ttl_secs: u64,
    /// How long this process serves an anonymous listing page from its own memory without asking
    /// Redis (0: never). Its own writes clear it at once; another instance's writes show after
    /// at most this long.
    #[serde(rename = "cache_local_ttl_ms")]
    pub local_ttl_ms: u64,
    /// How long this process trusts a session it has checked (0: check on every request).
    /// Logout, bans, role changes and password resets through this process clear it at once;
    /// through another instance they take effect after at most this long.
    pub session_check_ttl_ms: u64,
}

impl Default for Cache {
    fn default() -> Self {
        Self {
            listing_ttl_secs: 30,
            post_ttl_secs: 30,
            local_ttl_ms: 1_000,
            session_check_ttl_ms: 1_000,
        }
    }
}

/// General request budgets (per client IP and per user, in this process) and quotas shared by
/// every API process (Redis GCRA; in-process when Redis is down).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RateLimits {
    /// Rate limits and quotas on (benchmarks switch them off).
    #[serde(rename = "rate_limits_enabled")]
    pub enabled: bool,
    #[serde(rename = "rate_limit_ip_per_minute")]
    pub ip_per_minute: u32,
    #[serde(rename = "rate_limit_user_per_minute")]
    pub user_per_minute: u32,
    #[serde(rename = "quota_login_per_minute")]
    pub login_per_minute: u32,
    #[serde(rename = "quota_register_per_minute")]
    pub register_per_minute: u32,
    #[serde(rename = "quota_register_per_hour")]
    pub register_per_hour: u32,
    #[serde(rename = "quota_posts_per_hour")]
    pub posts_per_hour: u32,
    #[serde(rename = "quota_comments_per_hour")]
    pub comments_per_hour: u32,
    #[serde(rename = "quota_reports_per_day")]
    pub reports_per_day: u32,
    #[serde(rename = "quota_summaries_per_day")]
    pub summaries_per_day: u32,
    #[serde(rename = "quota_uploads_per_hour")]
    pub uploads_per_hour: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            enabled: true,
            ip_per_minute: 300,
            user_per_minute: 600,
            login_per_minute: 5,
            register_per_minute: 5,
            register_per_hour: 10,
            posts_per_hour: 10,
            comments_per_hour: 60,
            reports_per_day: 20,
            summaries_per_day: 50,
            uploads_per_hour: 30,
        }
    }
}

/// The outbox relay and the job queues. Per queue: jobs at once per worker process, seconds
/// one attempt may take, and attempts before a job lands in the dead set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Jobs {
    /// How often the outbox relay looks for rows when idle.
    pub outbox_poll_ms: u64,
    pub email_concurrency: usize,
    pub email_timeout_secs: u64,
    pub email_max_attempts: u32,
    pub images_concurrency: usize,
    pub images_timeout_secs: u64,
    pub images_max_attempts: u32,
    pub summaries_concurrency: usize,
    pub summaries_timeout_secs: u64,
    pub summaries_max_attempts: u32,
    /// The probe queue (a job that only waits; benchmarks and crash tests); 0 = no worker.
    pub probe_concurrency: usize,
    /// Retry backoff: `base * 2^attempt` (± jitter), at most `max`.
    #[serde(rename = "job_backoff_base_ms")]
    pub backoff_base_ms: u64,
    #[serde(rename = "job_backoff_max_secs")]
    pub backoff_max_secs: u64,
    /// Heartbeat of the workers: an idle worker notices new jobs at its next beat.
    #[serde(rename = "job_heartbeat_ms")]
    pub heartbeat_ms: u64,
    /// A worker silent this long is taken for dead; its in-flight jobs are run elsewhere.
    #[serde(rename = "job_orphan_after_secs")]
    pub orphan_after_secs: u64,
    /// How often finished jobs are removed from Redis.
    #[serde(rename = "job_cleanup_interval_secs")]
    pub cleanup_interval_secs: u64,
    /// SIGTERM: how long in-flight jobs may take to finish before they are returned.
    #[serde(rename = "job_shutdown_grace_secs")]
    pub shutdown_grace_secs: u64,
    /// Where `forum-jobs` serves `/metrics` (empty: not served).
    #[serde(rename = "jobs_metrics_addr")]
    pub metrics_addr: String,
}

impl Default for Jobs {
    fn default() -> Self {
        Self {
            outbox_poll_ms: 250,
            email_concurrency: 4,
            email_timeout_secs: 60,
            email_max_attempts: 5,
            images_concurrency: 2,
            images_timeout_secs: 120,
            images_max_attempts: 3,
            summaries_concurrency: 4,
            summaries_timeout_secs: 180,
            summaries_max_attempts: 3,
            probe_concurrency: 0,
            backoff_base_ms: 2_000,
            backoff_max_secs: 900,
            heartbeat_ms: 250,
            orphan_after_secs: 10,
            cleanup_interval_secs: 60,
            shutdown_grace_secs: 30,
            metrics_addr: "127.0.0.1:9091".into(),
        }
    }
}

/// Thread summaries: when they are made, and the LLM providers behind circuit breakers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Llm {
    /// A summary is regenerated once its thread saw this many changes (comments written,
    /// edited or deleted; post edits) ...
    pub summary_regenerate_after_changes: i64,
    /// ... and not more often than this.
    pub summary_min_interval_secs: i64,
    /// A queued request older than this (its job lost) may be queued again.
    pub summary_pending_secs: i64,
    /// Threads are summarized on their own every this many comments (0: never) ...
    pub summary_auto_every_comments: i32,
    /// ... at most this many per hour, site-wide.
    pub summary_auto_per_hour: u32,
    /// Comments read into a summary's input, best first.
    pub summary_max_comments: i64,
    /// Comma-separated providers tried in order: `openai`, `anthropic`, `extractive` (local,
    /// needs no key: keep it last so a summary is always produced). A provider whose API key
    /// (`FORUM_OPENAI_API_KEY`, `FORUM_ANTHROPIC_API_KEY`) is unset is skipped.
    pub summary_providers: String,
    /// Any server speaking OpenAI's chat completions API.
    pub openai_base_url: String,
    pub openai_model: String,
    /// USD per million tokens, for the cost estimate stored with each summary.
    pub openai_price_input_per_mtok: f64,
    pub openai_price_output_per_mtok: f64,
    pub anthropic_base_url: String,
    pub anthropic_model: String,
    pub anthropic_price_input_per_mtok: f64,
    pub anthropic_price_output_per_mtok: f64,
    /// Whole-request timeout of one LLM call; a timeout counts against the provider's breaker.
    #[serde(rename = "llm_timeout_ms")]
    pub timeout_ms: u64,
    /// Output token cap of one summary.
    pub summary_max_tokens: u32,
    /// Characters of thread text (post, then best comments) sent to an LLM.
    pub summary_input_chars: usize,
    /// Length cap of a local extractive summary.
    pub summary_extractive_chars: usize,
    /// Per-provider circuit breaker: opens when, within the window, at least `min_calls` calls
    /// were made and `failure_ratio` of them failed; stays open `open_secs`, then lets
    /// `half_open_probes` trial calls through.
    pub breaker_window_secs: u64,
    pub breaker_min_calls: u32,
    pub breaker_failure_ratio: f64,
    pub breaker_open_secs: u64,
    pub breaker_half_open_probes: u32,
}

impl Default for Llm {
    fn default() -> Self {
        Self {
            summary_regenerate_after_changes: 5,
            summary_min_interval_secs: 600,
            summary_pending_secs: 300,
            summary_auto_every_comments: 25,
            summary_auto_per_hour: 30,
            summary_max_comments: 200,
            summary_providers: "openai,anthropic,extractive".into(),
            openai_base_url: "https://api.openai.com/v1".into(),
            openai_model: "gpt-4o-mini".into(),
            openai_price_input_per_mtok: 0.15,
            openai_price_output_per_mtok: 0.60,
            anthropic_base_url: "https://api.anthropic.com".into(),
            anthropic_model: "claude-haiku-4-5".into(),
            anthropic_price_input_per_mtok: 1.00,
            anthropic_price_output_per_mtok: 5.00,
            timeout_ms: 30_000,
            summary_max_tokens: 400,
            summary_input_chars: 12_000,
            summary_extractive_chars: 900,
            breaker_window_secs: 60,
            breaker_min_calls: 10,
            breaker_failure_ratio: 0.5,
            breaker_open_secs: 60,
            breaker_half_open_probes: 3,
        }
    }
}

/// Outgoing mail.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mail {
    /// SMTP server (`smtp://host:port`, `smtps://host` for TLS); unset: mail is written as
    /// `.eml` files to `mail_dir` (development).
    pub smtp_url: Option<String>,
    pub smtp_username: Option<String>,
    #[serde(rename = "mail_dir")]
    pub dir: String,
    #[serde(rename = "mail_from")]
    pub from: String,
}

impl Default for Mail {
    fn default() -> Self {
        Self {
            smtp_url: None,
            smtp_username: None,
            dir: ".forum/mail".into(),
            from: "Forum <no-reply@forum.localhost>".into(),
        }
    }
}

/// Uploads (post images, avatars) and object storage: a local folder (served by the API under
/// `/media/`) unless `s3_bucket` is set (S3-compatible; credentials `FORUM_S3_ACCESS_KEY_ID` /
/// `FORUM_S3_SECRET_ACCESS_KEY`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Media {
    pub upload_max_bytes: usize,
    #[serde(rename = "media_dir")]
    pub dir: String,
    /// The URL prefix of stored objects in API responses (root-relative or absolute).
    #[serde(rename = "media_url")]
    pub url: String,
    pub s3_bucket: Option<String>,
    pub s3_endpoint: Option<String>,
    pub s3_region: String,
}

impl Default for Media {
    fn default() -> Self {
        Self {
            upload_max_bytes: 10 * 1024 * 1024,
            dir: ".forum/media".into(),
            url: "/media".into(),
            s3_bucket: None,
            s3_endpoint: None,
            s3_region: "us-east-1".into(),
        }
    }
}

/// Declares [`Secrets`] and the list of their keys from one list of names.
macro_rules! secrets {
    ($($(#[$doc:meta])* $name:ident),+ $(,)?) => {
        /// Secrets, from the environment only: field `x` is `FORUM_X`.
        #[derive(Debug, Clone, Default, Deserialize)]
        pub struct Secrets {
            $($(#[$doc])* pub $name: Option<SecretString>,)+
        }

        /// Keys that may only come from the environment.
        const SECRET_KEYS: &[&str] = &[$(stringify!($name)),+];
    };
}

secrets! {
    /// Signs access tokens and mail links; a development key is used when unset (refused in
    /// production).
    jwt_secret,
    smtp_password,
    openai_api_key,
    anthropic_api_key,
    bootstrap_admin_password,
    s3_access_key_id,
    s3_secret_access_key,
}

/// Settings plus secrets: what a process is configured with.
#[derive(Debug, Clone)]
pub struct Config {
    pub settings: Settings,
    pub secrets: Secrets,
    /// The secret in force: `secrets.jwt_secret`, or the development key.
    pub jwt_secret: SecretString,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("invalid settings: {0}")]
    Invalid(String),
    #[error("{0} is a secret: set FORUM_{upper} in the environment, not in a settings file", upper = .0.to_uppercase())]
    SecretInFile(String),
    #[error(
        "refusing to start in production with the development JWT secret: set FORUM_JWT_SECRET (32+ characters)"
    )]
    DefaultSecretInProduction,
}

impl Config {
    /// Defaults, then the file named by `FORUM_CONFIG_FILE` (if any), then `FORUM_*` variables.
    pub fn load() -> Result<Self, SettingsError> {
        let env_only = Figment::from(Env::prefixed("FORUM_"));
        let file: Option<String> = env_only.extract_inner("config_file").ok();
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = file {
            let file = Figment::from(Toml::file_exact(&path));
            if let Some(key) = SECRET_KEYS.iter().find(|k| file.find_value(k).is_ok()) {
                return Err(SettingsError::SecretInFile((*key).to_string()));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        let settings: Settings = figment
            .merge(
                Env::prefixed("FORUM_")
                    .ignore(SECRET_KEYS)
                    .ignore(&["config_file"]),
            )
            .extract()
            .map_err(|e| SettingsError::Invalid(e.to_string()))?;
        let secrets: Secrets = Figment::from(Env::prefixed("FORUM_").only(SECRET_KEYS))
            .extract()
            .map_err(|e| SettingsError::Invalid(e.to_string()))?;
        Self::new(settings, secrets)
    }

    /// Validates a combination of settings and secrets (used by `load` and by tests).
    pub fn new(settings: Settings, secrets: Secrets) -> Result<Self, SettingsError> {
        let jwt_secret = secrets
            .jwt_secret
            .clone()
            .unwrap_or_else(|| SecretString::from(DEV_JWT_SECRET));
        if settings.env == Environment::Production {
            let key = jwt_secret.expose_secret();
            if key == DEV_JWT_SECRET || key.len() < 32 {
                return Err(SettingsError::DefaultSecretInProduction);
            }
        }
        settings.validate()?;
        Ok(Self {
            settings,
            secrets,
            jwt_secret,
        })
    }

    /// Development defaults with no secrets set.
    pub fn development(settings: Settings) -> Result<Self, SettingsError> {
        Self::new(settings, Secrets::default())
    }
}

impl Settings {
    /// Refuses values no deployment means (a zero pool, a zero rate, a ratio past 1) instead of
    /// quietly clamping them later; the message names the variable to fix.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let (db, http, auth, rl, jobs, llm) = (
            &self.db,
            &self.http,
            &self.auth,
            &self.rate_limits,
            &self.jobs,
            &self.llm,
        );
        // Each variable with a value that must be at least 1.
        let positive: [(&str, i128); 38] = [
            ("DATABASE_MAX_CONNECTIONS", db.max_connections.into()),
            ("DATABASE_ACQUIRE_TIMEOUT_MS", db.acquire_timeout_ms.into()),
            ("STATEMENT_TIMEOUT_MS", db.statement_timeout_ms.into()),
            ("REDIS_TIMEOUT_MS", self.redis.timeout_ms.into()),
            ("JSON_BODY_LIMIT_BYTES", http.json_body_limit_bytes as i128),
            (
                "CLIENT_REQUEST_TIMEOUT_MS",
                http.client_request_timeout_ms.into(),
            ),
            ("ACCESS_TOKEN_TTL_SECS", auth.access_token_ttl_secs.into()),
            ("REFRESH_TOKEN_TTL_DAYS", auth.refresh_token_ttl_days.into()),
            (
                "EMAIL_VERIFICATION_TTL_HOURS",
                auth.email_verification_ttl_hours.into(),
            ),
            (
                "PASSWORD_RESET_TTL_MINUTES",
                auth.password_reset_ttl_minutes.into(),
            ),
            ("RATE_LIMIT_IP_PER_MINUTE", rl.ip_per_minute.into()),
            ("RATE_LIMIT_USER_PER_MINUTE", rl.user_per_minute.into()),
            ("QUOTA_LOGIN_PER_MINUTE", rl.login_per_minute.into()),
            ("QUOTA_REGISTER_PER_MINUTE", rl.register_per_minute.into()),
            ("QUOTA_REGISTER_PER_HOUR", rl.register_per_hour.into()),
            ("QUOTA_POSTS_PER_HOUR", rl.posts_per_hour.into()),
            ("QUOTA_COMMENTS_PER_HOUR", rl.comments_per_hour.into()),
            ("QUOTA_REPORTS_PER_DAY", rl.reports_per_day.into()),
            ("QUOTA_SUMMARIES_PER_DAY", rl.summaries_per_day.into()),
            ("QUOTA_UPLOADS_PER_HOUR", rl.uploads_per_hour.into()),
            ("OUTBOX_POLL_MS", jobs.outbox_poll_ms.into()),
            ("EMAIL_CONCURRENCY", jobs.email_concurrency as i128),
            ("EMAIL_TIMEOUT_SECS", jobs.email_timeout_secs.into()),
            ("EMAIL_MAX_ATTEMPTS", jobs.email_max_attempts.into()),
            ("IMAGES_CONCURRENCY", jobs.images_concurrency as i128),
            ("IMAGES_TIMEOUT_SECS", jobs.images_timeout_secs.into()),
            ("IMAGES_MAX_ATTEMPTS", jobs.images_max_attempts.into()),
            ("SUMMARIES_CONCURRENCY", jobs.summaries_concurrency as i128),
            ("SUMMARIES_TIMEOUT_SECS", jobs.summaries_timeout_secs.into()),
            ("SUMMARIES_MAX_ATTEMPTS", jobs.summaries_max_attempts.into()),
            ("JOB_HEARTBEAT_MS", jobs.heartbeat_ms.into()),
            ("JOB_ORPHAN_AFTER_SECS", jobs.orphan_after_secs.into()),
            ("UPLOAD_MAX_BYTES", self.media.upload_max_bytes as i128),
            ("LLM_TIMEOUT_MS", llm.timeout_ms.into()),
            ("SUMMARY_MAX_TOKENS", llm.summary_max_tokens.into()),
            ("BREAKER_WINDOW_SECS", llm.breaker_window_secs.into()),
            ("BREAKER_MIN_CALLS", llm.breaker_min_calls.into()),
            (
                "BREAKER_HALF_OPEN_PROBES",
                llm.breaker_half_open_probes.into(),
            ),
        ];
        let mut bad: Vec<String> = positive
            .iter()
            .filter(|(_, value)| *value < 1)
            .map(|(name, value)| format!("FORUM_{name} must be at least 1 (is {value})"))
            .collect();
        if !(llm.breaker_failure_ratio > 0.0 && llm.breaker_failure_ratio <= 1.0) {
            bad.push(format!(
                "FORUM_BREAKER_FAILURE_RATIO must be in (0, 1] (is {})",
                llm.breaker_failure_ratio
            ));
        }
        if bad.is_empty() {
            Ok(())
        } else {
            Err(SettingsError::Invalid(bad.join("; ")))
        }
    }

    /// The app's pool on `url` (the primary or a replica), sized by these settings.
    pub fn pool(&self, url: &str) -> Result<sqlx::PgPool, sqlx::Error> {
        crate::store::lazy_pool(
            url,
            self.db.max_connections,
            std::time::Duration::from_millis(self.db.acquire_timeout_ms),
        )
    }

    pub fn log_format(&self) -> LogFormat {
        self.log_format.unwrap_or(match self.env {
            Environment::Production => LogFormat::Json,
            _ => LogFormat::Pretty,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn production() -> Settings {
        Settings {
            env: Environment::Production,
            ..Settings::default()
        }
    }

    #[test]
    fn out_of_range_values_are_refused_by_name() {
        let mut s = Settings::default();
        s.db.max_connections = 0;
        s.llm.breaker_failure_ratio = 1.5;
        let err = Config::development(s)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("FORUM_DATABASE_MAX_CONNECTIONS must be at least 1"),
            "{err}"
        );
        assert!(err.contains("FORUM_BREAKER_FAILURE_RATIO"), "{err}");
        assert!(Config::development(Settings::default()).is_ok());
    }

    #[test]
    fn production_refuses_the_default_secret() {
        let err = Config::new(production(), Secrets::default()).unwrap_err();
        assert!(matches!(err, SettingsError::DefaultSecretInProduction));
        let short = Secrets {
            jwt_secret: Some("short".into()),
            ..Secrets::default()
        };
        assert!(Config::new(production(), short).is_err());
    }

    #[test]
    fn production_accepts_a_real_secret() {
        let real = Secrets {
            jwt_secret: Some("x".repeat(48).into()),
            ..Secrets::default()
        };
        assert!(Config::new(production(), real).is_ok());
    }

    #[test]
    fn development_uses_the_dev_secret() {
        let config = Config::development(Settings::default()).unwrap();
        assert_eq!(config.jwt_secret.expose_secret(), DEV_JWT_SECRET);
        assert_eq!(config.settings.log_format(), LogFormat::Pretty);
    }

    #[test]
    #[expect(
        clippy::result_large_err,
        reason = "figment's Jail API fixes the error type"
    )]
    fn env_overrides_and_secret_files_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("FORUM_HTTP_ADDR", "0.0.0.0:9999");
            jail.set_env("FORUM_JWT_SECRET", "from-env");
            let config = Config::load().map_err(|e| e.to_string())?;
            assert_eq!(config.settings.http.addr, "0.0.0.0:9999");
            assert_eq!(config.jwt_secret.expose_secret(), "from-env");

            jail.set_env("FORUM_BOOTSTRAP_ADMIN_USERNAME", "root");
            jail.set_env("FORUM_BOOTSTRAP_ADMIN_PASSWORD", "secret-pw");
            let config = Config::load().map_err(|e| e.to_string())?;
            assert_eq!(
                config.settings.auth.bootstrap_admin_username.as_deref(),
                Some("root")
            );
            assert_eq!(
                config
                    .secrets
                    .bootstrap_admin_password
                    .as_ref()
                    .map(|s| s.expose_secret().to_string())
                    .as_deref(),
                Some("secret-pw")
            );

            jail.create_file("forum.toml", "http_workers = 3\n")?;
            jail.set_env("FORUM_CONFIG_FILE", "forum.toml");
            let config = Config::load().map_err(|e| e.to_string())?;
            assert_eq!(config.settings.http.workers, 3);

            jail.create_file("forum.toml", "jwt_secret = \"oops\"\n")?;
            assert!(matches!(
                Config::load(),
                Err(SettingsError::SecretInFile(_))
            ));
            Ok(())
        });
    }

    /// The grouped fields still answer to their flat variable names, one per group.
    #[test]
    #[expect(
        clippy::result_large_err,
        reason = "figment's Jail API fixes the error type"
    )]
    fn every_group_reads_its_flat_variables() {
        figment::Jail::expect_with(|jail| {
            for (var, value) in [
                ("FORUM_DATABASE_MAX_CONNECTIONS", "7"),
                ("FORUM_DATABASE_READ_URL", "postgres://replica/forum"),
                ("FORUM_REDIS_PREFIX", "t1:"),
                ("FORUM_JSON_BODY_LIMIT_BYTES", "1000"),
                ("FORUM_REFRESH_TOKEN_TTL_DAYS", "3"),
                ("FORUM_CACHE_LOCAL_TTL_MS", "0"),
                ("FORUM_RATE_LIMITS_ENABLED", "false"),
                ("FORUM_QUOTA_POSTS_PER_HOUR", "99"),
                ("FORUM_JOB_HEARTBEAT_MS", "40"),
                ("FORUM_JOBS_METRICS_ADDR", ""),
                ("FORUM_LLM_TIMEOUT_MS", "1500"),
                ("FORUM_MAIL_FROM", "Me <me@example.org>"),
                ("FORUM_MEDIA_URL", "https://cdn.example.org/m"),
                ("FORUM_LOG_LEVEL", "warn"),
            ] {
                jail.set_env(var, value);
            }
            let s = Config::load().map_err(|e| e.to_string())?.settings;
            assert_eq!(s.db.max_connections, 7);
            assert_eq!(s.db.read_url.as_deref(), Some("postgres://replica/forum"));
            assert_eq!(s.redis.prefix, "t1:");
            assert_eq!(s.http.json_body_limit_bytes, 1000);
            assert_eq!(s.auth.refresh_token_ttl_days, 3);
            assert_eq!(s.cache.local_ttl_ms, 0);
            assert!(!s.rate_limits.enabled);
            assert_eq!(s.rate_limits.posts_per_hour, 99);
            assert_eq!(s.jobs.heartbeat_ms, 40);
            assert_eq!(s.jobs.metrics_addr, "");
            assert_eq!(s.llm.timeout_ms, 1500);
            assert_eq!(s.mail.from, "Me <me@example.org>");
            assert_eq!(s.media.url, "https://cdn.example.org/m");
            assert_eq!(s.log_level, "warn");
            // Untouched values keep their defaults.
            assert_eq!(s.redis.url, Redis::default().url);
            Ok(())
        });
    }

    #[test]
    fn every_secret_is_a_key_of_its_own() {
        assert_eq!(SECRET_KEYS.len(), 7);
        assert!(SECRET_KEYS.contains(&"jwt_secret"));
        assert!(SECRET_KEYS.contains(&"s3_secret_access_key"));
    }

    #[test]
    #[expect(
        clippy::result_large_err,
        reason = "figment's Jail API fixes the error type"
    )]
    fn llm_settings_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            let config = Config::load().map_err(|e| e.to_string())?;
            assert_eq!(
                config.settings.llm.summary_providers,
                "openai,anthropic,extractive"
            );
            assert_eq!(config.settings.llm.breaker_failure_ratio, 0.5);
            jail.set_env("FORUM_SUMMARY_PROVIDERS", "anthropic,extractive");
            jail.set_env("FORUM_BREAKER_FAILURE_RATIO", "0.25");
            jail.set_env("FORUM_LLM_TIMEOUT_MS", "1500");
            jail.set_env("FORUM_OPENAI_PRICE_INPUT_PER_MTOK", "2.5");
            jail.set_env("FORUM_ANTHROPIC_API_KEY", "sk-ant-from-env");
            let config = Config::load().map_err(|e| e.to_string())?;
            assert_eq!(
                config.settings.llm.summary_providers,
                "anthropic,extractive"
            );
            assert_eq!(config.settings.llm.breaker_failure_ratio, 0.25);
            assert_eq!(config.settings.llm.timeout_ms, 1_500);
            assert_eq!(config.settings.llm.openai_price_input_per_mtok, 2.5);
            assert_eq!(
                config
                    .secrets
                    .anthropic_api_key
                    .as_ref()
                    .map(|k| k.expose_secret().to_string())
                    .as_deref(),
                Some("sk-ant-from-env")
            );
            Ok(())
        });
    }
}
