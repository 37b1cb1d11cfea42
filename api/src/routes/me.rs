use actix_web::{get, patch, post, web};
use forum_domain::model::{Me, Notification, Page, Post};
use forum_domain::rules::paging::{Cursor, PageRequest, finish_page};
use forum_domain::rules::validation::{self, BIO_MAX, DISPLAY_NAME_MAX, Errors};
use forum_domain::store::users::{self, ProfileUpdate};
use forum_domain::store::{notifications, posts};
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::listings;
use crate::state::AppState;

/// Fields left out stay as they are; `null` or a blank string clears a text field.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateMe {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 50)]
    pub display_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub bio: Option<Option<String>>,
    pub email_notifications: Option<bool>,
}

/// Distinguishes "absent" (`None`) from "null" (`Some(None)`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

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
    let body = body.into_inner();
    let mut errors = Errors::default();
    let display_name = body.display_name.map(|v| {
        errors
            .check(validation::optional_text(
                "display_name",
                v.as_deref(),
                DISPLAY_NAME_MAX,
            ))
            .flatten()
    });
    let bio = body.bio.map(|v| {
        errors
            .check(validation::optional_text("bio", v.as_deref(), BIO_MAX))
            .flatten()
    });
    errors.into_result().map_err(ApiError::validation)?;
    let update = ProfileUpdate {
        display_name,
        bio,
        email_notifications: body.email_notifications,
    };
    let row = users::update_profile(&state.db, user.user_id, update)
        .await?
        .ok_or_else(|| ApiError::not_found("No such user."))?;
    Ok(web::Json(row.into()))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1-100, default 25.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "Your saved posts, most recently saved first", body = Page<Post>),
        (status = 401, description = "No valid token"),
    )
)]
#[get("/me/saved")]
pub async fn saved_posts(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<PageQuery>,
) -> ApiResult<web::Json<Page<Post>>> {
    const SCOPE: &str = "saved";
    let PageRequest { limit, after } =
        PageRequest::parse(query.limit, query.cursor.as_deref(), SCOPE)?;
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
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    params(NotificationsQuery),
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
) -> ApiResult<web::Json<Page<Notification>>> {
    const SCOPE: &str = "notifications";
    let PageRequest { limit, after } =
        PageRequest::parse(query.limit, query.cursor.as_deref(), SCOPE)?;
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

/// Either `ids` or `all: true`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MarkRead {
    pub ids: Option<Vec<uuid::Uuid>>,
    pub all: Option<bool>,
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
    match (&body.ids, body.all) {
        (_, Some(true)) => notifications::mark_read(&state.db, user.user_id, None).await?,
        (Some(ids), _) if ids.len() <= 1000 => {
            notifications::mark_read(&state.db, user.user_id, Some(ids)).await?
        }
        (Some(_), _) => return Err(ApiError::field("ids", "at most 1000 ids at a time")),
        (None, _) => return Err(ApiError::field("ids", "send `ids` or `all: true`")),
    };
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
    let user = forum_domain::secrets::verify_unsubscribe_token(key, &token)
        .ok_or_else(|| ApiError::not_found("No such subscription."))?;
    if !users::unsubscribe(&state.db, user).await? {
        return Err(ApiError::not_found("No such subscription."));
    }
    Ok(actix_web::HttpResponse::NoContent().finish())
}
