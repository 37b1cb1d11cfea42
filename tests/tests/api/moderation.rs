use std::collections::BTreeMap;

use forum_tests::reqwest::{Method, StatusCode};
use forum_tests::serde_json::{Value, json};
use forum_tests::wire::{
    AdminUser, AuthTokens, Comment, CommunityBan, ModlogEntry, Page, Post, Report, Thread,
};
use forum_tests::{Session, TestApp, refused};
use uuid::Uuid;

struct World {
    app: TestApp,
    admin: Session,
    owner: Session,
    moderator: Session,
    other_mod: Session,
    plain: Session,
    post: Uuid,
    comment: Uuid,
    report: Uuid,
    /// A job in the email queue's dead set (for `retry_job`).
    dead_job: String,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let admin = app.admin("site_admin").await;
    let owner = app.register("owner").await;
    let moderator = app.register("moderator").await;
    let other_mod = app.register("other_mod").await;
    let plain = app.register("plain").await;
    for name in [
        "banned_x",
        "victim",
        "cand_anonymous",
        "cand_plain",
        "cand_other_mod",
        "cand_moderator",
        "cand_owner",
        "cand_admin",
    ] {
        app.register(name).await;
    }
    app.create_community(&owner.access_token, "guarded").await;
    app.create_community(&owner.access_token, "doomed").await;
    app.create_community(&other_mod.access_token, "elsewhere")
        .await;
    let res = app
        .post(
            "/api/v1/communities/guarded/moderators",
            &json!({"username": "moderator"}),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let post = app
        .create_post_view(&plain.access_token, "guarded", "A post", "body")
        .await;
    let comment = app
        .post(
            &format!("/api/v1/posts/{}/comments", post.id),
            &json!({"body": "a comment"}),
            Some(&plain.access_token),
        )
        .await;
    let comment: Comment = TestApp::expect(comment, StatusCode::CREATED).await;
    let report = app
        .post(
            "/api/v1/reports",
            &json!({"target_type": "post", "target_id": post.id, "reason": "spam"}),
            Some(&plain.access_token),
        )
        .await;
    let report: Report = TestApp::expect(report, StatusCode::CREATED).await;
    let dead_job = uuid::Uuid::now_v7();
    let dead = forum_domain::jobs::DeadJob {
        id: dead_job,
        queue: "email".into(),
        attempts: 5,
        error: "SMTP unreachable".into(),
        failed_at: chrono::Utc::now(),
        job: json!({"key": uuid::Uuid::now_v7(), "to": "x@example.com", "username": "x", "template": "welcome"}),
    };
    let mut redis = app.redis().await;
    let _: () = redis::cmd("HSET")
        .arg(format!("{}email:forum:dead", app.redis_prefix))
        .arg(dead_job.to_string())
        .arg(serde_json::to_string(&dead).unwrap())
        .query_async(&mut redis)
        .await
        .unwrap();
    World {
        dead_job: dead_job.to_string(),
        post: post.id,
        comment: comment.id,
        report: report.id,
        app,
        admin,
        owner,
        moderator,
        other_mod,
        plain,
    }
}

/// The request each moderator/admin operation is exercised with: path parameters filled in and
/// a body. An operation without an entry here fails the matrix, so no route is left out.
fn request(w: &World, op: &str, path: &str, role: &str) -> Option<(String, Value)> {
    let community = if matches!(op, "remove_community" | "restore_community") {
        "doomed"
    } else {
        "guarded"
    };
    let username = match op {
        "unban_user" => "banned_x".to_string(),
        "remove_moderator" => format!("cand_{role}"),
        "unapprove_user" => "plain".to_string(),
        "ban" | "unban" | "set_role" => "victim".to_string(),
        _ => String::new(),
    };
    let target = match op {
        "resolve_report" => w.report.to_string(),
        "remove_comment" | "restore_comment" => w.comment.to_string(),
        "retry_job" => w.dead_job.clone(),
        _ => w.post.to_string(),
    };
    let body = match op {
        "update_community" => json!({"description": "from the matrix"}),
        "approve_user" => json!({"username": "plain"}),
        "ban_user" => json!({"username": "banned_x", "reason": "matrix"}),
        "add_moderator" => json!({"username": format!("cand_{role}")}),
        "ban" => json!({"reason": "matrix"}),
        "set_role" => json!({"role": "user"}),
        "resolve_report" => json!({"note": "handled"}),
        "remove_post" | "restore_post" | "remove_comment" | "restore_comment"
        | "remove_community" | "restore_community" | "unban" => {
            json!({"reason": "matrix"})
        }
        "lock_post" | "unlock_post" | "pin_post" | "unpin_post" | "unban_user"
        | "remove_moderator" | "unapprove_user" | "retry_job" => json!({}),
        "list_approved" | "list_bans" | "list_reports" | "list_users" | "modlog" | "jobs" => {
            Value::Null
        }
        _ => return None,
    };
    let path = path
        .replace("{name}", community)
        .replace("{username}", &username)
        .replace("{id}", &target);
    Some((path, body))
}

/// Owner-or-admin operations: plain moderators are refused too.
const OWNER_ONLY: [&str; 2] = ["add_moderator", "remove_moderator"];

#[tokio::test]
async fn authorization_matrix_covers_every_moderator_and_admin_route() {
    let w = world().await;
    // The OpenAPI document, not an API response: read raw.
    let doc: Value = serde_json::from_str(&forum_api::openapi::document_json().unwrap()).unwrap();
    // (operation id) -> (method, path, tag)
    let mut ops: BTreeMap<String, (String, String, String)> = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let tag = op["tags"][0].as_str().unwrap_or("").to_string();
            if tag == "moderation" || tag == "admin" {
                ops.insert(
                    op["operationId"].as_str().unwrap().to_string(),
                    (method.clone(), path.clone(), tag),
                );
            }
        }
    }
    assert!(
        ops.len() >= 28,
        "found {} moderator/admin operations",
        ops.len()
    );
    // Pairs that undo each other run in this order.
    let order = |op: &str| match op {
        "remove_moderator" | "restore_community" | "unban" | "unban_user" | "unapprove_user" => 1,
        _ => 0,
    };
    let mut names: Vec<&String> = ops.keys().collect();
    names.sort_by_key(|n| (order(n), n.to_string()));

    let roles: [(&str, Option<&Session>); 6] = [
        ("anonymous", None),
        ("plain", Some(&w.plain)),
        ("other_mod", Some(&w.other_mod)),
        ("moderator", Some(&w.moderator)),
        ("owner", Some(&w.owner)),
        ("admin", Some(&w.admin)),
    ];
    let mut cases = 0;
    for (role, session) in roles {
        for name in &names {
            let (method, path, tag) = &ops[*name];
            let (path, body) = request(&w, name, path, role)
                .unwrap_or_else(|| panic!("no matrix request for operation {name}"));
            let allowed = match role {
                "anonymous" | "plain" | "other_mod" => false,
                "moderator" => tag == "moderation" && !OWNER_ONLY.contains(&name.as_str()),
                "owner" => tag == "moderation",
                _ => true,
            };
            let mut req = w.app.request(
                Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                &path,
            );
            if let Some(s) = session {
                req = req.bearer_auth(&s.access_token);
            }
            if !body.is_null() {
                req = req.json(&body);
            }
            let res = req.send().await.unwrap();
            let status = res.status();
            let text = res.text().await.unwrap_or_default();
            let expected = match (role, allowed) {
                ("anonymous", _) => status == StatusCode::UNAUTHORIZED,
                (_, false) => status == StatusCode::FORBIDDEN,
                (_, true) => status.is_success(),
            };
            assert!(expected, "{role} {method} {path} ({name}): {status} {text}");
            cases += 1;
        }
    }
    eprintln!(
        "authorization matrix: {} operations x 6 roles = {cases} cases",
        ops.len()
    );
}

