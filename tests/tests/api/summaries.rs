//! Thread summaries end to end: API -> outbox -> summaries queue -> worker -> provider doubles
//! speaking OpenAI's and Anthropic's wire formats (wiremock) -> Postgres -> API.

use std::time::{Duration, Instant};

use forum_tests::reqwest::StatusCode;
use forum_tests::serde_json::{Value, json};
use forum_tests::wire::{Comment, Summary};
use forum_tests::{SmtpSink, TestApp, eventually};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn chat_completion(text: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "chatcmpl-e2e",
        "object": "chat.completion",
        "created": 1_763_000_000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": text, "refusal": null}}],
        "usage": {"prompt_tokens": 812, "completion_tokens": 64, "total_tokens": 876}
    }))
}

fn claude_message(text: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "msg_e2e", "type": "message", "role": "assistant",
        "model": "claude-haiku-4-5-20251001",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 900, "output_tokens": 70}
    }))
}

async fn app_with_providers(openai: &MockServer, anthropic: Option<&MockServer>) -> TestApp {
    let openai_url = format!("{}/v1", openai.uri());
    let anthropic_url = anthropic.map(|a| a.uri());
    TestApp::builder()
        .settings(move |s| {
            s.llm.openai_base_url = openai_url;
            if let Some(url) = anthropic_url {
                s.llm.anthropic_base_url = url;
            }
            // Any change makes a summary stale; no minimum interval between regenerations.
            s.llm.summary_regenerate_after_changes = 1;
            s.llm.summary_min_interval_secs = 0;
            s.llm.timeout_ms = 5_000;
        })
        .spawn()
        .await
}

fn with_keys(c: &mut forum_domain::settings::Config, anthropic: bool) {
    c.secrets.openai_api_key = Some("sk-test-openai".to_string().into());
    if anthropic {
        c.secrets.anthropic_api_key = Some("sk-ant-test".to_string().into());
    }
}

/// Polls until the summary is served; returns it and how long it took.
async fn summary_of(app: &TestApp, post: &str) -> (Summary, Duration) {
    let started = Instant::now();
    let body = eventually("the summary", Duration::from_secs(30), || async {
        let res = app
            .get(&format!("/api/v1/posts/{post}/summary"), None)
            .await;
        match res.status() {
            StatusCode::OK => Some(TestApp::expect::<Summary>(res, StatusCode::OK).await),
            StatusCode::ACCEPTED => None,
            other => panic!("unexpected {other}"),
        }
    })
    .await;
    (body, started.elapsed())
}

async fn comment(app: &TestApp, token: &str, post: &str, body: &str) -> Comment {
    let res = app
        .post(
            &format!("/api/v1/posts/{post}/comments"),
            &json!({ "body": body }),
            Some(token),
        )
        .await;
    TestApp::expect(res, StatusCode::CREATED).await
}

