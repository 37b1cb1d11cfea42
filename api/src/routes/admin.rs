use actix_web::{HttpResponse, delete, get, post, put, web};
use forum_domain::model::{AdminUser, ModlogEntry, Page, Role};
use forum_domain::rules::paging::{Cursor, PageRequest, finish_page};
use forum_domain::service;
use forum_domain::service::admin::{OptionalReason, RoleBody, SiteBan};
use forum_domain::store::{self, admin};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::Paging;
use crate::moderation::require_admin;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsersQuery {
    /// Username or email prefix.
    pub q: Option<String>,
    #[param(inline)]
    pub role: Option<Role>,
    /// Only banned (`true`) or only not banned (`false`) users.
    pub banned: Option<bool>,
}

#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(UsersQuery, Paging),
    responses(
        (status = 200, description = "Users, newest first", body = Page<AdminUser>),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Admins only"),
    )
)]
#[get("/admin/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<UsersQuery>,
    page: Paging,
) -> ApiResult<web::Json<Page<AdminUser>>> {
    const SCOPE: &str = "admin_users";
    require_admin(&user)?;
    let PageRequest { limit, after } = page.request(SCOPE)?;
    let rows = admin::users(
        &state.db,
        query.q.as_deref(),
        query.role,
        query.banned,
        after.as_ref(),
        limit,
    )
    .await?;
    let (items, next_cursor) = finish_page(rows, limit, |r| Cursor::after(SCOPE, None, r.id));
    Ok(web::Json(Page { items, next_cursor }))
}

#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("username" = String, Path)),
    request_body = SiteBan,
    responses(
        (status = 204, description = "Banned: cannot log in; every session ended, existing tokens refused"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Admins only"),
        (status = 404, description = "No such user"),
        (status = 422, description = "Invalid fields, or banning yourself"),
    )
)]
#[post("/admin/users/{username}/ban")]
pub async fn ban(
    state: web::Data<AppState>,
    user: AuthUser,
    username: web::Path<String>,
    body: web::Json<SiteBan>,
) -> ApiResult<HttpResponse> {
    let written = service::admin::ban(&state.db, &user.actor(), &username, &body).await?;
    state.commit(&user, written).await;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("username" = String, Path)),
    request_body(content = Option<OptionalReason>, description = "Optional reason for the modlog"),
    responses(
        (status = 204, description = "Unbanned"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Admins only"),
        (status = 404, description = "No such user"),
    )
)]
#[post("/admin/users/{username}/unban")]
pub async fn unban(
    state: web::Data<AppState>,
    user: AuthUser,
    username: web::Path<String>,
    body: Option<web::Json<OptionalReason>>,
) -> ApiResult<HttpResponse> {
    let why = body.and_then(|b| b.into_inner().reason);
    let written =
        service::admin::unban(&state.db, &user.actor(), &username, why.as_deref()).await?;
    state.commit(&user, written).await;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("username" = String, Path)),
    request_body = RoleBody,
    responses(
        (status = 204, description = "Role changed (takes effect on the user's next request)"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Admins only"),
        (status = 404, description = "No such user"),
        (status = 422, description = "Invalid role, or demoting yourself"),
    )
)]
#[put("/admin/users/{username}/role")]
pub async fn set_role(
    state: web::Data<AppState>,
    user: AuthUser,
    username: web::Path<String>,
    body: web::Json<RoleBody>,
) -> ApiResult<HttpResponse> {
    let written = service::admin::set_role(&state.db, &user.actor(), &username, &body).await?;
    state.commit(&user, written).await;
    Ok(HttpResponse::NoContent().finish())
}

/// Soft-removes or restores a community (admins), and versions its cached listings away.
async fn set_removed(
    state: &AppState,
    user: &AuthUser,
    name: &str,
    removed: bool,
    why: Option<&str>,
) -> ApiResult<HttpResponse> {
    let written =
        service::admin::community_removal(&state.db, &user.actor(), name, removed, why).await?;
    state.commit(user, written).await;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("name" = String, Path)),
    request_body(content = Option<OptionalReason>, description = "Reason for the modlog"),
    responses(
        (status = 204, description = "Removed (soft, restorable): the community and its posts disappear"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Admins only"),
        (status = 404, description = "No such community"),
    )
)]
#[delete("/admin/communities/{name}")]
pub async fn remove_community(
    state: web::Data<AppState>,
    user: AuthUser,
    name: web::Path<String>,
    body: Option<web::Json<OptionalReason>>,
) -> ApiResult<HttpResponse> {
    let why = body.and_then(|b| b.into_inner().reason);
    set_removed(&state, &user, &name, true, why.as_deref()).await
}

