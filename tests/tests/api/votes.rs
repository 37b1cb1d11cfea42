use forum_tests::reqwest::StatusCode;
use forum_tests::serde_json::json;
use forum_tests::wire::{Comment, VoteResult};
use forum_tests::{TestApp, bulk_users, refused};

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
    let failed: Vec<_> = results
        .iter()
        .filter(|r| !matches!(r, Ok(StatusCode::OK)))
        .collect();
    assert!(
        failed.is_empty(),
        "every vote answered 200, not: {failed:?}"
    );

    let post = app.post_view(post["id"].as_str().unwrap(), None).await;
    assert_eq!((post.score, post.upvotes, post.downvotes), (1000, 1000, 0));
    assert_eq!(app.profile("popular").await.post_karma, 1000);
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
        async move {
            req.send()
                .await
                .unwrap()
                .json::<VoteResult>()
                .await
                .unwrap()
        }
    }))
    .await;
    assert!(
        results.iter().all(|r| r.score == 1 && r.my_vote == 1),
        "{results:?}"
    );
    let post = app
        .post_view(post["id"].as_str().unwrap(), Some(&fan.access_token))
        .await;
    assert_eq!((post.score, post.my_vote), (1, 1));
    assert_eq!(app.profile("author").await.post_karma, 1);
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
    for (value, counts) in steps {
        let r = app.vote(&path, value, &voter.access_token).await;
        assert_eq!(r.counts(), counts, "after {value}");
        assert_eq!(i64::from(r.my_vote), value);
    }
    assert_eq!(app.profile("author").await.post_karma, 1);

    // Comments too, with comment karma.
    let comment: Comment = TestApp::expect(
        app.post(
            &format!("/api/v1/posts/{id}/comments"),
            &json!({"body": "c"}),
            Some(&author.access_token),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let cpath = format!("/api/v1/comments/{}/vote", comment.id);
    app.vote(&cpath, -1, &voter.access_token).await;
    let r = app.vote(&cpath, 1, &voter.access_token).await;
    assert_eq!(r.counts(), (1, 1, 0));
    let profile = app.profile("author").await;
    assert_eq!((profile.comment_karma, profile.post_karma), (1, 1));

    let out_of_range = refused(
        app.put(&path, Some(&json!({"value": 2})), &voter.access_token)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(out_of_range.fields(), ["value"]);
    refused(
        app.put(&path, Some(&json!({"value": "up"})), &voter.access_token)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    refused(
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
        refused(res, StatusCode::FORBIDDEN).await.code,
        "not_votable"
    );
    app.delete(
        &format!("/api/v1/comments/{}", comment.id),
        &author.access_token,
    )
    .await;
    refused(
        app.put(&cpath, Some(&json!({"value": 1})), &voter.access_token)
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
}
