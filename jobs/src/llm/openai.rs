//! OpenAI chat completions through `async-openai`, without its retries.
//!
//! async-openai 0.43 retries by default: `Client::new`, `with_config`, `build` and
//! `with_http_client` all wrap the transport in its `OpenAIRetryLayer` (3 retries of 429, 5xx
//! and connect errors, exponential backoff or Retry-After). Our breaker/fallback loop must be
//! the only retry loop, so we install our own transport with `with_http_service` (feature
//! `middleware`), which replaces that layer. The transport also turns error answers into a
//! `ProviderError` itself, because the SDK's error type drops the response headers and with
//! them `Retry-After`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::{OpenAIError, WrappedError};
use async_openai::middleware::HttpRequestFactory;
use async_openai::types::chat::{
    ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
    CreateChatCompletionRequestArgs,
};
use forum_domain::rules::summary::Prompt;
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

use super::completion::Completion;
use super::error::ProviderError;

pub struct OpenAiProvider {
    client: Client<OpenAIConfig>,
    model: String,
    max_tokens: u32,
}

impl OpenAiProvider {
    /// `base_url` up to and excluding `/chat/completions`, e.g. `https://api.openai.com/v1`.
    pub fn new(
        base_url: &str,
        api_key: &SecretString,
        model: &str,
        timeout: Duration,
        max_tokens: u32,
    ) -> Result<Self, ProviderError> {
        // The SDK builds the Authorization header with `parse().unwrap()`: a key with a newline
        // (pasted from a file) would panic on every call, so refuse it here instead.
        if HeaderValue::from_str(&format!("Bearer {}", api_key.expose_secret())).is_err() {
            return Err(ProviderError::setup(
                "the OpenAI API key has characters not allowed in an HTTP header",
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| ProviderError::setup(&e.to_string()))?;
        // Explicit org and project: `OpenAIConfig::new()` would pick up OPENAI_ORG_ID and
        // OPENAI_PROJECT_ID from the environment and send them.
        let config = OpenAIConfig::new()
            .with_api_base(base_url.trim_end_matches('/'))
            .with_api_key(api_key.expose_secret())
            .with_org_id("")
            .with_project_id("");
        // `build` would install the retry layer; `with_http_service` replaces it. The same
        // client builds the requests and sends them, so its timeout applies.
        let client = Client::build(http.clone(), config).with_http_service(Transport { http });
        Ok(Self {
            client,
            model: model.to_string(),
            max_tokens,
        })
    }

    pub async fn complete(&self, prompt: &Prompt) -> Result<Completion, ProviderError> {
        let request = CreateChatCompletionRequestArgs::default()
            .model(self.model.clone())
            .messages(vec![
                ChatCompletionRequestSystemMessage::from(prompt.system).into(),
                ChatCompletionRequestUserMessage::from(prompt.user.clone()).into(),
            ])
            .max_completion_tokens(self.max_tokens)
            .build()
            .map_err(|e| ProviderError::bad_answer(&e.to_string()))?;
        let response = self.client.chat().create(request).await.map_err(from_sdk)?;
        let text = response
            .choices
            .into_iter()
            .next()
            .and_then(|c| c.message.content)
            .map(|t| t.trim().to_string())
            .unwrap_or_default();
        if text.is_empty() {
            return Err(ProviderError::bad_answer("no text in the completion"));
        }
        let (input_tokens, output_tokens) = response
            .usage
            .map_or((0, 0), |u| (u.prompt_tokens, u.completion_tokens));
        Ok(Completion {
            text,
            model: response.model,
            input_tokens,
            output_tokens,
        })
    }
}

fn from_sdk(error: OpenAIError) -> ProviderError {
    match error {
        OpenAIError::Boxed(boxed) => match boxed.downcast::<ProviderError>() {
            Ok(ours) => *ours,
            Err(other) => ProviderError::bad_answer(&other.to_string()),
        },
        OpenAIError::Reqwest(e) => ProviderError::from_reqwest(&e),
        // Our transport hands every non-2xx answer back as a ProviderError, so an ApiError
        // here would come from a 2xx: treat it like any other unreadable answer.
        other => ProviderError::bad_answer(&other.to_string()),
    }
}

/// Sends the SDK's requests once, and returns non-2xx answers as a `ProviderError` carrying
/// status, `Retry-After` and the error message of OpenAI's `{"error": {...}}` body.
#[derive(Clone)]
struct Transport {
    http: reqwest::Client,
}

type TransportFuture =
    Pin<Box<dyn Future<Output = Result<reqwest::Response, OpenAIError>> + Send + 'static>>;

impl tower::Service<HttpRequestFactory> for Transport {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = TransportFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, factory: HttpRequestFactory) -> Self::Future {
        let http = self.http.clone();
        Box::pin(async move {
            let request = factory.build().await?;
            let response = http.execute(request).await?;
            let status = response.status();
            if status.is_success() {
                return Ok(response);
            }
            let headers = response.headers().clone();
            let body = response.text().await.unwrap_or_default();
            let message = serde_json::from_str::<WrappedError>(&body)
                .map(|w| w.error.message)
                .unwrap_or(body);
            let error = ProviderError::from_status(status.as_u16(), &headers, &message);
            Err(OpenAIError::Boxed(Box::new(error)))
        })
    }
}
