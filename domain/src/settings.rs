//! Settings: built once from defaults, an optional TOML file and `FORUM_*` environment variables.
//!
//! Secrets are read from the environment only; a settings file that names one is refused so
//! that secrets never end up in a file that might be committed.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// The JWT key used when none is configured. Refused in production.
pub const DEV_JWT_SECRET: &str = "dev-only-insecure-jwt-secret-do-not-use-in-production";

/// Keys that may only come from the environment.
const SECRET_KEYS: [&str; 7] = [
    "jwt_secret",
    "smtp_password",
    "openai_api_key",
    "anthropic_api_key",
    "bootstrap_admin_password",
    "s3_access_key_id",
    "s3_secret_access_key",
];

/// Local development: through PgBouncer on 6432 (every query of the API and workers).
pub const DEFAULT_DATABASE_URL: &str = "postgres://forum:forum@127.0.0.1:6432/forum";
/// Local development: straight to Postgres (migrations, test databases, the generator).
pub const DEFAULT_DATABASE_DIRECT_URL: &str = "postgres://forum:forum@127.0.0.1:5432/forum";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
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

/// Every non-secret setting, with its default. Field `x` is set by `FORUM_X`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub env: Environment,
    /// Address the HTTP server binds; port 0 picks a free one.
    pub http_addr: String,
    /// Worker threads of the HTTP server; 0 means one per core.
    pub http_workers: usize,
    /// Public base URL, used in links sent by email.
    pub public_url: String,
    /// Through PgBouncer (transaction pooling): all queries of the API and workers.
    pub database_url: String,
    /// Straight to Postgres: migrations and session-level features only.
    pub database_direct_url: String,
    pub database_max_connections: u32,
    pub database_acquire_timeout_ms: u64,
    /// Optional replica for listings and searches; a user's own reads shortly after a write
    /// still go to the primary.
    pub database_read_url: Option<String>,
    /// How long after a write a user's reads stay on the primary.
    pub read_your_writes_secs: u64,
    pub redis_url: String,
    /// Prefix of every Redis key this process writes (tests use one per test).
    pub redis_prefix: String,
    pub redis_timeout_ms: u64,
    /// Lifetime of a cached anonymous listing page (writes also version it away at once).
    pub cache_listing_ttl_secs: u64,
    /// Lifetime of a cached post (writes delete it at once).
    pub cache_post_ttl_secs: u64,
    /// How long this process serves an anonymous listing page from its own memory without asking
    /// Redis (0: never). Its own writes clear it at once; another instance's writes show after
    /// at most this long.
    pub cache_local_ttl_ms: u64,
    /// How long this process trusts a session it has checked (0: check on every request).
    /// Logout, bans, role changes and password resets through this process clear it at once;
    /// through another instance they take effect after at most this long.
    pub session_check_ttl_ms: u64,
    /// Apply pending migrations at start (under Postgres' advisory lock).
    pub migrate_on_start: bool,
    pub log_level: String,
    /// Defaults to JSON in production, pretty otherwise.
    pub log_format: Option<LogFormat>,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_days: i64,
    pub email_verification_ttl_hours: i64,
    pub password_reset_ttl_minutes: i64,
    pub json_body_limit_bytes: usize,
    /// Seconds an idle keep-alive or slow client may hold a connection.
    pub client_request_timeout_ms: u64,
    /// Rate limits and quotas on (benchmarks switch them off).
    pub rate_limits_enabled: bool,
    /// General request budgets, per client IP (anonymous) and per user, in this process.
    pub rate_limit_ip_per_minute: u32,
    pub rate_limit_user_per_minute: u32,
    /// Quotas shared by every API process (Redis GCRA; in-process when Redis is down).
    pub quota_login_per_minute: u32,
    pub quota_register_per_minute: u32,
    pub quota_register_per_hour: u32,
    pub quota_posts_per_hour: u32,
    pub quota_comments_per_hour: u32,
    pub quota_reports_per_day: u32,
    pub quota_summaries_per_day: u32,
    pub quota_uploads_per_hour: u32,
    /// Comma-separated proxy addresses or CIDRs whose `X-Forwarded-For`/`Forwarded` is trusted.
    pub trusted_proxies: String,
    /// Comma-separated origins allowed by CORS (the Next.js frontend).
    pub cors_origins: String,
    /// Postgres `statement_timeout` for the API's queries, so one slow query cannot hold a
    /// connection forever.
    pub statement_timeout_ms: u64,
    /// SMTP server for outgoing mail (`smtp://host:port`, `smtps://host` for TLS); unset: mail is
    /// written as `.eml` files to `mail_dir` (development).
    pub smtp_url: Option<String>,
    pub smtp_username: Option<String>,
    pub mail_dir: String,
    pub mail_from: String,
    /// How often the outbox relay looks for rows when idle.
    pub outbox_poll_ms: u64,
    /// Email jobs run at once per worker process.
    pub email_concurrency: usize,
    /// Per queue: jobs at once per worker process, seconds one attempt may take, and attempts
    /// before a job lands in the dead set.
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
    pub job_backoff_base_ms: u64,
    pub job_backoff_max_secs: u64,
    /// Heartbeat of the workers: an idle worker notices new jobs at its next beat.
    pub job_heartbeat_ms: u64,
    /// A worker silent this long is taken for dead; its in-flight jobs are run elsewhere.
    pub job_orphan_after_secs: u64,
    /// How often finished jobs are removed from Redis.
    pub job_cleanup_interval_secs: u64,
    /// SIGTERM: how long in-flight jobs may take to finish before they are returned.
    pub job_shutdown_grace_secs: u64,
    /// Where `forum-jobs` serves `/metrics` (empty: not served).
    pub jobs_metrics_addr: String,
    /// Uploads (post images, avatars).
    pub upload_max_bytes: usize,
    /// Object storage: a local folder (served by the API under `/media/`) unless `s3_bucket`
    /// is set (S3-compatible; credentials `FORUM_S3_ACCESS_KEY_ID` / `FORUM_S3_SECRET_ACCESS_KEY`).
    pub media_dir: String,
    /// The URL prefix of stored objects in API responses (root-relative or absolute).
    pub media_url: String,
    pub s3_bucket: Option<String>,
    pub s3_endpoint: Option<String>,
    pub s3_region: String,
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
    /// With `FORUM_BOOTSTRAP_ADMIN_PASSWORD`: an admin account ensured at start.
    pub bootstrap_admin_username: Option<String>,
    pub bootstrap_admin_email: Option<String>,
    // LLM summaries
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
    pub llm_timeout_ms: u64,
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

