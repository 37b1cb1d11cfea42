use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use base64::Engine;
use chrono::{DateTime, Utc};
use forum_domain::model::{Sort, Window};
use forum_domain::rules::ranking;
use forum_domain::store::posts::{self, Listing, Scope};
use forum_tests::reqwest::StatusCode;
use forum_tests::serde_json::{Value, json};
use forum_tests::wire::{Community, Page, Post};
use forum_tests::{TestApp, refused};
use uuid::Uuid;

#[derive(sqlx::FromRow, Debug)]
struct Stored {
    id: Uuid,
    score: i32,
    upvotes: i32,
    downvotes: i32,
    created_at: DateTime<Utc>,
    hot: f64,
    controversy: f64,
}

async fn stored(app: &TestApp) -> Vec<Stored> {
    sqlx::query_as("SELECT id, score, upvotes, downvotes, created_at, hot, controversy FROM posts")
        .fetch_all(&app.db)
        .await
        .unwrap()
}

/// Pages through a listing, collecting ids and the reference time of time-dependent cursors.
async fn walk(app: &TestApp, query: &str) -> (Vec<Uuid>, Option<i64>) {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    let mut reference = None;
    for _ in 0..100 {
        let url = match &cursor {
            Some(c) => format!("/api/v1/posts?{query}&limit=7&cursor={c}"),
            None => format!("/api/v1/posts?{query}&limit=7"),
        };
        let page: Page<Post> = app.get_as(&url, None).await;
        assert!(page.items.len() <= 7);
        ids.extend(page.items.iter().map(|p| p.id));
        match page.next_cursor.as_deref() {
            Some(c) => {
                let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(c)
                    .unwrap();
                let decoded: Value = serde_json::from_slice(&raw).unwrap();
                reference = decoded["t"].as_i64().or(reference);
                cursor = Some(c.to_string());
            }
            None => return (ids, reference),
        }
    }
    panic!("listing {query} did not end");
}

fn sort_value(sort: &str, p: &Stored, reference: DateTime<Utc>) -> f64 {
    match sort {
        "hot" => ranking::hot(p.score.into(), p.created_at),
        "new" => 0.0,
        "top" => f64::from(p.score),
        "controversial" => ranking::controversy(p.upvotes.into(), p.downvotes.into()),
        "rising" => ranking::rising(p.score.into(), p.created_at, reference),
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn paging_every_sort_while_posts_arrive_has_no_duplicates_or_gaps() {
    let app = TestApp::spawn().await;
    let user = app.register("pager").await;
    app.create_community(&user.access_token, "alpha").await;
    app.create_community(&user.access_token, "beta").await;
    for i in 0..60 {
        let community = if i % 3 == 0 { "beta" } else { "alpha" };
        app.create_post(&user.access_token, community, &format!("post {i}"), "")
            .await;
    }
    // Votes arrive with 3/8; until then give posts varied scores and ages directly.
    sqlx::query(
        "UPDATE posts SET upvotes = abs(hashtext(id::text)) % 40, downvotes = abs(hashtext(reverse(id::text))) % 25,
            created_at = created_at - (abs(hashtext(id::text || 'age')) % 20) * interval '1 hour'",
    )
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query("UPDATE posts SET score = upvotes - downvotes")
        .execute(&app.db)
        .await
        .unwrap();
    let initial = stored(&app).await;
    let alpha: HashSet<Uuid> = {
        let rows: Vec<(Uuid,)> = sqlx::query_as("SELECT p.id FROM posts p JOIN communities c ON c.id = p.community_id WHERE c.name = 'alpha'")
            .fetch_all(&app.db)
            .await
            .unwrap();
        rows.into_iter().map(|r| r.0).collect()
    };

    // The stored ranks are the ones the Rust rules compute.
    for p in &initial {
        assert!(
            (p.hot - ranking::hot(p.score.into(), p.created_at)).abs() < 1e-6,
            "{p:?}"
        );
        assert!(
            (p.controversy - ranking::controversy(p.upvotes.into(), p.downvotes.into())).abs()
                < 1e-9,
            "{p:?}"
        );
    }

    // Another task keeps posting while we page.
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let done = done.clone();
        let client = app.client.clone();
        let url = app.url("/api/v1/communities/alpha/posts");
        let token = user.access_token.clone();
        tokio::spawn(async move {
            let mut n = 0;
            while !done.load(Ordering::Relaxed) && n < 500 {
                let res = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"title": format!("late {n}")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), StatusCode::CREATED);
                n += 1;
            }
            n
        })
    };

    let sorts = [
        "sort=hot",
        "sort=new",
        "sort=top&t=all",
        "sort=top&t=day",
        "sort=controversial&t=all",
        "sort=rising",
    ];
    for scope in ["", "&community=alpha"] {
        for sort in sorts {
            let query = format!("{sort}{scope}");
            let (ids, reference) = walk(&app, &query).await;
            let unique: HashSet<Uuid> = ids.iter().copied().collect();
            assert_eq!(unique.len(), ids.len(), "{query}: duplicates");
            let expected: HashSet<Uuid> = initial
                .iter()
                .map(|p| p.id)
                .filter(|id| scope.is_empty() || alpha.contains(id))
                .collect();
            let missing: Vec<_> = expected.difference(&unique).collect();
            if !missing.is_empty() {
                let info: Vec<_> = initial
                    .iter()
                    .filter(|p| missing.contains(&&p.id))
                    .collect();
                panic!(
                    "{query}: {} posts never listed (reference {reference:?}): {info:?}",
                    missing.len()
                );
            }

            // Strictly descending by (value, id), values computed here from the stored columns.
            let now = stored(&app).await;
            let reference = reference
                .and_then(|t| DateTime::from_timestamp(t, 0))
                .unwrap_or_else(Utc::now);
            let name = sort.split(['=', '&']).nth(1).unwrap();
            let keyed: Vec<(f64, Uuid)> = ids
                .iter()
                .map(|id| {
                    let p = now.iter().find(|p| p.id == *id).unwrap();
                    (sort_value(name, p, reference), p.id)
                })
                .collect();
            for pair in keyed.windows(2) {
                let ((a, ida), (b, idb)) = (pair[0], pair[1]);
                assert!(
                    a > b + 1e-9 || ((a - b).abs() <= 1e-9 && ida > idb),
                    "{query}: {pair:?} out of order"
                );
            }
        }
    }
    done.store(true, Ordering::Relaxed);
    let late = writer.await.unwrap();
    assert!(late > 0, "the writer ran during paging");
}

