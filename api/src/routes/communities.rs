use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use forum_domain::change::Written;
use forum_domain::error::ErrorCode;
use forum_domain::model::CommunitySort;
use forum_domain::model::{Community, Moderator, Page};
use forum_domain::rules::paging::{PageRequest, finish_page};
use forum_domain::rules::validation::{self, CommunityName, Errors};
use forum_domain::store::communities::{self, CommunityRow, CommunityUpdate, NewCommunity};
use forum_domain::store::users;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{AuthUser, MaybeUser};
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateCommunity {
    /// `^[A-Za-z0-9_]{3,21}$`, unique case-insensitively.
    pub name: String,
    /// 1-100 characters.
    pub title: String,
    pub description: Option<String>,
    /// Up to 15 rules, each a string or `{title, description}`.
    #[schema(value_type = Option<Vec<Object>>)]
    pub rules: Option<Vec<serde_json::Value>>,
    pub nsfw: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateCommunity {
    pub title: Option<String>,
    pub description: Option<String>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub rules: Option<Vec<serde_json::Value>>,
    pub nsfw: Option<bool>,
    /// Only moderators and approved users may post.
    pub restricted: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListCommunities {
    /// `popular` (most members, the default) or `new`.
    #[param(inline)]
    pub sort: Option<CommunitySort>,
    /// Name prefix or full-text query.
    pub q: Option<String>,
    /// 1-100, default 25.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UsernameBody {
    pub username: String,
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
    communities::by_name(&state.db, name, viewer)
        .await?
        .ok_or_else(|| ApiError::not_found("No such community."))
}

async fn user_id(state: &AppState, username: &str) -> ApiResult<uuid::Uuid> {
    Ok(users::find_by_username(&state.db, username)
        .await?
        .ok_or_else(|| ApiError::not_found("No such user."))?
        .id)
}

fn validate_rules(errors: &mut Errors, rules: Option<&Vec<serde_json::Value>>) {
    if let Some(rules) = rules {
        errors.check(validation::community_rules("rules", rules));
    }
}

#[utoipa::path(
    tag = "communities",
    security(("bearer" = [])),
    request_body = CreateCommunity,
    responses(
        (status = 201, description = "Created; you are its owner and first member", body = Community),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Name taken (case-insensitively)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/communities")]
pub async fn create_community(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<CreateCommunity>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let mut errors = Errors::default();
    let name = errors.check(CommunityName::parse("name", &body.name));
    let title = errors.check(validation::required_text(
        "title",
        &body.title,
        1,
        validation::COMMUNITY_TITLE_MAX,
    ));
    let description = errors.check(validation::markdown(
        "description",
        body.description.as_deref().unwrap_or(""),
        validation::COMMUNITY_DESCRIPTION_MAX,
    ));
    validate_rules(&mut errors, body.rules.as_ref());
    errors.into_result().map_err(ApiError::validation)?;
    let (Some(name), Some(title), Some(description)) = (name, title, description) else {
        return Err(ApiError::internal(anyhow::anyhow!(
            "validated fields missing"
        )));
    };
    let row = communities::create(
        &state.db,
        NewCommunity {
            name: name.as_str(),
            title: &title,
            description: &description,
            rules: body.rules.as_deref().unwrap_or(&[]),
            nsfw: body.nsfw.unwrap_or(false),
            owner_id: user.user_id,
        },
    )
    .await?;
    state.commit(&user, Written::plain(())).await;
    Ok(HttpResponse::Created().json(Community::from(row)))
}

#[utoipa::path(
    tag = "communities",
    params(ListCommunities),
    responses(
        (status = 200, description = "A page of communities", body = Page<Community>),
        (status = 400, description = "Invalid query or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/communities")]
pub async fn list_communities(
    state: web::Data<AppState>,
    user: MaybeUser,
    query: web::Query<ListCommunities>,
) -> ApiResult<web::Json<Page<Community>>> {
    let sort = query.sort.unwrap_or_default();
    let PageRequest { limit, after } =
        PageRequest::parse(query.limit, query.cursor.as_deref(), sort.scope())?;
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
        (status = 404, description = "No such community", body = Problem, content_type = "application/problem+json"),
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
        (status = 403, description = "Not a moderator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such community", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/communities/{name}")]
pub async fn update_community(
    state: web::Data<AppState>,
    user: AuthUser,
    name: web::Path<String>,
    body: web::Json<UpdateCommunity>,
) -> ApiResult<web::Json<Community>> {
    let community = load(&state, &name, Some(user.user_id)).await?;
    if !community.standing(Some(user.role)).can_edit_community() {
        return Err(ApiError::forbidden(
            "Only moderators can change this community.",
        ));
    }
    let body = body.into_inner();
    let mut errors = Errors::default();
    let title = body.title.as_deref().and_then(|t| {
        errors.check(validation::required_text(
            "title",
            t,
            1,
            validation::COMMUNITY_TITLE_MAX,
        ))
    });
    let description = body.description.as_deref().and_then(|d| {
        errors.check(validation::markdown(
            "description",
            d,
            validation::COMMUNITY_DESCRIPTION_MAX,
        ))
    });
    validate_rules(&mut errors, body.rules.as_ref());
    errors.into_result().map_err(ApiError::validation)?;
    let update = CommunityUpdate {
        title,
        description,
        rules: body.rules,
        nsfw: body.nsfw,
        restricted: body.restricted,
    };
    communities::update(&state.db, community.id, update, user.user_id).await?;
    state.commit(&user, Written::plain(())).await;
    Ok(web::Json(
        load(&state, &community.name, Some(user.user_id))
            .await?
            .into(),
    ))
}

#[utoipa::path(
    tag = "communities",
    security(("bearer" = [])),
    params(("name" = String, Path)),
    responses(
        (status = 204, description = "You are a member (joining twice is fine)"),
        (status = 404, description = "No such community", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/communities/{name}/membership")]
pub async fn join_community(
    state: web::Data<AppState>,
    user: AuthUser,
    name: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let community = load(&state, &name, Some(user.user_id)).await?;
    communities::join(&state.db, community.id, user.user_id).await?;
    state.commit(&user, Written::plain(())).await;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "communities",
    security(("bearer" = [])),
    params(("name" = String, Path)),
    responses(
        (status = 204, description = "You are not a member (leaving twice is fine)"),
        (status = 404, description = "No such community", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/communities/{name}/membership")]
pub async fn leave_community(
    state: web::Data<AppState>,
    user: AuthUser,
    name: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let community = load(&state, &name, Some(user.user_id)).await?;
    communities::leave(&state.db, community.id, user.user_id).await?;
    state.commit(&user, Written::plain(())).await;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "communities",
    params(("name" = String, Path)),
    responses(
        (status = 200, description = "Owner first, then moderators by seniority", body = Vec<Moderator>),
        (status = 404, description = "No such community", body = Problem, content_type = "application/problem+json"),
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
        (status = 403, description = "Only the owner or an admin adds moderators", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such community or user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already a moderator", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/communities/{name}/moderators")]
pub async fn add_moderator(
    state: web::Data<AppState>,
    user: AuthUser,
    name: web::Path<String>,
    body: web::Json<UsernameBody>,
) -> ApiResult<HttpResponse> {
    let community = load(&state, &name, Some(user.user_id)).await?;
    if !community.standing(Some(user.role)).can_manage_moderators() {
        return Err(ApiError::forbidden(
            "Only the owner or an admin can add moderators.",
        ));
    }
    let target = user_id(&state, &body.username).await?;
    if !communities::add_moderator(&state.db, community.id, target, user.user_id).await? {
        return Err(ApiError::new(
            ErrorCode::AlreadyModerator,
            "That user is already a moderator.",
        ));
    }
    let added = communities::moderators(&state.db, community.id)
        .await?
        .into_iter()
        .find(|m| m.username.eq_ignore_ascii_case(&body.username))
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("moderator vanished")))?;
    Ok(HttpResponse::Created().json(added))
}

#[utoipa::path(
    tag = "moderation",
    security(("bearer" = [])),
    params(("name" = String, Path), ("username" = String, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Only the owner or an admin removes moderators", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such community, user or moderator", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The owner cannot be removed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/communities/{name}/moderators/{username}")]
pub async fn remove_moderator(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (name, username) = path.into_inner();
    let community = load(&state, &name, Some(user.user_id)).await?;
    if !community.standing(Some(user.role)).can_manage_moderators() {
        return Err(ApiError::forbidden(
            "Only the owner or an admin can remove moderators.",
        ));
    }
    let target = user_id(&state, &username).await?;
    if communities::remove_moderator(&state.db, community.id, target, user.user_id).await? {
        return Ok(HttpResponse::NoContent().finish());
    }
    let is_owner = communities::moderators(&state.db, community.id)
        .await?
        .iter()
        .any(|m| m.role == "owner" && m.username.eq_ignore_ascii_case(&username));
    Err(if is_owner {
        ApiError::new(ErrorCode::Owner, "The owner cannot be removed.")
    } else {
        ApiError::not_found("That user is not a moderator here.")
    })
}

#[utoipa::path(
    tag = "moderation",
    security(("bearer" = [])),
    params(("name" = String, Path)),
    responses(
        (status = 200, description = "Users approved to post in this (restricted) community", body = Vec<ApprovedUser>),
        (status = 403, description = "Moderators only", body = Problem, content_type = "application/problem+json"),
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
        (status = 403, description = "Moderators only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such community or user", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/communities/{name}/approved")]
pub async fn approve_user(
    state: web::Data<AppState>,
    user: AuthUser,
    name: web::Path<String>,
    body: web::Json<UsernameBody>,
) -> ApiResult<HttpResponse> {
    let community = load(&state, &name, Some(user.user_id)).await?;
    if !community.standing(Some(user.role)).can_approve() {
        return Err(ApiError::forbidden("Only moderators can approve users."));
    }
    let target = user_id(&state, &body.username).await?;
    communities::approve(&state.db, community.id, target, user.user_id).await?;
    Ok(HttpResponse::Created().finish())
}

#[utoipa::path(
    tag = "moderation",
    security(("bearer" = [])),
    params(("name" = String, Path), ("username" = String, Path)),
    responses(
        (status = 204, description = "No longer approved"),
        (status = 403, description = "Moderators only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such community or user", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/communities/{name}/approved/{username}")]
pub async fn unapprove_user(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (name, username) = path.into_inner();
    let community = load(&state, &name, Some(user.user_id)).await?;
    if !community.standing(Some(user.role)).can_approve() {
        return Err(ApiError::forbidden("Only moderators can unapprove users."));
    }
    let target = user_id(&state, &username).await?;
    communities::unapprove(&state.db, community.id, target, user.user_id).await?;
    Ok(HttpResponse::NoContent().finish())
}
