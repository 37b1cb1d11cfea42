//! One error type for every handler, rendered once as `application/problem+json` (RFC 9457).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use forum_domain::error::{DomainError, ErrorCode};
use forum_domain::rules::validation::FieldError;
use forum_domain::store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

pub type ApiResult<T> = Result<T, ApiError>;

/// A problem the client can act on, or an internal failure whose details stay in the logs.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// Extra headers, e.g. `Allow` on 405.
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
    /// For 5xx: the cause, logged but never sent.
    source: Option<anyhow::Error>,
}

/// The wire form of an error.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`urn:forum:problem:<code>`).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Machine-readable code, stable across releases.
    pub code: ErrorCode,
    /// Present on validation errors: one entry per invalid field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// The HTTP status of each problem code: the one table that maps the domain's refusals to HTTP.
pub fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode as C;
    match code {
        C::MalformedJson
        | C::MalformedMultipart
        | C::InvalidQuery
        | C::InvalidCursor
        | C::InvalidText
        | C::InvalidToken
        | C::InvalidIdempotencyKey
        | C::BadRequest => StatusCode::BAD_REQUEST,
        C::Unauthorized | C::InvalidCredentials => StatusCode::UNAUTHORIZED,
        C::Forbidden | C::Banned | C::Locked | C::NotVotable => StatusCode::FORBIDDEN,
        C::NotFound | C::RouteNotFound => StatusCode::NOT_FOUND,
        C::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        C::AlreadyExists
        | C::AlreadyModerator
        | C::AlreadyReported
        | C::IdempotencyKeyInFlight
        | C::TooManyPins
        | C::TooManyImages
        | C::Owner => StatusCode::CONFLICT,
        C::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        C::UriTooLong => StatusCode::URI_TOO_LONG,
        C::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        C::ValidationFailed | C::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
        C::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        C::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        C::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
        C::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl ApiError {
    /// A problem with this code; its status comes from [`status_of`].
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            status: status_of(code),
            code,
            detail: detail.into(),
            errors: Vec::new(),
            headers: Vec::new(),
            source: None,
        }
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut e = Self::new(
            ErrorCode::ValidationFailed,
            "The request has invalid fields.",
        );
        e.errors = errors;
        e
    }

    pub fn field(field: &str, message: &str) -> Self {
        Self::validation(vec![FieldError::new(field, message)])
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, detail)
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::ServiceUnavailable, detail)
    }

    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        let mut e = Self::new(
            ErrorCode::InternalError,
            "Something went wrong on our side.",
        );
        e.source = Some(source.into());
        e
    }

    pub fn with_header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("urn:forum:problem:{}", self.code),
            title: self
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_string(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code,
            errors: self.errors.clone(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)?;
        if let Some(source) = &self.source {
            write!(f, " ({source:#})")?;
        }
        Ok(())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if self.status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let mut res = HttpResponse::build(self.status);
        res.content_type("application/problem+json");
        for (name, value) in &self.headers {
            res.insert_header((name.clone(), value.clone()));
        }
        res.json(self.problem())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(field) => {
                let mut err = ApiError::new(
                    ErrorCode::AlreadyExists,
                    format!("That {field} is already taken."),
                );
                err.errors = vec![FieldError::new(field, "is already taken")];
                err
            }
            StoreError::Db(db) => db_error(db),
        }
    }
}

impl From<forum_domain::rules::paging::InvalidCursor> for ApiError {
    fn from(e: forum_domain::rules::paging::InvalidCursor) -> Self {
        DomainError::from(e).into()
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Refused {
                code,
                detail,
                errors,
            } => {
                let mut err = ApiError::new(code, detail);
                err.errors = errors;
                err
            }
            DomainError::Store(s) => s.into(),
            DomainError::Internal(why) => ApiError::internal(anyhow::anyhow!(why)),
        }
    }
}

impl From<Vec<FieldError>> for ApiError {
    fn from(errors: Vec<FieldError>) -> Self {
        ApiError::validation(errors)
    }
}

impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> Self {
        ApiError::validation(vec![error])
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        db_error(e)
    }
}

/// A database we cannot reach is a 503 (retry later); text Postgres cannot store (a NUL byte
/// in a path or query parameter) is the client's 400; anything else a 500.
fn db_error(e: sqlx::Error) -> ApiError {
    if let sqlx::Error::Database(db) = &e
        && matches!(db.code().as_deref(), Some("22021" | "22P05"))
    {
        return ApiError::new(
            ErrorCode::InvalidText,
            "The request contains characters that cannot be stored (such as NUL).",
        );
    }
    if let sqlx::Error::Database(db) = &e
        && db.code().as_deref() == Some("57014")
    {
        tracing::warn!(error = %e, "statement timed out");
        return ApiError::unavailable("The request took too long; try again shortly.");
    }
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
            tracing::warn!(error = %e, "database unavailable");
            ApiError::unavailable("The database is unavailable; try again shortly.")
        }
        other => ApiError::internal(other),
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::internal(anyhow::anyhow!("blocking task failed: {e}"))
    }
}