#[tokio::test]
async fn listing_queries_are_index_scans_not_table_sorts() {
    let app = TestApp::spawn().await;
    let user = app.register("planner").await;
    let community = app
        .create_community_view(&user.access_token, "big")
        .await
        .id;
    let user_id = user.user.id;
    for i in 0..49 {
        app.create_community(&user.access_token, &format!("big_{i}"))
            .await;
    }
    // 100,000 posts over a year in 50 communities, then fresh statistics.
    sqlx::query(
        "INSERT INTO posts (id, community_id, author_id, title, created_at, upvotes, downvotes, score)
         SELECT gen_random_uuid(), c.ids[1 + g % 50], $1, 'generated ' || g,
                now() - (g % 525600) * interval '1 minute', g % 97, g % 13, g % 97 - g % 13
         FROM generate_series(1, 100000) g, (SELECT array_agg(id) AS ids FROM communities) c",
    )
    .bind(user_id)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query("ANALYZE posts").execute(&app.db).await.unwrap();

    let sorts = [
        (Sort::Hot, Window::All),
        (Sort::New, Window::All),
        (Sort::Top, Window::All),
        (Sort::Top, Window::Day),
        (Sort::Top, Window::Week),
        (Sort::Controversial, Window::All),
        (Sort::Controversial, Window::Month),
        (Sort::Rising, Window::All),
    ];
    let cursor = forum_domain::rules::paging::Cursor {
        scope: String::new(),
        key: Some(14_000.0),
        id: Uuid::max(),
        at: None,
        snapshot: None,
        pos: None,
    };
    for scope in [
        Scope::All,
        Scope::Community(community),
        Scope::Feed(user_id),
    ] {
        for (sort, window) in sorts {
            for after in [None, Some(cursor.clone())] {
                let listing = Listing {
                    sort,
                    window,
                    scope,
                    after,
                    limit: 25,
                    include_removed: false,
                };
                let mut qb = posts::explain_listing(&listing);
                let (plan,): (Value,) = qb.build_query_as().fetch_one(&app.db).await.unwrap();
                let offending = sorts_a_seq_scan_of_posts(&plan[0]["Plan"], false);
                assert!(
                    !offending,
                    "{sort:?}/{window:?}/{scope:?} sorts a sequential scan of posts:\n{plan:#}"
                );
            }
        }
    }
}

