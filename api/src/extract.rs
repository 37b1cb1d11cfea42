//! Extractor configuration: malformed input becomes a problem, never a 500 or an HTML page.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use forum_domain::error::ErrorCode;
use forum_domain::rules::paging::{InvalidCursor, PageRequest, clamp_limit};
use forum_domain::rules::validation::FieldError;

use crate::error::ApiError;

/// JSON limit of the routes that carry a post body.
pub const POST_JSON_LIMIT: usize = 256 * 1024;

pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(json_error)
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|e: QueryPayloadError, _req: &HttpRequest| invalid_query(&e).into())
}

fn invalid_query(e: &QueryPayloadError) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidQuery,
        format!("The query string is invalid: {e}"),
    )
}

pub fn path_config() -> web::PathConfig {
    // A path segment that does not parse (e.g. a bad UUID) names nothing that exists.
    web::PathConfig::default().error_handler(|_e: PathError, _req: &HttpRequest| {
        ApiError::not_found("No such resource.").into()
    })
}

fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let api = match &err {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            ApiError::new(ErrorCode::PayloadTooLarge, "The request body is too large.")
        }
        JsonPayloadError::ContentType => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "Send the body as application/json.",
        ),
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            ApiError::validation(vec![data_error(e)])
        }
        JsonPayloadError::Deserialize(e) => ApiError::new(
            ErrorCode::MalformedJson,
            format!("The body is not valid JSON: {e}"),
        ),
        other => ApiError::new(
            ErrorCode::BadRequest,
            format!("The body could not be read: {other}"),
        ),
    };
    api.into()
}

/// Turns serde's "missing field `x`" / "invalid type ... " into a field error.
fn data_error(e: &serde_json::Error) -> FieldError {
    let text = e.to_string();
    let field = text
        .split('`')
        .nth(1)
        .filter(|_| text.starts_with("missing field") || text.starts_with("unknown field"))
        .unwrap_or("body");
    let message = text.split(" at line ").next().unwrap_or(&text).to_string();
    FieldError::new(field, message)
}

/// `?limit=&cursor=` of every paged listing, read from the query string once. The limit is
/// clamped to 1..=100 (25 when absent); the cursor stays opaque until [`Paging::request`]
/// checks that it belongs to the listing asked for.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// 1-100, default 25.
    limit: Option<i64>,
    /// From the previous page's `next_cursor`.
    cursor: Option<String>,
}

impl Paging {
    /// The page asked for within the listing `scope` (a cursor of another listing is refused).
    pub fn request(&self, scope: &str) -> Result<PageRequest, InvalidCursor> {
        PageRequest::parse(self.limit, self.cursor.as_deref(), scope)
    }

    /// The limit, clamped.
    pub fn limit(&self) -> i64 {
        clamp_limit(self.limit)
    }
}

impl FromRequest for Paging {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            web::Query::<Paging>::from_query(req.query_string())
                .map(web::Query::into_inner)
                .map_err(|e| invalid_query(&e).into()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_fields_are_named() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Body {
            name: String,
        }
        let err = serde_json::from_str::<Body>("{}").unwrap_err();
        let fe = data_error(&err);
        assert_eq!(fe.field, "name");
        assert_eq!(fe.message, "missing field `name`");
        let err = serde_json::from_str::<Body>("{\"name\": 3}").unwrap_err();
        assert_eq!(data_error(&err).field, "body");
    }
}
