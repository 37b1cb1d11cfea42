//! The API's view of `forum_domain::service::access`: the same checks for an `AuthUser`.

use forum_domain::rules::permissions::Standing;
use forum_domain::service::access;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::ApiResult;
use crate::state::AppState;

/// The caller's standing in a community (by id).
pub async fn standing(
    state: &AppState,
    community_id: Uuid,
    user: &AuthUser,
) -> ApiResult<Standing> {
    Ok(access::standing(&state.db, community_id, &user.actor()).await?)
}

/// Whether an optional caller moderates the community (admins moderate everywhere).
pub async fn moderates(
    state: &AppState,
    community_id: Uuid,
    user: Option<&AuthUser>,
) -> ApiResult<bool> {
    let actor = user.map(AuthUser::actor);
    Ok(access::moderates(&state.db, community_id, actor.as_ref()).await?)
}

/// 403 unless the caller moderates the community.
pub async fn require_moderator(
    state: &AppState,
    community_id: Uuid,
    user: &AuthUser,
) -> ApiResult<()> {
    Ok(access::require_moderator(&state.db, community_id, &user.actor()).await?)
}

/// 403 when the caller is banned from the community.
pub async fn refuse_banned(state: &AppState, community_id: Uuid, user: &AuthUser) -> ApiResult<()> {
    Ok(access::refuse_banned(&state.db, community_id, &user.actor()).await?)
}

/// 403 unless the caller is a site admin.
pub fn require_admin(user: &AuthUser) -> ApiResult<()> {
    Ok(access::require_admin(&user.actor())?)
}
