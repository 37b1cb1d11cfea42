use forum_tests::TestApp;
use forum_tests::reqwest::{Method, StatusCode};
use forum_tests::serde_json::{Value, json};

fn header(res: &forum_tests::reqwest::Response, name: &str) -> String {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn login_flood_gets_429_with_rate_limit_headers() {
    let app = TestApp::builder()
        .settings(|s| s.rate_limits.login_per_minute = 3)
        .spawn()
        .await;
    app.register("flooded").await;
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let res = app.login("flooded", "wrong-password").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(header(&res, "ratelimit-policy"), "\"login\";q=3;w=60");
        remaining.push(header(&res, "ratelimit"));
    }
    assert!(
        remaining[0].starts_with("\"login\";r=2;t="),
        "{remaining:?}"
    );
    assert!(
        remaining[2].starts_with("\"login\";r=0;t="),
        "{remaining:?}"
    );
    // Even the right password is refused now: the budget is per address, not per outcome.
    let res = app.login("flooded", "pw-flooded-secret").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = header(&res, "retry-after").parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(header(&res, "ratelimit").starts_with("\"login\";r=0;t="));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
    // Registration has its own buckets.
    app.register("still_can_register").await;
}

#[tokio::test]
async fn quotas_are_shared_by_api_processes() {
    let app = TestApp::builder()
        .settings(|s| s.rate_limits.posts_per_hour = 4)
        .spawn()
        .await;
    let other = app.sibling().await;
    let user = app.register("prolific").await;
    app.create_community(&user.access_token, "shared").await;
    let post = |base: String, n: usize| {
        let client = app.client.clone();
        let token = user.access_token.clone();
        async move {
            client
                .post(format!("{base}/api/v1/communities/shared/posts"))
                .bearer_auth(token)
                .json(&json!({"title": format!("post {n}")}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let statuses = vec![
        post(app.address.clone(), 1).await,
        post(other.clone(), 2).await,
        post(app.address.clone(), 3).await,
        post(other.clone(), 4).await,
        post(other.clone(), 5).await,
        post(app.address.clone(), 6).await,
    ];
    assert_eq!(statuses[..4], [StatusCode::CREATED; 4], "{statuses:?}");
    assert_eq!(
        statuses[4..],
        [StatusCode::TOO_MANY_REQUESTS; 2],
        "{statuses:?}"
    );
}

#[tokio::test]
async fn quotas_fall_back_to_the_process_when_redis_is_down() {
    let app = TestApp::builder()
        .redis_url("redis://127.0.0.1:1")
        .settings(|s| s.rate_limits.login_per_minute = 2)
        .spawn()
        .await;
    app.register("offline_user").await;
    assert_eq!(
        app.login("offline_user", "pw-offline_user-secret")
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.login("offline_user", "pw-offline_user-secret")
            .await
            .status(),
        StatusCode::OK
    );
    let res = app.login("offline_user", "pw-offline_user-secret").await;
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "never unlimited"
    );
    assert!(!header(&res, "retry-after").is_empty());
    assert_eq!(
        app.get("/health/ready", None).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn forwarded_for_is_believed_only_from_trusted_proxies() {
    // Untrusted peer: every spoofed address still lands in the peer's bucket.
    let app = TestApp::builder()
        .settings(|s| s.rate_limits.login_per_minute = 2)
        .spawn()
        .await;
    let statuses: Vec<StatusCode> = futures_util::future::join_all((0..3).map(|i| {
        app.request(Method::POST, "/api/v1/auth/login")
            .header("x-forwarded-for", format!("203.0.113.{i}"))
            .json(&json!({"login": "x", "password": "y"}))
            .send()
    }))
    .await
    .into_iter()
    .map(|r| r.unwrap().status())
    .collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count(),
        1,
        "{statuses:?}"
    );

    // Behind a trusted proxy, each client has its own bucket.
    let app = TestApp::builder()
        .settings(|s| {
            s.rate_limits.login_per_minute = 2;
            s.http.trusted_proxies = "127.0.0.1, ::1".into();
        })
        .spawn()
        .await;
    for i in 0..3 {
        let res = app
            .request(Method::POST, "/api/v1/auth/login")
            .header("x-forwarded-for", format!("203.0.113.{i}"))
            .json(&json!({"login": "x", "password": "y"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn general_budget_per_address() {
    let app = TestApp::builder()
        .settings(|s| s.rate_limits.ip_per_minute = 5)
        .spawn()
        .await;
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(app.get("/api/v1/communities", None).await.status());
    }
    assert_eq!(statuses[..5], [StatusCode::OK; 5]);
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS);
    // Probes are never limited.
    assert_eq!(app.get("/health/live", None).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn cors_preflight_and_security_headers() {
    let app = TestApp::spawn().await;
    let preflight = |origin: &'static str| {
        app.request(Method::OPTIONS, "/api/v1/posts")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let ok = preflight("http://localhost:3000").await.unwrap();
    assert!(ok.status().is_success(), "{}", ok.status());
    assert_eq!(
        header(&ok, "access-control-allow-origin"),
        "http://localhost:3000"
    );
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let res = app.get("/api/v1/posts", None).await;
    assert_eq!(header(&res, "x-content-type-options"), "nosniff");
    assert_eq!(header(&res, "referrer-policy"), "no-referrer");
    assert!(header(&res, "content-security-policy").contains("default-src 'none'"));
    let docs = app.get("/docs", None).await;
    assert!(
        header(&docs, "content-security-policy").contains("script-src https://cdn.jsdelivr.net")
    );

    let long = format!("/api/v1/posts?cursor={}", "a".repeat(10_000));
    let res = app.get(&long, None).await;
    assert_eq!(res.status(), StatusCode::URI_TOO_LONG);
    let huge_header = app
        .request(Method::GET, "/api/v1/posts")
        .header("x-junk", "j".repeat(64 * 1024))
        .send()
        .await
        .unwrap();
    assert!(
        huge_header.status().is_client_error(),
        "{}",
        huge_header.status()
    );
}
