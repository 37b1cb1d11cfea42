//! Comments: reply, edit, delete.

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use super::access;
use crate::change::{Change, Written};
use crate::error::{DomainError, DomainResult, ErrorCode};
use crate::model::{Actor, Comment};
use crate::rules::markdown;
use crate::rules::permissions::is_author;
use crate::rules::validation::{self, FieldError};
use crate::store::comments::{self, NewComment, ReplyRecipient};
use crate::store::users;

/// Longest comment body, in characters.
pub const BODY_MAX: usize = 10_000;
/// Replies nest this many levels below a top-level comment (depth 0), no deeper.
pub const MAX_DEPTH: i16 = 10;

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct CreateComment {
    /// Markdown, 1-10,000 characters.
    pub body: String,
    /// The comment this replies to (same post); omit for a top-level comment.
    pub parent_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateComment {
    pub body: String,
}

/// A comment's markdown: 1-10,000 characters, not only white space.
#[derive(Debug, Clone)]
pub struct CommentBody(String);

impl CommentBody {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for CommentBody {
    type Error = FieldError;

    fn try_from(raw: &str) -> Result<Self, FieldError> {
        let body = validation::markdown("body", raw, BODY_MAX)?;
        if body.trim().is_empty() {
            return Err(FieldError::new("body", "must be 1-10000 characters"));
        }
        Ok(CommentBody(body))
    }
}

/// Replies to a post (or to a comment on it) and tells the author of what it replies to.
#[tracing::instrument(name = "comments::create", skip_all, fields(post = %post_id, user = %actor.user_id))]
pub async fn create(
    db: &PgPool,
    actor: &Actor,
    post_id: Uuid,
    input: &CreateComment,
) -> DomainResult<Written<Comment>> {
    let post = access::post(db, post_id).await?;
    if post.deleted_at.is_some() || post.removed_at.is_some() {
        return Err(DomainError::forbidden(
            "This post was deleted or removed; it takes no new comments.",
        ));
    }
    if post.locked {
        return Err(DomainError::refused(
            ErrorCode::Locked,
            "This post is locked.",
        ));
    }
    access::refuse_banned(db, post.community_id, actor).await?;
    let body = CommentBody::try_from(input.body.as_str())?;
    let parent = match input.parent_id {
        Some(id) => {
            let parent = comments::by_id(db, id)
                .await?
                .filter(|p| p.post_id == post.id)
                .ok_or_else(|| DomainError::field("parent_id", "is not a comment on this post"))?;
            if parent.depth >= MAX_DEPTH {
                return Err(DomainError::field(
                    "parent_id",
                    "replies nest at most 10 levels deep",
                ));
            }
            Some(parent)
        }
        None => None,
    };
    // The author of what this replies to hears about it (never about their own replies: the
    // store skips those).
    let recipient_id = match &parent {
        Some(p) => p.author_id,
        None => post.author_id,
    };
    let recipient = match recipient_id {
        Some(id) => users::by_id(db, id).await?,
        None => None,
    };
    let actor_name = users::by_id(db, actor.user_id)
        .await?
        .map(|u| u.username)
        .unwrap_or_default();
    let html = markdown::render(body.as_str());
    let row = comments::create(
        db,
        NewComment {
            post_id: post.id,
            parent: parent.as_ref(),
            author_id: actor.user_id,
            body: body.as_str(),
            body_html: &html,
        },
        recipient.as_ref().map(|r| ReplyRecipient {
            user_id: r.id,
            email: &r.email,
            username: &r.username,
            wants_email: r.email_notifications,
            post_title: &post.title,
            actor: &actor_name,
        }),
    )
    .await?;
    let changes = [Change::CommentAdded {
        post: post.id,
        comment_count: post.comment_count.saturating_add(1),
    }];
    Ok(Written::new(row.view(false), changes))
}

/// The author edits a comment; `edited_at` is set.
#[tracing::instrument(name = "comments::update", skip_all, fields(comment = %id, user = %actor.user_id))]
pub async fn update(
    db: &PgPool,
    actor: &Actor,
    id: Uuid,
    input: &UpdateComment,
) -> DomainResult<Written<Comment>> {
    let row = access::comment(db, id).await?;
    if !is_author(actor.user_id, row.author_id) {
        return Err(DomainError::forbidden(
            "Only the author can edit a comment.",
        ));
    }
    if row.deleted_at.is_some() {
        return Err(DomainError::not_found("The comment was deleted."));
    }
    let body = CommentBody::try_from(input.body.as_str())?;
    comments::update(db, row.id, body.as_str(), &markdown::render(body.as_str())).await?;
    let view = access::comment(db, row.id).await?.view(false);
    Ok(Written::new(
        view,
        [Change::ThreadChanged { post: row.post_id }],
    ))
}

/// The author deletes: the body reads `[deleted]`, the author is hidden, replies stay.
#[tracing::instrument(name = "comments::delete", skip_all, fields(comment = %id, user = %actor.user_id))]
pub async fn delete(db: &PgPool, actor: &Actor, id: Uuid) -> DomainResult<Written<()>> {
    let row = access::comment(db, id).await?;
    if !is_author(actor.user_id, row.author_id) {
        return Err(DomainError::forbidden(
            "Only the author can delete a comment.",
        ));
    }
    comments::soft_delete(db, row.id).await?;
    Ok(Written::new(
        (),
        [Change::ThreadChanged { post: row.post_id }],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comment_body_has_text() {
        assert!(CommentBody::try_from("  \n ").is_err());
        assert!(CommentBody::try_from("x".repeat(BODY_MAX + 1).as_str()).is_err());
        assert_eq!(
            CommentBody::try_from("hi").map(|b| b.as_str().to_string()),
            Ok("hi".to_string())
        );
    }
}
