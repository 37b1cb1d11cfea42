//! Moderator actions on posts and comments; each writes its modlog entry in the same
//! transaction.

use sqlx::PgPool;
use uuid::Uuid;

use super::StoreError;
use super::modlog::{LogEntry, log};
use crate::rules::permissions::MAX_PINS;

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
