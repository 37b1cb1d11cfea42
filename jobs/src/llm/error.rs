//! How a failed provider call counts: against the provider's health (the breaker) or not.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// Longest Retry-After honoured: a bogus huge value must not disable a provider for days.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3_600);
/// Longest provider error text kept (error bodies can be whole HTML pages).
const MAX_MESSAGE_CHARS: usize = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The provider is unhealthy or overloaded: timeouts, connection errors, 429, 5xx
    /// (Anthropic's 529 included). Recorded as a breaker failure.
    BreakerFailure,
    /// The request or our setup is at fault (400/401/403/404/413, an unreadable answer): the
    /// provider itself is up, so its breaker is left alone.
    NotBreakerFailure,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    pub kind: ErrorKind,
    /// From a 429's (or 503's) `Retry-After`: no calls to this provider until it has passed.
    pub retry_after: Option<Duration>,
    /// HTTP status, when the provider answered.
    pub status: Option<u16>,
    pub message: String,
}

impl ProviderError {
    /// An error answer. `message` is the provider's error text, if it gave one.
    pub fn from_status(status: u16, headers: &HeaderMap, message: &str) -> Self {
        let retry_after = matches!(status, 429 | 503)
            .then(|| retry_after(headers))
            .flatten();
        Self {
            kind: classify_status(status),
            retry_after,
            status: Some(status),
            message: format!("HTTP {status}: {}", clip(message)),
        }
    }

    /// A request that got no (complete) answer.
    pub fn from_reqwest(error: &reqwest::Error) -> Self {
        // Builder errors are our configuration; decode errors an answer we cannot read.
        // Everything else (timeout, connect, reset mid-body) says the provider is not answering.
        let kind = if error.is_builder() || error.is_decode() {
            ErrorKind::NotBreakerFailure
        } else {
            ErrorKind::BreakerFailure
        };
        let what = if error.is_timeout() {
            "timed out"
        } else if error.is_connect() {
            "connection failed"
        } else {
            "request failed"
        };
        Self {
            kind,
            retry_after: None,
            status: error.status().map(|s| s.as_u16()),
            // reqwest's text names the URL, never headers, so no key can leak through it.
            message: clip(&format!("{what}: {error}")),
        }
    }

    /// A 2xx answer we could not use.
    pub fn bad_answer(message: &str) -> Self {
        Self {
            kind: ErrorKind::NotBreakerFailure,
            retry_after: None,
            status: None,
            message: format!("unusable answer: {}", clip(message)),
        }
    }

    /// A provider we cannot even set up (bad key format, TLS initialisation).
    pub fn setup(message: &str) -> Self {
        Self {
            kind: ErrorKind::NotBreakerFailure,
            retry_after: None,
            status: None,
            message: format!("setup failed: {}", clip(message)),
        }
    }

    pub fn is_breaker_failure(&self) -> bool {
        self.kind == ErrorKind::BreakerFailure
    }
}

/// 408, 429 and 5xx (529 included) are the provider's trouble; other statuses are ours.
pub fn classify_status(status: u16) -> ErrorKind {
    match status {
        408 | 429 | 500..=599 => ErrorKind::BreakerFailure,
        _ => ErrorKind::NotBreakerFailure,
    }
}

/// `Retry-After` in seconds (the form both providers send), capped at an hour.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let secs: f64 = value.parse().ok()?;
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    Some(Duration::from_secs_f64(
        secs.min(MAX_RETRY_AFTER.as_secs_f64()),
    ))
}

fn clip(text: &str) -> String {
    forum_domain::rules::summary::truncate_chars(text.trim(), MAX_MESSAGE_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn statuses_are_classified() {
        for s in [408, 429, 500, 502, 503, 504, 529] {
            assert_eq!(classify_status(s), ErrorKind::BreakerFailure, "{s}");
        }
        for s in [400, 401, 403, 404, 413, 422] {
            assert_eq!(classify_status(s), ErrorKind::NotBreakerFailure, "{s}");
        }
    }

    #[test]
    fn retry_after_in_seconds() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let e = ProviderError::from_status(429, &h, "slow down");
        assert_eq!(e.retry_after, Some(Duration::from_secs(7)));
        assert!(e.is_breaker_failure());
        assert_eq!(e.message, "HTTP 429: slow down");
        h.insert(RETRY_AFTER, HeaderValue::from_static("0.5"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(500)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("999999"));
        assert_eq!(retry_after(&h), Some(MAX_RETRY_AFTER));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("-3"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn retry_after_only_counts_on_429_and_503() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("5"));
        assert_eq!(ProviderError::from_status(500, &h, "").retry_after, None);
        assert_eq!(ProviderError::from_status(400, &h, "").retry_after, None);
        assert!(
            ProviderError::from_status(503, &h, "")
                .retry_after
                .is_some()
        );
        assert!(!ProviderError::from_status(401, &h, "bad key").is_breaker_failure());
    }

    #[test]
    fn long_messages_are_clipped() {
        let e = ProviderError::from_status(502, &HeaderMap::new(), &"<html>".repeat(500));
        assert!(e.message.chars().count() < MAX_MESSAGE_CHARS + 20);
    }
}
