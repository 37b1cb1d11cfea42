//! Community bans and site bans; each writes its modlog entry in the same transaction.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::StoreError;
use super::modlog::{LogEntry, log};
use crate::model::CommunityBan;
use crate::rules::paging::Cursor;

/// Bans (or re-bans with new terms) a user from a community.
pub async fn ban(
    db: &PgPool,
    community_id: Uuid,
    user_id: Uuid,
    reason: &str,
    expires_at: Option<DateTime<Utc>>,
    actor: Uuid,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO community_bans (community_id, user_id, reason, expires_at, banned_by) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (community_id, user_id) DO UPDATE
            SET reason = EXCLUDED.reason, expires_at = EXCLUDED.expires_at, banned_by = EXCLUDED.banned_by, created_at = now()",
    )
    .bind(community_id)
    .bind(user_id)
    .bind(reason)
    .bind(expires_at)
    .bind(actor)
    .execute(&mut *tx)
    .await?;
    let entry = LogEntry {
        community_id: Some(community_id),
        actor_id: actor,
        action: "ban_user",
        target_type: "user",
        target_id: Some(user_id),
        target_user_id: Some(user_id),
        reason: Some(reason),
    };
    log(&mut *tx, &entry).await?;
    tx.commit().await?;
    Ok(())
}

/// Lifts a community ban; `false` when there was none.
pub async fn unban(
    db: &PgPool,
    community_id: Uuid,
    user_id: Uuid,
    actor: Uuid,
) -> Result<bool, StoreError> {
    let mut tx = db.begin().await?;
    let gone = sqlx::query("DELETE FROM community_bans WHERE community_id = $1 AND user_id = $2")
        .bind(community_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    if gone {
        let entry = LogEntry {
            community_id: Some(community_id),
            actor_id: actor,
            action: "unban_user",
            target_type: "user",
            target_id: Some(user_id),
            target_user_id: Some(user_id),
            reason: None,
        };
        log(&mut *tx, &entry).await?;
    }
    tx.commit().await?;
    Ok(gone)
}

/// Whether `user` is banned from the community right now (expired bans do not count).
pub async fn banned_from(
    db: impl PgExecutor<'_>,
    community_id: Uuid,
    user_id: Uuid,
) -> Result<bool, StoreError> {
    let row: Option<(Option<DateTime<Utc>>,)> = sqlx::query_as(
        "SELECT expires_at FROM community_bans WHERE community_id = $1 AND user_id = $2",
    )
    .bind(community_id)
    .bind(user_id)
    .fetch_optional(db)
    .await?;
    Ok(row.is_some_and(|(expires,)| crate::rules::permissions::ban_in_force(expires, Utc::now())))
}

/// Bans in force, newest first.
pub async fn bans(
    db: impl PgExecutor<'_>,
    community_id: Uuid,
    after: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<(CommunityBan, Uuid)>, StoreError> {
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(
        "SELECT u.username, b.reason, b.expires_at, b.created_at, b.user_id FROM community_bans b JOIN users u ON u.id = b.user_id
         WHERE (b.expires_at IS NULL OR b.expires_at > now()) AND b.community_id = ",
    );
    qb.push_bind(community_id);
    if let Some(c) = after {
        qb.push(" AND b.user_id > ").push_bind(c.id);
    }
    qb.push(" ORDER BY b.user_id LIMIT ").push_bind(limit + 1);
    #[derive(sqlx::FromRow)]
    struct BanRow {
        username: String,
        reason: String,
        expires_at: Option<DateTime<Utc>>,
        created_at: DateTime<Utc>,
        user_id: Uuid,
    }
    let rows: Vec<BanRow> = qb.build_query_as().fetch_all(db).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let ban = CommunityBan {
                username: r.username,
                reason: r.reason,
                expires_at: r.expires_at,
                created_at: r.created_at,
            };
            (ban, r.user_id)
        })
        .collect())
}

/// Site ban: the user can no longer log in, and every session they have ends now.
pub async fn site_ban(
    db: &PgPool,
    user_id: Uuid,
    reason: &str,
    until: Option<DateTime<Utc>>,
    actor: Uuid,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE users SET banned_at = now(), banned_until = $2, ban_reason = $3 WHERE id = $1",
    )
    .bind(user_id)
    .bind(until)
    .bind(reason)
    .execute(&mut *tx)
    .await?;
    super::sessions::revoke_all_for_user(&mut *tx, user_id, "site_ban").await?;
    let entry = LogEntry {
        community_id: None,
        actor_id: actor,
        action: "site_ban",
        target_type: "user",
        target_id: Some(user_id),
        target_user_id: Some(user_id),
        reason: Some(reason),
    };
    log(&mut *tx, &entry).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn site_unban(
    db: &PgPool,
    user_id: Uuid,
    actor: Uuid,
    reason: Option<&str>,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE users SET banned_at = NULL, banned_until = NULL, ban_reason = NULL WHERE id = $1",
    )
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    let entry = LogEntry {
        community_id: None,
        actor_id: actor,
        action: "site_unban",
        target_type: "user",
        target_id: Some(user_id),
        target_user_id: Some(user_id),
        reason,
    };
    log(&mut *tx, &entry).await?;
    tx.commit().await?;
    Ok(())
}
