//! Idempotency keys: the first request with a key claims it; later ones replay its response.

use sqlx::PgExecutor;
use uuid::Uuid;

use super::StoreError;

/// How long a claimed key with no response yet counts as in flight; after that the request is
/// taken to have died and the key may be claimed again.
pub const IN_FLIGHT_SECS: i64 = 60;
/// How long responses are kept for replay.
pub const RETENTION_HOURS: i64 = 24;

#[derive(Debug, PartialEq)]
pub enum Claim {
    /// This request owns the key: run it, then `complete` (or `release` on failure).
    Claimed,
    /// Same key, same request, finished: replay this.
    Replay {
        status: u16,
        body: serde_json::Value,
    },
    /// Same key, still running.
    InFlight,
    /// Same key, different request.
    Mismatch,
}

/// Claims the key for this request, or says what it already holds.
pub async fn claim(
    db: &sqlx::PgPool,
    user_id: Uuid,
    key: &str,
    request_hash: &[u8],
) -> Result<Claim, StoreError> {
    // Insert, or take over a key that expired or whose request died; either way we get the
    // row back only if this request now owns it.
    let claimed: Option<(bool,)> = sqlx::query_as(
        "INSERT INTO idempotency_keys (user_id, key, request_hash) VALUES ($1, $2, $3)
         ON CONFLICT (user_id, key) DO UPDATE
            SET request_hash = EXCLUDED.request_hash, status = NULL, response = NULL, created_at = now()
            WHERE idempotency_keys.created_at < now() - make_interval(hours => $4)
               OR (idempotency_keys.status IS NULL AND idempotency_keys.created_at < now() - make_interval(secs => $5))
         RETURNING true",
    )
    .bind(user_id)
    .bind(key)
    .bind(request_hash)
    .bind(RETENTION_HOURS as i32)
    .bind(IN_FLIGHT_SECS as f64)
    .fetch_optional(db)
    .await?;
    if claimed.is_some() {
        return Ok(Claim::Claimed);
    }
    existing(db, user_id, key, request_hash).await
}

async fn existing(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    key: &str,
    request_hash: &[u8],
) -> Result<Claim, StoreError> {
    let row: Option<(Vec<u8>, Option<i16>, Option<serde_json::Value>)> =
        sqlx::query_as("SELECT request_hash, status, response FROM idempotency_keys WHERE user_id = $1 AND key = $2")
            .bind(user_id)
            .bind(key)
            .fetch_optional(db)
            .await?;
    Ok(match row {
        None => Claim::InFlight,
        Some((hash, _, _)) if hash != request_hash => Claim::Mismatch,
        Some((_, Some(status), Some(body))) => Claim::Replay {
            status: u16::try_from(status).unwrap_or(500),
            body,
        },
        Some(_) => Claim::InFlight,
    })
}

pub async fn complete(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    key: &str,
    status: u16,
    body: &serde_json::Value,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE idempotency_keys SET status = $3, response = $4 WHERE user_id = $1 AND key = $2",
    )
    .bind(user_id)
    .bind(key)
    .bind(i16::try_from(status).unwrap_or(500))
    .bind(body)
    .execute(db)
    .await?;
    Ok(())
}

/// Gives the key up after a failed request, so a retry runs it again.
pub async fn release(db: impl PgExecutor<'_>, user_id: Uuid, key: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND status IS NULL")
        .bind(user_id)
        .bind(key)
        .execute(db)
        .await?;
    Ok(())
}

/// Drops keys past retention; returns how many.
pub async fn purge(db: impl PgExecutor<'_>) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1)",
    )
    .bind(RETENTION_HOURS as i32)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
