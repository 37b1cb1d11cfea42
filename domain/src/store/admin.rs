//! Site administration: the user list, roles, community removal.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::StoreError;
use super::modlog::{LogEntry, log};
use crate::model::{AdminUser, Role};
use crate::rules::paging::Cursor;

#[derive(Debug, sqlx::FromRow)]
struct AdminUserRow {
    id: Uuid,
    username: String,
    email: String,
    role: String,
    email_verified: bool,
    banned_at: Option<DateTime<Utc>>,
    banned_until: Option<DateTime<Utc>>,
    ban_reason: Option<String>,
    post_karma: i64,
    comment_karma: i64,
    created_at: DateTime<Utc>,
}

/// Users by `q` (username/email prefix), role and ban state, newest first.
pub async fn users(
    db: impl PgExecutor<'_>,
    q: Option<&str>,
    role: Option<Role>,
    banned: Option<bool>,
    after: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<AdminUser>, StoreError> {
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(
        "SELECT id, username, email, role, email_verified, banned_at, banned_until, ban_reason, post_karma,
                comment_karma, created_at FROM users WHERE true",
    );
    if let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = format!("{}%", super::like_escape(&q.to_lowercase()));
        qb.push(" AND (lower(username) LIKE ")
            .push_bind(pattern.clone())
            .push(" OR lower(email) LIKE ")
            .push_bind(pattern)
            .push(")");
    }
    if let Some(role) = role {
        qb.push(" AND role = ").push_bind(role.as_str());
    }
    match banned {
        Some(true) => {
            qb.push(
                " AND banned_at IS NOT NULL AND (banned_until IS NULL OR banned_until > now())",
            );
        }
        Some(false) => {
            qb.push(" AND (banned_at IS NULL OR banned_until <= now())");
        }
        None => {}
    }
    if let Some(c) = after {
        qb.push(" AND id < ").push_bind(c.id);
    }
    qb.push(" ORDER BY id DESC LIMIT ").push_bind(limit + 1);
    let rows: Vec<AdminUserRow> = qb.build_query_as().fetch_all(db).await?;
    let now = Utc::now();
    Ok(rows
        .into_iter()
        .map(|r| AdminUser {
            id: r.id,
            username: r.username,
            email: r.email,
            role: Role::from_db(&r.role),
            email_verified: r.email_verified,
            banned: r.banned_at.is_some()
                && crate::rules::permissions::ban_in_force(r.banned_until, now),
            banned_until: r.banned_until,
            ban_reason: r.ban_reason,
            post_karma: r.post_karma,
            comment_karma: r.comment_karma,
            created_at: r.created_at,
        })
        .collect())
}

pub async fn set_role(
    db: &PgPool,
    user_id: Uuid,
    role: Role,
    actor: Uuid,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE users SET role = $2, updated_at = now() WHERE id = $1")
        .bind(user_id)
        .bind(role.as_str())
        .execute(&mut *tx)
        .await?;
    let entry = LogEntry {
        community_id: None,
        actor_id: actor,
        action: "change_role",
        target_type: "user",
        target_id: Some(user_id),
        target_user_id: Some(user_id),
        reason: Some(role.as_str()),
    };
    log(&mut *tx, &entry).await?;
    tx.commit().await?;
    Ok(())
}

/// Soft-removes (`removed = true`) or restores a community; `false` when nothing changed.
pub async fn community_removal(
    db: &PgPool,
    community_id: Uuid,
    removed: bool,
    actor: Uuid,
    reason: Option<&str>,
) -> Result<bool, StoreError> {
    let mut tx = db.begin().await?;
    let sql = if removed {
        "UPDATE communities SET removed_at = now(), removed_reason = $2 WHERE id = $1 AND removed_at IS NULL"
    } else {
        "UPDATE communities SET removed_at = NULL, removed_reason = NULL WHERE id = $1 AND removed_at IS NOT NULL"
    };
    let changed = sqlx::query(sql)
        .bind(community_id)
        .bind(reason)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    if changed {
        let entry = LogEntry {
            community_id: Some(community_id),
            actor_id: actor,
            action: if removed {
                "remove_community"
            } else {
                "restore_community"
            },
            target_type: "community",
            target_id: Some(community_id),
            target_user_id: None,
            reason,
        };
        log(&mut *tx, &entry).await?;
    }
    tx.commit().await?;
    Ok(changed)
}

/// A community by name including removed ones (for admins restoring them).
pub async fn community_any(
    db: impl PgExecutor<'_>,
    name: &str,
) -> Result<Option<(Uuid, bool)>, StoreError> {
    let row: Option<(Uuid, Option<DateTime<Utc>>)> =
        sqlx::query_as("SELECT id, removed_at FROM communities WHERE lower(name) = lower($1)")
            .bind(name)
            .fetch_optional(db)
            .await?;
    Ok(row.map(|(id, removed)| (id, removed.is_some())))
}
