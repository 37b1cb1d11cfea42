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
