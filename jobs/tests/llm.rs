//! The summary provider layer against HTTP doubles speaking OpenAI's and Anthropic's real wire
//! formats (bodies, error bodies, headers).

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use forum_domain::rules::breaker::BreakerConfig;
use forum_domain::rules::summary::{CommentInput, SYSTEM_PROMPT, ThreadInput};
use forum_domain::settings::{Config, Secrets, Settings};
use forum_jobs::llm::{
    LlmConfig, ProviderConfig, ProviderKind, SummarizeError, Summarizer, SummaryOutcome,
};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const OPENAI_KEY: &str = "sk-test-openai-key";
const ANTHROPIC_KEY: &str = "sk-ant-test-key";
const OPENAI_PATH: &str = "/v1/chat/completions";
const ANTHROPIC_PATH: &str = "/v1/messages";

fn thread() -> ThreadInput {
    ThreadInput {
        title: "Postgres or SQLite for a small forum?".into(),
        body: "We are building a small forum and must pick a database. Postgres offers \
               concurrent writers and replication. SQLite is a single file and needs no server."
            .into(),
        comments: vec![
            CommentInput {
                author: "alice".into(),
                body: "Postgres handles concurrent writers far better than SQLite.".into(),
                score: 12,
            },
            CommentInput {
                author: "bob".into(),
                body: "SQLite in WAL mode copes fine with a small forum's write load.".into(),
                score: 4,
            },
        ],
    }
}

fn openai(base: &str) -> ProviderConfig {
    ProviderConfig {
        kind: ProviderKind::OpenAi,
        base_url: format!("{base}/v1"),
        model: "gpt-4o-mini".into(),
        api_key: Some(OPENAI_KEY.into()),
        timeout: Duration::from_secs(5),
        price_input_per_mtok: 0.15,
        price_output_per_mtok: 0.60,
    }
}

fn anthropic(base: &str) -> ProviderConfig {
    ProviderConfig {
        kind: ProviderKind::Anthropic,
        base_url: base.to_string(),
        model: "claude-haiku-4-5".into(),
        api_key: Some(ANTHROPIC_KEY.into()),
        timeout: Duration::from_secs(5),
        price_input_per_mtok: 1.0,
        price_output_per_mtok: 5.0,
    }
}

fn extractive() -> ProviderConfig {
    ProviderConfig {
        kind: ProviderKind::Extractive,
        base_url: String::new(),
        model: "extractive-v1".into(),
        api_key: None,
        timeout: Duration::from_secs(1),
        price_input_per_mtok: 0.0,
        price_output_per_mtok: 0.0,
    }
}

/// A breaker that needs many calls to open: for tests about something else.
fn lenient() -> BreakerConfig {
    BreakerConfig {
        min_calls: 1_000,
        ..BreakerConfig::default()
    }
}

fn summarizer(providers: Vec<ProviderConfig>, breaker: BreakerConfig) -> Summarizer {
    Summarizer::from_llm_config(LlmConfig {
        providers,
        breaker,
        max_tokens: 300,
        input_chars: 6_000,
        extractive_chars: 600,
    })
}

// ---- OpenAI wire format --------------------------------------------------------------------

fn openai_ok(text: &str, prompt_tokens: u32, completion_tokens: u32) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("x-request-id", "req_0b1c2d3e4f")
        .insert_header("openai-processing-ms", "412")
        .set_body_json(json!({
            "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
            "object": "chat.completion",
            "created": 1741569952,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": text,
                    "refusal": null,
                    "annotations": []
                },
                "logprobs": null,
                "finish_reason": "stop"
            }],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {
                    "reasoning_tokens": 0,
                    "audio_tokens": 0,
                    "accepted_prediction_tokens": 0,
                    "rejected_prediction_tokens": 0
                }
            },
            "service_tier": "default",
            "system_fingerprint": "fp_06737a9306"
        }))
}

fn openai_error(status: u16, kind: &str, code: Option<&str>, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "error": {"message": message, "type": kind, "param": null, "code": code}
    }))
}

fn openai_500() -> ResponseTemplate {
    openai_error(
        500,
        "server_error",
        None,
        "The server had an error while processing your request. Sorry about that!",
    )
}

