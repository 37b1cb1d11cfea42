//! The workers for real: outbox relay, apalis queue on Redis, lettre to a real SMTP server.

use std::time::Duration;

use forum_tests::reqwest::StatusCode;
use forum_tests::serde_json::json;
use forum_tests::wire::{JobsOverview, RetriedJob};
use forum_tests::{SmtpSink, TestApp};

/// Undoes quoted-printable: soft line breaks and `=XX` escapes.
fn unqp(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value after `marker` (in the decoded mail) up to the next character that cannot be in a token.
fn after(text: &str, marker: &str) -> Option<String> {
    let text = unqp(text);
    let start = text.rfind(marker)? + marker.len();
    Some(
        text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect(),
    )
}

#[tokio::test]
async fn password_reset_email_arrives_with_a_working_link() {
    let smtp = SmtpSink::start();
    let app = TestApp::spawn().await;
    let _workers = app.workers(smtp.port, None);
    app.register("mailable").await;
    // The verification email of the registration arrives too.
    smtp.wait_for("verification email", Duration::from_secs(20), |t| {
        t.contains("verify-email?token=")
    })
    .await;

    let res = app
        .post(
            "/api/v1/auth/password-reset",
            &json!({"email": "mailable@example.com"}),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let text = smtp
        .wait_for("reset email", Duration::from_secs(20), |t| {
            t.contains("reset-password?token=")
        })
        .await;
    assert!(text.contains("Subject: Reset your password"), "{text}");
    assert!(text.contains("To: mailable@example.com"), "{text}");
    assert!(text.contains("Message-ID: <"), "{text}");
    assert!(
        text.contains("Content-Type: text/html") && text.contains("Content-Type: text/plain"),
        "{text}"
    );
    let token = after(&text, "reset-password?token=").unwrap();
    let res = app
        .post(
            "/api/v1/auth/password-reset/confirm",
            &json!({"token": token, "new_password": "from-the-email"}),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.login("mailable", "from-the-email").await.status(),
        StatusCode::OK
    );

    // Relayed rows are marked sent.
    assert!(app.outbox("email").await.is_empty(), "outbox drained");
}

#[tokio::test]
async fn outbox_rows_wait_while_redis_is_down_and_are_sent_after() {
    let smtp = SmtpSink::start();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let start_redis = || {
        let child = std::process::Command::new("redis-server")
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
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(20));
        }
        child
    };
    let mut redis = start_redis();
    let app = TestApp::spawn().await;
    let _workers = app.workers(smtp.port, Some(&format!("redis://127.0.0.1:{port}")));
    app.register("patient").await;
    smtp.wait_for("first email", Duration::from_secs(20), |t| {
        t.contains("To: patient@example.com")
    })
    .await;

    // Redis goes away; a reset email is requested; it waits in the outbox.
    redis.kill().unwrap();
    redis.wait().unwrap();
    app.post(
        "/api/v1/auth/password-reset",
        &json!({"email": "patient@example.com"}),
        None,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let waiting = app.outbox("email").await;
    assert_eq!(waiting.len(), 1, "the row waits while Redis is down");
    assert!(!smtp.text().contains("reset-password?token="));

    // Redis returns: the row is relayed and the email sent.
    let mut redis = start_redis();
    smtp.wait_for(
        "reset email after Redis returned",
        Duration::from_secs(30),
        |t| t.contains("reset-password?token="),
    )
    .await;
    assert!(app.outbox("email").await.is_empty());
    let _ = redis.kill();
    let _ = redis.wait();
}

#[tokio::test]
async fn reply_emails_carry_one_click_unsubscribe() {
    let smtp = SmtpSink::start();
    let app = TestApp::spawn().await;
    let _workers = app.workers(smtp.port, None);
    let op = app.register("original").await;
    let replier = app.register("replier").await;
    app.create_community(&op.access_token, "mail").await;
    let post = app
        .create_post_view(&op.access_token, "mail", "Tell me", "")
        .await;
    let path = format!("/api/v1/posts/{}/comments", post.id);
    app.post(
        &path,
        &json!({"body": "a <b>reply</b>"}),
        Some(&replier.access_token),
    )
    .await;
    let text = smtp
        .wait_for("reply email", Duration::from_secs(20), |t| {
            t.contains("List-Unsubscribe-Post")
        })
        .await;
    assert!(
        text.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{text}"
    );
    // Mail arrives in any order: look at the reply notification only.
    let reply = text
        .split("END MESSAGE")
        .find(|m| m.contains("List-Unsubscribe-Post"))
        .unwrap_or("");
    let decoded = unqp(reply);
    let html = decoded
        .rsplit("Content-Type: text/html")
        .next()
        .unwrap_or("");
    assert!(
        html.contains("a &lt;b&gt;reply&lt;") && !html.contains("<b>reply</b>"),
        "user text is escaped in the HTML part: {html}"
    );
    let token = after(&text, "/api/v1/unsubscribe/").unwrap();

    // One click, no login.
    let res = app
        .post(&format!("/api/v1/unsubscribe/{token}"), &json!({}), None)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(!app.me(&op.access_token).await.email_notifications);
    // Another user's id under the same MAC: flip a character inside the id part.
    let mut chars: Vec<char> = token.chars().collect();
    chars[5] = if chars[5] == 'x' { 'y' } else { 'x' };
    let forged: String = chars.into_iter().collect();
    let res = app
        .post(&format!("/api/v1/unsubscribe/{forged}"), &json!({}), None)
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

async fn probe_runs(
    redis: &mut redis::aio::ConnectionManager,
    prefix: &str,
    id: uuid::Uuid,
) -> i64 {
    let runs: Option<i64> = redis::cmd("GET")
        .arg(format!("{prefix}probe:{id}"))
        .query_async(redis)
        .await
        .unwrap();
    runs.unwrap_or(0)
}

/// Queues a probe job (through the outbox) that counts its runs and then sleeps `sleep_ms`.
async fn enqueue_probe(app: &TestApp, sleep_ms: u64) -> uuid::Uuid {
    use forum_domain::jobs::{ProbeJob, Topic};
    let id = uuid::Uuid::now_v7();
    forum_domain::store::outbox::enqueue(
        &app.db,
        Topic::Probe,
        &ProbeJob {
            id: Some(id),
            sleep_ms,
        },
    )
    .await
    .unwrap();
    id
}

/// Waits until the probe job `id` has run `runs` times.
async fn wait_probe_runs(app: &TestApp, id: uuid::Uuid, runs: i64, what: &str, limit: Duration) {
    let redis = app.redis().await;
    let prefix = app.redis_prefix.clone();
    forum_tests::eventually(what, limit, || {
        let mut r = redis.clone();
        let p = prefix.clone();
        async move { (probe_runs(&mut r, &p, id).await == runs).then_some(()) }
    })
    .await;
}

#[tokio::test]
async fn a_job_of_a_sigkilled_worker_runs_again_after_a_restart_within_60_s() {
    let app = TestApp::spawn().await;
    let exe = env!("CARGO_BIN_EXE_forum-jobs-under-test");
    let env = [("FORUM_PROBE_CONCURRENCY", "1")];
    let mut first = app.worker_process(exe, &env);
    // A job that blocks for ten minutes, so it is surely in flight when the worker dies.
    let id = enqueue_probe(&app, 600_000).await;
    wait_probe_runs(&app, id, 1, "the job to start", Duration::from_secs(30)).await;

    first.kill();
    let killed = std::time::Instant::now();
    let _second = app.worker_process(exe, &env);
    wait_probe_runs(&app, id, 2, "the job to run again", Duration::from_secs(60)).await;
    let took = killed.elapsed();
    assert!(took < Duration::from_secs(60), "re-run after {took:?}");
    eprintln!("orphaned job re-run {took:?} after SIGKILL");
    let mut redis = app.redis().await;
    assert_eq!(probe_runs(&mut redis, &app.redis_prefix, id).await, 2);
}

#[tokio::test]
async fn an_email_job_failing_after_smtp_accepted_is_not_sent_twice() {
    let smtp = SmtpSink::start();
    let app = TestApp::spawn().await;
    // Recording the first sent email fails (after the SMTP server accepted it), so the job
    // fails once and is retried.
    sqlx::raw_sql(
        "CREATE SEQUENCE fault_seq;
         CREATE FUNCTION fail_first_record() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF nextval('fault_seq') = 1 THEN
                 RAISE EXCEPTION 'injected fault: recording the sent email failed';
             END IF;
             RETURN NEW;
         END $$;
         CREATE TRIGGER fail_first BEFORE INSERT ON sent_emails
             FOR EACH ROW EXECUTE FUNCTION fail_first_record();",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let _workers = app.workers(smtp.port, None);
    app.register("onlyonce").await;

    let db = app.db.clone();
    forum_tests::eventually(
        "the retried job to record the email",
        Duration::from_secs(30),
        || {
            let db = db.clone();
            async move {
                let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM sent_emails")
                    .fetch_one(&db)
                    .await
                    .unwrap();
                (n == 1).then_some(())
            }
        },
    )
    .await;
    let (fired,): (i64,) = sqlx::query_as("SELECT last_value FROM fault_seq")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(fired, 2, "the job failed once and ran again");
    let text = smtp.text();
    assert_eq!(
        text.matches("To: onlyonce@example.com").count(),
        1,
        "sent once:\n{text}"
    );
}

#[tokio::test]
async fn dead_jobs_are_listed_and_retried_by_admins_only() {
    let smtp = SmtpSink::start();
    let app = TestApp::spawn().await;
    let nowhere = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // SMTP unreachable: the verification email fails twice and lands in the dead set.
    let failing = app.workers_with(nowhere, None, |c| c.settings.jobs.email_max_attempts = 2);
    app.register("deadletter").await;
    let admin = app.admin("jobsadmin").await;
    let user = app.register("nosy").await;

    // Both verification emails (deadletter's and nosy's) die.
    let overview = forum_tests::eventually("dead email jobs", Duration::from_secs(30), || async {
        let o: JobsOverview = app
            .get_as("/api/v1/admin/jobs", Some(&admin.access_token))
            .await;
        let email = o.queues.into_iter().find(|q| q.queue == "email").unwrap();
        (email.dead == 2).then_some(email)
    })
    .await;
    drop(failing);
    assert_eq!(overview.retrying, 0, "{overview:?}");
    // The job itself is the email job's payload, raw: its shape is the job's, not the API's.
    let dead = overview
        .dead_jobs
        .iter()
        .find(|d| d.job["to"] == "deadletter@example.com")
        .unwrap();
    assert_eq!(dead.attempts, 2, "{overview:?}");
    assert!(!dead.error.is_empty());
    let id = dead.id;

    // Non-admins may neither look nor retry.
    let res = app
        .get("/api/v1/admin/jobs", Some(&user.access_token))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app
        .post(
            &format!("/api/v1/admin/jobs/{id}/retry"),
            &json!({}),
            Some(&user.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app
        .post(&format!("/api/v1/admin/jobs/{id}/retry"), &json!({}), None)
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // With SMTP back, the admin retries it and the email arrives.
    let _workers = app.workers(smtp.port, None);
    let res = app
        .post(
            &format!("/api/v1/admin/jobs/{id}/retry"),
            &json!({}),
            Some(&admin.access_token),
        )
        .await;
    let retried: RetriedJob = TestApp::expect(res, StatusCode::ACCEPTED).await;
    assert_eq!(retried.queue, "email");
    smtp.wait_for("the retried email", Duration::from_secs(30), |t| {
        t.contains("To: deadletter@example.com")
    })
    .await;
    // Gone from the dead set; a second retry finds nothing.
    let res = app
        .post(
            &format!("/api/v1/admin/jobs/{id}/retry"),
            &json!({}),
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn finished_jobs_are_removed_from_redis_on_schedule() {
    let smtp = SmtpSink::start();
    let app = TestApp::spawn().await;
    let _workers = app.workers_with(smtp.port, None, |c| {
        c.settings.jobs.probe_concurrency = 4;
        c.settings.jobs.cleanup_interval_secs = 1;
    });
    let mut ids = Vec::new();
    for _ in 0..20 {
        ids.push(enqueue_probe(&app, 0).await);
    }
    for id in ids {
        wait_probe_runs(
            &app,
            id,
            1,
            "every probe job to run",
            Duration::from_secs(30),
        )
        .await;
    }
    let mut redis = app.redis().await;
    let prefix = app.redis_prefix.clone();
    // apalis-redis keeps each done job's data, meta and result; the cleanup deletes them.
    forum_tests::eventually(
        "finished jobs to be deleted",
        Duration::from_secs(30),
        || {
            let mut r = redis.clone();
            let p = prefix.clone();
            async move {
                let (data, done): (u64, u64) = redis::pipe()
                    .hlen(format!("{p}probe:data"))
                    .scard(format!("{p}probe:done"))
                    .query_async(&mut r)
                    .await
                    .unwrap();
                (data == 0 && done == 0).then_some(())
            }
        },
    )
    .await;
    let metas: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}probe:meta:*"))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(metas.is_empty(), "{metas:?}");
}

#[tokio::test]
async fn sigterm_lets_the_running_job_finish_and_leaves_nothing_in_flight() {
    use forum_domain::jobs::Topic;
    let app = TestApp::spawn().await;
    let exe = env!("CARGO_BIN_EXE_forum-jobs-under-test");
    let mut worker = app.worker_process(exe, &[("FORUM_PROBE_CONCURRENCY", "1")]);
    let id = enqueue_probe(&app, 1_500).await;
    wait_probe_runs(&app, id, 1, "the job to start", Duration::from_secs(30)).await;
    let mut redis = app.redis().await;
    let prefix = app.redis_prefix.clone();
    let status = worker.terminate(Duration::from_secs(20));
    assert!(status.success(), "{status}");
    // Finished, not abandoned: nothing waits, nothing is held by a worker, and it ran once.
    let stats = forum_domain::adapters::queues::stats(&mut redis, &prefix, Topic::Probe, 0)
        .await
        .unwrap();
    assert_eq!(
        (stats.ready, stats.scheduled, stats.running, stats.dead),
        (0, 0, 0, 0),
        "{stats:?}"
    );
    let done: u64 = redis::cmd("SCARD")
        .arg(format!("{prefix}probe:done"))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(done, 1);
    assert_eq!(probe_runs(&mut redis, &prefix, id).await, 1);
}
