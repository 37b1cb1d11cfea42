//! Sessions are refresh-token families: every refresh spends one token and issues the next;
//! presenting a spent token again means it leaked, so the whole family is revoked.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use super::StoreError;

/// Opens a session with its first refresh token, in one statement.
pub async fn create(
    db: impl PgExecutor<'_>,
    session_id: Uuid,
    user_id: Uuid,
    refresh_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "WITH s AS (INSERT INTO sessions (id, user_id) VALUES ($1, $2) RETURNING id)
         INSERT INTO refresh_tokens (token_hash, session_id, expires_at) SELECT $3, id, $4 FROM s",
    )
    .bind(session_id)
    .bind(user_id)
    .bind(refresh_hash)
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
pub enum Rotation {
    Rotated {
        session_id: Uuid,
        user_id: Uuid,
    },
    /// A spent token came back: its family has just been revoked.
    ReuseDetected,
    /// Unknown, expired, or its session is already revoked.
    Invalid,
}

/// Spends `old_hash` and stores `new_hash` in the same family, atomically. Concurrent uses of
/// one token serialize on its row: one rotates, the others count as reuse.
pub async fn rotate(
    db: &mut sqlx::PgConnection,
    old_hash: &[u8],
    new_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> Result<Rotation, StoreError> {
    let rotated: Option<(Uuid, Uuid)> = sqlx::query_as(
        "WITH spent AS (
            UPDATE refresh_tokens t SET used_at = now()
            FROM sessions s
            WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > now()
              AND s.id = t.session_id AND s.revoked_at IS NULL
            RETURNING t.session_id, s.user_id
         ), fresh AS (
            INSERT INTO refresh_tokens (token_hash, session_id, expires_at)
            SELECT $2, session_id, $3 FROM spent
         ), touched AS (
            UPDATE sessions SET last_used_at = now() WHERE id IN (SELECT session_id FROM spent)
         )
         SELECT session_id, user_id FROM spent",
    )
    .bind(old_hash)
    .bind(new_hash)
    .bind(expires_at)
    .fetch_optional(&mut *db)
    .await?;
    if let Some((session_id, user_id)) = rotated {
        return Ok(Rotation::Rotated {
            session_id,
            user_id,
        });
    }
    let revoked: Option<(Uuid,)> = sqlx::query_as(
        "UPDATE sessions SET revoked_at = now(), revoke_reason = 'refresh_token_reuse'
         WHERE revoked_at IS NULL
           AND id = (SELECT session_id FROM refresh_tokens WHERE token_hash = $1 AND used_at IS NOT NULL)
         RETURNING id",
    )
    .bind(old_hash)
    .fetch_optional(&mut *db)
    .await?;
    Ok(if revoked.is_some() {
        Rotation::ReuseDetected
    } else {
        Rotation::Invalid
    })
}

pub async fn revoke(
    db: impl PgExecutor<'_>,
    session_id: Uuid,
    reason: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE sessions SET revoked_at = now(), revoke_reason = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(session_id)
        .bind(reason)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn revoke_all_for_user(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    reason: &str,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = now(), revoke_reason = $2 WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .bind(reason)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// The role of the user behind a live session, or `None` when the session was revoked.
/// Checked on every authenticated request, so logout and bans take effect at once (a banned
/// user's sessions are revoked too; this also covers tokens minted in between).
pub async fn active_role(
    db: impl PgExecutor<'_>,
    session_id: Uuid,
    user_id: Uuid,
) -> Result<Option<String>, StoreError> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT u.role FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL
           AND (u.banned_at IS NULL OR u.banned_until <= now())",
    )
    .bind(session_id)
    .bind(user_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|(role,)| role))
}
