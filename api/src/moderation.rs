//! Shared checks for moderation: who moderates where, and community bans.

use actix_web::http::StatusCode;
use forum_domain::rules::permissions::Standing;
use forum_domain::store::{communities, moderation};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The caller's standing in a community (by id).
pub async fn standing(
    state: &AppState,
    community_id: Uuid,
    user: &AuthUser,
) -> ApiResult<Standing> {
    let row = communities::by_id(&state.db, community_id, Some(user.user_id))
        .await?
        .ok_or_else(|| ApiError::not_found("No such community."))?;
    Ok(row.standing(Some(user.role)))
}

/// Whether an optional caller moderates the community (admins moderate everywhere).
pub async fn moderates(
    state: &AppState,
    community_id: Uuid,
    user: Option<&AuthUser>,
) -> ApiResult<bool> {
    match user {
        Some(u) => Ok(standing(state, community_id, u).await?.moderates()),
        None => Ok(false),
    }
}

/// 403 unless the caller moderates the community.
pub async fn require_moderator(
    state: &AppState,
    community_id: Uuid,
    user: &AuthUser,
) -> ApiResult<()> {
    if standing(state, community_id, user).await?.moderates() {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "Only this community's moderators can do that.",
        ))
    }
}

/// 403 when the caller is banned from the community.
pub async fn refuse_banned(state: &AppState, community_id: Uuid, user: &AuthUser) -> ApiResult<()> {
    if moderation::banned_from(&state.db, community_id, user.user_id).await? {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "banned",
            "You are banned from this community.",
        ))
    } else {
        Ok(())
    }
}

/// A vote's outcome as the API answers it: the counts, or why it was not counted.
pub fn vote_counted(
    cast: forum_domain::store::votes::Cast,
    what: &str,
) -> ApiResult<forum_domain::model::VoteResult> {
    use forum_domain::store::votes::Cast;
    match cast {
        Cast::Counted(result) => Ok(result),
        Cast::NotFound => Err(ApiError::not_found(format!("No such {what}."))),
        Cast::NotVotable => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_votable",
            format!("Deleted or removed {what}s take no votes."),
        )),
        Cast::Banned => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "banned",
            "You are banned from this community.",
        )),
    }
}

/// 403 unless the caller is a site admin.
pub fn require_admin(user: &AuthUser) -> ApiResult<()> {
    if user.role == forum_domain::model::Role::Admin {
        Ok(())
    } else {
        Err(ApiError::forbidden("Only admins can do that."))
    }
}