impl Default for Settings {
    fn default() -> Self {
        Self {
            env: Environment::Development,
            http_addr: "127.0.0.1:8080".into(),
            http_workers: 0,
            public_url: "http://127.0.0.1:8080".into(),
            database_url: DEFAULT_DATABASE_URL.into(),
            database_direct_url: DEFAULT_DATABASE_DIRECT_URL.into(),
            database_max_connections: 20,
            database_acquire_timeout_ms: 5_000,
            database_read_url: None,
            read_your_writes_secs: 5,
            redis_url: "redis://127.0.0.1:6379".into(),
            redis_prefix: "forum:".into(),
            redis_timeout_ms: 1_000,
            cache_listing_ttl_secs: 30,
            cache_post_ttl_secs: 30,
            cache_local_ttl_ms: 1_000,
            session_check_ttl_ms: 1_000,
            migrate_on_start: true,
            log_level: "info".into(),
            log_format: None,
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_days: 30,
            email_verification_ttl_hours: 48,
            password_reset_ttl_minutes: 60,
            json_body_limit_bytes: 64 * 1024,
            client_request_timeout_ms: 5_000,
            bootstrap_admin_username: None,
            bootstrap_admin_email: None,
            rate_limits_enabled: true,
            rate_limit_ip_per_minute: 300,
            rate_limit_user_per_minute: 600,
            quota_login_per_minute: 5,
            quota_register_per_minute: 5,
            quota_register_per_hour: 10,
            quota_posts_per_hour: 10,
            quota_comments_per_hour: 60,
            quota_reports_per_day: 20,
            quota_summaries_per_day: 50,
            quota_uploads_per_hour: 30,
            trusted_proxies: String::new(),
            cors_origins: "http://localhost:3000,http://127.0.0.1:3000".into(),
            statement_timeout_ms: 5_000,
            smtp_url: None,
            smtp_username: None,
            mail_dir: ".forum/mail".into(),
            mail_from: "Forum <no-reply@forum.localhost>".into(),
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
            job_backoff_base_ms: 2_000,
            job_backoff_max_secs: 900,
            job_heartbeat_ms: 250,
            job_orphan_after_secs: 10,
            job_cleanup_interval_secs: 60,
            job_shutdown_grace_secs: 30,
            jobs_metrics_addr: "127.0.0.1:9091".into(),
            upload_max_bytes: 10 * 1024 * 1024,
            media_dir: ".forum/media".into(),
            media_url: "/media".into(),
            s3_bucket: None,
            s3_endpoint: None,
            s3_region: "us-east-1".into(),
            summary_regenerate_after_changes: 5,
            summary_min_interval_secs: 600,
            summary_pending_secs: 300,
            summary_auto_every_comments: 25,
            summary_auto_per_hour: 30,
            summary_max_comments: 200,
            // LLM summaries
            summary_providers: "openai,anthropic,extractive".into(),
            openai_base_url: "https://api.openai.com/v1".into(),
            openai_model: "gpt-4o-mini".into(),
            openai_price_input_per_mtok: 0.15,
            openai_price_output_per_mtok: 0.60,
            anthropic_base_url: "https://api.anthropic.com".into(),
            anthropic_model: "claude-haiku-4-5".into(),
            anthropic_price_input_per_mtok: 1.00,
            anthropic_price_output_per_mtok: 5.00,
            llm_timeout_ms: 30_000,
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

/// Secrets, from the environment only.
#[derive(Debug, Clone, Deserialize)]
pub struct Secrets {
    pub jwt_secret: Option<SecretString>,
    pub smtp_password: Option<SecretString>,
    pub openai_api_key: Option<SecretString>,
    pub anthropic_api_key: Option<SecretString>,
    pub bootstrap_admin_password: Option<SecretString>,
    pub s3_access_key_id: Option<SecretString>,
    pub s3_secret_access_key: Option<SecretString>,
}

/// Settings plus secrets: what a process is configured with.
#[derive(Debug, Clone)]
pub struct Config {
    pub settings: Settings,
    pub jwt_secret: SecretString,
    pub smtp_password: Option<SecretString>,
    pub openai_api_key: Option<SecretString>,
    pub anthropic_api_key: Option<SecretString>,
    pub bootstrap_admin_password: Option<SecretString>,
    pub s3_access_key_id: Option<SecretString>,
    pub s3_secret_access_key: Option<SecretString>,
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
                    .ignore(&SECRET_KEYS)
                    .ignore(&["config_file"]),
            )
            .extract()
            .map_err(|e| SettingsError::Invalid(e.to_string()))?;
        let secrets: Secrets = Figment::from(Env::prefixed("FORUM_").only(&SECRET_KEYS))
            .extract()
            .map_err(|e| SettingsError::Invalid(e.to_string()))?;
        Self::new(settings, secrets)
    }

    /// Validates a combination of settings and secrets (used by `load` and by tests).
    pub fn new(settings: Settings, secrets: Secrets) -> Result<Self, SettingsError> {
        let jwt_secret = secrets
            .jwt_secret
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
            jwt_secret,
            smtp_password: secrets.smtp_password,
            openai_api_key: secrets.openai_api_key,
            anthropic_api_key: secrets.anthropic_api_key,
            bootstrap_admin_password: secrets.bootstrap_admin_password,
            s3_access_key_id: secrets.s3_access_key_id,
            s3_secret_access_key: secrets.s3_secret_access_key,
        })
    }

    /// Development defaults with no secrets set.
    pub fn development(settings: Settings) -> Result<Self, SettingsError> {
        Self::new(settings, Secrets::none())
    }
}

