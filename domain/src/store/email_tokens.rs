//! Single-use, expiring tokens sent by email (verification, password reset). Stored hashed.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use super::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    PasswordReset,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify_email",
            Purpose::PasswordReset => "password_reset",
        }
    }
}

pub async fn create(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    purpose: Purpose,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO email_tokens (token_hash, user_id, purpose, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token_hash)
        .bind(user_id)
        .bind(purpose.as_str())
        .bind(expires_at)
        .execute(db)
        .await?;
    Ok(())
}

/// Spends a valid token and, with it, every other open token of the same purpose for that user.
/// Returns the user it belonged to; `None` for unknown, used or expired tokens.
pub async fn consume(
    db: impl PgExecutor<'_>,
    token_hash: &[u8],
    purpose: Purpose,
) -> Result<Option<Uuid>, StoreError> {
    let row: Option<(Uuid,)> = sqlx::query_as(
        "WITH hit AS (
            SELECT user_id FROM email_tokens
            WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
            FOR UPDATE
         ), spent AS (
            UPDATE email_tokens t SET used_at = now() FROM hit
            WHERE t.user_id = hit.user_id AND t.purpose = $2 AND t.used_at IS NULL
            RETURNING t.user_id
         )
         SELECT DISTINCT user_id FROM spent",
    )
    .bind(token_hash)
    .bind(purpose.as_str())
    .fetch_optional(db)
    .await?;
    Ok(row.map(|(id,)| id))
}
