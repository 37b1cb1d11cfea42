use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use forum_domain::error::ErrorCode;
use forum_domain::model::Image;
use forum_domain::store::images::{self, Purpose};
use forum_domain::store::posts;
use object_store::ObjectStoreExt;
use object_store::path::Path;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::uploads::{self, ImageAccepted, UploadForm};

/// Images one post may carry.
const MAX_IMAGES_PER_POST: i64 = 20;

#[utoipa::path(
    tag = "posts",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for a repeated upload"),
    ),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 202, description = "Stored and queued; `state` is `pending` until processed", body = ImageAccepted),
        (status = 403, description = "Not the post's author"),
        (status = 404, description = "No such post"),
        (status = 409, description = "The post has the most images it may have, or an upload with this Idempotency-Key is in flight"),
        (status = 413, description = "Larger than 10 MiB"),
        (status = 415, description = "Not a JPEG, PNG, GIF or WebP image (by its bytes), or not multipart"),
    )
)]
#[post("/posts/{id}/images")]
pub async fn upload_post_image(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let post = posts::by_id(&state.db, *id)
        .await?
        .filter(|p| p.deleted_at.is_none())
        .ok_or_else(|| ApiError::not_found("No such post."))?;
    if post.author_id != Some(user.user_id) {
        return Err(ApiError::forbidden(
            "Only the author can add images to a post.",
        ));
    }
    if images::count_for_post(&state.db, post.id).await? >= MAX_IMAGES_PER_POST {
        return Err(ApiError::new(
            ErrorCode::TooManyImages,
            "This post has the most images it may have.",
        ));
    }
    uploads::accept(&state, &user, &req, payload, Purpose::Post(post.id)).await
}

#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for a repeated upload")),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 202, description = "Stored and queued; the profile's `avatar` changes once it is processed", body = ImageAccepted),
        (status = 409, description = "An upload with this Idempotency-Key is in flight"),
        (status = 413, description = "Larger than 10 MiB"),
        (status = 415, description = "Not a JPEG, PNG, GIF or WebP image (by its bytes), or not multipart"),
    )
)]
#[post("/me/avatar")]
pub async fn upload_avatar(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    uploads::accept(&state, &user, &req, payload, Purpose::Avatar).await
}

#[utoipa::path(
    tag = "posts",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "An uploaded image and its processing state", body = Image),
        (status = 404, description = "No such image"),
    )
)]
#[get("/images/{id}")]
pub async fn get_image(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<Image>> {
    images::by_id(&state.db, *id)
        .await?
        .map(|row| web::Json(row.into_image()))
        .ok_or_else(|| ApiError::not_found("No such image."))
}

#[utoipa::path(
    tag = "service",
    params(("key" = String, Path, description = "An image variant's key, e.g. `images/{id}/640.webp`")),
    responses(
        (status = 200, description = "The WebP file", content_type = "image/webp", body = Vec<u8>),
        (status = 404, description = "No such object"),
    )
)]
#[get("/media/{key:.*}")]
pub async fn media(state: web::Data<AppState>, key: web::Path<String>) -> ApiResult<HttpResponse> {
    // Only processed variants are public: originals may still carry EXIF (GPS) data.
    let key = key.into_inner();
    let not_found = || ApiError::not_found("No such media.");
    if !key.starts_with("images/") || !key.ends_with(".webp") {
        return Err(not_found());
    }
    let path = Path::parse(&key).map_err(|_| not_found())?;
    let object = match state.media.get(&path).await {
        Ok(o) => o,
        Err(object_store::Error::NotFound { .. }) => return Err(not_found()),
        Err(e) => {
            tracing::error!(error = %e, "reading media");
            return Err(ApiError::unavailable("Media storage is unavailable."));
        }
    };
    let bytes = object.bytes().await.map_err(|e| {
        tracing::error!(error = %e, "reading media");
        ApiError::unavailable("Media storage is unavailable.")
    })?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "image/webp"))
        // A variant's key never changes content.
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(bytes))
}
