//! The transactional outbox: rows written with the change that needs background work.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use super::StoreError;
use crate::jobs::Topic;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: Uuid,
    pub topic: String,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

pub async fn enqueue(
    db: impl PgExecutor<'_>,
    topic: Topic,
    payload: &impl serde::Serialize,
) -> Result<Uuid, StoreError> {
    let id = Uuid::now_v7();
    let payload = serde_json::to_value(payload)
        .map_err(|e| StoreError::Db(sqlx::Error::Encode(Box::new(e))))?;
    sqlx::query("INSERT INTO outbox (id, topic, payload) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(topic.as_str())
        .bind(payload)
        .execute(db)
        .await?;
    Ok(id)
}

/// Oldest unsent rows first.
pub async fn pending(db: impl PgExecutor<'_>, limit: i64) -> Result<Vec<OutboxRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, topic, payload, created_at, sent_at FROM outbox WHERE sent_at IS NULL ORDER BY created_at LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// Locks up to `limit` unsent rows for this transaction, skipping rows another relay holds, so
/// several relays can run at once. The caller pushes them on and then calls `mark_sent` in the
/// same transaction; if pushing fails the transaction rolls back and the rows wait.
pub async fn claim(tx: &mut sqlx::PgConnection, limit: i64) -> Result<Vec<OutboxRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, topic, payload, created_at, sent_at FROM outbox WHERE sent_at IS NULL
         ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?)
}

pub async fn mark_sent(tx: &mut sqlx::PgConnection, ids: &[Uuid]) -> Result<(), StoreError> {
    sqlx::query("UPDATE outbox SET sent_at = now(), attempts = attempts + 1 WHERE id = ANY($1)")
        .bind(ids)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Seconds since the oldest unsent row was written (0 when none wait).
pub async fn lag_seconds(db: impl PgExecutor<'_>) -> Result<f64, StoreError> {
    let (lag,): (Option<f64>,) = sqlx::query_as(
        "SELECT extract(epoch FROM now() - min(created_at))::float8 FROM outbox WHERE sent_at IS NULL",
    )
    .fetch_one(db)
    .await?;
    Ok(lag.unwrap_or(0.0))
}

/// Whether an email with this key was already handed to the transport.
pub async fn email_sent(db: impl PgExecutor<'_>, key: Uuid) -> Result<bool, StoreError> {
    let row: Option<(Uuid,)> = sqlx::query_as("SELECT key FROM sent_emails WHERE key = $1")
        .bind(key)
        .fetch_optional(db)
        .await?;
    Ok(row.is_some())
}

pub async fn record_email_sent(
    db: impl PgExecutor<'_>,
    key: Uuid,
    message_id: &str,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO sent_emails (key, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(key)
        .bind(message_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Rows not yet relayed.
pub async fn pending_count(db: impl PgExecutor<'_>) -> Result<i64, StoreError> {
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
        .fetch_one(db)
        .await?;
    Ok(n)
}