fn openai_429(retry_after_secs: u32) -> ResponseTemplate {
    openai_error(
        429,
        "requests",
        Some("rate_limit_exceeded"),
        "Rate limit reached for gpt-4o-mini in organization org-test on requests per min \
         (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.",
    )
    .insert_header("retry-after", retry_after_secs.to_string().as_str())
    .insert_header("x-ratelimit-limit-requests", "3")
    .insert_header("x-ratelimit-remaining-requests", "0")
    .insert_header("x-ratelimit-reset-requests", "20s")
}

// ---- Anthropic wire format -----------------------------------------------------------------

fn anthropic_ok(text: &str, input_tokens: u32, output_tokens: u32) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("request-id", "req_011CSHoEeqs5C35K2UUqR7Fy")
        .set_body_json(json!({
            "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
            "type": "message",
            "role": "assistant",
            "model": "claude-haiku-4-5-20251001",
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": null,
            "usage": {
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "service_tier": "standard"
            }
        }))
}

fn anthropic_error(status: u16, kind: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "type": "error",
        "error": {"type": kind, "message": message},
        "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"
    }))
}

// ---- helpers -------------------------------------------------------------------------------

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.map_or(0, |r| r.len())
}

async fn mount(server: &MockServer, route: &str, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(route))
        .respond_with(response)
        .mount(server)
        .await;
}

fn assert_extractive(outcome: &SummaryOutcome, fallbacks: u32) {
    assert_eq!(outcome.provider, "extractive", "{outcome:?}");
    assert_eq!(outcome.model, "extractive-v1");
    assert_eq!(outcome.fallbacks, fallbacks, "{outcome:?}");
    assert_eq!((outcome.input_tokens, outcome.output_tokens), (0, 0));
    assert_eq!(outcome.cost_usd, 0.0);
    assert!(
        outcome.text.contains("We are building a small forum"),
        "{}",
        outcome.text
    );
}

/// Log lines written while the returned guard lives (this thread; tokio tests run on it).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn capture() -> (Self, tracing::subscriber::DefaultGuard) {
        let logs = Self::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_ansi(false)
            .with_target(false)
            .with_env_filter("info")
            .finish();
        (logs.clone(), tracing::subscriber::set_default(subscriber))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }

    fn lines(&self, needle: &str) -> Vec<String> {
        self.text()
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_string)
            .collect()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

// ---- tests ---------------------------------------------------------------------------------

#[tokio::test]
async fn healthy_openai_answers_with_tokens_and_cost() {
    let openai_server = MockServer::start().await;
    let anthropic_server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(OPENAI_PATH))
        .and(header(
            "authorization",
            format!("Bearer {OPENAI_KEY}").as_str(),
        ))
        .and(header("content-type", "application/json"))
        .and(body_partial_json(
            json!({"model": "gpt-4o-mini", "max_completion_tokens": 300}),
        ))
        .respond_with(openai_ok(
            "  The thread weighs Postgres against SQLite.  ",
            120,
            40,
        ))
        .expect(1)
        .mount(&openai_server)
        .await;
    let s = summarizer(
        vec![
            openai(&openai_server.uri()),
            anthropic(&anthropic_server.uri()),
            extractive(),
        ],
        BreakerConfig::default(),
    );

    let outcome = s.summarize(&thread()).await.unwrap();
    assert_eq!(
        outcome,
        SummaryOutcome {
            text: "The thread weighs Postgres against SQLite.".into(),
            provider: "openai",
            model: "gpt-4o-mini-2024-07-18".into(),
            input_tokens: 120,
            output_tokens: 40,
            cost_usd: (120.0 * 0.15 + 40.0 * 0.60) / 1e6,
            fallbacks: 0,
        }
    );

    // The stable system prompt first, then the thread.
    let sent = &openai_server.received_requests().await.unwrap()[0];
    let body: Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][0]["content"], SYSTEM_PROMPT);
    assert_eq!(body["messages"][1]["role"], "user");
    let user = body["messages"][1]["content"].as_str().unwrap();
    assert!(
        user.contains("Postgres or SQLite for a small forum?"),
        "{user}"
    );
    assert!(user.contains("[1] alice (score 12)"), "{user}");
    assert_eq!(requests(&anthropic_server).await, 0);
    assert_eq!(s.breaker_states(), vec![("openai", 0), ("anthropic", 0)]);
}

