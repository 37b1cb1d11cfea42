//! Moderation and administration. Every action changes its target and writes its modlog entry
//! in one transaction.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::StoreError;
use crate::model::{AdminUser, AuthorRef, CommunityBan, ModlogEntry, Report, Role};
use crate::rules::paging::Cursor;
use crate::rules::permissions::MAX_PINS;

/// One modlog entry, written inside the action's transaction.
pub struct LogEntry<'a> {
    pub community_id: Option<Uuid>,
    pub actor_id: Uuid,
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: Option<Uuid>,
    pub target_user_id: Option<Uuid>,
    pub reason: Option<&'a str>,
}

pub async fn log(db: impl PgExecutor<'_>, e: &LogEntry<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO modlog (id, community_id, actor_id, action, target_type, target_id, target_user_id, reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(Uuid::now_v7())
    .bind(e.community_id)
    .bind(e.actor_id)
    .bind(e.action)
    .bind(e.target_type)
    .bind(e.target_id)
    .bind(e.target_user_id)
    .bind(e.reason)
    .execute(db)
    .await?;
    Ok(())
}

#[derive(Debug, sqlx::FromRow)]
struct ModlogRow {
    id: Uuid,
    action: String,
    actor: Option<String>,
    community: Option<String>,
    target_type: String,
    target_id: Option<Uuid>,
    target_user: Option<String>,
    reason: Option<String>,
    created_at: DateTime<Utc>,
}

