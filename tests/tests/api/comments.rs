use std::collections::HashMap;

use forum_domain::rules::ranking;
use forum_tests::reqwest::StatusCode;
use forum_tests::serde_json::{Value, json};
use forum_tests::wire::{Comment, CommentWithPath, Notification, Page, Thread};
use forum_tests::{Session, TestApp, refused};
use uuid::Uuid;

async fn comment(
    app: &TestApp,
    s: &Session,
    post: Uuid,
    body: &str,
    parent: Option<Uuid>,
) -> Comment {
    let res = app
        .post(
            &format!("/api/v1/posts/{post}/comments"),
            &json!({"body": body, "parent_id": parent}),
            Some(&s.access_token),
        )
        .await;
    TestApp::expect(res, StatusCode::CREATED).await
}

/// The bodies of `comments`, in order.
fn bodies(comments: &[Comment]) -> Vec<&str> {
    comments.iter().map(|c| c.body.as_str()).collect()
}

#[tokio::test]
async fn comment_lifecycle_and_tree_shape() {
    let app = TestApp::spawn().await;
    let op = app.register("opp").await;
    let bob = app.register("bob").await;
    app.create_community(&op.access_token, "talk").await;
    let p = app
        .create_post_view(&op.access_token, "talk", "Discuss", "")
        .await
        .id;

    let a = comment(&app, &bob, p, "A *top*", None).await;
    assert_eq!(a.depth, 0);
    assert_eq!(a.body_html, "<p>A <em>top</em></p>\n");
    assert_eq!(a.author.as_ref().map(|u| u.username.as_str()), Some("bob"));
    let a1 = comment(&app, &op, p, "A1", Some(a.id)).await;
    let a1a = comment(&app, &bob, p, "A1a", Some(a1.id)).await;
    let a2 = comment(&app, &op, p, "A2", Some(a.id)).await;
    let b = comment(&app, &op, p, "B", None).await;
    assert_eq!(a1a.depth, 2);
    assert_eq!(app.post_view(&p.to_string(), None).await.comment_count, 5);

    let single: CommentWithPath = app
        .get_as(&format!("/api/v1/comments/{}", a1a.id), None)
        .await;
    assert_eq!(single.path, [a.id, a1.id]);
    assert_eq!(single.comment.parent_id, Some(a1.id));

    let tree: Thread = app
        .get_as(&format!("/api/v1/posts/{p}/comments?sort=old"), None)
        .await;
    assert_eq!(bodies(&tree.items), ["A *top*", "B"]);
    let top = &tree.items[0];
    assert_eq!(top.reply_count, 2);
    assert_eq!(bodies(&top.replies), ["A1", "A2"]);
    assert_eq!(top.replies[0].replies[0].body, "A1a");
    assert!(top.more.is_none(), "{top:?}");
    assert!(tree.more.is_empty(), "{tree:?}");

    // depth=2 stops after the replies; A1's reply is a `more` fetched with parent_id + cursor.
    let shallow: Thread = app
        .get_as(
            &format!("/api/v1/posts/{p}/comments?sort=old&depth=2"),
            None,
        )
        .await;
    let a1_node = &shallow.items[0].replies[0];
    assert!(a1_node.replies.is_empty(), "{a1_node:?}");
    let more = a1_node
        .more
        .as_ref()
        .unwrap_or_else(|| panic!("A1's reply left for later: {a1_node:?}"));
    assert_eq!(more.count, 1);
    assert_eq!(more.parent_id, Some(a1.id));
    let cont: Thread = app
        .get_as(
            &format!(
                "/api/v1/posts/{p}/comments?sort=old&parent_id={}&cursor={}",
                a1.id, more.cursor
            ),
            None,
        )
        .await;
    assert_eq!(cont.items[0].body, "A1a");

    // Edit: author only.
    let path = format!("/api/v1/comments/{}", a1.id);
    refused(
        app.patch(&path, &json!({"body": "hijack"}), &bob.access_token)
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let edited: Comment = TestApp::expect(
        app.patch(&path, &json!({"body": "A1 edited"}), &op.access_token)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(edited.body, "A1 edited");
    assert!(edited.edited_at.is_some(), "editing sets edited_at");
    refused(
        app.patch(&path, &json!({"body": "  "}), &op.access_token)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    // Delete keeps the replies; the post keeps counting the comment.
    refused(
        app.delete(&path, &bob.access_token).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(
        app.delete(&path, &op.access_token).await.status(),
        StatusCode::NO_CONTENT
    );
    let tree: Thread = app
        .get_as(&format!("/api/v1/posts/{p}/comments?sort=old"), None)
        .await;
    let gone = &tree.items[0].replies[0];
    assert_eq!(gone.body, "[deleted]");
    assert!(gone.author.is_none(), "the author is hidden");
    assert!(gone.deleted);
    assert_eq!(gone.replies[0].body, "A1a");
    assert_eq!(app.post_view(&p.to_string(), None).await.comment_count, 5);

    // A user's comments.
    let bobs: Page<Comment> = app.get_as("/api/v1/users/bob/comments", None).await;
    assert_eq!(bobs.items.len(), 2);
    assert_eq!(bobs.items[0].body, "A1a");

    // A parent from another post, or one that does not exist, is refused.
    let other = app
        .create_post_view(&op.access_token, "talk", "Other", "")
        .await;
    let res = app
        .post(
            &format!("/api/v1/posts/{}/comments", other.id),
            &json!({"body": "x", "parent_id": b.id}),
            Some(&bob.access_token),
        )
        .await;
    refused(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    let res = app
        .post(
            &format!("/api/v1/posts/{p}/comments"),
            &json!({"body": ""}),
            Some(&bob.access_token),
        )
        .await;
    refused(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    let res = app
        .post(
            &format!("/api/v1/posts/{p}/comments"),
            &json!({"body": "x".repeat(10_001)}),
            Some(&bob.access_token),
        )
        .await;
    refused(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    refused(
        app.get(&format!("/api/v1/posts/{}/comments", Uuid::now_v7()), None)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    refused(
        app.get(&format!("/api/v1/posts/{p}/comments?cursor=zzz"), None)
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let _ = a2;
}

#[tokio::test]
async fn depth_ten_is_the_limit_and_locked_posts_refuse_comments() {
    let app = TestApp::spawn().await;
    let u = app.register("nester").await;
    app.create_community(&u.access_token, "deep").await;
    let p = app
        .create_post_view(&u.access_token, "deep", "Deep", "")
        .await
        .id;
    let mut parent: Option<Uuid> = None;
    for depth in 0..=10 {
        let c = comment(&app, &u, p, &format!("level {depth}"), parent).await;
        assert_eq!(c.depth, depth);
        parent = Some(c.id);
    }
    let res = app
        .post(
            &format!("/api/v1/posts/{p}/comments"),
            &json!({"body": "too deep", "parent_id": parent}),
            Some(&u.access_token),
        )
        .await;
    let body = refused(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body.errors[0].field, "parent_id", "{body:?}");
    // The whole chain pages out with depth=11.
    let tree: Thread = app
        .get_as(&format!("/api/v1/posts/{p}/comments?depth=11"), None)
        .await;
    let mut node = &tree.items[0];
    for depth in 1..=10 {
        node = &node.replies[0];
        assert_eq!(node.depth, depth);
    }

    sqlx::query("UPDATE posts SET locked = true")
        .execute(&app.db)
        .await
        .unwrap();
    let res = app
        .post(
            &format!("/api/v1/posts/{p}/comments"),
            &json!({"body": "late"}),
            Some(&u.access_token),
        )
        .await;
    assert_eq!(refused(res, StatusCode::FORBIDDEN).await.code, "locked");
}

#[tokio::test]
async fn sorts_order_comments_by_their_rules() {
    let app = TestApp::spawn().await;
    let u = app.register("sorter").await;
    app.create_community(&u.access_token, "sorts").await;
    let p = app
        .create_post_view(&u.access_token, "sorts", "Sorts", "")
        .await
        .id;
    for i in 0..12 {
        comment(&app, &u, p, &format!("c{i}"), None).await;
    }
    sqlx::query(
        "UPDATE comments SET upvotes = abs(hashtext(id::text)) % 30, downvotes = abs(hashtext(reverse(id::text))) % 20",
    )
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query("UPDATE comments SET score = upvotes - downvotes")
        .execute(&app.db)
        .await
        .unwrap();
    let rows: Vec<(Uuid, i32, i32, i32)> =
        sqlx::query_as("SELECT id, score, upvotes, downvotes FROM comments")
            .fetch_all(&app.db)
            .await
            .unwrap();
    let stats: HashMap<Uuid, (i32, i32, i32)> = rows
        .into_iter()
        .map(|(id, s, u, d)| (id, (s, u, d)))
        .collect();

    for sort in ["best", "top", "new", "old", "controversial"] {
        // Page 5 at a time to cross cursors too.
        let mut ids: Vec<Uuid> = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let url = match &cursor {
                Some(c) => format!("/api/v1/posts/{p}/comments?sort={sort}&limit=5&cursor={c}"),
                None => format!("/api/v1/posts/{p}/comments?sort={sort}&limit=5"),
            };
            let page: Thread = app.get_as(&url, None).await;
            ids.extend(page.items.iter().map(|c| c.id));
            match page.more.first() {
                Some(m) => cursor = Some(m.cursor.clone()),
                None => break,
            }
        }
        assert_eq!(ids.len(), 12, "{sort}");
        let key = |id: &Uuid| -> f64 {
            let (s, u, d) = stats[id];
            match sort {
                "best" => ranking::wilson(u.into(), d.into()),
                "top" => f64::from(s),
                "controversial" => ranking::controversy(u.into(), d.into()),
                _ => 0.0,
            }
        };
        for w in ids.windows(2) {
            let (a, b) = (key(&w[0]), key(&w[1]));
            let ok = match sort {
                "old" => w[0] < w[1],
                _ => a > b + 1e-12 || ((a - b).abs() <= 1e-12 && w[0] > w[1]),
            };
            assert!(ok, "{sort}: {w:?} ({a} then {b})");
        }
    }
}

#[tokio::test]
async fn ten_thousand_comments_page_out_completely() {
    let app = TestApp::spawn().await;
    let u = app.register("crowd").await;
    app.create_community(&u.access_token, "crowd").await;
    let p = app
        .create_post_view(&u.access_token, "crowd", "Megathread", "")
        .await
        .id;
    let author = u.user.id;
    // 1,000 top-level comments, then three levels of 3,000 replies each.
    sqlx::query(
        "INSERT INTO comments (id, post_id, author_id, depth, body, body_html, upvotes, downvotes, score)
         SELECT gen_random_uuid(), $1, $2, 0, 'c ' || g, '<p>c</p>', g % 17, g % 5, g % 17 - g % 5
         FROM generate_series(1, 1000) g",
    )
    .bind(p)
    .bind(author)
    .execute(&app.db)
    .await
    .unwrap();
    for depth in 1..=3i16 {
        sqlx::query(
            "WITH parents AS (
                SELECT id, path, row_number() OVER (ORDER BY id) - 1 AS rn, count(*) OVER () AS n
                FROM comments WHERE depth = $3 - 1
             )
             INSERT INTO comments (id, post_id, parent_id, author_id, path, depth, body, body_html, upvotes, downvotes, score)
             SELECT gen_random_uuid(), $1, parents.id, $2, parents.path || parents.id, $3, 'r ' || g, '<p>r</p>',
                    g % 13, g % 7, g % 13 - g % 7
             FROM generate_series(1, 3000) g JOIN parents ON parents.rn = (g * 7919) % parents.n",
        )
        .bind(p)
        .bind(author)
        .bind(depth)
        .execute(&app.db)
        .await
        .unwrap();
    }
    sqlx::query(
        "UPDATE comments c SET reply_count = x.n
         FROM (SELECT parent_id, count(*) AS n FROM comments WHERE parent_id IS NOT NULL GROUP BY parent_id) x
         WHERE c.id = x.parent_id",
    )
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query("UPDATE posts SET comment_count = 10000")
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("ANALYZE comments")
        .execute(&app.db)
        .await
        .unwrap();

    // PgBouncer counts the statements each database executes (Bind messages; pool pings and
    // re-preparations are not statements of ours): the page's cost in SQL statements.
    let queries_before = pgbouncer_query_count(&app).await;
    let started = std::time::Instant::now();
    let first: Thread = app
        .get_as(&format!("/api/v1/posts/{p}/comments"), None)
        .await;
    let elapsed = started.elapsed();
    let statements = pgbouncer_query_count(&app).await - queries_before;
    eprintln!("first page of a 10,000-comment thread: {elapsed:?}, {statements} SQL statements");
    assert!(
        statements <= 8,
        "a thread page costs a bounded number of statements, not {statements}"
    );
    assert_eq!(first.items.len(), 25);
    assert_eq!(first.more[0].count, 975);

    // Follow every `more` until nothing is left: (parent_id, cursor) pairs still to fetch.
    let mut seen: HashMap<Uuid, u32> = HashMap::new();
    let mut queue: Vec<(Option<Uuid>, Option<String>)> = vec![(None, None)];
    let mut requests = 0;
    while let Some((parent, cursor)) = queue.pop() {
        let mut url = format!("/api/v1/posts/{p}/comments?sort=best&limit=25&depth=4&replies=10");
        if let Some(parent) = &parent {
            url.push_str(&format!("&parent_id={parent}"));
        }
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let page: Thread = app.get_as(&url, None).await;
        requests += 1;
        fn visit(
            nodes: &[Comment],
            seen: &mut HashMap<Uuid, u32>,
            queue: &mut Vec<(Option<Uuid>, Option<String>)>,
        ) {
            for c in nodes {
                *seen.entry(c.id).or_default() += 1;
                if let Some(more) = &c.more {
                    queue.push((more.parent_id, Some(more.cursor.clone())));
                }
                visit(&c.replies, seen, queue);
            }
        }
        visit(&page.items, &mut seen, &mut queue);
        for m in &page.more {
            queue.push((m.parent_id, Some(m.cursor.clone())));
        }
        assert!(requests < 2_000, "runaway walk");
    }
    assert_eq!(
        seen.len(),
        10_000,
        "every comment reached ({requests} requests)"
    );
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        twice.is_empty(),
        "{} comments seen more than once",
        twice.len()
    );
    eprintln!("walked 10,000 comments in {requests} requests");
}

#[tokio::test]
async fn replies_notify_the_author_by_inbox_and_email() {
    let app = TestApp::spawn().await;
    let op = app.register("opp").await;
    let quiet = app.register("quiet").await;
    let replier = app.register("replier").await;
    app.patch(
        "/api/v1/me",
        &json!({"email_notifications": false}),
        &quiet.access_token,
    )
    .await;
    app.create_community(&op.access_token, "inbox").await;
    let p = app
        .create_post_view(&op.access_token, "inbox", "Ask me", "")
        .await
        .id;

    let c = comment(&app, &replier, p, "a reply to the post", None).await;
    let q = comment(&app, &quiet, p, "quiet's comment", None).await;
    comment(&app, &replier, p, "a reply to quiet", Some(q.id)).await;
    comment(
        &app,
        &op,
        p,
        "op replies to themself? no: to replier",
        Some(c.id),
    )
    .await;
    comment(&app, &op, p, "opp on own post", None).await;

    let inbox: Page<Notification> = app
        .get_as("/api/v1/me/notifications", Some(&op.access_token))
        .await;
    let items = &inbox.items;
    // The replier's comment and quiet's comment on op's post; op's own comment does not notify op.
    assert_eq!(items.len(), 2, "{inbox:?}");
    assert!(
        items.iter().all(|n| n.kind == "post_reply" && !n.read),
        "{items:?}"
    );
    assert_eq!(
        items[1].actor.as_ref().map(|a| a.username.as_str()),
        Some("replier")
    );
    let quiet_inbox: Page<Notification> = app
        .get_as("/api/v1/me/notifications", Some(&quiet.access_token))
        .await;
    assert_eq!(quiet_inbox.items[0].kind, "comment_reply");
    let replier_inbox: Page<Notification> = app
        .get_as(
            "/api/v1/me/notifications?unread=true",
            Some(&replier.access_token),
        )
        .await;
    assert_eq!(replier_inbox.items.len(), 1);

    // Email only for those who want it (quiet switched it off). The outbox holds the workers'
    // job payloads, not API responses: read raw.
    let mails = app.outbox("email").await;
    let notices: Vec<&Value> = mails
        .iter()
        .filter(|m| m["template"] == "reply_notification")
        .collect();
    let recipients: Vec<&str> = notices
        .iter()
        .map(|m| m["username"].as_str().unwrap())
        .collect();
    assert!(
        recipients.contains(&"opp")
            && recipients.contains(&"replier")
            && !recipients.contains(&"quiet"),
        "{recipients:?}"
    );

    // Mark read: some, then all.
    let first_id = items[0].id;
    let res = app
        .post(
            "/api/v1/me/notifications/read",
            &json!({"ids": [first_id]}),
            Some(&op.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let unread: Page<Notification> = app
        .get_as(
            "/api/v1/me/notifications?unread=true",
            Some(&op.access_token),
        )
        .await;
    assert_eq!(unread.items.len(), 1);
    app.post(
        "/api/v1/me/notifications/read",
        &json!({"all": true}),
        Some(&op.access_token),
    )
    .await;
    let unread: Page<Notification> = app
        .get_as(
            "/api/v1/me/notifications?unread=true",
            Some(&op.access_token),
        )
        .await;
    assert!(unread.items.is_empty(), "{unread:?}");
    refused(
        app.post(
            "/api/v1/me/notifications/read",
            &json!({}),
            Some(&op.access_token),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    // Someone else's notification ids change nothing of theirs.
    let quiet_id = quiet_inbox.items[0].id;
    app.post(
        "/api/v1/me/notifications/read",
        &json!({"ids": [quiet_id]}),
        Some(&op.access_token),
    )
    .await;
    let quiet_unread: Page<Notification> = app
        .get_as(
            "/api/v1/me/notifications?unread=true",
            Some(&quiet.access_token),
        )
        .await;
    assert_eq!(quiet_unread.items.len(), 1);
}

/// Statements PgBouncer has executed for this test's database so far (its admin console).
async fn pgbouncer_query_count(app: &TestApp) -> i64 {
    use sqlx::{Connection, Row};
    let url = app
        .config
        .settings
        .db
        .url
        .rsplit_once('/')
        .map(|(b, _)| format!("{b}/pgbouncer"))
        .unwrap();
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    // The admin console speaks only the simple query protocol.
    let rows = sqlx::raw_sql("SHOW STATS")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    rows.iter()
        .find(|r| r.get::<String, _>("database") == app.db_name)
        // Admin-console values arrive as text-typed NUMERIC; read them as text.
        .and_then(|r| r.try_get_unchecked::<String, _>("total_bind_count").ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Thread pages are shared between readers: every write to the thread's comments shows at once,
/// and each reader's own votes are merged into the shared page.
#[tokio::test]
async fn shared_thread_pages_follow_comment_writes_and_carry_each_readers_votes() {
    let app = TestApp::spawn().await;
    let op = app.register("host").await;
    let guest = app.register("guest").await;
    app.create_community(&op.access_token, "hall").await;
    let p = app
        .create_post_view(&op.access_token, "hall", "Welcome", "")
        .await;
    let path = format!("/api/v1/posts/{}/comments", p.id);
    let first = comment(&app, &op, p.id, "first", None).await;
    let read = |token: Option<String>| {
        let app = &app;
        let path = path.clone();
        async move { app.get_as::<Thread>(&path, token.as_deref()).await }
    };
    assert_eq!(bodies(&read(None).await.items), ["first"]);

    // Written: a new comment and a reply show on the next read.
    let second = comment(&app, &guest, p.id, "second", None).await;
    comment(&app, &op, p.id, "a reply", Some(second.id)).await;
    let thread = read(None).await;
    let mut seen = bodies(&thread.items);
    seen.sort_unstable();
    assert_eq!(seen, ["first", "second"]);
    let replies: Vec<&str> = thread
        .items
        .iter()
        .flat_map(|c| c.replies.iter().map(|r| r.body.as_str()))
        .collect();
    assert_eq!(replies, ["a reply"]);

    // Edited and deleted.
    let res = app
        .patch(
            &format!("/api/v1/comments/{}", first.id),
            &json!({"body": "first, edited"}),
            &op.access_token,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        app.delete(
            &format!("/api/v1/comments/{}", second.id),
            &guest.access_token
        )
        .await
        .status(),
        StatusCode::NO_CONTENT
    );
    let thread = read(None).await;
    let edited = thread
        .items
        .iter()
        .find(|c| c.id == first.id)
        .expect("first");
    assert_eq!(edited.body, "first, edited");
    let deleted = thread
        .items
        .iter()
        .find(|c| c.id == second.id)
        .expect("second");
    assert!(deleted.deleted, "{deleted:?}");

    // The guest's vote is theirs alone on the shared page.
    app.vote(
        &format!("/api/v1/comments/{}/vote", first.id),
        1,
        &guest.access_token,
    )
    .await;
    let mine = read(Some(guest.access_token.clone())).await;
    let theirs = read(Some(op.access_token.clone())).await;
    let anon = read(None).await;
    let vote_on_first = |t: &Thread| t.items.iter().find(|c| c.id == first.id).map(|c| c.my_vote);
    assert_eq!(vote_on_first(&mine), Some(1));
    assert_eq!(vote_on_first(&theirs), Some(0));
    assert_eq!(vote_on_first(&anon), Some(0));
}
