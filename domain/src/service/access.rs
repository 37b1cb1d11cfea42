//! Who may act where: lookups that need the database, over the pure rules in
//! `rules::permissions`.

use sqlx::PgPool;
use uuid::Uuid;

use crate::error::{DomainError, DomainResult, ErrorCode};
use crate::model::{Actor, Role};
use crate::rules::permissions::Standing;
use crate::store::communities::{self, CommunityRow};
use crate::store::{bans, comments, posts};

/// A community by name, as `viewer` sees it; 404 when there is none.
pub async fn community(
    db: &PgPool,
    name: &str,
    viewer: Option<Uuid>,
) -> DomainResult<CommunityRow> {
    communities::by_name(db, name, viewer)
        .await?
        .ok_or_else(|| DomainError::not_found("No such community."))
}

/// A post by id (deleted and removed ones included); 404 when there is none.
pub async fn post(db: &PgPool, id: Uuid) -> DomainResult<posts::PostRow> {
    posts::by_id(db, id)
        .await?
        .ok_or_else(|| DomainError::not_found("No such post."))
}

/// A comment by id; 404 when there is none.
pub async fn comment(db: &PgPool, id: Uuid) -> DomainResult<comments::CommentRow> {
    comments::by_id(db, id)
        .await?
        .ok_or_else(|| DomainError::not_found("No such comment."))
}

/// The actor's standing in a community (by id).
pub async fn standing(db: &PgPool, community_id: Uuid, actor: &Actor) -> DomainResult<Standing> {
    let row = communities::by_id(db, community_id, Some(actor.user_id))
        .await?
        .ok_or_else(|| DomainError::not_found("No such community."))?;
    Ok(row.standing(Some(actor.role)))
}

/// Whether an optional actor moderates the community (admins moderate everywhere).
pub async fn moderates(
    db: &PgPool,
    community_id: Uuid,
    actor: Option<&Actor>,
) -> DomainResult<bool> {
    match actor {
        Some(a) => Ok(standing(db, community_id, a).await?.moderates()),
        None => Ok(false),
    }
}

/// Refused unless the actor moderates the community.
pub async fn require_moderator(db: &PgPool, community_id: Uuid, actor: &Actor) -> DomainResult<()> {
    if standing(db, community_id, actor).await?.moderates() {
        Ok(())
    } else {
        Err(DomainError::forbidden(
            "Only this community's moderators can do that.",
        ))
    }
}

/// Refused when the actor is banned from the community.
pub async fn refuse_banned(db: &PgPool, community_id: Uuid, actor: &Actor) -> DomainResult<()> {
    if bans::banned_from(db, community_id, actor.user_id).await? {
        Err(banned())
    } else {
        Ok(())
    }
}

pub fn banned() -> DomainError {
    DomainError::refused(ErrorCode::Banned, "You are banned from this community.")
}

/// Refused unless the actor is a site admin.
pub fn require_admin(actor: &Actor) -> DomainResult<()> {
    if actor.role == Role::Admin {
        Ok(())
    } else {
        Err(DomainError::forbidden("Only admins can do that."))
    }
}
