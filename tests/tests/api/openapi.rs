//! The committed OpenAPI document must match the code, and every served route must be in it.

use std::path::{Path, PathBuf};

use forum_tests::TestApp;
use forum_tests::reqwest::{Method, StatusCode};
use forum_tests::serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn committed_openapi_is_current() {
    let path = repo_root().join("openapi/openapi.json");
    let generated = forum_api::openapi::document_json().unwrap();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test -p forum-tests --test api openapi` \
         (or `cargo run -p forum-api -- openapi > openapi/openapi.json`) and commit it"
    );
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    let app = TestApp::spawn().await;
    let doc: Value = serde_json::from_str(&forum_api::openapi::document_json().unwrap()).unwrap();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let concrete = path.replace("{username}", "somebody");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let res = app.request(method.clone(), &concrete).send().await.unwrap();
            let status = res.status();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert!(
                body["code"] != "route_not_found",
                "{method} {path} is documented but not served"
            );
            checked += 1;
        }
    }
    assert!(checked >= 14, "checked {checked}");
}

/// Routes are only registered in `api/src/routes/mod.rs`, through utoipa-actix-web (whose
/// `service` needs an OpenAPI description to compile). A raw actix registration anywhere else
/// would serve a route the document does not list, so it fails here.
#[test]
fn routes_are_registered_only_through_the_documented_path() {
    let src = repo_root().join("api/src");
    let mut offenders = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let registry = path.ends_with("routes/mod.rs");
            for (n, line) in text.lines().enumerate() {
                let raw = [
                    "web::resource(",
                    "web::scope(",
                    ".route(",
                    "web::get()",
                    "web::post()",
                    "Resource::new(",
                ];
                let service_elsewhere = line.contains(".service(") && !registry;
                if raw.iter().any(|r| line.contains(r)) || service_elsewhere {
                    offenders.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "routes registered outside utoipa-actix-web:\n{}",
        offenders.join("\n")
    );
}
