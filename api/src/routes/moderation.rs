use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use forum_domain::model::ReportStatus;
use forum_domain::model::{CommunityBan, ModlogEntry, Page, Report};
use forum_domain::rules::paging::{Cursor, PageRequest, finish_page};
use forum_domain::service;
use forum_domain::service::moderation::{BanBody, CreateReport, ReasonBody, ResolveBody};
use forum_domain::store::actions::PostAction;
use forum_domain::store::{bans, modlog, reports};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::auth::{AuthUser, MaybeUser};
use crate::error::{ApiError, ApiResult};
use crate::extract::Paging;
use crate::idempotency;
use crate::moderation::require_moderator;
use crate::routes::communities::load;
use crate::state::AppState;

async fn post_action(
    state: &AppState,
    user: &AuthUser,
    id: Uuid,
    action: PostAction,
    why: Option<&str>,
) -> ApiResult<HttpResponse> {
    let written =
        service::moderation::post_action(&state.db, &user.actor(), id, action, why).await?;
    state.commit(user, written).await;
    Ok(HttpResponse::NoContent().finish())
}

macro_rules! post_action_route {
    ($name:ident, $path:literal, $action:expr, $what:literal) => {
        #[utoipa::path(
            tag = "moderation",
            security(("bearer" = [])),
            params(("id" = Uuid, Path, description = "Post id")),
            request_body(content = Option<ReasonBody>, description = "Optional reason for the modlog"),
            responses(
                (status = 204, description = $what),
                (status = 401, description = "No valid token"),
                (status = 403, description = "Not a moderator of the post's community"),
                (status = 404, description = "No such post"),
                (status = 409, description = "Pinning a third post"),
            )
        )]
        #[post($path)]
        pub async fn $name(
            state: web::Data<AppState>,
            user: AuthUser,
            id: web::Path<Uuid>,
            body: Option<web::Json<ReasonBody>>,
        ) -> ApiResult<HttpResponse> {
            let why = body.and_then(|b| b.into_inner().reason);
            post_action(&state, &user, *id, $action, why.as_deref()).await
        }
    };
}

post_action_route!(
    remove_post,
    "/mod/posts/{id}/remove",
    PostAction::Remove,
    "Removed: hidden from listings, `[removed]` to non-moderators"
);
post_action_route!(
    restore_post,
    "/mod/posts/{id}/restore",
    PostAction::Restore,
    "Restored"
);
post_action_route!(
    lock_post,
    "/mod/posts/{id}/lock",
    PostAction::Lock,
    "Locked: no new comments"
);
post_action_route!(
    unlock_post,
    "/mod/posts/{id}/unlock",
    PostAction::Unlock,
    "Unlocked"
);
post_action_route!(
    pin_post,
    "/mod/posts/{id}/pin",
    PostAction::Pin,
    "Pinned to the top of the community's hot listing"
);
post_action_route!(
    unpin_post,
    "/mod/posts/{id}/unpin",
    PostAction::Unpin,
    "Unpinned"
);

async fn comment_action(
    state: &AppState,
    user: &AuthUser,
    id: Uuid,
    removed: bool,
    why: Option<&str>,
) -> ApiResult<HttpResponse> {
    let written =
        service::moderation::comment_action(&state.db, &user.actor(), id, removed, why).await?;
    state.commit(user, written).await;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "moderation",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Comment id")),
    request_body(content = Option<ReasonBody>, description = "Optional reason for the modlog"),
    responses(
        (status = 204, description = "Removed: `[removed]` to non-moderators, replies stay"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Not a moderator of the community"),
        (status = 404, description = "No such comment"),
    )
)]
#[post("/mod/comments/{id}/remove")]
pub async fn remove_comment(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Option<web::Json<ReasonBody>>,
) -> ApiResult<HttpResponse> {
    let why = body.and_then(|b| b.into_inner().reason);
    comment_action(&state, &user, *id, true, why.as_deref()).await
}

#[utoipa::path(
    tag = "moderation",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Comment id")),
    request_body(content = Option<ReasonBody>, description = "Optional reason for the modlog"),
    responses(
        (status = 204, description = "Restored"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Not a moderator of the community"),
        (status = 404, description = "No such comment"),
    )
)]
#[post("/mod/comments/{id}/restore")]
pub async fn restore_comment(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Option<web::Json<ReasonBody>>,
) -> ApiResult<HttpResponse> {
    let why = body.and_then(|b| b.into_inner().reason);
    comment_action(&state, &user, *id, false, why.as_deref()).await
}

async fn file_report(
    state: &AppState,
    user: &AuthUser,
    body: &CreateReport,
) -> ApiResult<(StatusCode, serde_json::Value)> {
    let report = service::moderation::report(&state.db, &user.actor(), body).await?;
    let mut json = serde_json::to_value(report).map_err(ApiError::internal)?;
    // Reporters do not see others' report counts.
    if let Some(o) = json.as_object_mut() {
        o.remove("open_reports_on_target");
    }
    Ok((StatusCode::CREATED, json))
}