#[tokio::test]
async fn openai_500_falls_back_to_anthropic_without_sdk_retries() {
    let openai_server = MockServer::start().await;
    let anthropic_server = MockServer::start().await;
    mount(&openai_server, OPENAI_PATH, openai_500()).await;
    Mock::given(method("POST"))
        .and(path(ANTHROPIC_PATH))
        .and(header("x-api-key", ANTHROPIC_KEY))
        .and(header("anthropic-version", "2023-06-01"))
        .and(header("content-type", "application/json"))
        .and(body_partial_json(json!({
            "model": "claude-haiku-4-5",
            "max_tokens": 300,
            "system": SYSTEM_PROMPT,
        })))
        .respond_with(anthropic_ok(
            "A debate between Postgres and SQLite.",
            130,
            45,
        ))
        .expect(1)
        .mount(&anthropic_server)
        .await;
    let s = summarizer(
        vec![
            openai(&openai_server.uri()),
            anthropic(&anthropic_server.uri()),
            extractive(),
        ],
        BreakerConfig::default(),
    );

    let outcome = s.summarize(&thread()).await.unwrap();
    assert_eq!(outcome.provider, "anthropic");
    assert_eq!(outcome.text, "A debate between Postgres and SQLite.");
    assert_eq!(outcome.model, "claude-haiku-4-5-20251001");
    assert_eq!((outcome.input_tokens, outcome.output_tokens), (130, 45));
    assert!((outcome.cost_usd - (130.0 * 1.0 + 45.0 * 5.0) / 1e6).abs() < 1e-12);
    assert_eq!(outcome.fallbacks, 1);
    // async-openai's default client would have retried the 500 three times.
    assert_eq!(requests(&openai_server).await, 1);

    let sent = &anthropic_server.received_requests().await.unwrap()[0];
    let body: Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(body["messages"].as_array().unwrap().len(), 1);
    assert_eq!(body["messages"][0]["role"], "user");
    assert!(
        body["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("SQLite in WAL mode")
    );
}

#[tokio::test]
async fn both_down_gives_the_extractive_summary() {
    let openai_server = MockServer::start().await;
    let anthropic_server = MockServer::start().await;
    mount(
        &openai_server,
        OPENAI_PATH,
        openai_error(
            503,
            "server_error",
            None,
            "The engine is currently overloaded, please try again later.",
        ),
    )
    .await;
    mount(
        &anthropic_server,
        ANTHROPIC_PATH,
        anthropic_error(529, "overloaded_error", "Overloaded"),
    )
    .await;
    let s = summarizer(
        vec![
            openai(&openai_server.uri()),
            anthropic(&anthropic_server.uri()),
            extractive(),
        ],
        BreakerConfig::default(),
    );
    let outcome = s.summarize(&thread()).await.unwrap();
    assert_extractive(&outcome, 2);
    assert!(outcome.text.chars().count() <= 600);
    assert_eq!(requests(&openai_server).await, 1);
    assert_eq!(requests(&anthropic_server).await, 1);
}

#[tokio::test]
async fn without_the_extractive_fallback_every_failure_is_reported() {
    let openai_server = MockServer::start().await;
    let anthropic_server = MockServer::start().await;
    mount(&openai_server, OPENAI_PATH, openai_500()).await;
    mount(
        &anthropic_server,
        ANTHROPIC_PATH,
        anthropic_error(529, "overloaded_error", "Overloaded"),
    )
    .await;
    let s = summarizer(
        vec![
            openai(&openai_server.uri()),
            anthropic(&anthropic_server.uri()),
        ],
        BreakerConfig::default(),
    );
    let err = s.summarize(&thread()).await.unwrap_err();
    let SummarizeError::Unavailable(attempts) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].0, "openai");
    assert!(attempts[0].1.contains("HTTP 500"), "{err}");
    assert_eq!(attempts[1].0, "anthropic");
    assert!(
        attempts[1]
            .1
            .contains("HTTP 529: overloaded_error: Overloaded"),
        "{err}"
    );
    let none = summarizer(vec![], BreakerConfig::default());
    assert!(matches!(
        none.summarize(&thread()).await,
        Err(SummarizeError::NoProviders)
    ));
}

