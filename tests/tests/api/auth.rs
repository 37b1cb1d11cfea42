use forum_tests::reqwest::StatusCode;
use forum_tests::serde_json::{Value, json};
use forum_tests::wire::{AuthTokens, Me, Profile};
use forum_tests::{TestApp, problem, refused};

#[tokio::test]
async fn register_login_and_me() {
    let app = TestApp::spawn().await;
    let alice = app.register("Alice_1").await;
    assert_eq!(alice.user.username, "Alice_1");
    assert!(!alice.user.email_verified);
    assert_eq!(alice.user.role, "user");
    let me = app.me(&alice.access_token).await;
    assert_eq!(me.username, "Alice_1");
    assert!(!me.email_verified);
    assert_eq!(me.role, "user");
    assert!(
        alice.refresh_token.len() >= 43,
        "refresh token carries >= 256 bits"
    );

    // Login by username (any case) and by email.
    for login in ["alice_1", "ALICE_1@example.com"] {
        let tokens: AuthTokens =
            TestApp::expect(app.login(login, &alice.password).await, StatusCode::OK).await;
        assert_eq!(tokens.token_type, "Bearer");
        assert_eq!(tokens.expires_in, 900);
        assert_eq!(tokens.user.username, "Alice_1");
        let me = app.me(&tokens.access_token).await;
        assert_eq!(me.username, "Alice_1");
        assert_eq!(me.email, "Alice_1@example.com");
    }

    let wrong = app.login("alice_1", "not-the-password").await;
    assert_eq!(
        refused(wrong, StatusCode::UNAUTHORIZED).await.code,
        "invalid_credentials"
    );
    let unknown = app.login("nobody_here", "whatever-password").await;
    problem(unknown, StatusCode::UNAUTHORIZED).await;

    problem(app.get("/api/v1/me", None).await, StatusCode::UNAUTHORIZED).await;

    let public = app.profile("alice_1").await;
    assert_eq!(public.username, "Alice_1");
    assert_eq!(public.post_karma, 0);
    assert_eq!(public.email, None, "the public profile hides the email");
    problem(
        app.get("/api/v1/users/nobody_here", None).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn duplicates_in_another_case_conflict() {
    let app = TestApp::spawn().await;
    app.register("bob_smith").await;
    let same_name =
        json!({"username": "BOB_SMITH", "email": "other@example.com", "password": "password123"});
    let body = refused(
        app.post("/api/v1/auth/register", &same_name, None).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(body.fields(), ["username"]);
    let same_email = json!({"username": "bob_other", "email": "Bob_Smith@EXAMPLE.com", "password": "password123"});
    let body = refused(
        app.post("/api/v1/auth/register", &same_email, None).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(body.fields(), ["email"]);
}

#[tokio::test]
async fn invalid_registrations_list_their_fields() {
    let app = TestApp::spawn().await;
    let bad = json!({"username": "no spaces!", "email": "not-an-email", "password": "short"});
    let body = refused(
        app.post("/api/v1/auth/register", &bad, None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let mut fields = body.fields();
    fields.sort_unstable();
    assert_eq!(fields, ["email", "password", "username"], "{body:?}");

    let too_long =
        json!({"username": "ok_name", "email": "ok@example.com", "password": "x".repeat(129)});
    let body = refused(
        app.post("/api/v1/auth/register", &too_long, None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(body.fields(), ["password"]);

    let missing = json!({"username": "ok_name", "password": "long-enough"});
    let body = refused(
        app.post("/api/v1/auth/register", &missing, None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(body.fields(), ["email"]);
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let app = TestApp::spawn().await;
    let carol = app.register("carol").await;

    let second: AuthTokens =
        TestApp::expect(app.refresh(&carol.refresh_token).await, StatusCode::OK).await;
    let (second_refresh, second_access) = (second.refresh_token, second.access_token);
    assert_ne!(second_refresh, carol.refresh_token);
    assert_eq!(app.me(&second_access).await.username, "carol");

    // The spent token is refused, and presenting it ends the whole family.
    let replay = app.refresh(&carol.refresh_token).await;
    refused(replay, StatusCode::UNAUTHORIZED).await;
    let after = app.refresh(&second_refresh).await;
    refused(after, StatusCode::UNAUTHORIZED).await;
    problem(
        app.get("/api/v1/me", Some(&second_access)).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    problem(
        app.get("/api/v1/me", Some(&carol.access_token)).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    // Other sessions of the same user are not affected.
    let res = app.login("carol", &carol.password).await;
    assert_eq!(res.status(), StatusCode::OK);

    refused(app.refresh("nope").await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = TestApp::spawn().await;
    let dave = app.register("dave").await;
    let other: AuthTokens =
        TestApp::expect(app.login("dave", &dave.password).await, StatusCode::OK).await;

    let res = app
        .post("/api/v1/auth/logout", &json!({}), Some(&dave.access_token))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    problem(
        app.get("/api/v1/me", Some(&dave.access_token)).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let refresh = app.refresh(&dave.refresh_token).await;
    refused(refresh, StatusCode::UNAUTHORIZED).await;
    // Only that session: the other login still works.
    assert_eq!(app.me(&other.access_token).await.username, "dave");
}

fn b64(value: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

#[tokio::test]
async fn forged_expired_and_unsigned_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let erin = app.register("erin").await;
    let parts: Vec<&str> = erin.access_token.split('.').collect();
    assert_eq!(parts.len(), 3);
    use base64::Engine;
    // The token's claims stay raw: a JWT payload the test forges, not an API response.
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .unwrap(),
    )
    .unwrap();
    assert!(
        claims["jti"].is_string() && claims["sid"].is_string(),
        "{claims}"
    );
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        900
    );

    // Claims altered, signature kept.
    let mut altered = claims.clone();
    altered["sub"] = json!(uuid::Uuid::now_v7());
    let forged = format!("{}.{}.{}", parts[0], b64(&altered), parts[2]);
    problem(
        app.get("/api/v1/me", Some(&forged)).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    // alg: none with no signature.
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        parts[1]
    );
    problem(
        app.get("/api/v1/me", Some(&none)).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    // Correctly signed with the server's key but expired.
    let mut expired = claims.clone();
    expired["exp"] = json!(chrono::Utc::now().timestamp() - 120);
    expired["iat"] = json!(chrono::Utc::now().timestamp() - 1000);
    let key =
        jsonwebtoken::EncodingKey::from_secret(forum_domain::settings::DEV_JWT_SECRET.as_bytes());
    let token = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &expired, &key).unwrap();
    problem(
        app.get("/api/v1/me", Some(&token)).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    // The same claims with a fresh expiry are accepted: the refusal above was the expiry.
    expired["exp"] = json!(chrono::Utc::now().timestamp() + 60);
    let token = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &expired, &key).unwrap();
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.status(),
        StatusCode::OK
    );

    problem(
        app.get("/api/v1/me", Some("not.a.jwt")).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test]
async fn password_reset_flow() {
    let app = TestApp::spawn().await;
    let fay = app.register("fay").await;

    let unknown = app
        .post(
            "/api/v1/auth/password-reset",
            &json!({"email": "ghost@example.com"}),
            None,
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::ACCEPTED);
    // Queued emails are outbox payloads, read raw: the job's shape, not the API's.
    assert!(
        app.outbox("email")
            .await
            .iter()
            .all(|m| m["template"] != "password_reset")
    );

    let known = app
        .post(
            "/api/v1/auth/password-reset",
            &json!({"email": "FAY@example.com"}),
            None,
        )
        .await;
    assert_eq!(known.status(), StatusCode::ACCEPTED);
    let mails = app.outbox("email").await;
    let reset = mails
        .iter()
        .find(|m| m["template"] == "password_reset")
        .expect("reset email queued");
    assert_eq!(reset["to"], "fay@example.com");
    let token = reset["token"].as_str().unwrap().to_string();

    let weak = json!({"token": token, "new_password": "short"});
    problem(
        app.post("/api/v1/auth/password-reset/confirm", &weak, None)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    let confirm = json!({"token": token, "new_password": "brand-new-password"});
    let res = app
        .post("/api/v1/auth/password-reset/confirm", &confirm, None)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    // Sessions from before the reset are over; the old password no longer works.
    problem(
        app.get("/api/v1/me", Some(&fay.access_token)).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let refresh = app.refresh(&fay.refresh_token).await;
    refused(refresh, StatusCode::UNAUTHORIZED).await;
    problem(
        app.login("fay", &fay.password).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(
        app.login("fay", "brand-new-password").await.status(),
        StatusCode::OK
    );

    // Single use.
    let again = json!({"token": token, "new_password": "another-password"});
    let body = refused(
        app.post("/api/v1/auth/password-reset/confirm", &again, None)
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(body.code, "invalid_token");
    assert_eq!(
        app.login("fay", "brand-new-password").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn email_verification_is_single_use() {
    let app = TestApp::spawn().await;
    let gus = app.register("gus").await;
    let mails = app.outbox("email").await;
    let verify = mails
        .iter()
        .find(|m| m["template"] == "verify_email" && m["username"] == "gus")
        .expect("queued");
    let token = verify["token"].as_str().unwrap();

    let res = app
        .post("/api/v1/auth/verify-email", &json!({"token": token}), None)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(app.me(&gus.access_token).await.email_verified);
    let again = app
        .post("/api/v1/auth/verify-email", &json!({"token": token}), None)
        .await;
    problem(again, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn patch_me_updates_and_clears_fields() {
    let app = TestApp::spawn().await;
    let hal = app.register("hal").await;
    let res = app
        .patch("/api/v1/me", &json!({"display_name": " Hal 9000 ", "bio": "I'm sorry", "email_notifications": false}), &hal.access_token)
        .await;
    let me: Me = TestApp::expect(res, StatusCode::OK).await;
    assert_eq!(me.display_name.as_deref(), Some("Hal 9000"));
    assert_eq!(me.bio.as_deref(), Some("I'm sorry"));
    assert!(!me.email_notifications);

    // Absent fields stay; null clears.
    let me: Me = TestApp::expect(
        app.patch("/api/v1/me", &json!({"bio": null}), &hal.access_token)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(me.display_name.as_deref(), Some("Hal 9000"));
    assert_eq!(me.bio, None);

    let long = json!({"display_name": "x".repeat(51)});
    let body = refused(
        app.patch("/api/v1/me", &long, &hal.access_token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(body.fields(), ["display_name"]);
    let public: Profile = app.profile("hal").await;
    assert_eq!(public.display_name.as_deref(), Some("Hal 9000"));
}

#[tokio::test]
async fn two_hundred_parallel_registrations_through_pgbouncer() {
    let app = TestApp::spawn().await;
    assert!(
        app.config.settings.db.url.contains(":6432/"),
        "the app must use PgBouncer"
    );
    let started = std::time::Instant::now();
    let results = futures_util::future::join_all((0..200).map(|i| {
        let app = &app;
        async move {
            let body = json!({"username": format!("user_{i}"), "email": format!("user{i}@example.com"), "password": "parallel-pass"});
            let res = app.post("/api/v1/auth/register", &body, None).await;
            TestApp::expect::<AuthTokens>(res, StatusCode::CREATED).await
        }
    }))
    .await;
    let mut ids = std::collections::HashSet::new();
    for tokens in &results {
        ids.insert(tokens.user.id);
    }
    assert_eq!(ids.len(), 200, "distinct ids");
    let count: (i64,) = sqlx::query_as("SELECT count(*) FROM users")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count.0, 200);
    eprintln!("200 parallel registrations took {:?}", started.elapsed());
}
