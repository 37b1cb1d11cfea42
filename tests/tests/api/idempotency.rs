use forum_tests::TestApp;
use forum_tests::reqwest::StatusCode;
use forum_tests::serde_json::{Value, json};

#[tokio::test]
async fn twenty_concurrent_creates_with_one_key_make_one_post() {
    let app = TestApp::spawn().await;
    let user = app.register("retrier").await;
    app.create_community(&user.access_token, "idem").await;
    let url = app.url("/api/v1/communities/idem/posts");
    let body = json!({"title": "exactly once", "body": "hello"});
    let results = futures_util::future::join_all((0..20).map(|_| {
        let req = app
            .client
            .post(&url)
            .bearer_auth(&user.access_token)
            .header("Idempotency-Key", "key-1")
            .json(&body);
        async move {
            let res = req.send().await.unwrap();
            let replayed = res.headers().get("idempotent-replayed").is_some();
            (res.status(), replayed, res.json::<Value>().await.unwrap())
        }
    }))
    .await;
    let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM posts")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 1, "exactly one post");
    let created: Vec<_> = results
        .iter()
        .filter(|(s, replayed, _)| *s == StatusCode::CREATED && !replayed)
        .collect();
    assert_eq!(created.len(), 1, "one request created it: {results:?}");
    let id = &created[0].2["id"];
    for (status, replayed, body) in &results {
        match *status {
            StatusCode::CREATED => assert_eq!(&body["id"], id, "a replay returns the same post"),
            StatusCode::CONFLICT => assert_eq!(body["code"], "idempotency_key_in_flight"),
            other => panic!("unexpected {other}: {body}"),
        }
        if *replayed {
            assert_eq!(*status, StatusCode::CREATED);
        }
    }

    // Later: the same request replays the original exactly; another body with the key is 422.
    let res = app
        .client
        .post(&url)
        .bearer_auth(&user.access_token)
        .header("Idempotency-Key", "key-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.headers()["idempotent-replayed"], "true");
    assert_eq!(res.json::<Value>().await.unwrap(), created[0].2);
    let other = json!({"title": "something else"});
    let res = app
        .client
        .post(&url)
        .bearer_auth(&user.access_token)
        .header("Idempotency-Key", "key-1")
        .json(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "idempotency_key_reused"
    );

    // Keys are per user: another user's same key is a new request.
    let other_user = app.register("other").await;
    let res = app
        .client
        .post(&url)
        .bearer_auth(&other_user.access_token)
        .header("Idempotency-Key", "key-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(res.headers().get("idempotent-replayed").is_none());

    // A failed request does not burn its key.
    let bad = json!({"title": ""});
    let res = app
        .client
        .post(&url)
        .bearer_auth(&user.access_token)
        .header("Idempotency-Key", "key-2")
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let good = json!({"title": "fixed"});
    let res = app
        .client
        .post(&url)
        .bearer_auth(&user.access_token)
        .header("Idempotency-Key", "key-2")
        .json(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);

    let long = "k".repeat(256);
    let res = app
        .client
        .post(&url)
        .bearer_auth(&user.access_token)
        .header("Idempotency-Key", long)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn comments_honour_idempotency_keys_and_old_keys_are_purged() {
    let app = TestApp::spawn().await;
    let user = app.register("commenter").await;
    app.create_community(&user.access_token, "idem").await;
    let post = app.create_post(&user.access_token, "idem", "p", "").await;
    let url = app.url(&format!(
        "/api/v1/posts/{}/comments",
        post["id"].as_str().unwrap()
    ));
    let body = json!({"body": "once"});
    for _ in 0..3 {
        let res = app
            .client
            .post(&url)
            .bearer_auth(&user.access_token)
            .header("Idempotency-Key", "c1")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM comments")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 1);

    // Past 24 h a key is purged (and may be reused meanwhile).
    sqlx::query("UPDATE idempotency_keys SET created_at = now() - interval '25 hours'")
        .execute(&app.db)
        .await
        .unwrap();
    let purged = forum_domain::store::idempotency::purge(&app.db)
        .await
        .unwrap();
    assert_eq!(purged, 1);
    let res = app
        .client
        .post(&url)
        .bearer_auth(&user.access_token)
        .header("Idempotency-Key", "c1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("idempotent-replayed").is_none());
    let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM comments")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 2);
}
