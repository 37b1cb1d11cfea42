use forum_tests::reqwest::{Method, StatusCode};
use forum_tests::{TestApp, problem};

#[tokio::test]
async fn unknown_routes_and_wrong_methods_are_problems() {
    let app = TestApp::spawn().await;
    let res = app.get("/api/v1/no/such/thing", None).await;
    problem(res, StatusCode::NOT_FOUND).await;

    let res = app
        .request(Method::DELETE, "/api/v1/auth/login")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["allow"], "POST");
    problem(res, StatusCode::METHOD_NOT_ALLOWED).await;

    let res = app.request(Method::PUT, "/api/v1/me").send().await.unwrap();
    let allow = res.headers()["allow"].to_str().unwrap().to_string();
    assert!(allow.contains("GET") && allow.contains("PATCH"), "{allow}");
    problem(res, StatusCode::METHOD_NOT_ALLOWED).await;

    let res = app
        .request(Method::POST, "/api/v1/users/someone")
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::METHOD_NOT_ALLOWED).await;
}

#[tokio::test]
async fn malformed_oversized_and_mistyped_bodies() {
    let app = TestApp::spawn().await;
    let post = |body: Vec<u8>, content_type: &'static str| {
        app.request(Method::POST, "/api/v1/auth/register")
            .header("content-type", content_type)
            .body(body)
            .send()
    };

    let res = post(b"{\"username\": ".to_vec(), "application/json")
        .await
        .unwrap();
    let body = problem(res, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["code"], "malformed_json");

    let res = post(Vec::new(), "application/json").await.unwrap();
    problem(res, StatusCode::BAD_REQUEST).await;

    let big = format!("{{\"username\": \"{}\"}}", "x".repeat(70 * 1024));
    let res = post(big.into_bytes(), "application/json").await.unwrap();
    problem(res, StatusCode::PAYLOAD_TOO_LARGE).await;

    let res = post(b"username=x".to_vec(), "application/x-www-form-urlencoded")
        .await
        .unwrap();
    problem(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;

    let res = post(b"[1, 2]".to_vec(), "application/json").await.unwrap();
    problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;

    let res = post(
        b"{\"username\": 5, \"email\": \"a@b.co\", \"password\": \"12345678\"}".to_vec(),
        "application/json",
    )
    .await
    .unwrap();
    problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;

    // Invalid UTF-8 inside a JSON string.
    let res = post(b"{\"username\": \"\xff\xfe\"}".to_vec(), "application/json")
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
}

#[tokio::test]
async fn request_ids_are_kept_or_made() {
    let app = TestApp::spawn().await;
    let res = app
        .request(Method::GET, "/health/live")
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");
    let res = app.get("/api/v1/nowhere", None).await;
    let made = res.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&made).is_ok(), "{made}");
    // A hostile id (too long) is replaced.
    let res = app
        .request(Method::GET, "/health/live")
        .header("x-request-id", "y".repeat(500))
        .send()
        .await
        .unwrap();
    assert_ne!(res.headers()["x-request-id"].len(), 500);
}

#[tokio::test]
async fn nul_bytes_in_parameters_are_client_errors() {
    let app = TestApp::spawn().await;
    for path in [
        "/api/v1/posts?community=a%00b",
        "/api/v1/users/a%00b",
        "/api/v1/communities/x%00y",
        "/api/v1/search?q=a%00b",
    ] {
        let res = app.get(path, None).await;
        assert!(res.status().is_client_error(), "{path}: {}", res.status());
    }
    let res = app
        .post(
            "/api/v1/auth/login",
            &forum_tests::serde_json::json!({"login": "a\u{0}b", "password": "x"}),
            None,
        )
        .await;
    assert!(res.status().is_client_error(), "{}", res.status());
}
