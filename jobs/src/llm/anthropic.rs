//! Anthropic's Messages API over plain reqwest (no SDK, so nothing retries behind our back).

use std::time::Duration;

use forum_domain::rules::summary::Prompt;
use reqwest::header::{HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::completion::Completion;
use super::error::ProviderError;

pub const API_VERSION: &str = "2023-06-01";

pub struct AnthropicProvider {
    http: reqwest::Client,
    url: String,
    model: String,
    max_tokens: u32,
}

#[derive(Deserialize)]
struct MessagesResponse {
    model: String,
    content: Vec<ContentBlock>,
    usage: Usage,
}

#[derive(Deserialize)]
struct ContentBlock {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    input_tokens: u32,
    output_tokens: u32,
}

/// `{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}`
#[derive(Deserialize)]
struct ErrorResponse {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(rename = "type")]
    kind: String,
    message: String,
}

impl AnthropicProvider {
    /// `base_url` without the `/v1/messages` path, e.g. `https://api.anthropic.com`.
    pub fn new(
        base_url: &str,
        api_key: &SecretString,
        model: &str,
        timeout: Duration,
        max_tokens: u32,
    ) -> Result<Self, ProviderError> {
        let mut key = HeaderValue::from_str(api_key.expose_secret()).map_err(|_| {
            ProviderError::setup(
                "the Anthropic API key has characters not allowed in an HTTP header",
            )
        })?;
        // Kept out of reqwest's and hyper's debug output.
        key.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", key);
        headers.insert("anthropic-version", HeaderValue::from_static(API_VERSION));
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .default_headers(headers)
            .build()
            .map_err(|e| ProviderError::setup(&e.to_string()))?;
        Ok(Self {
            http,
            url: format!("{}/v1/messages", base_url.trim_end_matches('/')),
            model: model.to_string(),
            max_tokens,
        })
    }

    pub async fn complete(&self, prompt: &Prompt) -> Result<Completion, ProviderError> {
        let body = serde_json::json!({
            "model": self.model,
            "max_tokens": self.max_tokens,
            "system": prompt.system,
            "messages": [{"role": "user", "content": prompt.user}],
        });
        // `.json()` also sets `content-type: application/json`.
        let response = self
            .http
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .map_err(|e| ProviderError::from_reqwest(&e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| ProviderError::from_reqwest(&e))?;
        if !status.is_success() {
            let message = match serde_json::from_slice::<ErrorResponse>(&bytes) {
                Ok(e) => format!("{}: {}", e.error.kind, e.error.message),
                Err(_) => String::from_utf8_lossy(&bytes).into_owned(),
            };
            return Err(ProviderError::from_status(
                status.as_u16(),
                &headers,
                &message,
            ));
        }
        let answer: MessagesResponse = serde_json::from_slice(&bytes)
            .map_err(|e| ProviderError::bad_answer(&format!("not a Messages response: {e}")))?;
        let text = answer
            .content
            .into_iter()
            .find(|block| block.kind == "text")
            .and_then(|block| block.text)
            .map(|t| t.trim().to_string())
            .unwrap_or_default();
        if text.is_empty() {
            return Err(ProviderError::bad_answer("no text in the message"));
        }
        Ok(Completion {
            text,
            model: answer.model,
            input_tokens: answer.usage.input_tokens,
            output_tokens: answer.usage.output_tokens,
        })
    }
}
