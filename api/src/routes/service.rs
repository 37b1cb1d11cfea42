//! Service endpoints outside `/api/v1`: probes, metrics and the API description.

use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: String,
    /// Per dependency: `ok` or `unavailable`.
    #[schema(value_type = Object)]
    pub checks: serde_json::Map<String, serde_json::Value>,
}

#[utoipa::path(tag = "service", responses((status = 200, description = "The process is up", body = Health)))]
#[get("/health/live")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".into(),
        checks: serde_json::Map::new(),
    })
}

#[utoipa::path(
    tag = "service",
    responses(
        (status = 200, description = "Postgres (through PgBouncer) and Redis answer", body = Health),
        (status = 503, description = "A dependency is down", body = Health),
    )
)]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let limit = Duration::from_millis(state.config.settings.redis.timeout_ms.max(500) * 2);
    let db = async { sqlx::query("SELECT 1").execute(&state.db).await.is_ok() };
    let redis = async {
        let mut conn = state.redis.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .is_ok()
    };
    let (db_ok, redis_ok) = tokio::join!(
        async { tokio::time::timeout(limit, db).await.unwrap_or(false) },
        async { tokio::time::timeout(limit, redis).await.unwrap_or(false) },
    );
    let word = |ok: bool| serde_json::Value::from(if ok { "ok" } else { "unavailable" });
    let mut checks = serde_json::Map::new();
    checks.insert("postgres".into(), word(db_ok));
    checks.insert("redis".into(), word(redis_ok));
    let healthy = db_ok && redis_ok;
    let body = Health {
        status: if healthy { "ok" } else { "unavailable" }.into(),
        checks,
    };
    if healthy {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

#[utoipa::path(tag = "service", responses((status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain")))]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render(&state.db))
}

#[utoipa::path(tag = "service", responses((status = 200, description = "This document", body = Object)))]
#[get("/openapi.json")]
pub async fn openapi_json(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(state.openapi_json.clone())
}

/// Interactive documentation (Scalar), reading `/openapi.json`.
const DOCS_HTML: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Forum API</title>
</head>
<body>
  <script id="api-reference" data-url="/openapi.json"></script>
  <script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference@1"></script>
</body>
</html>
"#;

#[utoipa::path(tag = "service", responses((status = 200, description = "Interactive API documentation", body = String, content_type = "text/html")))]
#[get("/docs")]
pub async fn docs() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(DOCS_HTML)
}