#[tokio::test]
async fn summaries_come_from_openai_and_are_regenerated_only_when_the_thread_changes() {
    let openai = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", "Bearer sk-test-openai"))
        // A provider answering in 200 ms, for the end-to-end latency.
        .respond_with(
            chat_completion("People compare rust and go for servers.")
                .set_delay(Duration::from_millis(200)),
        )
        .mount(&openai)
        .await;
    let smtp = SmtpSink::start();
    let app = app_with_providers(&openai, None).await;
    let _workers = app.workers_with(smtp.port, None, |c| with_keys(c, false));
    let user = app.register("summarized").await;
    app.create_community(&user.access_token, "langs").await;
    let post = app
        .create_post_view(
            &user.access_token,
            "langs",
            "Rust or Go?",
            "For a web backend.",
        )
        .await
        .id
        .to_string();
    comment(
        &app,
        &user.access_token,
        &post,
        "Rust, for the type system.",
    )
    .await;
    let edited = comment(&app, &user.access_token, &post, "Go, for the simplicity.").await;

    let first = app
        .get(&format!("/api/v1/posts/{post}/summary"), None)
        .await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    assert_eq!(
        first.json::<Value>().await.unwrap(),
        json!({"status": "pending"})
    );
    let (summary, took) = summary_of(&app, &post).await;
    eprintln!("summary: GET 202 -> 200 in {took:?} (provider double answers in 200 ms)");
    assert_eq!(summary.provider, "openai", "{summary:?}");
    assert_eq!(summary.model, "gpt-4o-mini-2024-07-18");
    assert_eq!(summary.summary, "People compare rust and go for servers.");
    assert_eq!(summary.comment_count_at, 2);
    assert!(
        chrono::DateTime::parse_from_rfc3339(&summary.generated_at).is_ok(),
        "{summary:?}"
    );
    let (input, output, cost): (i32, i32, f64) = sqlx::query_as(
        "SELECT input_tokens, output_tokens, cost_usd FROM post_summaries WHERE post_id = $1::uuid",
    )
    .bind(&post)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!((input, output), (812, 64));
    assert!(cost > 0.0);
    // The stable system prompt comes first; the thread follows.
    let requests = openai.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let sent: Value = requests[0].body_json().unwrap();
    assert_eq!(sent["messages"][0]["role"], "system");
    assert!(
        sent["messages"][1]["content"]
            .as_str()
            .unwrap()
            .contains("Rust, for the type system.")
    );

    // Unchanged thread: served as is, no new provider call.
    let again = app
        .get(&format!("/api/v1/posts/{post}/summary"), None)
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(openai.received_requests().await.unwrap().len(), 1);

    // A new comment: stale, so a new summary is made.
    comment(&app, &user.access_token, &post, "Both are fine, honestly.").await;
    let res = app
        .get(&format!("/api/v1/posts/{post}/summary"), None)
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let (summary, _) = summary_of(&app, &post).await;
    assert_eq!(summary.comment_count_at, 3, "{summary:?}");
    assert_eq!(openai.received_requests().await.unwrap().len(), 2);

    // An edit that leaves the text as it was: the job runs, sees the same content hash and
    // keeps the summary without calling a provider.
    let res = app
        .patch(
            &format!("/api/v1/comments/{}", edited.id),
            &json!({"body": "Go, for the simplicity."}),
            &user.access_token,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .get(&format!("/api/v1/posts/{post}/summary"), None)
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let (unchanged, _) = summary_of(&app, &post).await;
    assert_eq!(unchanged.generated_at, summary.generated_at);
    assert_eq!(openai.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_failing_primary_falls_back_to_anthropic_then_to_the_extractive_summary() {
    let openai = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({
            "error": {"message": "The server had an error while processing your request.",
                      "type": "server_error", "param": null, "code": null}
        })))
        .mount(&openai)
        .await;
    let anthropic = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("x-api-key", "sk-ant-test"))
        .and(header("anthropic-version", "2023-06-01"))
        .respond_with(claude_message("A calm thread about tabs and spaces."))
        .mount(&anthropic)
        .await;
    let smtp = SmtpSink::start();
    let app = app_with_providers(&openai, Some(&anthropic)).await;
    let _workers = app.workers_with(smtp.port, None, |c| with_keys(c, true));
    let user = app.register("fallback").await;
    app.create_community(&user.access_token, "style").await;
    let first = app
        .create_post_view(&user.access_token, "style", "Tabs or spaces?", "Settle it.")
        .await
        .id
        .to_string();
    comment(&app, &user.access_token, &first, "Spaces. Always spaces.").await;
    app.get(&format!("/api/v1/posts/{first}/summary"), None)
        .await;
    let (summary, _) = summary_of(&app, &first).await;
    assert_eq!(summary.provider, "anthropic", "{summary:?}");
    assert_eq!(summary.summary, "A calm thread about tabs and spaces.");

    // Anthropic overloaded too: the local summarizer still answers.
    anthropic.reset().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(ResponseTemplate::new(529).set_body_json(json!({
            "type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}
        })))
        .mount(&anthropic)
        .await;
    let second = app
        .create_post_view(
            &user.access_token,
            "style",
            "Editors",
            "Vim is a modal editor. Emacs is an extensible editor. Both have loyal users.",
        )
        .await
        .id
        .to_string();
    comment(
        &app,
        &user.access_token,
        &second,
        "Modal editing is fast once learned.",
    )
    .await;
    app.get(&format!("/api/v1/posts/{second}/summary"), None)
        .await;
    let (summary, _) = summary_of(&app, &second).await;
    assert_eq!(summary.provider, "extractive", "{summary:?}");
    assert!(!summary.summary.is_empty());
    assert_eq!(anthropic.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn concurrent_requests_enqueue_one_job_and_busy_threads_are_summarized_on_their_own() {
    let app = TestApp::builder()
        .settings(move |s| s.llm.summary_auto_every_comments = 3)
        .spawn()
        .await;
    let user = app.register("popular").await;
    app.create_community(&user.access_token, "busy").await;
    let post = app
        .create_post_view(&user.access_token, "busy", "Hot topic", "Discuss.")
        .await
        .id
        .to_string();

    // No workers: the job stays queued, and twenty simultaneous requests share it.
    let url = format!("/api/v1/posts/{post}/summary");
    let requests = (0..20).map(|_| app.get(&url, None));
    for res in futures_util::future::join_all(requests).await {
        assert_eq!(res.status(), StatusCode::ACCEPTED);
    }
    assert_eq!(app.outbox("summaries").await.len(), 1);

    // Another thread reaches 3 comments: queued without anyone asking.
    let other = app
        .create_post_view(&user.access_token, "busy", "Another", "More.")
        .await
        .id
        .to_string();
    for i in 0..2 {
        comment(&app, &user.access_token, &other, &format!("comment {i}")).await;
    }
    assert_eq!(app.outbox("summaries").await.len(), 1);
    comment(&app, &user.access_token, &other, "the third").await;
    let queued = app.outbox("summaries").await;
    assert_eq!(queued.len(), 2, "{queued:?}");
    assert!(
        queued.iter().any(|row| row["post_id"] == other.as_str()),
        "{queued:?}"
    );

    // A deleted post has no summary.
    app.delete(&format!("/api/v1/posts/{other}"), &user.access_token)
        .await;
    let res = app
        .get(&format!("/api/v1/posts/{other}/summary"), None)
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
