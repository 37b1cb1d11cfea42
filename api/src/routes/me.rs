use actix_web::{get, patch, post, web};
use forum_domain::model::{Me, Notification, Page, Post};
use forum_domain::rules::paging::{Cursor, PageRequest, finish_page};
use forum_domain::service::accounts::{self, MarkRead, UpdateMe};
use forum_domain::store::users;
use forum_domain::store::{notifications, posts};
use serde::Deserialize;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::Paging;
use crate::listings;
use crate::state::AppState;

#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Your private profile", body = Me),
        (status = 401, description = "No valid token"),
    )
)]
#[get("/me")]
pub async fn get_me(state: web::Data<AppState>, user: AuthUser) -> ApiResult<web::Json<Me>> {
    let row = users::by_id(&state.db, user.user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("No such user."))?;
    Ok(web::Json(row.into()))
}

#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    request_body = UpdateMe,
    responses(
        (status = 200, description = "The updated profile", body = Me),
        (status = 401, description = "No valid token"),
        (status = 422, description = "Invalid fields"),
    )
)]
#[patch("/me")]
pub async fn patch_me(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<UpdateMe>,
) -> ApiResult<web::Json<Me>> {
    let written = accounts::update_profile(&state.db, &user.actor(), body.into_inner()).await?;
    Ok(web::Json(state.commit(&user, written).await))
}

#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    params(Paging),
    responses(
        (status = 200, description = "Your saved posts, most recently saved first", body = Page<Post>),
        (status = 401, description = "No valid token"),
    )
)]
#[get("/me/saved")]
pub async fn saved_posts(
    state: web::Data<AppState>,
    user: AuthUser,
    page: Paging,
) -> ApiResult<web::Json<Page<Post>>> {
    const SCOPE: &str = "saved";
    let PageRequest { limit, after } = page.request(SCOPE)?;
    let rows = posts::saved(&state.db, user.user_id, after.as_ref(), limit).await?;
    let (rows, next) = finish_page(rows, limit, |r| {
        Cursor::after(SCOPE, Some(r.sort_key), r.id)
    });
    Ok(web::Json(
        listings::rows_page(&state, rows, next, Some(&user)).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationsQuery {
    /// Only unread ones.
    pub unread: Option<bool>,
}

#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    params(NotificationsQuery, Paging),
    responses(
        (status = 200, description = "Replies to your posts and comments, newest first", body = Page<Notification>),
        (status = 401, description = "No valid token"),
    )
)]
#[get("/me/notifications")]
pub async fn list_notifications(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<NotificationsQuery>,
    page: Paging,
) -> ApiResult<web::Json<Page<Notification>>> {
    const SCOPE: &str = "notifications";
    let PageRequest { limit, after } = page.request(SCOPE)?;
    let rows = notifications::list(
        &state.db,
        user.user_id,
        query.unread.unwrap_or(false),
        after.as_ref(),
        limit,
    )
    .await?;
    let (rows, next_cursor) = finish_page(rows, limit, |r| Cursor::after(SCOPE, None, r.id));
    Ok(web::Json(Page {
        items: rows.into_iter().map(Notification::from).collect(),
        next_cursor,
    }))
}

#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    request_body = MarkRead,
    responses(
        (status = 204, description = "Marked read"),
        (status = 401, description = "No valid token"),
        (status = 422, description = "Neither `ids` nor `all: true`"),
    )
)]
#[post("/me/notifications/read")]
pub async fn mark_notifications_read(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<MarkRead>,
) -> ApiResult<actix_web::HttpResponse> {
    let written =
        accounts::mark_notifications_read(&state.db, &user.actor(), body.into_inner()).await?;
    state.commit(&user, written).await;
    Ok(actix_web::HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "accounts",
    params(("token" = String, Path, description = "From the List-Unsubscribe link of a notification email")),
    responses(
        (status = 204, description = "Reply-notification emails are off for that account (RFC 8058 one-click; no login)"),
        (status = 404, description = "Unknown or forged token"),
    )
)]
#[post("/unsubscribe/{token}")]
pub async fn unsubscribe(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> ApiResult<actix_web::HttpResponse> {
    use secrecy::ExposeSecret;
    let key = state.config.jwt_secret.expose_secret().as_bytes();
    let written = accounts::unsubscribe(&state.db, key, &token).await?;
    state.commit_anonymous(written).await;
    Ok(actix_web::HttpResponse::NoContent().finish())
}