/// True when a Sort node has a sequential scan of `posts` below it.
fn sorts_a_seq_scan_of_posts(node: &Value, under_sort: bool) -> bool {
    let kind = node["Node Type"].as_str().unwrap_or("");
    if under_sort && kind == "Seq Scan" && node["Relation Name"] == "posts" {
        return true;
    }
    let under = under_sort || kind == "Sort" || kind == "Incremental Sort";
    node["Plans"]
        .as_array()
        .is_some_and(|plans| plans.iter().any(|p| sorts_a_seq_scan_of_posts(p, under)))
}

#[tokio::test]
async fn edits_show_at_once_in_cached_listings_and_details() {
    let app = TestApp::spawn().await;
    let user = app.register("editor").await;
    app.create_community(&user.access_token, "news").await;
    let id = app
        .create_post_view(&user.access_token, "news", "Original title", "")
        .await
        .id
        .to_string();

    // Warm the caches, twice so the second read is a hit.
    for _ in 0..2 {
        assert_eq!(first_title(&app, "sort=new").await, "Original title");
        assert_eq!(first_title(&app, "community=news").await, "Original title");
        assert_eq!(app.post_view(&id, None).await.title, "Original title");
    }
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    // Served from the process' own copy of the page, or from Redis once that copy aged out.
    assert!(
        metrics.contains("forum_cache_requests_total{cache=\"listing_local\",result=\"hit\"}")
            || metrics.contains("forum_cache_requests_total{cache=\"listing\",result=\"hit\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("forum_cache_requests_total{cache=\"post\",result=\"hit\"}"),
        "{metrics}"
    );

    app.patch(
        &format!("/api/v1/posts/{id}"),
        &json!({"title": "Edited title"}),
        &user.access_token,
    )
    .await;
    assert_eq!(first_title(&app, "sort=new").await, "Edited title");
    assert_eq!(first_title(&app, "community=news").await, "Edited title");
    assert_eq!(app.post_view(&id, None).await.title, "Edited title");

    // A new post shows at once too, and a cached page still carries each caller's own fields.
    app.create_post(&user.access_token, "news", "Second", "")
        .await;
    assert_eq!(first_title(&app, "sort=new").await, "Second");
    app.put(
        &format!("/api/v1/posts/{id}/save"),
        None,
        &user.access_token,
    )
    .await;
    let mine: Page<Post> = app
        .get_as("/api/v1/posts?sort=new", Some(&user.access_token))
        .await;
    assert!(mine.items[1].saved, "saved by the caller");
    let anon: Page<Post> = app.get_as("/api/v1/posts?sort=new", None).await;
    assert!(!anon.items[1].saved, "not saved by anyone anonymous");
}

/// The title of the first post of `GET /posts?{query}`.
async fn first_title(app: &TestApp, query: &str) -> String {
    let page: Page<Post> = app.get_as(&format!("/api/v1/posts?{query}"), None).await;
    page.items
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("/api/v1/posts?{query} is empty"))
        .title
}

#[tokio::test]
async fn listings_work_without_redis() {
    let app = TestApp::builder()
        .redis_url("redis://127.0.0.1:1")
        .spawn()
        .await;
    let user = app.register("offline").await;
    app.create_community(&user.access_token, "offline").await;
    let post = app
        .create_post_view(&user.access_token, "offline", "Still here", "")
        .await;
    for path in [
        "/api/v1/posts",
        "/api/v1/posts?community=offline&sort=new",
        "/api/v1/communities",
    ] {
        let res = app.get(path, None).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
    }
    let detail = app
        .post_view(&post.id.to_string(), Some(&user.access_token))
        .await;
    assert_eq!(detail.title, "Still here");
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics.contains("forum_redis_errors_total"),
        "Redis failures are counted"
    );
}