/// Newest first: one community's log, or the whole site's.
pub async fn modlog(
    db: impl PgExecutor<'_>,
    community_id: Option<Uuid>,
    after: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<ModlogEntry>, StoreError> {
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(
        "SELECT m.id, m.action, a.username AS actor, c.name AS community, m.target_type, m.target_id,
                t.username AS target_user, m.reason, m.created_at
         FROM modlog m LEFT JOIN users a ON a.id = m.actor_id LEFT JOIN users t ON t.id = m.target_user_id
         LEFT JOIN communities c ON c.id = m.community_id WHERE true",
    );
    if let Some(id) = community_id {
        qb.push(" AND m.community_id = ").push_bind(id);
    }
    if let Some(c) = after {
        qb.push(" AND m.id < ").push_bind(c.id);
    }
    qb.push(" ORDER BY m.id DESC LIMIT ").push_bind(limit + 1);
    let rows: Vec<ModlogRow> = qb.build_query_as().fetch_all(db).await?;
    Ok(rows
        .into_iter()
        .map(|r| ModlogEntry {
            id: r.id,
            action: r.action,
            actor: r.actor.map(|username| AuthorRef { username }),
            community: r.community,
            target_type: r.target_type,
            target_id: r.target_id,
            target_user: r.target_user.map(|username| AuthorRef { username }),
            reason: r.reason,
            created_at: r.created_at,
        })
        .collect())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostAction {
    Remove,
    Restore,
    Lock,
    Unlock,
    Pin,
    Unpin,
}

impl PostAction {
    pub fn name(self) -> &'static str {
        match self {
            PostAction::Remove => "remove_post",
            PostAction::Restore => "restore_post",
            PostAction::Lock => "lock_post",
            PostAction::Unlock => "unlock_post",
            PostAction::Pin => "pin_post",
            PostAction::Unpin => "unpin_post",
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum ActionOutcome {
    Done,
    /// Pinning would exceed `MAX_PINS` in the community.
    TooManyPins,
}

/// Applies a moderator action to a post (idempotent: repeating it changes nothing more).
pub async fn post_action(
    db: &PgPool,
    post_id: Uuid,
    community_id: Uuid,
    author_id: Option<Uuid>,
    action: PostAction,
    actor: Uuid,
    reason: Option<&str>,
) -> Result<ActionOutcome, StoreError> {
    let mut tx = db.begin().await?;
    if action == PostAction::Pin {
        // Serialize pins per community so two moderators cannot both take the last slot.
        sqlx::query("SELECT 1 FROM communities WHERE id = $1 FOR UPDATE")
            .bind(community_id)
            .execute(&mut *tx)
            .await?;
        let (pinned,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM posts WHERE community_id = $1 AND pinned_at IS NOT NULL AND id <> $2",
        )
        .bind(community_id)
        .bind(post_id)
        .fetch_one(&mut *tx)
        .await?;
        if pinned >= MAX_PINS {
            return Ok(ActionOutcome::TooManyPins);
        }
    }
    let sql = match action {
        PostAction::Remove => {
            "UPDATE posts SET removed_at = COALESCE(removed_at, now()) WHERE id = $1"
        }
        PostAction::Restore => "UPDATE posts SET removed_at = NULL WHERE id = $1",
        PostAction::Lock => "UPDATE posts SET locked = true WHERE id = $1",
        PostAction::Unlock => "UPDATE posts SET locked = false WHERE id = $1",
        PostAction::Pin => "UPDATE posts SET pinned_at = COALESCE(pinned_at, now()) WHERE id = $1",
        PostAction::Unpin => "UPDATE posts SET pinned_at = NULL WHERE id = $1",
    };
    sqlx::query(sql).bind(post_id).execute(&mut *tx).await?;
    log(
        &mut *tx,
        &LogEntry {
            community_id: Some(community_id),
            actor_id: actor,
            action: action.name(),
            target_type: "post",
            target_id: Some(post_id),
            target_user_id: author_id,
            reason,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(ActionOutcome::Done)
}

/// Removes (`removed = true`) or restores a comment.
pub async fn comment_action(
    db: &PgPool,
    comment_id: Uuid,
    community_id: Uuid,
    author_id: Option<Uuid>,
    removed: bool,
    actor: Uuid,
    reason: Option<&str>,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let sql = if removed {
        "UPDATE comments SET removed_at = COALESCE(removed_at, now()) WHERE id = $1"
    } else {
        "UPDATE comments SET removed_at = NULL WHERE id = $1"
    };
    sqlx::query(sql).bind(comment_id).execute(&mut *tx).await?;
    let action = if removed {
        "remove_comment"
    } else {
        "restore_comment"
    };
    log(
        &mut *tx,
        &LogEntry {
            community_id: Some(community_id),
            actor_id: actor,
            action,
            target_type: "comment",
            target_id: Some(comment_id),
            target_user_id: author_id,
            reason,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

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

pub struct NewReport<'a> {
    pub reporter_id: Uuid,
    pub community_id: Uuid,
    pub target_type: &'a str,
    pub target_id: Uuid,
    pub post_id: Uuid,
    pub reason: &'a str,
}

/// Files a report; `None` when this user already has an open report on the target.
pub async fn report(db: impl PgExecutor<'_>, r: NewReport<'_>) -> Result<Option<Uuid>, StoreError> {
    let id = Uuid::now_v7();
    let done = sqlx::query(
        "INSERT INTO reports (id, reporter_id, community_id, target_type, target_id, post_id, reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(r.reporter_id)
    .bind(r.community_id)
    .bind(r.target_type)
    .bind(r.target_id)
    .bind(r.post_id)
    .bind(r.reason)
    .execute(db)
    .await?;
    Ok((done.rows_affected() == 1).then_some(id))
}

#[derive(Debug, sqlx::FromRow)]
struct ReportRow {
    id: Uuid,
    target_type: String,
    target_id: Uuid,
    post_id: Uuid,
    community: String,
    community_id: Uuid,
    reporter: Option<String>,
    reason: String,
    status: String,
    created_at: DateTime<Utc>,
    resolved_at: Option<DateTime<Utc>>,
    resolution_note: Option<String>,
    open_reports_on_target: i64,
}

const REPORT_SELECT: &str = "SELECT r.id, r.target_type, r.target_id, r.post_id, c.name AS community, r.community_id,
        u.username AS reporter, r.reason, r.status, r.created_at, r.resolved_at, r.resolution_note,
        (SELECT count(*) FROM reports o WHERE o.target_id = r.target_id AND o.status = 'open') AS open_reports_on_target
     FROM reports r JOIN communities c ON c.id = r.community_id LEFT JOIN users u ON u.id = r.reporter_id";

fn report_view(r: ReportRow) -> (Report, Uuid) {
    (
        Report {
            id: r.id,
            target_type: r.target_type,
            target_id: r.target_id,
            post_id: r.post_id,
            community: r.community,
            reporter: r.reporter.map(|username| AuthorRef { username }),
            reason: r.reason,
            status: r.status,
            created_at: r.created_at,
            resolved_at: r.resolved_at,
            resolution_note: r.resolution_note,
            open_reports_on_target: r.open_reports_on_target,
        },
        r.community_id,
    )
}

pub async fn get_report(
    db: impl PgExecutor<'_>,
    id: Uuid,
) -> Result<Option<(Report, Uuid)>, StoreError> {
    let row: Option<ReportRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{REPORT_SELECT} WHERE r.id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(report_view))
}

/// A community's reports with the given status, newest first.
pub async fn reports(
    db: impl PgExecutor<'_>,
    community_id: Uuid,
    status: &str,
    after: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<Report>, StoreError> {
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(REPORT_SELECT);
    qb.push(" WHERE r.community_id = ")
        .push_bind(community_id)
        .push(" AND r.status = ")
        .push_bind(status.to_string());
    if let Some(c) = after {
        qb.push(" AND r.id < ").push_bind(c.id);
    }
    qb.push(" ORDER BY r.id DESC LIMIT ").push_bind(limit + 1);
    let rows: Vec<ReportRow> = qb.build_query_as().fetch_all(db).await?;
    Ok(rows.into_iter().map(|r| report_view(r).0).collect())
}

/// Resolves a report (idempotent) and logs it.
pub async fn resolve_report(
    db: &PgPool,
    id: Uuid,
    community_id: Uuid,
    actor: Uuid,
    note: Option<&str>,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE reports SET status = 'resolved', resolved_at = now(), resolved_by = $2, resolution_note = $3
         WHERE id = $1 AND status = 'open'",
    )
    .bind(id)
    .bind(actor)
    .bind(note)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 1 {
        let entry = LogEntry {
            community_id: Some(community_id),
            actor_id: actor,
            action: "resolve_report",
            target_type: "report",
            target_id: Some(id),
            target_user_id: None,
            reason: note,
        };
        log(&mut *tx, &entry).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Open report counts per target, for moderators' views of content.
pub async fn open_report_counts(
    db: impl PgExecutor<'_>,
    targets: &[Uuid],
) -> Result<Vec<(Uuid, i64)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT target_id, count(*) FROM reports WHERE status = 'open' AND target_id = ANY($1) GROUP BY target_id",
    )
    .bind(targets)
    .fetch_all(db)
    .await?)
}

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
        let pattern = format!("{}%", super::communities::like_escape(&q.to_lowercase()));
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
