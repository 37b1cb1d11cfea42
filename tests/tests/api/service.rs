use forum_tests::TestApp;
use forum_tests::reqwest::StatusCode;
use forum_tests::serde_json::{Value, json};
use forum_tests::wire::Health;

#[tokio::test]
async fn readiness_checks_postgres_and_redis() {
    let app = TestApp::spawn().await;
    let res = app.get("/health/ready", None).await;
    let body: Health = TestApp::expect(res, StatusCode::OK).await;
    assert_eq!(body.checks.postgres, "ok");
    assert_eq!(body.checks.redis, "ok");
}

#[tokio::test]
async fn readiness_is_503_when_redis_is_down_but_liveness_is_200() {
    // Port 1 on loopback: nothing listens there.
    let app = TestApp::builder()
        .redis_url("redis://127.0.0.1:1")
        .spawn()
        .await;
    let res = app.get("/health/ready", None).await;
    let body: Health = TestApp::expect(res, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(body.checks.redis, "unavailable");
    assert_eq!(body.checks.postgres, "ok");
    assert_eq!(app.get("/health/live", None).await.status(), StatusCode::OK);
    // Accounts work without Redis.
    app.register("no_redis").await;
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let app = TestApp::spawn().await;
    app.get("/api/v1/users/somebody", None).await;
    app.get("/api/v1/users/someone_else", None).await;
    app.post(
        "/api/v1/auth/login",
        &json!({"login": "x", "password": "y"}),
        None,
    )
    .await;
    let text = app.get("/metrics", None).await.text().await.unwrap();
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("forum_http_requests_total")
                && l.contains("route=\"/api/v1/users/{username}\"")
        })
        .unwrap_or_else(|| panic!("no per-template counter in:\n{text}"));
    assert!(
        line.contains("status=\"404\"") && line.ends_with(" 2"),
        "{line}"
    );
    assert!(
        text.contains("forum_http_request_duration_seconds_bucket"),
        "histogram"
    );
    assert!(
        text.contains("route=\"/api/v1/auth/login\",status=\"401\""),
        "{text}"
    );
    assert!(
        text.contains("forum_db_pool_connections{state=\"idle\"}"),
        "pool gauges"
    );
    assert!(
        text.contains("forum_db_pool_connections{state=\"in_use\"}"),
        "pool gauges"
    );
}

#[tokio::test]
async fn docs_and_openapi_are_served() {
    let app = TestApp::spawn().await;
    // The OpenAPI document stays raw: it describes the API, it is not one of its responses.
    let doc: Value = app.get("/openapi.json", None).await.json().await.unwrap();
    assert!(doc["paths"]["/api/v1/auth/register"]["post"].is_object());
    let res = app.get("/docs", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("/openapi.json"));
}

/// The API's statement timeout belongs to its own role in its own database: the owner role
/// (migrations, the generator's VACUUM, psql, backups) is never cut off by it, before or after
/// the API has started.
#[tokio::test]
async fn statement_timeout_reaches_the_app_role_only() {
    use sqlx::{Connection, Executor};
    let app = TestApp::builder()
        .settings(|s| s.db.statement_timeout_ms = 200)
        .spawn()
        .await;

    // The application role, through PgBouncer: its sessions carry the timeout.
    let (timeout,): (String,) = sqlx::query_as("SHOW statement_timeout")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(timeout, "200ms");
    let err = sqlx::query("SELECT pg_sleep(1)")
        .execute(&app.db)
        .await
        .expect_err("the app role's long statement is cut off");
    let code = err.as_database_error().and_then(|e| e.code());
    assert_eq!(code.as_deref(), Some("57014"), "{err}");

    // The owner, straight to Postgres on the same database after the API started: no timeout,
    // and a long maintenance statement runs to its end.
    let mut owner = sqlx::PgConnection::connect(&app.config.settings.db.direct_url)
        .await
        .unwrap();
    let (timeout,): (String,) = sqlx::query_as("SHOW statement_timeout")
        .fetch_one(&mut owner)
        .await
        .unwrap();
    assert_eq!(timeout, "0");
    sqlx::query("SELECT pg_sleep(1)")
        .execute(&mut owner)
        .await
        .expect("the owner's long statement is not cut off");
    owner.execute("VACUUM (ANALYZE) posts").await.unwrap();
    // Nor does the owner carry a setting anywhere else on the cluster.
    let (settings,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM pg_db_role_setting s, unnest(s.setconfig) c
          WHERE s.setrole = (SELECT oid FROM pg_roles WHERE rolname = current_user)
            AND c LIKE 'statement_timeout=%'",
    )
    .fetch_one(&mut owner)
    .await
    .unwrap();
    assert_eq!(
        settings, 0,
        "the owner role has a statement_timeout default"
    );
    owner.close().await.unwrap();
}
