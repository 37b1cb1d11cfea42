//! Persistence: all SQL lives here, one module per aggregate.
//!
//! The transaction rule: a store function is one unit of work. A function of one statement takes
//! any executor (`impl PgExecutor`: pool, connection or transaction), so a caller can run it
//! inside a transaction of its own. A write of several statements takes `&PgPool`, opens its
//! transaction and commits it before returning, so no transaction is ever held across a network
//! call the caller makes. Services never open transactions.
//!
//! Naming: `by_<key>` reads one row (`Option`), a plural noun lists rows (`reports`, `bans`),
//! a verb writes (`create`, `update`, `ban`).

pub mod accounts;
pub mod actions;
pub mod admin;
pub mod bans;
pub mod comments;
pub mod communities;
pub mod email_tokens;
pub mod idempotency;
pub mod images;
pub mod modlog;
pub mod notifications;
pub mod outbox;
pub mod posts;
pub mod reports;
pub mod sessions;
pub mod summaries;
pub mod users;
pub mod votes;

pub use sqlx::{PgPool, Postgres, Transaction};

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;

/// A pool on `url` for the API and the workers, connecting lazily so a process starts (and
/// reports not-ready) while the database is down. No ping before each use: it would double the
/// round trips of every query through PgBouncer; a connection that died (PgBouncer or Postgres
/// restarted) fails its one request and is dropped from the pool.
pub fn lazy_pool(
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(acquire_timeout)
        .test_before_acquire(false)
        .connect_lazy(url)
}

/// Embedded migrations, applied by `forum-api` at start (sqlx holds an advisory lock meanwhile).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write; names the field that clashed.
    #[error("{0} is already taken")]
    Conflict(&'static str),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Maps a unique violation of a known index to the field it protects.
pub(crate) fn conflict_on(err: sqlx::Error, indexes: &[(&str, &'static str)]) -> StoreError {
    if let sqlx::Error::Database(db) = &err
        && db.is_unique_violation()
        && let Some(field) = db
            .constraint()
            .and_then(|c| indexes.iter().find(|(name, _)| *name == c).map(|(_, f)| *f))
    {
        return StoreError::Conflict(field);
    }
    StoreError::Db(err)
}

pub fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
