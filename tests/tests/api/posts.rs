use forum_tests::reqwest::StatusCode;
use forum_tests::serde_json::json;
use forum_tests::wire::{Community, Page, Post};
use forum_tests::{TestApp, refused};

#[tokio::test]
async fn post_lifecycle() {
    let app = TestApp::spawn().await;
    let author = app.register("author").await;
    let other = app.register("other").await;
    app.create_community(&author.access_token, "writing").await;

    let post = app
        .create_post_view(
            &author.access_token,
            "writing",
            "  First post  ",
            "Hello *world*",
        )
        .await;
    let id = post.id;
    assert_eq!(post.title, "First post");
    assert_eq!(post.body_html, "<p>Hello <em>world</em></p>\n");
    assert_eq!(post.community.name, "writing");
    assert_eq!(
        post.author.as_ref().map(|a| a.username.as_str()),
        Some("author")
    );
    assert_eq!(post.edited_at, None);
    assert_eq!(post.score, 0);
    assert_eq!(post.comment_count, 0);
    assert_eq!(post.my_vote, 0);
    assert!(!post.saved);
    assert!(!post.pinned);
    assert!(!post.deleted);
    assert!(post.images.is_empty(), "{post:?}");
    assert_eq!(app.community("writing", None).await.post_count, 1);

    let link = json!({"title": "A link", "url": "https://example.com/x"});
    let res = app
        .post(
            "/api/v1/communities/writing/posts",
            &link,
            Some(&author.access_token),
        )
        .await;
    let created: Post = TestApp::expect(res, StatusCode::CREATED).await;
    assert_eq!(created.url.as_deref(), Some("https://example.com/x"));
    let bad = json!({"title": "", "body": "x".repeat(40_001), "url": "javascript:alert(1)"});
    let body = refused(
        app.post(
            "/api/v1/communities/writing/posts",
            &bad,
            Some(&author.access_token),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(body.errors.len(), 3, "{body:?}");
    let long_title = json!({"title": "t".repeat(301)});
    refused(
        app.post(
            "/api/v1/communities/writing/posts",
            &long_title,
            Some(&author.access_token),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    refused(
        app.post(
            "/api/v1/communities/nowhere/posts",
            &link,
            Some(&author.access_token),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;

    // Only the author edits.
    let path = format!("/api/v1/posts/{id}");
    refused(
        app.patch(&path, &json!({"title": "hijack"}), &other.access_token)
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    refused(
        app.patch(&path, &json!({}), &author.access_token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let edited: Post = TestApp::expect(
        app.patch(
            &path,
            &json!({"body": "**new** body"}),
            &author.access_token,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(edited.title, "First post");
    assert_eq!(edited.body_html, "<p><strong>new</strong> body</p>\n");
    assert!(edited.edited_at.is_some(), "editing sets edited_at");

    // Saves.
    let save = format!("{path}/save");
    for _ in 0..2 {
        assert_eq!(
            app.put(&save, None, &other.access_token).await.status(),
            StatusCode::NO_CONTENT
        );
    }
    let saved: Page<Post> = app
        .get_as("/api/v1/me/saved", Some(&other.access_token))
        .await;
    assert_eq!(saved.items.len(), 1);
    assert!(saved.items[0].saved);
    assert!(
        app.get_as::<Post>(&path, Some(&other.access_token))
            .await
            .saved
    );
    assert!(!app.get_as::<Post>(&path, None).await.saved);
    assert_eq!(
        app.delete(&save, &other.access_token).await.status(),
        StatusCode::NO_CONTENT
    );
    let saved: Page<Post> = app
        .get_as("/api/v1/me/saved", Some(&other.access_token))
        .await;
    assert!(saved.items.is_empty(), "{saved:?}");

    // User's posts.
    let mine: Page<Post> = app
        .get_as("/api/v1/users/author/posts?sort=new", None)
        .await;
    assert_eq!(mine.items.len(), 2);
    assert_eq!(mine.items[0].title, "A link");

    // Delete: soft, author hidden, gone from listings, counted down.
    refused(
        app.delete(&path, &other.access_token).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(
        app.delete(&path, &author.access_token).await.status(),
        StatusCode::NO_CONTENT
    );
    let gone: Post = app.get_as(&path, None).await;
    assert_eq!(gone.title, "[deleted]");
    assert_eq!(gone.body, "[deleted]");
    assert!(gone.author.is_none(), "the author is hidden");
    assert!(gone.deleted);
    let listing: Page<Post> = app.get_as("/api/v1/posts?sort=new", None).await;
    assert!(listing.items.iter().all(|p| p.id != id));
    assert_eq!(app.community("writing", None).await.post_count, 1);
    refused(
        app.patch(&path, &json!({"title": "back"}), &author.access_token)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;

    refused(
        app.get("/api/v1/posts/not-a-uuid", None).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    refused(
        app.get(&format!("/api/v1/posts/{}", uuid::Uuid::now_v7()), None)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn markdown_never_lets_script_through() {
    let app = TestApp::spawn().await;
    let user = app.register("mallory").await;
    app.create_community(&user.access_token, "xss").await;
    let vectors = [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[click](javascript:alert(1))",
        "<a href=\"jAvAsCrIpT:alert(1)\">x</a>",
        "<svg><script>alert(1)</script></svg>",
        "<svg onload=alert(1)>",
        "<iframe src=javascript:alert(1)>",
        "<p style=\"x:expression(alert(1))\" onclick=\"alert(1)\">hi</p>",
        "![img](javascript:alert(1))",
        "<details open ontoggle=alert(1)>",
    ];
    for v in vectors {
        let post = app
            .create_post_view(&user.access_token, "xss", "vector", v)
            .await;
        let html = post.body_html.to_lowercase();
        for bad in [
            "<script",
            "onerror",
            "onload",
            "onclick",
            "ontoggle",
            "javascript:",
            "<svg",
            "<iframe",
            "style=",
        ] {
            assert!(!html.contains(bad), "{v:?} → {html:?}");
        }
        // The raw markdown is kept as written.
        assert_eq!(post.body, v);
    }
}

#[tokio::test]
async fn search_finds_posts_and_communities() {
    let app = TestApp::spawn().await;
    let user = app.register("searcher").await;
    app.create_community(&user.access_token, "gardening").await;
    app.create_post(
        &user.access_token,
        "gardening",
        "Growing tomatoes in pots",
        "Tomatoes need sun.",
    )
    .await;
    app.create_post(
        &user.access_token,
        "gardening",
        "Pruning roses",
        "Cut above the bud.",
    )
    .await;
    app.create_post(
        &user.access_token,
        "gardening",
        "Tomato blight",
        "Tomatoes again: tomato tomato.",
    )
    .await;

    let res: Page<Post> = app
        .get_as("/api/v1/search?q=tomatoes&type=posts", None)
        .await;
    let titles: Vec<&str> = res.items.iter().map(|p| p.title.as_str()).collect();
    assert_eq!(titles.len(), 2, "{titles:?}");
    assert!(titles.contains(&"Growing tomatoes in pots") && titles.contains(&"Tomato blight"));

    // Paging one at a time returns the same set in the same order.
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("/api/v1/search?q=tomatoes&limit=1&cursor={c}"),
            None => "/api/v1/search?q=tomatoes&limit=1".into(),
        };
        let page: Page<Post> = app.get_as(&url, None).await;
        paged.extend(page.items.into_iter().map(|p| p.title));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(paged, titles);

    let found: Page<Community> = app
        .get_as("/api/v1/search?q=garden&type=communities", None)
        .await;
    assert_eq!(found.items[0].name, "gardening");
    refused(
        app.get("/api/v1/search?q=", None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    refused(
        app.get("/api/v1/search?q=x&type=people", None).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    // Odd syntax is just a query.
    assert_eq!(
        app.get("/api/v1/search?q=%22unclosed%20-%20or%20(", None)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn search_sorts_filters_by_community_and_follows_edits() {
    let app = TestApp::spawn().await;
    let author = app.register("cook").await;
    let voter = app.register("taster").await;
    let token = author.access_token.as_str();
    app.create_community(token, "kitchen").await;
    app.create_community(token, "allotment").await;
    // Ranks: `soup` in the title and three times in the body, then in the title only, then
    // once in the body (title words weigh more than body words).
    let best = app
        .create_post_view(token, "kitchen", "Soup basics", "Soup, soup and more soup.")
        .await;
    let titled = app
        .create_post_view(token, "allotment", "Soup for plants", "Compost tea.")
        .await;
    let mentioned = app
        .create_post_view(token, "kitchen", "Bread", "It goes with soup.")
        .await;
    let ids = |page: &Page<Post>| page.items.iter().map(|p| p.id).collect::<Vec<_>>();

    let relevance: Page<Post> = app.get_as("/api/v1/search?q=soup", None).await;
    assert_eq!(ids(&relevance), [best.id, titled.id, mentioned.id]);
    let explicit: Page<Post> = app
        .get_as("/api/v1/search?q=soup&sort=relevance", None)
        .await;
    assert_eq!(ids(&explicit), ids(&relevance));
    let new: Page<Post> = app.get_as("/api/v1/search?q=soup&sort=new", None).await;
    assert_eq!(ids(&new), [mentioned.id, titled.id, best.id]);

    app.vote(
        &format!("/api/v1/posts/{}/vote", mentioned.id),
        1,
        &voter.access_token,
    )
    .await;
    app.vote(
        &format!("/api/v1/posts/{}/vote", best.id),
        -1,
        &voter.access_token,
    )
    .await;
    // Pages are shared between readers; each reader's own votes are merged in.
    let mine: Page<Post> = app
        .get_as("/api/v1/search?q=soup", Some(&voter.access_token))
        .await;
    let my_votes: Vec<i32> = mine.items.iter().map(|p| p.my_vote).collect();
    assert_eq!(my_votes, [-1, 0, 1]);
    let top: Page<Post> = app.get_as("/api/v1/search?q=soup&sort=top", None).await;
    let scores: Vec<i64> = top.items.iter().map(|p| p.score).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    assert_eq!(top.items.first().map(|p| p.id), Some(mentioned.id));
    assert_eq!(top.items.last().map(|p| p.id), Some(best.id));

    // Paging one at a time in each order gives the same order as one page.
    for (sort, whole) in [("relevance", &relevance), ("new", &new), ("top", &top)] {
        let mut paged = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut url = format!("/api/v1/search?q=soup&sort={sort}&limit=1");
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let page: Page<Post> = app.get_as(&url, None).await;
            paged.extend(ids(&page));
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(paged, ids(whole), "{sort}");
    }
    // A cursor belongs to its order.
    let first: Page<Post> = app
        .get_as("/api/v1/search?q=soup&sort=new&limit=1", None)
        .await;
    let cursor = first.next_cursor.expect("more than one match");
    refused(
        app.get(
            &format!("/api/v1/search?q=soup&sort=top&cursor={cursor}"),
            None,
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;

    let in_kitchen: Page<Post> = app
        .get_as("/api/v1/search?q=soup&community=kitchen", None)
        .await;
    assert_eq!(ids(&in_kitchen), [best.id, mentioned.id]);
    refused(
        app.get("/api/v1/search?q=soup&community=nowhere", None)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    refused(
        app.get("/api/v1/search?q=soup&sort=loudest", None).await,
        StatusCode::BAD_REQUEST,
    )
    .await;

    // Edits and deletions reach search at once: the document is rewritten with the post.
    let res = app
        .patch(
            &format!("/api/v1/posts/{}", titled.id),
            &json!({"title": "Compost for plants"}),
            token,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        app.delete(&format!("/api/v1/posts/{}", best.id), token)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let after: Page<Post> = app.get_as("/api/v1/search?q=soup", None).await;
    assert_eq!(ids(&after), [mentioned.id]);
    let compost: Page<Post> = app.get_as("/api/v1/search?q=compost", None).await;
    assert_eq!(ids(&compost), [titled.id]);
}
