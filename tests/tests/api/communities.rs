use forum_tests::reqwest::StatusCode;
use forum_tests::serde_json::json;
use forum_tests::wire::{ApprovedUser, Community, Moderator, Page, Rule};
use forum_tests::{TestApp, refused};

#[tokio::test]
async fn create_get_and_list_communities() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner").await;
    let c = app
        .create_community_view(&owner.access_token, "Rust_Lang")
        .await;
    assert_eq!(c.name, "Rust_Lang");
    assert_eq!(c.member_count, 1);
    assert_eq!(c.post_count, 0);
    assert!(c.is_member, "the creator is a member");
    assert!(c.is_moderator, "the creator is a moderator");

    // Case-insensitive uniqueness.
    let dup = app
        .post(
            "/api/v1/communities",
            &json!({"name": "rust_LANG", "title": "x"}),
            Some(&owner.access_token),
        )
        .await;
    let body = refused(dup, StatusCode::CONFLICT).await;
    assert_eq!(body.errors[0].field, "name", "{body:?}");

    let bad = json!({"name": "no", "title": "", "rules": [5]});
    let body = refused(
        app.post("/api/v1/communities", &bad, Some(&owner.access_token))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(body.errors.len(), 3, "{body:?}");
    refused(
        app.post(
            "/api/v1/communities",
            &json!({"name": "anon_c", "title": "t"}),
            None,
        )
        .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    let anon = app.community("rust_lang", None).await;
    assert!(!anon.is_member);
    assert!(!anon.is_moderator);
    refused(
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
    let popular: Page<Community> = app.get_as("/api/v1/communities?sort=popular", None).await;
    let names: Vec<&str> = popular.items.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Rust_Lang", "small_one"]);
    let newest: Page<Community> = app
        .get_as("/api/v1/communities?sort=new&limit=1", None)
        .await;
    assert_eq!(newest.items[0].name, "small_one");
    let next = newest.next_cursor.as_deref().unwrap();
    let page2: Page<Community> = app
        .get_as(
            &format!("/api/v1/communities?sort=new&limit=1&cursor={next}"),
            None,
        )
        .await;
    assert_eq!(page2.items[0].name, "Rust_Lang");
    assert_eq!(page2.next_cursor, None, "the last page");
    let found: Page<Community> = app.get_as("/api/v1/communities?q=sma", None).await;
    assert_eq!(found.items.len(), 1);
    refused(
        app.get("/api/v1/communities?sort=sideways", None).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    refused(
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
    let c = app.community("club", Some(&joiner.access_token)).await;
    assert_eq!(c.member_count, 2);
    assert!(c.is_member);
    for _ in 0..2 {
        assert_eq!(
            app.delete("/api/v1/communities/club/membership", &joiner.access_token)
                .await
                .status(),
            StatusCode::NO_CONTENT
        );
    }
    let c = app.community("club", Some(&joiner.access_token)).await;
    assert_eq!(c.member_count, 1);
    assert!(!c.is_member);
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
    refused(res, StatusCode::FORBIDDEN).await;
    let updated: Community = TestApp::expect(
        app.patch("/api/v1/communities/guarded", &patch, &owner.access_token)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(updated.title, "New title");
    assert!(
        matches!(&updated.rules[1], Rule::Titled { title, .. } if title == "No spam"),
        "{:?}",
        updated.rules
    );

    // Moderators: only the owner (or an admin) adds and removes them.
    let add = json!({"username": "helper"});
    refused(
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
    refused(
        app.post(
            "/api/v1/communities/guarded/moderators",
            &add,
            Some(&owner.access_token),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    let mods: Vec<Moderator> = app
        .get_as("/api/v1/communities/guarded/moderators", None)
        .await;
    assert_eq!(mods[0].username, "owner");
    assert_eq!(mods[0].role, "owner");
    assert_eq!(mods[1].username, "helper");

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
    refused(res, StatusCode::FORBIDDEN).await;
    refused(
        app.delete(
            "/api/v1/communities/guarded/moderators/owner",
            &helper.access_token,
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    refused(
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
    refused(
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
    refused(res, StatusCode::FORBIDDEN).await;
    app.create_post(&owner.access_token, "announcements", "from the owner", "")
        .await;

    // Approval is for moderators; then the outsider may post.
    let approve = json!({"username": "outsider"});
    refused(
        app.post(
            "/api/v1/communities/announcements/approved",
            &approve,
            Some(&outsider.access_token),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    refused(
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
    let approved: Vec<ApprovedUser> = app
        .get_as(
            "/api/v1/communities/announcements/approved",
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(approved[0].username, "outsider");
    app.create_post(&outsider.access_token, "announcements", "approved now", "")
        .await;

    refused(
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
    refused(res, StatusCode::FORBIDDEN).await;
    let c = app.community("announcements", None).await;
    assert_eq!(c.post_count, 2);
}
