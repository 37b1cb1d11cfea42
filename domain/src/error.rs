//! How the domain says no: one [`ErrorCode`] per kind of problem a client can act on, and
//! [`DomainError`], what every service operation returns when it refuses or fails.
//!
//! The codes are the `code` member of the API's problem+json bodies, stable across releases.
//! The API maps each code to its HTTP status in one table (`forum_api::error`); the domain
//! never speaks HTTP.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::rules::validation::FieldError;
use crate::store::StoreError;

macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $wire:literal,)+) => {
        /// Machine-readable problem codes, serialized as their snake_case names.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)+
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            /// The wire name (what serde writes), without allocating.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $wire,)+
                }
            }
        }
    };
}

error_codes! {
    /// One or more fields are invalid: `errors[]` names them.
    ValidationFailed = "validation_failed",
    MalformedJson = "malformed_json",
    MalformedMultipart = "malformed_multipart",
    InvalidQuery = "invalid_query",
    InvalidCursor = "invalid_cursor",
    /// Text Postgres cannot store, such as a NUL byte.
    InvalidText = "invalid_text",
    /// A verification or reset token that is unknown, used or expired.
    InvalidToken = "invalid_token",
    InvalidIdempotencyKey = "invalid_idempotency_key",
    BadRequest = "bad_request",
    Unauthorized = "unauthorized",
    InvalidCredentials = "invalid_credentials",
    Forbidden = "forbidden",
    /// Banned from the community (or the site).
    Banned = "banned",
    /// The post is locked: no new comments.
    Locked = "locked",
    /// Deleted or removed content takes no votes.
    NotVotable = "not_votable",
    NotFound = "not_found",
    RouteNotFound = "route_not_found",
    MethodNotAllowed = "method_not_allowed",
    AlreadyExists = "already_exists",
    AlreadyModerator = "already_moderator",
    AlreadyReported = "already_reported",
    IdempotencyKeyInFlight = "idempotency_key_in_flight",
    IdempotencyKeyReused = "idempotency_key_reused",
    TooManyPins = "too_many_pins",
    TooManyImages = "too_many_images",
    /// The community's owner cannot be removed as a moderator.
    Owner = "owner",
    PayloadTooLarge = "payload_too_large",
    UriTooLong = "uri_too_long",
    UnsupportedMediaType = "unsupported_media_type",
    HeadersTooLarge = "headers_too_large",
    RateLimited = "rate_limited",
    InternalError = "internal_error",
    ServiceUnavailable = "service_unavailable",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a domain operation did not happen: the caller's problem (`Refused`, with a code and a
/// sentence for people), or the store's.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("{code}: {detail}")]
    Refused {
        code: ErrorCode,
        detail: String,
        /// Field errors, for `ValidationFailed`.
        errors: Vec<FieldError>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something on our side failed (a worker thread, a hashing library); the text is for the
    /// logs, never for clients.
    #[error("internal: {0}")]
    Internal(String),
}

pub type DomainResult<T> = Result<T, DomainError>;

impl DomainError {
    pub fn refused(code: ErrorCode, detail: impl Into<String>) -> Self {
        DomainError::Refused {
            code,
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::refused(ErrorCode::NotFound, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::refused(ErrorCode::Forbidden, detail)
    }

    pub fn invalid(errors: Vec<FieldError>) -> Self {
        DomainError::Refused {
            code: ErrorCode::ValidationFailed,
            detail: "The request has invalid fields.".into(),
            errors,
        }
    }

    pub fn field(field: &str, message: &str) -> Self {
        Self::invalid(vec![FieldError::new(field, message)])
    }
}

impl From<sqlx::Error> for DomainError {
    fn from(e: sqlx::Error) -> Self {
        DomainError::Store(StoreError::Db(e))
    }
}

impl From<FieldError> for DomainError {
    fn from(e: FieldError) -> Self {
        Self::invalid(vec![e])
    }
}

impl From<Vec<FieldError>> for DomainError {
    fn from(e: Vec<FieldError>) -> Self {
        Self::invalid(e)
    }
}

impl From<crate::rules::paging::InvalidCursor> for DomainError {
    fn from(_: crate::rules::paging::InvalidCursor) -> Self {
        Self::refused(
            ErrorCode::InvalidCursor,
            "The cursor is invalid or belongs to another listing.",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_match_serde() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_value(code).unwrap_or_default();
            assert_eq!(json, serde_json::Value::from(code.as_str()));
        }
    }
}