#[tokio::test]
async fn removed_content_is_hidden_except_from_moderators() {
    let w = world().await;
    let app = &w.app;
    let res = app
        .post(
            &format!("/api/v1/mod/posts/{}/remove", w.post),
            &json!({"reason": "off-topic"}),
            Some(&w.moderator.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .post(
            &format!("/api/v1/mod/comments/{}/remove", w.comment),
            &json!({"reason": "rude"}),
            Some(&w.moderator.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    // Anonymous: gone from listings, `[removed]` in place.
    for q in ["", "?community=guarded", "?community=guarded&sort=new"] {
        let page: Page<Post> = app.get_as(&format!("/api/v1/posts{q}"), None).await;
        assert!(page.items.iter().all(|p| p.id != w.post), "{q}");
    }
    let anon = app.post_view(&w.post.to_string(), None).await;
    assert_eq!(anon.title, "[removed]");
    assert!(anon.removed);
    assert_eq!(
        anon.report_count, None,
        "the report count is for moderators"
    );
    let thread: Thread = app
        .get_as(
            &format!("/api/v1/posts/{}/comments", w.post),
            Some(&w.plain.access_token),
        )
        .await;
    assert_eq!(thread.items[0].body, "[removed]");

    // Moderators (and admins) still see it, flagged, with the report count.
    for s in [&w.moderator, &w.admin] {
        let page: Page<Post> = app
            .get_as(
                "/api/v1/posts?community=guarded&sort=new",
                Some(&s.access_token),
            )
            .await;
        let listed = page
            .items
            .iter()
            .find(|p| p.id == w.post)
            .expect("listed for moderators");
        assert!(listed.removed);
        assert_eq!(listed.title, "A post");
        let detail = app
            .post_view(&w.post.to_string(), Some(&s.access_token))
            .await;
        assert_eq!(detail.title, "A post");
        assert_eq!(detail.report_count, Some(1));
        let thread: Thread = app
            .get_as(
                &format!("/api/v1/posts/{}/comments", w.post),
                Some(&s.access_token),
            )
            .await;
        assert_eq!(thread.items[0].body, "a comment");
        assert!(thread.items[0].removed);
    }
    // Restore brings it back for everyone.
    app.post(
        &format!("/api/v1/mod/posts/{}/restore", w.post),
        &json!({"reason": "ok"}),
        Some(&w.moderator.access_token),
    )
    .await;
    let page: Page<Post> = app.get_as("/api/v1/posts?community=guarded", None).await;
    assert!(page.items.iter().any(|p| p.id == w.post));
    assert_eq!(
        app.post_view(&w.post.to_string(), None).await.title,
        "A post"
    );
}

#[tokio::test]
async fn community_bans_block_writing_until_they_expire() {
    let w = world().await;
    let app = &w.app;
    let res = app.post("/api/v1/communities/guarded/bans", &json!({"username": "plain", "reason": "trolling", "expires_at": "2999-01-01T00:00:00Z"}), Some(&w.moderator.access_token)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let t = &w.plain.access_token;
    let res = app
        .post(
            "/api/v1/communities/guarded/posts",
            &json!({"title": "again"}),
            Some(t),
        )
        .await;
    assert_eq!(refused(res, StatusCode::FORBIDDEN).await.code, "banned");
    let res = app
        .post(
            &format!("/api/v1/posts/{}/comments", w.post),
            &json!({"body": "x"}),
            Some(t),
        )
        .await;
    refused(res, StatusCode::FORBIDDEN).await;
    refused(
        app.put(
            &format!("/api/v1/posts/{}/vote", w.post),
            Some(&json!({"value": 1})),
            t,
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    refused(
        app.put(
            &format!("/api/v1/comments/{}/vote", w.comment),
            Some(&json!({"value": 1})),
            t,
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    // Elsewhere they are free.
    app.create_post(t, "elsewhere", "still welcome here", "")
        .await;
    let bans: Page<CommunityBan> = app
        .get_as(
            "/api/v1/communities/guarded/bans",
            Some(&w.moderator.access_token),
        )
        .await;
    assert_eq!(bans.items[0].username, "plain");

    // Time passes (the ban's end moves into the past): the ban no longer applies, no job needed.
    sqlx::query("UPDATE community_bans SET expires_at = now() - interval '1 second'")
        .execute(&app.db)
        .await
        .unwrap();
    app.create_post(t, "guarded", "back again", "").await;
    let bans: Page<CommunityBan> = app
        .get_as(
            "/api/v1/communities/guarded/bans",
            Some(&w.moderator.access_token),
        )
        .await;
    assert!(bans.items.is_empty(), "{bans:?}");

    // Moderators cannot be banned; past expiry is refused.
    let res = app
        .post(
            "/api/v1/communities/guarded/bans",
            &json!({"username": "owner", "reason": "x"}),
            Some(&w.moderator.access_token),
        )
        .await;
    refused(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    let res = app
        .post(
            "/api/v1/communities/guarded/bans",
            &json!({"username": "plain", "reason": "x", "expires_at": "2000-01-01T00:00:00Z"}),
            Some(&w.moderator.access_token),
        )
        .await;
    refused(res, StatusCode::UNPROCESSABLE_ENTITY).await;
}

#[tokio::test]
async fn site_bans_end_sessions_and_logins() {
    let w = world().await;
    let app = &w.app;
    let victim: AuthTokens =
        TestApp::expect(app.login("plain", &w.plain.password).await, StatusCode::OK).await;
    let token = victim.access_token.clone();
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.status(),
        StatusCode::OK
    );

    let res = app
        .post(
            "/api/v1/admin/users/plain/ban",
            &json!({"reason": "spam wave"}),
            Some(&w.admin.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    refused(
        app.get("/api/v1/me", Some(&token)).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    refused(
        app.get("/api/v1/me", Some(&w.plain.access_token)).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let refresh = app.refresh(&victim.refresh_token).await;
    refused(refresh, StatusCode::UNAUTHORIZED).await;
    assert_eq!(
        refused(
            app.login("plain", &w.plain.password).await,
            StatusCode::FORBIDDEN
        )
        .await
        .code,
        "banned"
    );
    let banned: Page<AdminUser> = app
        .get_as(
            "/api/v1/admin/users?banned=true",
            Some(&w.admin.access_token),
        )
        .await;
    assert_eq!(banned.items[0].username, "plain");
    assert_eq!(banned.items[0].ban_reason.as_deref(), Some("spam wave"));

    app.post(
        "/api/v1/admin/users/plain/unban",
        &json!({}),
        Some(&w.admin.access_token),
    )
    .await;
    assert_eq!(
        app.login("plain", &w.plain.password).await.status(),
        StatusCode::OK
    );

    // Roles: a promoted user moderates everywhere at once; admins cannot demote themselves.
    let res = app
        .put(
            "/api/v1/admin/users/victim/role",
            Some(&json!({"role": "admin"})),
            &w.admin.access_token,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let victim: AuthTokens = TestApp::expect(
        app.login("victim", "pw-victim-secret").await,
        StatusCode::OK,
    )
    .await;
    let res = app
        .post(
            &format!("/api/v1/mod/posts/{}/lock", w.post),
            &json!({}),
            Some(&victim.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .put(
            "/api/v1/admin/users/site_admin/role",
            Some(&json!({"role": "user"})),
            &w.admin.access_token,
        )
        .await;
    refused(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    // An unknown role is refused naming the field the client sent.
    let res = app
        .put(
            "/api/v1/admin/users/victim/role",
            Some(&json!({"role": "superuser"})),
            &w.admin.access_token,
        )
        .await;
    let p = refused(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(p.code, "validation_failed");
    assert_eq!(p.errors[0].field, "role", "{p:?}");
    let found: Page<AdminUser> = app
        .get_as(
            "/api/v1/admin/users?q=VICT&role=admin",
            Some(&w.admin.access_token),
        )
        .await;
    assert_eq!(found.items.len(), 1);
}

#[tokio::test]
async fn pins_reports_and_the_modlog() {
    let w = world().await;
    let app = &w.app;
    let m = &w.moderator.access_token;
    // At most two pins.
    let second = app
        .create_post_view(&w.plain.access_token, "guarded", "second", "")
        .await;
    let third = app
        .create_post_view(&w.plain.access_token, "guarded", "third", "")
        .await;
    for p in [w.post, second.id] {
        assert_eq!(
            app.post(&format!("/api/v1/mod/posts/{p}/pin"), &json!({}), Some(m))
                .await
                .status(),
            StatusCode::NO_CONTENT
        );
    }
    let res = app
        .post(
            &format!("/api/v1/mod/posts/{}/pin", third.id),
            &json!({}),
            Some(m),
        )
        .await;
    assert_eq!(
        refused(res, StatusCode::CONFLICT).await.code,
        "too_many_pins"
    );
    // Re-pinning a pinned post is fine; the hot listing leads with the pins.
    assert_eq!(
        app.post(
            &format!("/api/v1/mod/posts/{}/pin", w.post),
            &json!({}),
            Some(m)
        )
        .await
        .status(),
        StatusCode::NO_CONTENT
    );
    let hot: Page<Post> = app
        .get_as("/api/v1/posts?community=guarded&sort=hot", None)
        .await;
    assert!(hot.items[0].pinned, "{hot:?}");
    assert!(hot.items[1].pinned, "{hot:?}");

    // Locking stops comments.
    app.post(
        &format!("/api/v1/mod/posts/{}/lock", w.post),
        &json!({"reason": "heated"}),
        Some(m),
    )
    .await;
    let res = app
        .post(
            &format!("/api/v1/posts/{}/comments", w.post),
            &json!({"body": "late"}),
            Some(&w.plain.access_token),
        )
        .await;
    assert_eq!(refused(res, StatusCode::FORBIDDEN).await.code, "locked");

    // Reports: one open report per user and target; moderators see and resolve them.
    let again = app
        .post(
            "/api/v1/reports",
            &json!({"target_type": "post", "target_id": w.post, "reason": "spam"}),
            Some(&w.plain.access_token),
        )
        .await;
    refused(again, StatusCode::CONFLICT).await;
    app.post(
        "/api/v1/reports",
        &json!({"target_type": "comment", "target_id": w.comment, "reason": "rude"}),
        Some(&w.owner.access_token),
    )
    .await;
    app.post(
        "/api/v1/reports",
        &json!({"target_type": "post", "target_id": w.post, "reason": "me too"}),
        Some(&w.other_mod.access_token),
    )
    .await;
    let bad = app
        .post(
            "/api/v1/reports",
            &json!({"target_type": "user", "target_id": w.post, "reason": "x"}),
            Some(&w.plain.access_token),
        )
        .await;
    refused(bad, StatusCode::UNPROCESSABLE_ENTITY).await;
    let open: Page<Report> = app
        .get_as("/api/v1/communities/guarded/reports", Some(m))
        .await;
    assert_eq!(open.items.len(), 3);
    let on_post = open.items.iter().find(|r| r.target_type == "post").unwrap();
    assert_eq!(on_post.open_reports_on_target, Some(2));
    let res = app
        .post(
            &format!("/api/v1/mod/reports/{}/resolve", w.report),
            &json!({"note": "removed it"}),
            Some(m),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let resolved: Page<Report> = app
        .get_as(
            "/api/v1/communities/guarded/reports?status=resolved",
            Some(m),
        )
        .await;
    assert_eq!(
        resolved.items[0].resolution_note.as_deref(),
        Some("removed it")
    );
    // Once resolved, the same user may report again.
    let res = app
        .post(
            "/api/v1/reports",
            &json!({"target_type": "post", "target_id": w.post, "reason": "still spam"}),
            Some(&w.plain.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    // Every action is in the public modlog with its actor and reason, and in the admin's.
    app.post(
        &format!("/api/v1/mod/comments/{}/remove", w.comment),
        &json!({"reason": "rude"}),
        Some(m),
    )
    .await;
    app.post(
        "/api/v1/communities/guarded/bans",
        &json!({"username": "banned_x", "reason": "trolling"}),
        Some(m),
    )
    .await;
    app.delete("/api/v1/communities/guarded/bans/banned_x", m)
        .await;
    let log: Page<ModlogEntry> = app
        .get_as("/api/v1/communities/guarded/modlog?limit=100", None)
        .await;
    let find = |action: &str| {
        log.items
            .iter()
            .find(|e| e.action == action)
            .unwrap_or_else(|| panic!("no {action} in {log:?}"))
    };
    assert_eq!(find("lock_post").reason.as_deref(), Some("heated"));
    assert_eq!(
        find("lock_post")
            .actor
            .as_ref()
            .map(|a| a.username.as_str()),
        Some("moderator")
    );
    assert_eq!(find("remove_comment").reason.as_deref(), Some("rude"));
    assert_eq!(find("resolve_report").reason.as_deref(), Some("removed it"));
    assert_eq!(
        find("ban_user")
            .target_user
            .as_ref()
            .map(|u| u.username.as_str()),
        Some("banned_x")
    );
    find("unban_user");
    find("pin_post");
    find("add_moderator");
    app.delete("/api/v1/admin/communities/doomed", &w.admin.access_token)
        .await;
    refused(
        app.get("/api/v1/communities/doomed", None).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    app.post(
        "/api/v1/admin/communities/doomed/restore",
        &json!({}),
        Some(&w.admin.access_token),
    )
    .await;
    assert_eq!(
        app.get("/api/v1/communities/doomed", None).await.status(),
        StatusCode::OK
    );
    let site: Page<ModlogEntry> = app
        .get_as(
            "/api/v1/admin/modlog?limit=100",
            Some(&w.admin.access_token),
        )
        .await;
    let actions: Vec<&str> = site.items.iter().map(|e| e.action.as_str()).collect();
    for a in [
        "remove_community",
        "restore_community",
        "lock_post",
        "ban_user",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
}

#[tokio::test]
async fn a_bootstrap_admin_is_ensured_at_start() {
    let app = TestApp::builder()
        .bootstrap_admin("first_admin", "root@example.com", "bootstrap-password")
        .spawn()
        .await;
    let res = app.login("first_admin", "bootstrap-password").await;
    let body: AuthTokens = TestApp::expect(res, StatusCode::OK).await;
    assert_eq!(body.user.role, "admin");
    let users: Page<AdminUser> = app
        .get_as("/api/v1/admin/users", Some(&body.access_token))
        .await;
    assert_eq!(users.items[0].username, "first_admin");
}
