//! The OpenAPI document, assembled from the same route registrations the server serves, and the
//! route table derived from it that answers 404 vs 405 for requests no route accepted.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{App, HttpRequest, web};
use forum_domain::error::ErrorCode;
use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_actix_web::AppExt;

use crate::error::{ApiError, Problem};
use crate::routes;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Forum API",
        description = "REST API of a Reddit-style community forum. Errors are application/problem+json (RFC 9457).",
        license(name = "AGPL-3.0-only")
    ),
    components(schemas(Problem)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Registration, login and token rotation"),
        (name = "accounts", description = "Your own account and public profiles"),
        (name = "communities", description = "Communities, membership and moderators"),
        (name = "posts", description = "Posts, listings, votes, saves and search"),
        (name = "comments", description = "Nested comments and their votes"),
        (name = "reports", description = "Reporting posts and comments to moderators"),
        (name = "moderation", description = "Community moderators' tools (admins moderate everywhere)"),
        (name = "admin", description = "Site administration (admins only)"),
        (name = "service", description = "Health, metrics and documentation")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .build(),
                ),
            );
        }
    }
}

/// Gives every 4xx/5xx response a problem+json body, and documents the problem responses every
/// operation can give besides its own: malformed input
/// (400), a bad token (401, even on public routes, which read an optional token), limits
/// (413/414/415/422/429/431) and an unreachable database (503).
struct StandardResponses;

impl Modify for StandardResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{HttpMethod, Operation};
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let problem = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let api = path.starts_with("/api/v1");
            let has_params = path.contains('{');
            let ops: [(HttpMethod, &mut Option<Operation>); 5] = [
                (HttpMethod::Get, &mut item.get),
                (HttpMethod::Post, &mut item.post),
                (HttpMethod::Put, &mut item.put),
                (HttpMethod::Patch, &mut item.patch),
                (HttpMethod::Delete, &mut item.delete),
            ];
            for (_, op) in ops {
                let Some(op) = op.as_mut() else { continue };
                let has_body = op.request_body.is_some();
                let has_query = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
                // Error responses written on a route name only their status and description:
                // every one of them is problem+json.
                for (code, response) in op.responses.responses.iter_mut() {
                    if let utoipa::openapi::RefOr::T(r) = response
                        && (code.starts_with('4') || code.starts_with('5'))
                        && r.content.is_empty()
                    {
                        r.content.insert(
                            "application/problem+json".to_string(),
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("Problem")))
                                .build()
                                .into(),
                        );
                    }
                }
                let mut add = |code: &str, description: &str| {
                    op.responses
                        .responses
                        .entry(code.to_string())
                        .or_insert_with(|| problem(description).into());
                };
                add("414", "URI too long");
                add("431", "Request headers too large");
                if !api {
                    continue;
                }
                add("400", "Malformed request: query string, cursor or JSON");
                add("401", "Missing, invalid or expired token");
                add("429", "Rate limited; see Retry-After and RateLimit headers");
                add("503", "The database is unavailable; retry later");
                if has_params {
                    add("404", "Not found");
                }
                if has_body {
                    add("413", "Body too large");
                    add("415", "Body is not application/json");
                }
                if has_body || has_query {
                    add("422", "Invalid fields");
                }
            }
        }
    }
}

/// The document for exactly the routes `routes::configure` registers.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, mut doc) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes::configure)
        .split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    // Added after the routes are collected, so it sees every operation.
    StandardResponses.modify(&mut doc);
    doc
}

/// Pretty JSON with a trailing newline, as committed in `openapi/openapi.json`.
pub fn document_json() -> Result<String, serde_json::Error> {
    let mut json = serde_json::to_string_pretty(&document())?;
    json.push('\n');
    Ok(json)
}

/// Default service: 405 with `Allow` when the path exists under another method, else 404.
pub async fn fallback(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<actix_web::HttpResponse, ApiError> {
    Err(match state.routes.allowed(req.path()) {
        Some(methods) => {
            let allow = methods.join(", ");
            let err = ApiError::new(
                ErrorCode::MethodNotAllowed,
                format!("{} is not allowed here; use {allow}.", req.method()),
            );
            match HeaderValue::from_str(&allow) {
                Ok(v) => err.with_header(header::ALLOW, v),
                Err(_) => err,
            }
        }
        None => ApiError::new(
            ErrorCode::RouteNotFound,
            format!("No route for {}.", req.path()),
        ),
    })
}