#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("name" = String, Path)),
    request_body(content = Option<OptionalReason>, description = "Reason for the modlog"),
    responses(
        (status = 204, description = "Restored"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Admins only"),
        (status = 404, description = "No such community"),
    )
)]
#[post("/admin/communities/{name}/restore")]
pub async fn restore_community(
    state: web::Data<AppState>,
    user: AuthUser,
    name: web::Path<String>,
    body: Option<web::Json<OptionalReason>>,
) -> ApiResult<HttpResponse> {
    let why = body.and_then(|b| b.into_inner().reason);
    set_removed(&state, &user, &name, false, why.as_deref()).await
}

#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(Paging),
    responses(
        (status = 200, description = "Every moderator and admin action, site-wide, newest first", body = Page<ModlogEntry>),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Admins only"),
    )
)]
#[get("/admin/modlog")]
pub async fn modlog(
    state: web::Data<AppState>,
    user: AuthUser,
    page: Paging,
) -> ApiResult<web::Json<Page<ModlogEntry>>> {
    const SCOPE: &str = "admin_modlog";
    require_admin(&user)?;
    let PageRequest { limit, after } = page.request(SCOPE)?;
    let rows = store::modlog::modlog(&state.db, None, after.as_ref(), limit).await?;
    let (items, next_cursor) = finish_page(rows, limit, |r| Cursor::after(SCOPE, None, r.id));
    Ok(web::Json(Page { items, next_cursor }))
}

/// The job queues at a glance.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct JobsOverview {
    pub queues: Vec<forum_domain::adapters::queues::QueueStats>,
    /// Outbox rows not yet handed to a queue, and the age of the oldest (0 when none).
    pub outbox_pending: i64,
    pub outbox_oldest_age_seconds: f64,
}

#[derive(Debug, serde::Serialize, ToSchema)]
pub struct RetriedJob {
    pub id: uuid::Uuid,
    pub queue: String,
}

fn queue_unavailable(e: impl std::fmt::Display) -> ApiError {
    tracing::warn!(error = %e, "reading the job queues");
    ApiError::unavailable("The job queues are unavailable.")
}

#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Per queue: ready, scheduled, running, retrying and dead jobs (the newest dead ones listed); the outbox backlog", body = JobsOverview),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Admins only"),
        (status = 503, description = "Redis unavailable"),
    )
)]
#[get("/admin/jobs")]
pub async fn jobs(
    state: web::Data<AppState>,
    user: AuthUser,
) -> ApiResult<web::Json<JobsOverview>> {
    require_admin(&user)?;
    let mut redis = state.redis.clone();
    let prefix = &state.config.settings.redis.prefix;
    let mut queues = Vec::new();
    for topic in forum_domain::jobs::Topic::ALL {
        queues.push(
            forum_domain::adapters::queues::stats(&mut redis, prefix, topic, 50)
                .await
                .map_err(queue_unavailable)?,
        );
    }
    Ok(web::Json(JobsOverview {
        queues,
        outbox_pending: forum_domain::store::outbox::pending_count(&state.db).await?,
        outbox_oldest_age_seconds: forum_domain::store::outbox::lag_seconds(&state.db).await?,
    }))
}

#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "A dead job's id, from `GET /admin/jobs`")),
    responses(
        (status = 202, description = "Queued again (through the outbox), with fresh attempts", body = RetriedJob),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Admins only"),
        (status = 404, description = "No dead job with this id"),
        (status = 503, description = "Redis unavailable"),
    )
)]
#[post("/admin/jobs/{id}/retry")]
pub async fn retry_job(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<uuid::Uuid>,
) -> ApiResult<HttpResponse> {
    require_admin(&user)?;
    let mut redis = state.redis.clone();
    let retried = forum_domain::adapters::queues::retry_dead(
        &mut redis,
        &state.db,
        &state.config.settings.redis.prefix,
        *id,
    )
    .await
    .map_err(|e| match e {
        forum_domain::adapters::queues::RetryError::Store(s) => ApiError::from(s),
        other => queue_unavailable(other),
    })?;
    let topic = retried.ok_or_else(|| ApiError::not_found("No dead job with this id."))?;
    Ok(HttpResponse::Accepted().json(RetriedJob {
        id: *id,
        queue: topic.as_str().to_string(),
    }))
}
