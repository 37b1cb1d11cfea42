use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use forum_domain::model::CommunitySort;
use forum_domain::model::{Community, Moderator, Page};
use forum_domain::rules::paging::{PageRequest, finish_page};
use forum_domain::service;
use forum_domain::service::communities::{CreateCommunity, UpdateCommunity, UsernameBody};
use forum_domain::store::communities::{self, CommunityRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{AuthUser, MaybeUser};
use crate::error::{ApiError, ApiResult};
use crate::extract::Paging;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListCommunities {
    /// `popular` (most members, the default) or `new`.
    #[param(inline)]
    pub sort: Option<CommunitySort>,
    /// Name prefix or full-text query.
    pub q: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovedUser {
    pub username: String,
    pub approved_at: chrono::DateTime<chrono::Utc>,
}

pub async fn load(
    state: &AppState,
    name: &str,
    viewer: Option<uuid::Uuid>,
) -> ApiResult<CommunityRow> {
    Ok(service::access::community(&state.db, name, viewer).await?)
}

#[utoipa::path(
    tag = "communities",
    security(("bearer" = [])),
    request_body = CreateCommunity,
    responses(
        (status = 201, description = "Created; you are its owner and first member", body = Community),
        (status = 401, description = "No valid token"),
        (status = 409, description = "Name taken (case-insensitively)"),
        (status = 422, description = "Invalid fields"),
    )
)]
#[post("/communities")]
pub async fn create_community(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<CreateCommunity>,
) -> ApiResult<HttpResponse> {
    let written = service::communities::create(&state.db, &user.actor(), body.into_inner()).await?;
    let community = state.commit(&user, written).await;
    Ok(HttpResponse::Created().json(community))
}

#[utoipa::path(
    tag = "communities",
    params(ListCommunities, Paging),
    responses(
        (status = 200, description = "A page of communities", body = Page<Community>),
        (status = 400, description = "Invalid query or cursor"),
    )
)]
#[get("/communities")]
pub async fn list_communities(
    state: web::Data<AppState>,
    user: MaybeUser,
    query: web::Query<ListCommunities>,
    page: Paging,
) -> ApiResult<web::Json<Page<Community>>> {
    let sort = query.sort.unwrap_or_default();
    let PageRequest { limit, after } = page.request(sort.scope())?;
    let db = state.reader(user.0.as_ref()).await;
    let rows = communities::list(
        db,
        sort,
        query.q.as_deref(),
        after.as_ref(),
        limit,
        user.id(),
    )
    .await?;
    let (rows, next_cursor) = finish_page(rows, limit, |r| communities::cursor_for(sort, r));
    Ok(web::Json(Page {
        items: rows.into_iter().map(Community::from).collect(),
        next_cursor,
    }))
}

#[utoipa::path(
    tag = "communities",
    params(("name" = String, Path, description = "Case-insensitive")),
    responses(
        (status = 200, description = "The community, with your membership", body = Community),
        (status = 404, description = "No such community"),
    )
)]
#[get("/communities/{name}")]
pub async fn get_community(
    state: web::Data<AppState>,
    user: MaybeUser,
    name: web::Path<String>,
) -> ApiResult<web::Json<Community>> {
    Ok(web::Json(load(&state, &name, user.id()).await?.into()))
}

#[utoipa::path(
    tag = "moderation",
    security(("bearer" = [])),
    params(("name" = String, Path)),
    request_body = UpdateCommunity,
    responses(
        (status = 200, description = "Updated", body = Community),
        (status = 403, description = "Not a moderator"),
        (status = 404, description = "No such community"),
        (status = 422, description = "Invalid fields"),
    )
)]
#[patch("/communities/{name}")]
pub async fn update_community(
    state: web::Data<AppState>,
    user: AuthUser,
    name: web::Path<String>,
    body: web::Json<UpdateCommunity>,
) -> ApiResult<web::Json<Community>> {
    let written =
        service::communities::update(&state.db, &user.actor(), &name, body.into_inner()).await?;
    Ok(web::Json(state.commit(&user, written).await))
}

