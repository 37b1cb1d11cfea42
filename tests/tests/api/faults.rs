//! Faults of our own services: Redis and PgBouncer stopped and brought back, for real.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use forum_tests::TestApp;
use forum_tests::reqwest::StatusCode;
use forum_tests::serde_json::json;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_redis(port: u16) -> Child {
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server on PATH (./scripts/test.sh installs it)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// Polls `check` until it holds or `limit` passes; returns how long it took.
async fn within<F, Fut>(limit: Duration, mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < limit {
        if check().await {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    None
}

#[tokio::test]
async fn redis_stopping_and_returning() {
    let port = free_port();
    let mut redis = start_redis(port);
    let app = TestApp::builder()
        .redis_url(&format!("redis://127.0.0.1:{port}"))
        .settings(|s| s.rate_limits.login_per_minute = 3)
        .spawn()
        .await;
    let user = app.register("resilient").await;
    app.create_community(&user.access_token, "sturdy").await;
    assert_eq!(
        app.get("/health/ready", None).await.status(),
        StatusCode::OK
    );

    redis.kill().unwrap();
    redis.wait().unwrap();
    // Reads and writes go on from Postgres; readiness says Redis is down.
    assert_eq!(
        app.get("/health/ready", None).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        app.get("/api/v1/posts?community=sturdy", None)
            .await
            .status(),
        StatusCode::OK
    );
    app.create_post(&user.access_token, "sturdy", "written without Redis", "")
        .await;
    let page = app
        .get_json("/api/v1/posts?community=sturdy&sort=new", None)
        .await;
    assert_eq!(page["items"][0]["title"], "written without Redis");
    // Quotas fall back to this process: still limited.
    let statuses: Vec<StatusCode> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(app.login("resilient", "wrong-password").await.status());
        }
        v
    };
    assert_eq!(
        statuses.last(),
        Some(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );

    // Redis returns on the same port: the app reconnects by itself.
    let _redis = start_redis(port);
    let took = within(Duration::from_secs(10), || async {
        app.get("/health/ready", None).await.status() == StatusCode::OK
    })
    .await;
    let took = took.expect("readiness recovered");
    eprintln!("readiness recovered {took:?} after Redis came back");
    let mut redis = _redis;
    let _ = redis.kill();
    let _ = redis.wait();
}

fn stack(command: &str, port: u16, run_dir: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/stack.sh");
    let status = Command::new("bash")
        .arg(script)
        .arg(command)
        .env("FORUM_PGBOUNCER_PORT", port.to_string())
        .env("FORUM_PGBOUNCER_RUN_DIR", run_dir)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "stack.sh {command} failed");
}

#[tokio::test]
async fn pgbouncer_stopping_and_returning() {
    let port = free_port();
    let run_dir = format!("/tmp/forum-pgbouncer-test-{port}");
    stack("up-pgbouncer", port, &run_dir);
    let app = TestApp::builder()
        .settings(move |s| {
            s.db.url = s.db.url.replacen(":6432/", &format!(":{port}/"), 1);
            s.db.acquire_timeout_ms = 1_000;
        })
        .spawn()
        .await;
    assert!(app.config.settings.db.url.contains(&format!(":{port}/")));
    let user = app.register("through_bouncer").await;
    app.create_community(&user.access_token, "bounced").await;
    assert_eq!(
        app.get("/api/v1/communities/bounced", None).await.status(),
        StatusCode::OK
    );

    kill_pgbouncer(&run_dir);
    let started = Instant::now();
    let res = app.get("/api/v1/communities/bounced", None).await;
    let answered = started.elapsed();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/problem+json")
    );
    assert!(
        answered < Duration::from_secs(5),
        "answered in {answered:?}"
    );
    let res = app
        .post(
            "/api/v1/communities",
            &json!({"name": "while_down", "title": "x"}),
            Some(&user.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        app.get("/health/ready", None).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    eprintln!("with PgBouncer down, requests answered 503 in {answered:?}");

    stack("up-pgbouncer", port, &run_dir);
    let took = within(Duration::from_secs(2), || async {
        app.get("/api/v1/communities/bounced", None).await.status() == StatusCode::OK
    })
    .await
    .expect("recovered within 2 s of PgBouncer's return");
    eprintln!("recovered {took:?} after PgBouncer came back");
    assert_eq!(
        app.get("/health/ready", None).await.status(),
        StatusCode::OK
    );
    kill_pgbouncer(&run_dir);
    let _ = std::fs::remove_dir_all(&run_dir);
}

/// An abrupt stop: the process dies with its connections.
fn kill_pgbouncer(run_dir: &str) {
    let pid = std::fs::read_to_string(format!("{run_dir}/pgbouncer.pid")).unwrap();
    let status = Command::new("kill")
        .args(["-9", pid.trim()])
        .status()
        .unwrap();
    assert!(status.success());
}
