//! The modlog: every moderator and admin action, public per community.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, Postgres, QueryBuilder};
use uuid::Uuid;

use super::StoreError;
use crate::model::{AuthorRef, ModlogEntry};
use crate::rules::paging::Cursor;

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