#[tokio::test]
async fn breaker_opens_stops_calling_then_a_probe_closes_it() {
    let (logs, _guard) = Logs::capture();
    let server = MockServer::start().await;
    mount(&server, OPENAI_PATH, openai_500()).await;
    let open_for = Duration::from_millis(300);
    let s = summarizer(
        vec![openai(&server.uri()), extractive()],
        BreakerConfig {
            window: Duration::from_secs(60),
            min_calls: 4,
            failure_ratio: 0.5,
            open_for,
            half_open_probes: 1,
        },
    );

    for i in 0..4 {
        assert_eq!(s.breaker_states(), vec![("openai", 0)], "call {i}");
        assert_extractive(&s.summarize(&thread()).await.unwrap(), 1);
    }
    let opened = Instant::now();
    assert_eq!(s.breaker_states(), vec![("openai", 2)]);
    assert_eq!(requests(&server).await, 4);

    // Open: OpenAI gets nothing, summaries still come (from the fallback).
    for _ in 0..5 {
        assert_extractive(&s.summarize(&thread()).await.unwrap(), 1);
    }
    assert!(
        opened.elapsed() < open_for,
        "too slow to observe the open state"
    );
    assert_eq!(requests(&server).await, 4);

    // OpenAI recovers; after the open period one probe gets through and closes the breaker.
    server.reset().await;
    mount(
        &server,
        OPENAI_PATH,
        openai_ok("Recovered summary.", 50, 10),
    )
    .await;
    let deadline = opened + Duration::from_secs(5);
    let outcome = loop {
        let outcome = s.summarize(&thread()).await.unwrap();
        if outcome.provider == "openai" {
            break outcome;
        }
        assert_eq!(requests(&server).await, 0, "a call went through while open");
        assert!(
            Instant::now() < deadline,
            "the breaker never let a probe through"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(opened.elapsed() >= open_for, "{:?}", opened.elapsed());
    assert_eq!(outcome.text, "Recovered summary.");
    assert_eq!(outcome.fallbacks, 0);
    assert_eq!(requests(&server).await, 1);
    assert_eq!(s.breaker_states(), vec![("openai", 0)]);
    assert_eq!(
        s.summarize(&thread()).await.unwrap().provider,
        "openai",
        "closed again"
    );

    let transitions = logs.lines("circuit breaker");
    for line in &transitions {
        println!("{line}");
    }
    assert_eq!(transitions.len(), 3, "{transitions:?}");
    assert!(transitions[0].contains("INFO") && transitions[0].contains("circuit breaker opened"));
    assert!(
        transitions[0].contains("provider=\"openai\"")
            || transitions[0].contains("provider=openai")
    );
    assert!(transitions[1].contains("circuit breaker half-open"));
    assert!(transitions[2].contains("circuit breaker closed"));
}

#[tokio::test]
async fn a_failed_probe_reopens_the_breaker() {
    let server = MockServer::start().await;
    mount(&server, OPENAI_PATH, openai_500()).await;
    let open_for = Duration::from_millis(200);
    let s = summarizer(
        vec![openai(&server.uri()), extractive()],
        BreakerConfig {
            window: Duration::from_secs(60),
            min_calls: 2,
            failure_ratio: 0.5,
            open_for,
            half_open_probes: 1,
        },
    );
    for _ in 0..2 {
        s.summarize(&thread()).await.unwrap();
    }
    assert_eq!(s.breaker_states(), vec![("openai", 2)]);
    let opened = Instant::now();
    let deadline = opened + Duration::from_secs(5);
    while requests(&server).await == 2 {
        assert!(Instant::now() < deadline, "no probe");
        s.summarize(&thread()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The probe failed: open again, and the next call does not reach OpenAI.
    assert_eq!(requests(&server).await, 3);
    assert_eq!(s.breaker_states(), vec![("openai", 2)]);
    assert_extractive(&s.summarize(&thread()).await.unwrap(), 1);
    assert_eq!(requests(&server).await, 3);
}

#[tokio::test]
async fn client_errors_do_not_open_the_breaker() {
    let openai_server = MockServer::start().await;
    let s = summarizer(
        vec![openai(&openai_server.uri()), extractive()],
        BreakerConfig {
            min_calls: 2,
            failure_ratio: 0.5,
            ..BreakerConfig::default()
        },
    );
    let cases = [
        (
            400,
            "invalid_request_error",
            Some("invalid_value"),
            "Invalid value for 'model'.",
        ),
        (
            401,
            "invalid_request_error",
            Some("invalid_api_key"),
            "Incorrect API key provided: sk-test***-key.",
        ),
        (
            404,
            "invalid_request_error",
            Some("model_not_found"),
            "The model `gpt-9` does not exist or you do not have access to it.",
        ),
        (413, "invalid_request_error", None, "Request too large."),
    ];
    let mut sent = 0;
    for (status, kind, code, message) in cases {
        openai_server.reset().await;
        mount(
            &openai_server,
            OPENAI_PATH,
            openai_error(status, kind, code, message),
        )
        .await;
        for _ in 0..3 {
            assert_extractive(&s.summarize(&thread()).await.unwrap(), 1);
        }
        assert_eq!(requests(&openai_server).await, 3, "HTTP {status}");
        sent += 3;
        assert_eq!(s.breaker_states(), vec![("openai", 0)], "HTTP {status}");
    }
    assert_eq!(sent, 12);

    // An unreadable 200 is not the provider being down either.
    openai_server.reset().await;
    mount(
        &openai_server,
        OPENAI_PATH,
        ResponseTemplate::new(200).set_body_json(json!({"unexpected": true})),
    )
    .await;
    for _ in 0..3 {
        assert_extractive(&s.summarize(&thread()).await.unwrap(), 1);
    }
    assert_eq!(requests(&openai_server).await, 3);
    assert_eq!(s.breaker_states(), vec![("openai", 0)]);

    // While 5xx does, with the same configuration.
    openai_server.reset().await;
    mount(&openai_server, OPENAI_PATH, openai_500()).await;
    for _ in 0..2 {
        s.summarize(&thread()).await.unwrap();
    }
    assert_eq!(s.breaker_states(), vec![("openai", 2)]);
}

#[tokio::test]
async fn anthropic_client_errors_do_not_open_its_breaker() {
    let server = MockServer::start().await;
    mount(
        &server,
        ANTHROPIC_PATH,
        anthropic_error(400, "invalid_request_error", "max_tokens: Field required"),
    )
    .await;
    let s = summarizer(
        vec![anthropic(&server.uri()), extractive()],
        BreakerConfig {
            min_calls: 2,
            failure_ratio: 0.5,
            ..BreakerConfig::default()
        },
    );
    for _ in 0..4 {
        assert_extractive(&s.summarize(&thread()).await.unwrap(), 1);
    }
    assert_eq!(requests(&server).await, 4);
    assert_eq!(s.breaker_states(), vec![("anthropic", 0)]);
}

#[tokio::test]
async fn a_hanging_provider_times_out_and_counts_as_a_failure() {
    let server = MockServer::start().await;
    mount(
        &server,
        OPENAI_PATH,
        openai_ok("too late", 1, 1).set_delay(Duration::from_secs(10)),
    )
    .await;
    let timeout = Duration::from_millis(200);
    let s = summarizer(
        vec![
            ProviderConfig {
                timeout,
                ..openai(&server.uri())
            },
            extractive(),
        ],
        BreakerConfig {
            min_calls: 2,
            failure_ratio: 0.5,
            ..BreakerConfig::default()
        },
    );
    for _ in 0..2 {
        let started = Instant::now();
        assert_extractive(&s.summarize(&thread()).await.unwrap(), 1);
        let took = started.elapsed();
        assert!(took >= timeout, "{took:?}");
        assert!(took < Duration::from_secs(3), "no timeout: {took:?}");
    }
    assert_eq!(requests(&server).await, 2);
    assert_eq!(s.breaker_states(), vec![("openai", 2)]);
    // Open: the next summary does not wait on OpenAI at all.
    let started = Instant::now();
    assert_extractive(&s.summarize(&thread()).await.unwrap(), 1);
    assert!(started.elapsed() < timeout);
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test]
async fn openai_429_with_retry_after_cools_down_without_opening() {
    let (logs, _guard) = Logs::capture();
    let server = MockServer::start().await;
    mount(&server, OPENAI_PATH, openai_429(1)).await;
    let s = summarizer(vec![openai(&server.uri()), extractive()], lenient());

    assert_extractive(&s.summarize(&thread()).await.unwrap(), 1);
    let limited = Instant::now();
    // One request: the SDK's retry layer (which honours Retry-After) is not in the way.
    assert_eq!(requests(&server).await, 1);

    server.reset().await;
    mount(
        &server,
        OPENAI_PATH,
        openai_ok("After the cooldown.", 10, 5),
    )
    .await;
    let deadline = limited + Duration::from_secs(5);
    let outcome = loop {
        let outcome = s.summarize(&thread()).await.unwrap();
        if outcome.provider == "openai" {
            break outcome;
        }
        assert_eq!(outcome.fallbacks, 1);
        assert_eq!(requests(&server).await, 0, "called during the cooldown");
        assert_eq!(
            s.breaker_states(),
            vec![("openai", 0)],
            "a cooldown is not open"
        );
        assert!(Instant::now() < deadline, "the cooldown never ended");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert!(
        limited.elapsed() >= Duration::from_millis(950),
        "Retry-After: 1 not honoured ({:?})",
        limited.elapsed()
    );
    assert_eq!(outcome.text, "After the cooldown.");
    assert_eq!(requests(&server).await, 1);
    let cooling = logs.lines("cooling down");
    assert_eq!(cooling.len(), 1, "{}", logs.text());
    assert!(cooling[0].contains("retry_after_ms=1000"), "{}", cooling[0]);
}

#[tokio::test]
async fn anthropic_429_with_retry_after_cools_down() {
    let server = MockServer::start().await;
    mount(
        &server,
        ANTHROPIC_PATH,
        anthropic_error(
            429,
            "rate_limit_error",
            "This request would exceed your organization's rate limit.",
        )
        .insert_header("retry-after", "30")
        .insert_header("anthropic-ratelimit-requests-remaining", "0"),
    )
    .await;
    let s = summarizer(vec![anthropic(&server.uri()), extractive()], lenient());
    for _ in 0..3 {
        assert_extractive(&s.summarize(&thread()).await.unwrap(), 1);
    }
    assert_eq!(
        requests(&server).await,
        1,
        "no calls during the 30 s cooldown"
    );
    assert_eq!(s.breaker_states(), vec![("anthropic", 0)]);
}

#[tokio::test]
async fn providers_without_a_key_are_skipped() {
    let openai_server = MockServer::start().await;
    let anthropic_server = MockServer::start().await;
    mount(&openai_server, OPENAI_PATH, openai_ok("unused", 1, 1)).await;
    let s = summarizer(
        vec![
            ProviderConfig {
                api_key: None,
                ..openai(&openai_server.uri())
            },
            ProviderConfig {
                api_key: None,
                ..anthropic(&anthropic_server.uri())
            },
            extractive(),
        ],
        BreakerConfig::default(),
    );
    assert_eq!(s.providers(), vec!["extractive"]);
    assert!(s.breaker_states().is_empty());
    assert_extractive(&s.summarize(&thread()).await.unwrap(), 0);
    assert_eq!(requests(&openai_server).await, 0);
    assert_eq!(requests(&anthropic_server).await, 0);
}

#[test]
fn settings_choose_the_providers_and_their_order() {
    let keys = Secrets {
        openai_api_key: Some("sk-a".into()),
        anthropic_api_key: Some("sk-b".into()),
        ..Secrets::default()
    };
    let config = Config::new(Settings::default(), keys.clone()).unwrap();
    let s = Summarizer::new(&config);
    assert_eq!(s.providers(), vec!["openai", "anthropic", "extractive"]);

    let llm = LlmConfig::from_config(&config);
    assert_eq!(llm.providers[0].base_url, "https://api.openai.com/v1");
    assert_eq!(llm.providers[0].timeout, Duration::from_secs(30));
    assert_eq!(llm.providers[1].base_url, "https://api.anthropic.com");
    assert_eq!(llm.breaker, BreakerConfig::default());

    let mut reordered = Settings::default();
    reordered.llm.summary_providers = " Anthropic , bogus, extractive,anthropic".into();
    let config = Config::new(reordered, keys).unwrap();
    assert_eq!(
        Summarizer::new(&config).providers(),
        vec!["anthropic", "extractive"]
    );

    let no_keys = Config::development(Settings::default()).unwrap();
    assert_eq!(Summarizer::new(&no_keys).providers(), vec!["extractive"]);

    // A key that cannot be a header is refused up front, not a panic on each call.
    let bad = Secrets {
        openai_api_key: Some("sk-a\nb".into()),
        ..Secrets::default()
    };
    let config = Config::new(Settings::default(), bad).unwrap();
    assert_eq!(Summarizer::new(&config).providers(), vec!["extractive"]);
}
