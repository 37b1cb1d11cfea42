//! Persistence: all SQL lives here. Functions take an executor (pool, connection or transaction)
//! so callers decide the transaction boundaries.

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
