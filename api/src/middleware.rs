//! Request observation: an `X-Request-Id` on every request and response, a tracing span that
//! carries it, one log line per request, and the Prometheus request metrics.

use forum_domain::error::ErrorCode;
use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, ResponseError, web};
use tracing::Instrument;
use uuid::Uuid;

use crate::error::ApiError;
use crate::limits::Verdict;
use crate::state::AppState;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Keeps a client's id when it is short and printable, otherwise makes one.
fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| Uuid::now_v7().to_string())
}

pub async fn observe<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<B>>, Error> {
    let id = request_id(&req);
    req.extensions_mut().insert(RequestId(id.clone()));
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = req.method().to_string();
    let span =
        tracing::info_span!("request", request_id = %id, method = %method, path = %req.path());
    let started = Instant::now();
    let result = next
        .call(req)
        .instrument(span.clone())
        .await
        .map(ServiceResponse::map_into_left_body);
    let elapsed = started.elapsed();
    let (status, route) = match &result {
        Ok(res) => (
            res.status().as_u16(),
            res.request()
                .match_pattern()
                .unwrap_or_else(|| "unmatched".into()),
        ),
        Err(e) => (
            e.as_response_error().status_code().as_u16(),
            "unmatched".into(),
        ),
    };
    span.in_scope(|| tracing::info!(status, route = %route, latency_ms = elapsed.as_secs_f64() * 1e3, "request"));
    if let Some(state) = state {
        state
            .metrics
            .observe_request(&method, &route, status, elapsed.as_secs_f64());
    }
    result.map(|mut res| {
        if let Ok(value) = HeaderValue::from_str(&id) {
            res.headers_mut().insert(REQUEST_ID, value);
        }
        res
    })
}

/// Longest path and query string accepted (414 beyond).
pub const MAX_PATH: usize = 2_048;
pub const MAX_QUERY: usize = 8_192;

const CSP_API: &str = "default-src 'none'; frame-ancestors 'none'";
/// The docs page loads Scalar from its CDN and reads `/openapi.json`.
const CSP_DOCS: &str = "default-src 'none'; script-src https://cdn.jsdelivr.net; \
    style-src 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; \
    font-src https://cdn.jsdelivr.net https://fonts.gstatic.com data:; img-src 'self' data: https:; \
    connect-src 'self'; frame-ancestors 'none'";
const CSP_MEDIA: &str = "default-src 'none'; img-src 'self'; sandbox";

/// Total size of request headers accepted (431 beyond; actix itself stops at 128 KiB).
pub const MAX_HEADERS_BYTES: usize = 16 * 1024;

/// Security headers on every response, and the URI and header size limits.
pub async fn security_headers<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<B>>, Error> {
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum();
    let refusal = if req.path().len() > MAX_PATH || req.query_string().len() > MAX_QUERY {
        Some(crate::error::ApiError::new(
            ErrorCode::UriTooLong,
            format!("Paths are limited to {MAX_PATH} bytes and query strings to {MAX_QUERY}."),
        ))
    } else if header_bytes > MAX_HEADERS_BYTES {
        Some(crate::error::ApiError::new(
            ErrorCode::HeadersTooLarge,
            format!("Request headers are limited to {MAX_HEADERS_BYTES} bytes in all."),
        ))
    } else {
        None
    };
    if let Some(err) = refusal {
        let (http_req, _) = req.into_parts();
        let res = actix_web::ResponseError::error_response(&err).map_into_right_body();
        return Ok(ServiceResponse::new(http_req, res));
    }
    let csp = if req.path() == "/docs" {
        CSP_DOCS
    } else if req.path().starts_with("/media/") {
        CSP_MEDIA
    } else {
        CSP_API
    };
    let mut res = next.call(req).await?;
    let h = res.headers_mut();
    h.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        HeaderName::from_static("referrer-policy"),
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        HeaderName::from_static("x-frame-options"),
        HeaderValue::from_static("DENY"),
    );
    h.insert(
        HeaderName::from_static("content-security-policy"),
        HeaderValue::from_static(csp),
    );
    h.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    Ok(res.map_into_left_body())
}

/// CORS for the configured frontend origins (comma-separated `FORUM_CORS_ORIGINS`).
pub fn cors(origins: &str) -> actix_cors::Cors {
    let mut cors = actix_cors::Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            "authorization",
            "content-type",
            "idempotency-key",
            "x-request-id",
        ])
        .expose_headers([
            "ratelimit",
            "ratelimit-policy",
            "retry-after",
            "x-request-id",
            "idempotent-replayed",
        ])
        .max_age(3600)
        // An unknown origin simply gets no CORS headers (the browser then refuses); erroring
        // here would answer with a plain-text body outside our problem+json convention.
        .block_on_origin_mismatch(false);
    for origin in origins.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        cors = cors.allowed_origin(origin);
    }
    cors
}

/// The general budget, before any handler runs.
pub async fn general<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    let limits = &state.limits;
    if limits.enabled && !req.path().starts_with("/health") && req.path() != "/metrics" {
        let user = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .and_then(|(_, token)| state.jwt.verify(token.trim()))
            .map(|c| c.sub);
        let verdict = match user {
            Some(id) => limits.per_user.check_key(&id),
            None => limits.per_ip.check_key(&limits.client_ip(req.request())),
        };
        if let Err(not_until) = verdict {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            state.metrics.rate_limited("general", false);
            let secs = wait.as_secs().max(1).to_string();
            let err = ApiError::new(ErrorCode::RateLimited, "Too many requests; slow down.")
                .with_header(
                    header::RETRY_AFTER,
                    HeaderValue::from_str(&secs).unwrap_or(HeaderValue::from_static("1")),
                );
            let (http_req, _) = req.into_parts();
            let res = err.error_response().map_into_right_body();
            return Ok(ServiceResponse::new(http_req, res));
        }
    }
    let mut res = next.call(req).await?;
    let verdict = res.request().extensions().get::<Verdict>().cloned();
    if let Some(v) = verdict {
        for (name, value) in v.headers() {
            if let Ok(value) = HeaderValue::from_str(&value) {
                res.headers_mut().insert(name, value);
            }
        }
    }
    Ok(res.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use actix_web::{App, HttpResponse, test, web};

    use super::*;

    /// Collects what the subscriber writes.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::Error::other("poisoned"))?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[actix_web::test]
    async fn request_ids_appear_in_the_log_lines_of_their_request() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);

        let app = test::init_service(
            App::new()
                .wrap(actix_web::middleware::from_fn(observe))
                .default_service(web::to(|| async {
                    tracing::info!("inside the handler");
                    HttpResponse::Ok().finish()
                })),
        )
        .await;
        let req = test::TestRequest::get()
            .uri("/x")
            .insert_header(("x-request-id", "req-42"))
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(
            res.headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok()),
            Some("req-42")
        );

        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.len() >= 2, "{text}");
        for line in lines {
            assert!(
                line.contains("\"request_id\":\"req-42\""),
                "log line without the request id: {line}"
            );
        }
    }
}
