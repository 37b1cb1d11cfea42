use forum_tests::reqwest::StatusCode;
use forum_tests::serde_json::{Value, json};
use forum_tests::{TestApp, bulk_users, problem};

async fn vote(app: &TestApp, path: &str, value: i64, token: &str) -> Value {
    let res = app.put(path, Some(&json!({"value": value})), token).await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn a_thousand_concurrent_voters_count_exactly() {
    let app = TestApp::spawn().await;
    let author = app.register("popular").await;
    app.create_community(&author.access_token, "votes").await;
    let post = app
        .create_post(&author.access_token, "votes", "vote on me", "")
        .await;
    let path = format!("/api/v1/posts/{}/vote", post["id"].as_str().unwrap());
    let voters = bulk_users(&app, "voter", 1000).await;

    let results = futures_util::future::join_all(voters.iter().map(|(_, token)| {
        let req = app
            .client
            .put(app.url(&path))
            .bearer_auth(token)
            .json(&json!({"value": 1}));
        async move { req.send().await.map(|r| r.status()) }
    }))
    .await;
    assert!(
        results.iter().all(|r| matches!(r, Ok(StatusCode::OK))),
        "every vote answered 200"
    );

    let post = app
        .get_json(
            &format!("/api/v1/posts/{}", post["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(post["score"], 1000);
    assert_eq!(post["upvotes"], 1000);
    assert_eq!(post["downvotes"], 0);
    let profile = app.get_json("/api/v1/users/popular", None).await;
    assert_eq!(profile["post_karma"], 1000);
    // The stored hot rank moved with the score.
    let (hot, score): (f64, i32) = sqlx::query_as("SELECT hot, score FROM posts")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(score, 1000);
    let created: (chrono::DateTime<chrono::Utc>,) = sqlx::query_as("SELECT created_at FROM posts")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!((hot - forum_domain::rules::ranking::hot(1000, created.0)).abs() < 1e-6);
}

#[tokio::test]
async fn one_user_voting_thirty_times_at_once_counts_once() {
    let app = TestApp::spawn().await;
    let author = app.register("author").await;
    let fan = app.register("fan").await;
    app.create_community(&author.access_token, "votes").await;
    let post = app
        .create_post(&author.access_token, "votes", "vote on me", "")
        .await;
    let path = format!("/api/v1/posts/{}/vote", post["id"].as_str().unwrap());
    let results = futures_util::future::join_all((0..30).map(|_| {
        let req = app
            .client
            .put(app.url(&path))
            .bearer_auth(&fan.access_token)
            .json(&json!({"value": 1}));
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    }))
    .await;
    assert!(
        results.iter().all(|r| r["score"] == 1 && r["my_vote"] == 1),
        "{results:?}"
    );
    let post = app
        .get_json(
            &format!("/api/v1/posts/{}", post["id"].as_str().unwrap()),
            Some(&fan.access_token),
        )
        .await;
    assert_eq!(post["score"], 1);
    assert_eq!(post["my_vote"], 1);
    assert_eq!(
        app.get_json("/api/v1/users/author", None).await["post_karma"],
        1
    );
}

#[tokio::test]
async fn flipping_votes_moves_the_right_counters() {
    let app = TestApp::spawn().await;
    let author = app.register("author").await;
    let voter = app.register("voter").await;
    app.create_community(&author.access_token, "votes").await;
    let post = app
        .create_post(&author.access_token, "votes", "flip", "")
        .await;
    let id = post["id"].as_str().unwrap();
    let path = format!("/api/v1/posts/{id}/vote");
    let steps = [
        (1, (1, 1, 0)),
        (1, (1, 1, 0)),
        (-1, (-1, 0, 1)),
        (0, (0, 0, 0)),
        (-1, (-1, 0, 1)),
        (1, (1, 1, 0)),
    ];
    for (value, (score, up, down)) in steps {
        let r = vote(&app, &path, value, &voter.access_token).await;
        assert_eq!(
            (
                r["score"].as_i64().unwrap(),
                r["upvotes"].as_i64().unwrap(),
                r["downvotes"].as_i64().unwrap()
            ),
            (score, up, down),
            "after {value}"
        );
        assert_eq!(r["my_vote"], value);
    }
    assert_eq!(
        app.get_json("/api/v1/users/author", None).await["post_karma"],
        1
    );

    // Comments too, with comment karma.
    let comment = app
        .post(
            &format!("/api/v1/posts/{id}/comments"),
            &json!({"body": "c"}),
            Some(&author.access_token),
        )
        .await;
    let comment: Value = comment.json().await.unwrap();
    let cpath = format!("/api/v1/comments/{}/vote", comment["id"].as_str().unwrap());
    vote(&app, &cpath, -1, &voter.access_token).await;
    let r = vote(&app, &cpath, 1, &voter.access_token).await;
    assert_eq!(
        (
            r["score"].clone(),
            r["upvotes"].clone(),
            r["downvotes"].clone()
        ),
        (json!(1), json!(1), json!(0))
    );
    let profile = app.get_json("/api/v1/users/author", None).await;
    assert_eq!(profile["comment_karma"], 1);
    assert_eq!(profile["post_karma"], 1);

    problem(
        app.put(&path, Some(&json!({"value": 2})), &voter.access_token)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    problem(
        app.put(&path, Some(&json!({"value": "up"})), &voter.access_token)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    problem(
        app.put(&path, Some(&json!({"value": 1})), "bad-token")
            .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    // Deleted content takes no votes.
    app.delete(&format!("/api/v1/posts/{id}"), &author.access_token)
        .await;
    let res = app
        .put(&path, Some(&json!({"value": 1})), &voter.access_token)
        .await;
    assert_eq!(
        problem(res, StatusCode::FORBIDDEN).await["code"],
        "not_votable"
    );
    app.delete(
        &format!("/api/v1/comments/{}", comment["id"].as_str().unwrap()),
        &author.access_token,
    )
    .await;
    problem(
        app.put(&cpath, Some(&json!({"value": 1})), &voter.access_token)
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
}