impl Secrets {
    pub fn none() -> Self {
        Self {
            jwt_secret: None,
            smtp_password: None,
            openai_api_key: None,
            anthropic_api_key: None,
            bootstrap_admin_password: None,
            s3_access_key_id: None,
            s3_secret_access_key: None,
        }
    }
}

impl Settings {
    /// Refuses values no deployment means (a zero pool, a zero rate, a ratio past 1) instead of
    /// quietly clamping them later; the message names the variable to fix.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let mut bad: Vec<String> = Vec::new();
        let mut at_least = |name: &str, value: i128, min: i128| {
            if value < min {
                bad.push(format!(
                    "FORUM_{} must be at least {min} (is {value})",
                    name.to_uppercase()
                ));
            }
        };
        let s = self;
        for (name, value) in [
            (
                "database_max_connections",
                i128::from(s.database_max_connections),
            ),
            (
                "database_acquire_timeout_ms",
                i128::from(s.database_acquire_timeout_ms),
            ),
            ("redis_timeout_ms", i128::from(s.redis_timeout_ms)),
            ("access_token_ttl_secs", i128::from(s.access_token_ttl_secs)),
            (
                "refresh_token_ttl_days",
                i128::from(s.refresh_token_ttl_days),
            ),
            (
                "email_verification_ttl_hours",
                i128::from(s.email_verification_ttl_hours),
            ),
            (
                "password_reset_ttl_minutes",
                i128::from(s.password_reset_ttl_minutes),
            ),
            ("json_body_limit_bytes", s.json_body_limit_bytes as i128),
            (
                "client_request_timeout_ms",
                i128::from(s.client_request_timeout_ms),
            ),
            (
                "rate_limit_ip_per_minute",
                i128::from(s.rate_limit_ip_per_minute),
            ),
            (
                "rate_limit_user_per_minute",
                i128::from(s.rate_limit_user_per_minute),
            ),
            (
                "quota_login_per_minute",
                i128::from(s.quota_login_per_minute),
            ),
            (
                "quota_register_per_minute",
                i128::from(s.quota_register_per_minute),
            ),
            (
                "quota_register_per_hour",
                i128::from(s.quota_register_per_hour),
            ),
            ("quota_posts_per_hour", i128::from(s.quota_posts_per_hour)),
            (
                "quota_comments_per_hour",
                i128::from(s.quota_comments_per_hour),
            ),
            ("quota_reports_per_day", i128::from(s.quota_reports_per_day)),
            (
                "quota_summaries_per_day",
                i128::from(s.quota_summaries_per_day),
            ),
            (
                "quota_uploads_per_hour",
                i128::from(s.quota_uploads_per_hour),
            ),
            ("statement_timeout_ms", i128::from(s.statement_timeout_ms)),
            ("outbox_poll_ms", i128::from(s.outbox_poll_ms)),
            ("email_concurrency", s.email_concurrency as i128),
            ("email_timeout_secs", i128::from(s.email_timeout_secs)),
            ("email_max_attempts", i128::from(s.email_max_attempts)),
            ("images_concurrency", s.images_concurrency as i128),
            ("images_timeout_secs", i128::from(s.images_timeout_secs)),
            ("images_max_attempts", i128::from(s.images_max_attempts)),
            ("summaries_concurrency", s.summaries_concurrency as i128),
            (
                "summaries_timeout_secs",
                i128::from(s.summaries_timeout_secs),
            ),
            (
                "summaries_max_attempts",
                i128::from(s.summaries_max_attempts),
            ),
            ("job_heartbeat_ms", i128::from(s.job_heartbeat_ms)),
            ("job_orphan_after_secs", i128::from(s.job_orphan_after_secs)),
            ("upload_max_bytes", s.upload_max_bytes as i128),
            ("llm_timeout_ms", i128::from(s.llm_timeout_ms)),
            ("summary_max_tokens", i128::from(s.summary_max_tokens)),
            ("breaker_window_secs", i128::from(s.breaker_window_secs)),
            ("breaker_min_calls", i128::from(s.breaker_min_calls)),
            (
                "breaker_half_open_probes",
                i128::from(s.breaker_half_open_probes),
            ),
        ] {
            at_least(name, value, 1);
        }
        if !(s.breaker_failure_ratio > 0.0 && s.breaker_failure_ratio <= 1.0) {
            bad.push(format!(
                "FORUM_BREAKER_FAILURE_RATIO must be in (0, 1] (is {})",
                s.breaker_failure_ratio
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
            self.database_max_connections,
            std::time::Duration::from_millis(self.database_acquire_timeout_ms),
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
        let s = Settings {
            database_max_connections: 0,
            breaker_failure_ratio: 1.5,
            ..Settings::default()
        };
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
        let err = Config::new(production(), Secrets::none()).unwrap_err();
        assert!(matches!(err, SettingsError::DefaultSecretInProduction));
        let short = Secrets {
            jwt_secret: Some("short".into()),
            ..Secrets::none()
        };
        assert!(Config::new(production(), short).is_err());
    }

    #[test]
    fn production_accepts_a_real_secret() {
        let real = Secrets {
            jwt_secret: Some("x".repeat(48).into()),
            ..Secrets::none()
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
            assert_eq!(config.settings.http_addr, "0.0.0.0:9999");
            assert_eq!(config.jwt_secret.expose_secret(), "from-env");

            jail.set_env("FORUM_BOOTSTRAP_ADMIN_USERNAME", "root");
            jail.set_env("FORUM_BOOTSTRAP_ADMIN_PASSWORD", "secret-pw");
            let config = Config::load().map_err(|e| e.to_string())?;
            assert_eq!(
                config.settings.bootstrap_admin_username.as_deref(),
                Some("root")
            );
            assert_eq!(
                config
                    .bootstrap_admin_password
                    .as_ref()
                    .map(|s| s.expose_secret().to_string())
                    .as_deref(),
                Some("secret-pw")
            );

            jail.create_file("forum.toml", "http_workers = 3\n")?;
            jail.set_env("FORUM_CONFIG_FILE", "forum.toml");
            let config = Config::load().map_err(|e| e.to_string())?;
            assert_eq!(config.settings.http_workers, 3);

            jail.create_file("forum.toml", "jwt_secret = \"oops\"\n")?;
            assert!(matches!(
                Config::load(),
                Err(SettingsError::SecretInFile(_))
            ));
            Ok(())
        });
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
                config.settings.summary_providers,
                "openai,anthropic,extractive"
            );
            assert_eq!(config.settings.breaker_failure_ratio, 0.5);
            jail.set_env("FORUM_SUMMARY_PROVIDERS", "anthropic,extractive");
            jail.set_env("FORUM_BREAKER_FAILURE_RATIO", "0.25");
            jail.set_env("FORUM_LLM_TIMEOUT_MS", "1500");
            jail.set_env("FORUM_OPENAI_PRICE_INPUT_PER_MTOK", "2.5");
            jail.set_env("FORUM_ANTHROPIC_API_KEY", "sk-ant-from-env");
            let config = Config::load().map_err(|e| e.to_string())?;
            assert_eq!(config.settings.summary_providers, "anthropic,extractive");
            assert_eq!(config.settings.breaker_failure_ratio, 0.25);
            assert_eq!(config.settings.llm_timeout_ms, 1_500);
            assert_eq!(config.settings.openai_price_input_per_mtok, 2.5);
            assert_eq!(
                config
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
