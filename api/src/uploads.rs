//! Image uploads: the multipart body is read as it streams in and refused as soon as it passes
//! the size limit; the format comes from the bytes, never from the client's name or type.

use actix_multipart::{Multipart, MultipartError};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::{Bytes, BytesMut};
use forum_domain::adapters::media;
use forum_domain::error::ErrorCode;
use forum_domain::model::Image;
use forum_domain::store::images::{self, NewImage, Purpose};
use futures_util::StreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path;
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::idempotency;
use crate::limits::Bucket;
use crate::state::AppState;

/// The multipart form of an upload.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// JPEG, PNG, GIF or WebP; at most 10 MiB.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// 202: the upload is stored and queued for processing. The image is given both as `image` and
/// flattened at the top level.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImageAccepted {
    pub image: Image,
    #[serde(flatten)]
    pub fields: Image,
}

fn too_large(max: usize) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("Uploads are limited to {} MiB.", max / (1024 * 1024)),
    )
}

fn multipart_error(e: MultipartError) -> ApiError {
    match e {
        MultipartError::ContentTypeMissing
        | MultipartError::ContentTypeParse
        | MultipartError::ContentTypeIncompatible
        | MultipartError::BoundaryMissing => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "Send the image as multipart/form-data with a `file` field.",
        ),
        other => ApiError::new(
            ErrorCode::MalformedMultipart,
            format!("The multipart body could not be read: {other}"),
        ),
    }
}

/// The bytes of the form's `file` field, at most `max` of them.
pub async fn read_file(req: &HttpRequest, payload: web::Payload, max: usize) -> ApiResult<Bytes> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    // The form's own framing adds a little; anything much larger is refused unread.
    if declared.is_some_and(|n| n > max + 64 * 1024) {
        return Err(too_large(max));
    }
    let mut form = Multipart::new(req.headers(), payload);
    let mut file = None;
    while let Some(field) = form.next().await {
        let mut field = field.map_err(multipart_error)?;
        let is_file = field.name() == Some("file");
        let mut buf = BytesMut::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(multipart_error)?;
            if is_file && file.is_none() {
                if buf.len() + chunk.len() > max {
                    return Err(too_large(max));
                }
                buf.extend_from_slice(&chunk);
            }
        }
        if is_file && file.is_none() {
            file = Some(buf.freeze());
        }
    }
    file.filter(|f| !f.is_empty())
        .ok_or_else(|| ApiError::field("file", "attach the image as the `file` field"))
}

/// Stores an upload and queues its processing; answers 202 with the pending image.
pub async fn accept(
    state: &AppState,
    user: &AuthUser,
    req: &HttpRequest,
    payload: web::Payload,
    purpose: Purpose,
) -> ApiResult<HttpResponse> {
    let file = read_file(req, payload, state.config.settings.media.upload_max_bytes).await?;
    let Some(format) = media::sniff(&file) else {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "The file is not a JPEG, PNG, GIF or WebP image.",
        ));
    };
    let sha256 = hex::encode(Sha256::digest(&file));
    let target = match purpose {
        Purpose::Post(id) => id.to_string(),
        Purpose::Avatar => "avatar".to_string(),
    };
    let identity = serde_json::json!({ "sha256": sha256, "target": target });
    idempotency::run(state, user, req, &identity, Bucket::Uploads, || async {
        let id = Uuid::now_v7();
        let key = media::original_key(id);
        let size = i64::try_from(file.len()).unwrap_or(i64::MAX);
        state
            .media
            .put(&Path::from(key.as_str()), file.into())
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "storing an upload");
                ApiError::unavailable("The upload could not be stored; try again.")
            })?;
        let row = images::create(
            &state.db,
            NewImage {
                id,
                owner_id: user.user_id,
                purpose,
                original_key: &key,
                byte_size: size,
                sha256: &sha256,
                format: format.as_str(),
            },
        )
        .await?;
        let image = row.into_image();
        let body = ImageAccepted {
            image: image.clone(),
            fields: image,
        };
        Ok((StatusCode::ACCEPTED, body))
    })
    .await
}
