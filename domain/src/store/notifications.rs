//! The reply inbox.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, Postgres, QueryBuilder};
use uuid::Uuid;

use super::StoreError;
use crate::model::{AuthorRef, Notification};
use crate::rules::paging::Cursor;

#[derive(Debug, sqlx::FromRow)]
pub struct NotificationRow {
    pub id: Uuid,
    pub kind: String,
    pub post_id: Uuid,
    pub comment_id: Uuid,
    pub actor: Option<String>,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

impl From<NotificationRow> for Notification {
    fn from(n: NotificationRow) -> Self {
        Self {
            id: n.id,
            kind: n.kind,
            post_id: n.post_id,
            comment_id: n.comment_id,
            actor: n.actor.map(|username| AuthorRef { username }),
            created_at: n.created_at,
            read: n.read_at.is_some(),
        }
    }
}

/// Newest first.
pub async fn list(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    unread_only: bool,
    after: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<NotificationRow>, StoreError> {
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(
        "SELECT n.id, n.kind, n.post_id, n.comment_id, u.username AS actor, n.created_at, n.read_at
         FROM notifications n LEFT JOIN users u ON u.id = n.actor_id WHERE n.user_id = ",
    );
    qb.push_bind(user_id);
    if unread_only {
        qb.push(" AND n.read_at IS NULL");
    }
    if let Some(c) = after {
        qb.push(" AND n.id < ").push_bind(c.id);
    }
    qb.push(" ORDER BY n.id DESC LIMIT ").push_bind(limit + 1);
    Ok(qb.build_query_as().fetch_all(db).await?)
}

/// Marks the given notifications (or all, with `None`) of this user read.
pub async fn mark_read(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    ids: Option<&[Uuid]>,
) -> Result<u64, StoreError> {
    let done = match ids {
        Some(ids) => {
            sqlx::query("UPDATE notifications SET read_at = now() WHERE user_id = $1 AND id = ANY($2) AND read_at IS NULL")
                .bind(user_id)
                .bind(ids)
                .execute(db)
                .await?
        }
        None => {
            sqlx::query("UPDATE notifications SET read_at = now() WHERE user_id = $1 AND read_at IS NULL")
                .bind(user_id)
                .execute(db)
                .await?
        }
    };
    Ok(done.rows_affected())
}