#[tokio::test]
async fn feed_lists_joined_communities_only() {
    let app = TestApp::spawn().await;
    let a = app.register("reader").await;
    let b = app.register("poster").await;
    app.create_community(&b.access_token, "joined").await;
    app.create_community(&b.access_token, "ignored").await;
    app.create_post(&b.access_token, "joined", "in feed", "")
        .await;
    app.create_post(&b.access_token, "ignored", "not in feed", "")
        .await;
    refused(
        app.get("/api/v1/feed", None).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let empty: Page<Post> = app.get_as("/api/v1/feed", Some(&a.access_token)).await;
    assert!(empty.items.is_empty(), "{empty:?}");
    app.put(
        "/api/v1/communities/joined/membership",
        None,
        &a.access_token,
    )
    .await;
    let feed: Page<Post> = app
        .get_as("/api/v1/feed?sort=new", Some(&a.access_token))
        .await;
    let titles: Vec<&str> = feed.items.iter().map(|p| p.title.as_str()).collect();
    assert_eq!(titles, ["in feed"]);
}

#[tokio::test]
async fn reads_use_the_replica_except_right_after_your_own_write() {
    let app = TestApp::builder().lagging_replica().spawn().await;
    let user = app.register("writer").await;
    app.create_community(&user.access_token, "fresh").await;
    // The writer reads their own write (from the primary)...
    let mine: Page<Community> = app
        .get_as("/api/v1/communities?sort=new", Some(&user.access_token))
        .await;
    assert_eq!(mine.items[0].name, "fresh");
    // ...while anonymous reads go to the replica, which (here) never catches up.
    let anon: Page<Community> = app.get_as("/api/v1/communities?sort=new", None).await;
    assert!(anon.items.is_empty(), "{anon:?}");
    let search: Page<Community> = app
        .get_as("/api/v1/search?q=fresh&type=communities", None)
        .await;
    assert!(search.items.is_empty(), "{search:?}");
}

#[tokio::test]
async fn pinned_posts_lead_the_community_hot_listing() {
    let app = TestApp::spawn().await;
    let user = app.register("pinner").await;
    app.create_community(&user.access_token, "pins").await;
    let old = app
        .create_post_view(&user.access_token, "pins", "old announcement", "")
        .await;
    for i in 0..5 {
        app.create_post(&user.access_token, "pins", &format!("regular {i}"), "")
            .await;
    }
    // Moderators pin from 4/8 on; set it directly here.
    sqlx::query("UPDATE posts SET pinned_at = now() WHERE id = $1")
        .bind(old.id)
        .execute(&app.db)
        .await
        .unwrap();
    let first: Page<Post> = app
        .get_as("/api/v1/posts?community=pins&sort=hot&limit=3", None)
        .await;
    let items = &first.items;
    assert_eq!(items[0].title, "old announcement");
    assert!(items[0].pinned);
    assert_eq!(items.len(), 3);
    // The pinned post is not repeated further down.
    let (ids, _) = walk(&app, "community=pins&sort=hot").await;
    assert_eq!(ids.len(), 6);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 6);
    // Outside the community's hot listing it is an ordinary post.
    assert_ne!(first_title(&app, "sort=hot").await, "old announcement");
}

/// Follows `next_cursor` from the page already fetched, calling `between` before each request.
async fn rest_of_walk(app: &TestApp, query: &str, first: &Page<Post>) -> Vec<Uuid> {
    let mut ids = Vec::new();
    let mut cursor = first.next_cursor.clone();
    while let Some(c) = cursor {
        let page: Page<Post> = app
            .get_as(&format!("/api/v1/posts?{query}&cursor={c}"), None)
            .await;
        ids.extend(page.items.iter().map(|p| p.id));
        cursor = page.next_cursor;
    }
    ids
}

#[tokio::test]
async fn votes_between_pages_neither_repeat_nor_skip_posts() {
    let app = TestApp::spawn().await;
    let user = app.register("steady").await;
    app.create_community(&user.access_token, "steady").await;
    for i in 0..30 {
        app.create_post(&user.access_token, "steady", &format!("p{i}"), "")
            .await;
    }
    // Distinct scores, so every sort has a definite order.
    sqlx::query(
        "UPDATE posts SET upvotes = n, score = n FROM
           (SELECT id, row_number() OVER (ORDER BY id)::int * 3 AS n FROM posts) s
         WHERE s.id = posts.id",
    )
    .execute(&app.db)
    .await
    .unwrap();
    for sort in ["sort=top&t=all", "sort=hot", "sort=controversial&t=all"] {
        let query = format!("{sort}&community=steady&limit=10");
        let first: Page<Post> = app.get_as(&format!("/api/v1/posts?{query}"), None).await;
        let mut ids: Vec<Uuid> = first.items.iter().map(|p| p.id).collect();
        assert_eq!(ids.len(), 10, "{query}");
        // Between page requests the votes turn the order upside down: what was first is now
        // last, and the other way round.
        sqlx::query(
            "UPDATE posts SET upvotes = 200 - upvotes, downvotes = upvotes % 7, score = 200 - upvotes - upvotes % 7",
        )
        .execute(&app.db)
        .await
        .unwrap();
        ids.extend(rest_of_walk(&app, &query, &first).await);
        let unique: HashSet<Uuid> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len(), "{query}: a post was listed twice");
        assert_eq!(ids.len(), 30, "{query}: posts were skipped");
    }
}
