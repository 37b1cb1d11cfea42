//! Extractor configuration: malformed input becomes a problem, never a 500 or an HTML page.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{HttpRequest, web};
use forum_domain::error::ErrorCode;
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
    web::QueryConfig::default().error_handler(|e: QueryPayloadError, _req: &HttpRequest| {
        ApiError::new(
            ErrorCode::InvalidQuery,
            format!("The query string is invalid: {e}"),
        )
        .into()
    })
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