#[utoipa::path(
    tag = "communities",
    security(("bearer" = [])),
    params(("name" = String, Path)),
    responses(
        (status = 204, description = "You are a member (joining twice is fine)"),
        (status = 404, description = "No such community"),
    )
)]
#[put("/communities/{name}/membership")]
pub async fn join_community(
    state: web::Data<AppState>,
    user: AuthUser,
    name: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let written = service::communities::membership(&state.db, &user.actor(), &name, true).await?;
    state.commit(&user, written).await;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "communities",
    security(("bearer" = [])),
    params(("name" = String, Path)),
    responses(
        (status = 204, description = "You are not a member (leaving twice is fine)"),
        (status = 404, description = "No such community"),
    )
)]
#[delete("/communities/{name}/membership")]
pub async fn leave_community(
    state: web::Data<AppState>,
    user: AuthUser,
    name: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let written = service::communities::membership(&state.db, &user.actor(), &name, false).await?;
    state.commit(&user, written).await;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "communities",
    params(("name" = String, Path)),
    responses(
        (status = 200, description = "Owner first, then moderators by seniority", body = Vec<Moderator>),
        (status = 404, description = "No such community"),
    )
)]
#[get("/communities/{name}/moderators")]
pub async fn list_moderators(
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> ApiResult<web::Json<Vec<Moderator>>> {
    let community = load(&state, &name, None).await?;
    Ok(web::Json(
        communities::moderators(&state.db, community.id).await?,
    ))
}

#[utoipa::path(
    tag = "moderation",
    security(("bearer" = [])),
    params(("name" = String, Path)),
    request_body = UsernameBody,
    responses(
        (status = 201, description = "Added", body = Moderator),
        (status = 403, description = "Only the owner or an admin adds moderators"),
        (status = 404, description = "No such community or user"),
        (status = 409, description = "Already a moderator"),
    )
)]
#[post("/communities/{name}/moderators")]
pub async fn add_moderator(
    state: web::Data<AppState>,
    user: AuthUser,
    name: web::Path<String>,
    body: web::Json<UsernameBody>,
) -> ApiResult<HttpResponse> {
    let written =
        service::communities::add_moderator(&state.db, &user.actor(), &name, &body.username)
            .await?;
    Ok(HttpResponse::Created().json(state.commit(&user, written).await))
}

#[utoipa::path(
    tag = "moderation",
    security(("bearer" = [])),
    params(("name" = String, Path), ("username" = String, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Only the owner or an admin removes moderators"),
        (status = 404, description = "No such community, user or moderator"),
        (status = 409, description = "The owner cannot be removed"),
    )
)]
#[delete("/communities/{name}/moderators/{username}")]
pub async fn remove_moderator(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (name, username) = path.into_inner();
    let written =
        service::communities::remove_moderator(&state.db, &user.actor(), &name, &username).await?;
    state.commit(&user, written).await;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "moderation",
    security(("bearer" = [])),
    params(("name" = String, Path)),
    responses(
        (status = 200, description = "Users approved to post in this (restricted) community", body = Vec<ApprovedUser>),
        (status = 403, description = "Moderators only"),
    )
)]
#[get("/communities/{name}/approved")]
pub async fn list_approved(
    state: web::Data<AppState>,
    user: AuthUser,
    name: web::Path<String>,
) -> ApiResult<web::Json<Vec<ApprovedUser>>> {
    let community = load(&state, &name, Some(user.user_id)).await?;
    if !community.standing(Some(user.role)).can_approve() {
        return Err(ApiError::forbidden(
            "Only moderators can see approved users.",
        ));
    }
    let rows = communities::approved(&state.db, community.id).await?;
    Ok(web::Json(
        rows.into_iter()
            .map(|(username, approved_at)| ApprovedUser {
                username,
                approved_at,
            })
            .collect(),
    ))
}

#[utoipa::path(
    tag = "moderation",
    security(("bearer" = [])),
    params(("name" = String, Path)),
    request_body = UsernameBody,
    responses(
        (status = 201, description = "The user may post in this community even when it is restricted"),
        (status = 403, description = "Moderators only"),
        (status = 404, description = "No such community or user"),
    )
)]
#[post("/communities/{name}/approved")]
pub async fn approve_user(
    state: web::Data<AppState>,
    user: AuthUser,
    name: web::Path<String>,
    body: web::Json<UsernameBody>,
) -> ApiResult<HttpResponse> {
    let written =
        service::communities::approval(&state.db, &user.actor(), &name, &body.username, true)
            .await?;
    state.commit(&user, written).await;
    Ok(HttpResponse::Created().finish())
}

#[utoipa::path(
    tag = "moderation",
    security(("bearer" = [])),
    params(("name" = String, Path), ("username" = String, Path)),
    responses(
        (status = 204, description = "No longer approved"),
        (status = 403, description = "Moderators only"),
        (status = 404, description = "No such community or user"),
    )
)]
#[delete("/communities/{name}/approved/{username}")]
pub async fn unapprove_user(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (name, username) = path.into_inner();
    let written =
        service::communities::approval(&state.db, &user.actor(), &name, &username, false).await?;
    state.commit(&user, written).await;
    Ok(HttpResponse::NoContent().finish())
}