#[utoipa::path(
    tag = "reports",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "1-255 characters; repeats replay the first response")),
    request_body = CreateReport,
    responses(
        (status = 201, description = "Reported", body = Report),
        (status = 401, description = "No valid token"),
        (status = 404, description = "No such post or comment"),
        (status = 409, description = "You already have an open report on this"),
        (status = 422, description = "Invalid fields"),
    )
)]
#[post("/reports")]
pub async fn create_report(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    body: web::Json<CreateReport>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    idempotency::run(
        &state,
        &user,
        &req,
        &body,
        crate::limits::Bucket::Reports,
        || file_report(&state, &user, &body),
    )
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportsQuery {
    /// `open` (default) or `resolved`.
    #[param(inline)]
    pub status: Option<ReportStatus>,
}

#[utoipa::path(
    tag = "moderation",
    security(("bearer" = [])),
    params(("name" = String, Path), ReportsQuery, Paging),
    responses(
        (status = 200, description = "The community's reports, newest first", body = Page<Report>),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Moderators only"),
        (status = 404, description = "No such community"),
    )
)]
#[get("/communities/{name}/reports")]
pub async fn list_reports(
    state: web::Data<AppState>,
    user: AuthUser,
    name: web::Path<String>,
    query: web::Query<ReportsQuery>,
    page: Paging,
) -> ApiResult<web::Json<Page<Report>>> {
    let community = load(&state, &name, Some(user.user_id)).await?;
    require_moderator(&state, community.id, &user).await?;
    let status = query.status.unwrap_or_default();
    let scope = format!("reports:{}", status.as_str());
    let PageRequest { limit, after } = page.request(&scope)?;
    let rows = reports::reports(&state.db, community.id, status, after.as_ref(), limit).await?;
    let (items, next_cursor) =
        finish_page(rows, limit, |r| Cursor::after(scope.clone(), None, r.id));
    Ok(web::Json(Page { items, next_cursor }))
}

#[utoipa::path(
    tag = "moderation",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Report id")),
    request_body(content = Option<ResolveBody>, description = "Optional note"),
    responses(
        (status = 204, description = "Resolved (resolving twice is fine)"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Not a moderator of the report's community"),
        (status = 404, description = "No such report"),
    )
)]
#[post("/mod/reports/{id}/resolve")]
pub async fn resolve_report(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: Option<web::Json<ResolveBody>>,
) -> ApiResult<HttpResponse> {
    let note = body.and_then(|b| b.into_inner().note);
    let written =
        service::moderation::resolve_report(&state.db, &user.actor(), *id, note.as_deref()).await?;
    state.commit(&user, written).await;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "moderation",
    security(("bearer" = [])),
    params(("name" = String, Path)),
    request_body = BanBody,
    responses(
        (status = 201, description = "Banned: 403 on posting, commenting and voting here until `expires_at`", body = CommunityBan),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Moderators only"),
        (status = 404, description = "No such community or user"),
        (status = 422, description = "Invalid fields (a moderator cannot be banned)"),
    )
)]
#[post("/communities/{name}/bans")]
pub async fn ban_user(
    state: web::Data<AppState>,
    user: AuthUser,
    name: web::Path<String>,
    body: web::Json<BanBody>,
) -> ApiResult<HttpResponse> {
    let written = service::moderation::ban(&state.db, &user.actor(), &name, &body).await?;
    Ok(HttpResponse::Created().json(state.commit(&user, written).await))
}

#[utoipa::path(
    tag = "moderation",
    security(("bearer" = [])),
    params(("name" = String, Path), ("username" = String, Path)),
    responses(
        (status = 204, description = "Not banned (unbanning twice is fine)"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Moderators only"),
        (status = 404, description = "No such community or user"),
    )
)]
#[delete("/communities/{name}/bans/{username}")]
pub async fn unban_user(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (name, username) = path.into_inner();
    let written = service::moderation::unban(&state.db, &user.actor(), &name, &username).await?;
    state.commit(&user, written).await;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "moderation",
    security(("bearer" = [])),
    params(("name" = String, Path), Paging),
    responses(
        (status = 200, description = "Bans in force", body = Page<CommunityBan>),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Moderators only"),
        (status = 404, description = "No such community"),
    )
)]
#[get("/communities/{name}/bans")]
pub async fn list_bans(
    state: web::Data<AppState>,
    user: AuthUser,
    name: web::Path<String>,
    page: Paging,
) -> ApiResult<web::Json<Page<CommunityBan>>> {
    const SCOPE: &str = "bans";
    let community = load(&state, &name, Some(user.user_id)).await?;
    require_moderator(&state, community.id, &user).await?;
    let PageRequest { limit, after } = page.request(SCOPE)?;
    let rows = bans::bans(&state.db, community.id, after.as_ref(), limit).await?;
    let (rows, next_cursor) = finish_page(rows, limit, |(_, id)| Cursor::after(SCOPE, None, *id));
    Ok(web::Json(Page {
        items: rows.into_iter().map(|(b, _)| b).collect(),
        next_cursor,
    }))
}

#[utoipa::path(
    tag = "communities",
    params(("name" = String, Path), Paging),
    responses(
        (status = 200, description = "Every moderator action in this community, newest first (public)", body = Page<ModlogEntry>),
        (status = 404, description = "No such community"),
    )
)]
#[get("/communities/{name}/modlog")]
pub async fn community_modlog(
    state: web::Data<AppState>,
    user: MaybeUser,
    name: web::Path<String>,
    page: Paging,
) -> ApiResult<web::Json<Page<ModlogEntry>>> {
    const SCOPE: &str = "modlog";
    let community = load(&state, &name, user.id()).await?;
    let PageRequest { limit, after } = page.request(SCOPE)?;
    let rows = modlog::modlog(&state.db, Some(community.id), after.as_ref(), limit).await?;
    let (items, next_cursor) = finish_page(rows, limit, |r| Cursor::after(SCOPE, None, r.id));
    Ok(web::Json(Page { items, next_cursor }))
}
