//! `Idempotency-Key` on creating POSTs: the first request with a key runs and its response is
//! stored; a repeat with the same body replays it (`Idempotent-Replayed: true`), a repeat with
//! another body is 422, and one that arrives while the first still runs is 409.

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use forum_domain::error::ErrorCode;
use forum_domain::store::idempotency::{self, Claim};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::limits::Bucket;
use crate::state::AppState;

pub const HEADER: HeaderName = HeaderName::from_static("idempotency-key");
pub const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

fn key(req: &HttpRequest) -> ApiResult<Option<String>> {
    let Some(value) = req.headers().get(&HEADER) else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| (1..=255).contains(&k.len()))
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidIdempotencyKey,
                "Idempotency-Key must be 1-255 visible ASCII characters.",
            )
        })?;
    Ok(Some(key.to_string()))
}

/// Runs `create` at most once per user and key and answers with the status and value it
/// returns; `body` identifies the request's content. `quota` is spent only by requests that
/// really create (a replay is free, and answers with the stored status and body).
pub async fn run<F, Fut, T>(
    state: &AppState,
    user: &AuthUser,
    req: &HttpRequest,
    body: &impl Serialize,
    quota: Bucket,
    create: F,
) -> ApiResult<HttpResponse>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ApiResult<(StatusCode, T)>>,
    T: Serialize,
{
    let subject = user.user_id.to_string();
    let Some(key) = key(req)? else {
        state
            .limits
            .check(&state.metrics, req, quota, &subject)
            .await?;
        let (status, made) = create().await?;
        return Ok(HttpResponse::build(status).json(made));
    };
    let mut hasher = Sha256::new();
    hasher.update(req.method().as_str());
    hasher.update(req.path());
    hasher.update(serde_json::to_vec(body).map_err(ApiError::internal)?);
    let hash = hasher.finalize().to_vec();

    match idempotency::claim(&state.db, user.user_id, &key, &hash).await? {
        Claim::Claimed => match async {
            state
                .limits
                .check(&state.metrics, req, quota, &subject)
                .await?;
            create().await
        }
        .await
        {
            Ok((status, made)) => {
                let json = serde_json::to_value(made).map_err(ApiError::internal)?;
                idempotency::complete(&state.db, user.user_id, &key, status.as_u16(), &json)
                    .await?;
                Ok(HttpResponse::build(status).json(json))
            }
            Err(e) => {
                idempotency::release(&state.db, user.user_id, &key).await?;
                Err(e)
            }
        },
        Claim::Replay { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            Ok(HttpResponse::build(status)
                .insert_header((REPLAYED, HeaderValue::from_static("true")))
                .json(body))
        }
        Claim::InFlight => Err(ApiError::new(
            ErrorCode::IdempotencyKeyInFlight,
            "A request with this Idempotency-Key is still being processed.",
        )),
        Claim::Mismatch => Err(ApiError::new(
            ErrorCode::IdempotencyKeyReused,
            "This Idempotency-Key was used for a different request.",
        )),
    }
}
