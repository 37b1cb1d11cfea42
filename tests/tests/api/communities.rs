use forum_tests::reqwest::StatusCode;
use forum_tests::serde_json::{Value, json};
use forum_tests::{TestApp, problem};

#[tokio::test]
async fn create_get_and_list_communities() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let c = app.create_community(&owner.access_token, "Rust_Lang").await;
    assert_eq!(c["name"], "Rust_Lang");
    assert_eq!(c["member_count"], 1);
    assert_eq!(c["post_count"], 0);
    assert_eq!(c["is_member"], true);
    assert_eq!(c["is_moderator"], true);

    // Case-insensitive uniqueness.
    let dup = app
        .post(
            "/api/v1/communities",
            &json!({"name": "rust_LANG", "title": "x"}),
            Some(&owner.access_token),
        )
        .await;
    let body = problem(dup, StatusCode::CONFLICT).await;
    assert_eq!(body["errors"][0]["field"], "name");

    let bad = json!({"name": "no", "title": "", "rules": [5]});
    let body = problem(
        app.post("/api/v1/communities", &bad, Some(&owner.access_token))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 3, "{body}");
    problem(
        app.post(
            "/api/v1/communities",
            &json!({"name": "anon_c", "title": "t"}),
            None,
        )
        .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    let anon = app.get_json("/api/v1/communities/rust_lang", None).await;
    assert_eq!(anon["is_member"], false);
    assert_eq!(anon["is_moderator"], false);
    problem(
        app.get("/api/v1/communities/nope_nope", None).await,
        StatusCode::NOT_FOUND,
    )
    .await;

    // popular: by members; new: newest first; q filters.
    app.create_community(&owner.access_token, "small_one").await;
    let fan = app.register("fan").await;
    assert_eq!(
        app.put(
            "/api/v1/communities/rust_lang/membership",
            None,
            &fan.access_token
        )
        .await
        .status(),
        StatusCode::NO_CONTENT
    );
    let popular = app.get_json("/api/v1/communities?sort=popular", None).await;
    let names: Vec<&str> = popular["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Rust_Lang", "small_one"]);
    let newest = app
        .get_json("/api/v1/communities?sort=new&limit=1", None)
        .await;
    assert_eq!(newest["items"][0]["name"], "small_one");
    let next = newest["next_cursor"].as_str().unwrap();
    let page2 = app
        .get_json(
            &format!("/api/v1/communities?sort=new&limit=1&cursor={next}"),
            None,
        )
        .await;
    assert_eq!(page2["items"][0]["name"], "Rust_Lang");
    assert!(page2["next_cursor"].is_null());
    let found = app.get_json("/api/v1/communities?q=sma", None).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    problem(
        app.get("/api/v1/communities?sort=sideways", None).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    problem(
        app.get("/api/v1/communities?cursor=garbage", None).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn membership_is_idempotent_and_counted() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let joiner = app.register("joiner").await;
    app.create_community(&owner.access_token, "club").await;
    for _ in 0..3 {
        let res = app
            .put(
                "/api/v1/communities/club/membership",
                None,
                &joiner.access_token,
            )
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }
    let c = app
        .get_json("/api/v1/communities/club", Some(&joiner.access_token))
        .await;
    assert_eq!(c["member_count"], 2);
    assert_eq!(c["is_member"], true);
    for _ in 0..2 {
        assert_eq!(
            app.delete("/api/v1/communities/club/membership", &joiner.access_token)
                .await
                .status(),
            StatusCode::NO_CONTENT
        );
    }
    let c = app
        .get_json("/api/v1/communities/club", Some(&joiner.access_token))
        .await;
    assert_eq!(c["member_count"], 1);
    assert_eq!(c["is_member"], false);
}

#[tokio::test]
async fn only_moderators_edit_and_only_owners_manage_moderators() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let stranger = app.register("stranger").await;
    let helper = app.register("helper").await;
    app.create_community(&owner.access_token, "guarded").await;

    let patch = json!({"title": "New title", "rules": ["Be kind", {"title": "No spam", "description": "none"}]});
    let res = app
        .patch(
            "/api/v1/communities/guarded",
            &patch,
            &stranger.access_token,
        )
        .await;
    problem(res, StatusCode::FORBIDDEN).await;
    let updated: Value = app
        .patch("/api/v1/communities/guarded", &patch, &owner.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(updated["title"], "New title");
    assert_eq!(updated["rules"][1]["title"], "No spam");

    // Moderators: only the owner (or an admin) adds and removes them.
    let add = json!({"username": "helper"});
    problem(
        app.post(
            "/api/v1/communities/guarded/moderators",
            &add,
            Some(&stranger.access_token),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let res = app
        .post(
            "/api/v1/communities/guarded/moderators",
            &add,
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    problem(
        app.post(
            "/api/v1/communities/guarded/moderators",
            &add,
            Some(&owner.access_token),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    let mods = app
        .get_json("/api/v1/communities/guarded/moderators", None)
        .await;
    assert_eq!(mods[0]["username"], "owner");
    assert_eq!(mods[0]["role"], "owner");
    assert_eq!(mods[1]["username"], "helper");

    // A plain moderator edits settings but cannot manage moderators.
    let res = app
        .patch(
            "/api/v1/communities/guarded",
            &json!({"description": "by helper"}),
            &helper.access_token,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .post(
            "/api/v1/communities/guarded/moderators",
            &json!({"username": "stranger"}),
            Some(&helper.access_token),
        )
        .await;
    problem(res, StatusCode::FORBIDDEN).await;
    problem(
        app.delete(
            "/api/v1/communities/guarded/moderators/owner",
            &helper.access_token,
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    problem(
        app.delete(
            "/api/v1/communities/guarded/moderators/owner",
            &owner.access_token,
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(
        app.delete(
            "/api/v1/communities/guarded/moderators/helper",
            &owner.access_token
        )
        .await
        .status(),
        StatusCode::NO_CONTENT
    );
    problem(
        app.delete(
            "/api/v1/communities/guarded/moderators/helper",
            &owner.access_token,
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn restricted_communities_take_posts_from_mods_and_approved_users_only() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let outsider = app.register("outsider").await;
    app.create_community(&owner.access_token, "announcements")
        .await;
    app.patch(
        "/api/v1/communities/announcements",
        &json!({"restricted": true}),
        &owner.access_token,
    )
    .await;
    app.put(
        "/api/v1/communities/announcements/membership",
        None,
        &outsider.access_token,
    )
    .await;

    let post = json!({"title": "hello"});
    let res = app
        .post(
            "/api/v1/communities/announcements/posts",
            &post,
            Some(&outsider.access_token),
        )
        .await;
    problem(res, StatusCode::FORBIDDEN).await;
    app.create_post(&owner.access_token, "announcements", "from the owner", "")
        .await;

    // Approval is for moderators; then the outsider may post.
    let approve = json!({"username": "outsider"});
    problem(
        app.post(
            "/api/v1/communities/announcements/approved",
            &approve,
            Some(&outsider.access_token),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    problem(
        app.get(
            "/api/v1/communities/announcements/approved",
            Some(&outsider.access_token),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let res = app
        .post(
            "/api/v1/communities/announcements/approved",
            &approve,
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let approved = app
        .get_json(
            "/api/v1/communities/announcements/approved",
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(approved[0]["username"], "outsider");
    app.create_post(&outsider.access_token, "announcements", "approved now", "")
        .await;

    problem(
        app.delete(
            "/api/v1/communities/announcements/approved/outsider",
            &outsider.access_token,
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(
        app.delete(
            "/api/v1/communities/announcements/approved/outsider",
            &owner.access_token
        )
        .await
        .status(),
        StatusCode::NO_CONTENT
    );
    let res = app
        .post(
            "/api/v1/communities/announcements/posts",
            &post,
            Some(&outsider.access_token),
        )
        .await;
    problem(res, StatusCode::FORBIDDEN).await;
    let c = app
        .get_json("/api/v1/communities/announcements", None)
        .await;
    assert_eq!(c["post_count"], 2);
}
