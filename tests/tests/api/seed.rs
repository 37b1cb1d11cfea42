//! The benchmark dataset generator: deterministic, and its counters are what the API would have
//! produced from the same votes and comments.

use forum_benches::seed::{self, Sizes};
use forum_domain::rules::ranking;
use forum_tests::TestApp;
use forum_tests::reqwest::StatusCode;
use forum_tests::serde_json::{Value, json};
use sqlx::Connection;

const SIZES: Sizes = Sizes {
    users: 40,
    communities: 4,
    posts: 120,
    comments: 900,
    votes: 1_500,
};

/// "Now" for the generated times, fixed so two loads are equal.
const BASE_UNIX: i64 = 1_795_000_000;

async fn seeded(seed_value: i64) -> TestApp {
    let app = TestApp::spawn().await;
    let mut db = sqlx::PgConnection::connect(&app.config.settings.db.direct_url)
        .await
        .unwrap();
    let hash = forum_domain::secrets::hash_password(seed::PASSWORD).unwrap();
    seed::load(
        &mut db,
        SIZES,
        seed_value,
        BASE_UNIX,
        &hash,
        |_, _, _, _| {},
    )
    .await
    .unwrap();
    app
}

async fn fingerprint(app: &TestApp) -> String {
    let (f,): (String,) = sqlx::query_as(
        "SELECT md5(string_agg(id::text || score || ':' || comment_count || title, ',' ORDER BY id)) FROM posts",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    f
}

async fn mismatches(app: &TestApp, sql: &'static str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&app.db).await.unwrap();
    n
}

#[tokio::test]
async fn generated_data_is_deterministic_and_its_counters_match_a_recount() {
    let app = seeded(42).await;
    let again = seeded(42).await;
    let other = seeded(43).await;
    assert_eq!(fingerprint(&app).await, fingerprint(&again).await);
    assert_ne!(fingerprint(&app).await, fingerprint(&other).await);

    let checks: [(&str, &'static str); 9] = [
        ("post scores", "SELECT count(*) FROM posts p LEFT JOIN (
                SELECT post_id, count(*) FILTER (WHERE value = 1)::int AS up,
                       count(*) FILTER (WHERE value = -1)::int AS down, sum(value)::int AS s
                FROM post_votes GROUP BY post_id) v ON v.post_id = p.id
            WHERE (p.upvotes, p.downvotes, p.score)
                IS DISTINCT FROM (coalesce(v.up, 0), coalesce(v.down, 0), coalesce(v.s, 0))"),
        ("comment scores", "SELECT count(*) FROM comments c LEFT JOIN (
                SELECT comment_id, count(*) FILTER (WHERE value = 1)::int AS up,
                       count(*) FILTER (WHERE value = -1)::int AS down, sum(value)::int AS s
                FROM comment_votes GROUP BY comment_id) v ON v.comment_id = c.id
            WHERE (c.upvotes, c.downvotes, c.score)
                IS DISTINCT FROM (coalesce(v.up, 0), coalesce(v.down, 0), coalesce(v.s, 0))"),
        ("comment counts", "SELECT count(*) FROM posts p WHERE p.comment_count <> (SELECT count(*) FROM comments c WHERE c.post_id = p.id)"),
        ("reply counts", "SELECT count(*) FROM comments p WHERE p.reply_count <> (SELECT count(*) FROM comments c WHERE c.parent_id = p.id)"),
        ("paths", "SELECT count(*) FROM comments c LEFT JOIN comments par ON par.id = c.parent_id
            WHERE (c.parent_id IS NULL AND (c.depth <> 0 OR c.path <> '{}'))
               OR (c.parent_id IS NOT NULL AND (c.depth <> par.depth + 1 OR c.path <> par.path || par.id OR c.post_id <> par.post_id))"),
        ("karma", "SELECT count(*) FROM users u WHERE u.post_karma <> coalesce((SELECT sum(score) FROM posts WHERE author_id = u.id), 0)
            OR u.comment_karma <> coalesce((SELECT sum(score) FROM comments WHERE author_id = u.id), 0)"),
        ("community counts", "SELECT count(*) FROM communities c
            WHERE c.member_count <> (SELECT count(*) FROM community_members m WHERE m.community_id = c.id)
               OR c.post_count <> (SELECT count(*) FROM posts p WHERE p.community_id = c.id)"),
        ("search documents", "SELECT count(*) FROM posts p FULL JOIN post_search s ON s.post_id = p.id
            WHERE p.id IS NULL OR s.post_id IS NULL OR s.community_id <> p.community_id
               OR s.search IS DISTINCT FROM post_search_document(p.title, p.body)"),
        ("posts' triggers left off", "SELECT count(*) FROM pg_trigger
            WHERE tgrelid = 'posts'::regclass AND NOT tgisinternal AND tgenabled = 'D'"),
    ];
    for (what, sql) in checks {
        assert_eq!(
            mismatches(&app, sql).await,
            0,
            "{what} differ from a recount"
        );
    }
    let (votes, comments): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM post_votes) + (SELECT count(*) FROM comment_votes), (SELECT count(*) FROM comments)",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(comments, SIZES.comments);
    // Repeated (user, target) draws are dropped: most of the asked-for votes remain.
    assert!(votes > SIZES.votes / 2, "{votes} votes");

    // Hot ranks are the schema's, which are the Rust rule's.
    let sample: Vec<(i32, chrono::DateTime<chrono::Utc>, f64)> =
        sqlx::query_as("SELECT score, created_at, hot FROM posts ORDER BY id LIMIT 50")
            .fetch_all(&app.db)
            .await
            .unwrap();
    for (score, created, hot) in sample {
        assert!((ranking::hot(score.into(), created) - hot).abs() < 1e-6);
    }

    // The API serves it as its own: a listing, a login with the generated password, a vote.
    let page = app.get_json("/api/v1/posts?sort=top&t=all", None).await;
    let top = &page["items"][0];
    let (best,): (i32,) = sqlx::query_as("SELECT max(score) FROM posts")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(top["score"], best, "{top}");
    let res = app.login("u1", seed::PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    let token = res.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let id = top["id"].as_str().unwrap();
    let res = app
        .put(
            &format!("/api/v1/posts/{id}/vote"),
            Some(&json!({"value": -1})),
            &token,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}
