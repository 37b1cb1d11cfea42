//! Thread summaries from LLM providers, tried in order behind per-provider circuit breakers,
//! with the local extractive summarizer as the last resort.
//!
//! One pass over the providers per summary, no retries: a provider whose breaker refuses or
//! that is cooling down after a 429 is skipped; a failure moves on to the next provider
//! (recorded in the breaker when it says the provider is unhealthy, see `ErrorKind`).

pub mod anthropic;
pub mod completion;
pub mod error;
pub mod openai;

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use forum_domain::rules::breaker::{
    BreakerConfig, BreakerState, CircuitBreaker, Outcome, Permit, Refused,
};
use forum_domain::rules::extractive;
use forum_domain::rules::summary::{Prompt, ThreadInput, build_prompt};
use forum_domain::settings::Config;
use secrecy::SecretString;

pub use completion::Completion;
pub use error::{ErrorKind, ProviderError};

use anthropic::AnthropicProvider;
use openai::OpenAiProvider;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    OpenAi,
    Anthropic,
    Extractive,
}

impl ProviderKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Anthropic => "anthropic",
            Self::Extractive => "extractive",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "openai" => Some(Self::OpenAi),
            "anthropic" => Some(Self::Anthropic),
            "extractive" => Some(Self::Extractive),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub kind: ProviderKind,
    pub base_url: String,
    pub model: String,
    /// `None`: the provider is skipped (the extractive one needs none).
    pub api_key: Option<SecretString>,
    pub timeout: Duration,
    /// USD per million tokens.
    pub price_input_per_mtok: f64,
    pub price_output_per_mtok: f64,
}

#[derive(Debug, Clone)]
pub struct LlmConfig {
    /// In the order they are tried.
    pub providers: Vec<ProviderConfig>,
    /// Each LLM provider gets its own breaker with this configuration.
    pub breaker: BreakerConfig,
    pub max_tokens: u32,
    /// Characters of thread text in the prompt.
    pub input_chars: usize,
    /// Length cap of an extractive summary.
    pub extractive_chars: usize,
}

impl LlmConfig {
    /// From the `FORUM_*` settings; unknown names in `summary_providers` are logged and ignored.
    pub fn from_config(config: &Config) -> Self {
        let s = &config.settings.llm;
        let timeout = Duration::from_millis(s.timeout_ms.max(1));
        let mut providers: Vec<ProviderConfig> = Vec::new();
        for name in s
            .summary_providers
            .split(',')
            .filter(|n| !n.trim().is_empty())
        {
            let Some(kind) = ProviderKind::parse(name) else {
                tracing::warn!(
                    provider = name.trim(),
                    "unknown summary provider in FORUM_SUMMARY_PROVIDERS; ignored"
                );
                continue;
            };
            if providers.iter().any(|p| p.kind == kind) {
                continue;
            }
            providers.push(match kind {
                ProviderKind::OpenAi => ProviderConfig {
                    kind,
                    base_url: s.openai_base_url.clone(),
                    model: s.openai_model.clone(),
                    api_key: config.secrets.openai_api_key.clone(),
                    timeout,
                    price_input_per_mtok: s.openai_price_input_per_mtok,
                    price_output_per_mtok: s.openai_price_output_per_mtok,
                },
                ProviderKind::Anthropic => ProviderConfig {
                    kind,
                    base_url: s.anthropic_base_url.clone(),
                    model: s.anthropic_model.clone(),
                    api_key: config.secrets.anthropic_api_key.clone(),
                    timeout,
                    price_input_per_mtok: s.anthropic_price_input_per_mtok,
                    price_output_per_mtok: s.anthropic_price_output_per_mtok,
                },
                ProviderKind::Extractive => ProviderConfig {
                    kind,
                    base_url: String::new(),
                    model: extractive::MODEL.to_string(),
                    api_key: None,
                    timeout,
                    price_input_per_mtok: 0.0,
                    price_output_per_mtok: 0.0,
                },
            });
        }
        Self {
            providers,
            breaker: BreakerConfig {
                window: Duration::from_secs(s.breaker_window_secs.max(1)),
                min_calls: s.breaker_min_calls.max(1),
                failure_ratio: s.breaker_failure_ratio.clamp(0.01, 1.0),
                open_for: Duration::from_secs(s.breaker_open_secs),
                half_open_probes: s.breaker_half_open_probes.max(1),
            },
            max_tokens: s.summary_max_tokens.max(1),
            input_chars: s.summary_input_chars,
            extractive_chars: s.summary_extractive_chars,
        }
    }
}

/// A summary and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryOutcome {
    pub text: String,
    /// "openai", "anthropic" or "extractive".
    pub provider: &'static str,
    /// As reported by the provider (e.g. a dated model version), or `extractive-v1`.
    pub model: String,
    pub input_tokens: u32,
    pub output_tokens: u32,
    /// Estimate from the configured prices.
    pub cost_usd: f64,
    /// Providers before this one that were skipped or failed.
    pub fallbacks: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum SummarizeError {
    #[error("no summary provider is configured")]
    NoProviders,
    #[error("no summary provider answered: {}", describe(.0))]
    Unavailable(Vec<(&'static str, String)>),
}

fn describe(attempts: &[(&'static str, String)]) -> String {
    attempts
        .iter()
        .map(|(provider, why)| format!("{provider}: {why}"))
        .collect::<Vec<_>>()
        .join("; ")
}

enum Backend {
    OpenAi(OpenAiProvider),
    Anthropic(AnthropicProvider),
    Extractive,
}

struct Provider {
    name: &'static str,
    backend: Backend,
    breaker: Mutex<CircuitBreaker>,
    price_input_per_mtok: f64,
    price_output_per_mtok: f64,
}

impl Provider {
    /// Runs `f` on the breaker and logs the state change it caused, if any.
    fn with_breaker<T>(&self, f: impl FnOnce(&mut CircuitBreaker) -> T) -> T {
        // A panic elsewhere while holding the lock leaves a consistent breaker: keep using it.
        let mut breaker = self.breaker.lock().unwrap_or_else(PoisonError::into_inner);
        let before = breaker.state();
        let out = f(&mut breaker);
        let after = breaker.state();
        let open_for = breaker.config().open_for;
        drop(breaker);
        if before.code() != after.code() {
            log_transition(self.name, before, after, open_for);
        }
        out
    }

    fn cost(&self, c: &Completion) -> f64 {
        (f64::from(c.input_tokens) * self.price_input_per_mtok
            + f64::from(c.output_tokens) * self.price_output_per_mtok)
            / 1_000_000.0
    }

    async fn complete(&self, prompt: &Prompt) -> Result<Completion, ProviderError> {
        match &self.backend {
            Backend::OpenAi(p) => p.complete(prompt).await,
            Backend::Anthropic(p) => p.complete(prompt).await,
            Backend::Extractive => Err(ProviderError::setup("not an LLM provider")),
        }
    }
}

fn log_transition(
    provider: &'static str,
    from: BreakerState,
    to: BreakerState,
    open_for: Duration,
) {
    let from = from.name();
    match to {
        BreakerState::Open { .. } => tracing::info!(
            provider,
            from,
            open_for_ms = u64::try_from(open_for.as_millis()).unwrap_or(u64::MAX),
            "circuit breaker opened"
        ),
        BreakerState::HalfOpen { .. } => {
            tracing::info!(provider, from, "circuit breaker half-open: probing")
        }
        BreakerState::Closed => tracing::info!(provider, from, "circuit breaker closed"),
    }
}

/// A call's permit, handed back when the call ends however it ends: dropping the guard (the
/// summary future was cancelled mid-call) releases it so a probe slot cannot leak.
struct PermitGuard<'a> {
    provider: &'a Provider,
    permit: Option<Permit>,
}

impl PermitGuard<'_> {
    fn finish(mut self, outcome: Option<Outcome>) {
        if let Some(permit) = self.permit.take() {
            let now = Instant::now();
            self.provider.with_breaker(|b| match outcome {
                Some(outcome) => b.record(now, permit, outcome),
                None => b.release(permit),
            });
        }
    }
}

impl Drop for PermitGuard<'_> {
    fn drop(&mut self) {
        if let Some(permit) = self.permit.take() {
            self.provider.with_breaker(|b| b.release(permit));
        }
    }
}

/// Produces thread summaries. Share one per process (`Arc`): the breakers live in it.
pub struct Summarizer {
    providers: Vec<Provider>,
    input_chars: usize,
    extractive_chars: usize,
}

impl Summarizer {
    pub fn new(config: &Config) -> Self {
        Self::from_llm_config(LlmConfig::from_config(config))
    }

    /// Providers without an API key, or that cannot be set up, are left out (and logged).
    pub fn from_llm_config(config: LlmConfig) -> Self {
        let mut providers = Vec::new();
        for p in &config.providers {
            let name = p.kind.name();
            let backend = match (p.kind, &p.api_key) {
                (ProviderKind::Extractive, _) => Ok(Backend::Extractive),
                (_, None) => {
                    tracing::info!(provider = name, "no API key set; summary provider skipped");
                    continue;
                }
                (ProviderKind::OpenAi, Some(key)) => {
                    OpenAiProvider::new(&p.base_url, key, &p.model, p.timeout, config.max_tokens)
                        .map(Backend::OpenAi)
                }
                (ProviderKind::Anthropic, Some(key)) => {
                    AnthropicProvider::new(&p.base_url, key, &p.model, p.timeout, config.max_tokens)
                        .map(Backend::Anthropic)
                }
            };
            match backend {
                Ok(backend) => providers.push(Provider {
                    name,
                    backend,
                    breaker: Mutex::new(CircuitBreaker::new(config.breaker)),
                    price_input_per_mtok: p.price_input_per_mtok,
                    price_output_per_mtok: p.price_output_per_mtok,
                }),
                Err(e) => {
                    tracing::error!(provider = name, error = %e, "summary provider left out");
                }
            }
        }
        Self {
            providers,
            input_chars: config.input_chars,
            extractive_chars: config.extractive_chars,
        }
    }

    /// The providers in use, in the order they are tried.
    pub fn providers(&self) -> Vec<&'static str> {
        self.providers.iter().map(|p| p.name).collect()
    }

    /// Breaker state per LLM provider for the metrics gauge: 0 closed, 1 half-open, 2 open.
    pub fn breaker_states(&self) -> Vec<(&'static str, u8)> {
        self.providers
            .iter()
            .filter(|p| !matches!(p.backend, Backend::Extractive))
            .map(|p| (p.name, p.with_breaker(|b| b.state_code())))
            .collect()
    }

    pub async fn summarize(&self, input: &ThreadInput) -> Result<SummaryOutcome, SummarizeError> {
        if self.providers.is_empty() {
            return Err(SummarizeError::NoProviders);
        }
        let mut prompt: Option<Prompt> = None;
        let mut passed: Vec<(&'static str, String)> = Vec::new();
        for provider in &self.providers {
            let fallbacks = u32::try_from(passed.len()).unwrap_or(u32::MAX);
            if let Backend::Extractive = provider.backend {
                let text = extractive::summarize(input, self.extractive_chars);
                return Ok(SummaryOutcome {
                    text,
                    provider: provider.name,
                    model: extractive::MODEL.to_string(),
                    input_tokens: 0,
                    output_tokens: 0,
                    cost_usd: 0.0,
                    fallbacks,
                });
            }
            let permit = match provider.with_breaker(|b| b.try_acquire(Instant::now())) {
                Ok(permit) => permit,
                Err(refused) => {
                    let why = match refused {
                        Refused::Open { .. } => "circuit open",
                        Refused::ProbesBusy => "circuit half-open, probes busy",
                        Refused::Cooldown { .. } => "cooling down after a 429",
                    };
                    tracing::debug!(provider = provider.name, why, "summary provider skipped");
                    passed.push((provider.name, why.to_string()));
                    continue;
                }
            };
            let guard = PermitGuard {
                provider,
                permit: Some(permit),
            };
            let prompt = prompt.get_or_insert_with(|| build_prompt(input, self.input_chars));
            match provider.complete(prompt).await {
                Ok(completion) => {
                    guard.finish(Some(Outcome::Success));
                    let cost_usd = provider.cost(&completion);
                    return Ok(SummaryOutcome {
                        text: completion.text,
                        provider: provider.name,
                        model: completion.model,
                        input_tokens: completion.input_tokens,
                        output_tokens: completion.output_tokens,
                        cost_usd,
                        fallbacks,
                    });
                }
                Err(e) => {
                    // A request the provider rejected says nothing about its health: the
                    // permit goes back without an outcome.
                    let outcome = e.is_breaker_failure().then_some(Outcome::Failure);
                    guard.finish(outcome);
                    if let Some(wait) = e.retry_after {
                        let until = Instant::now() + wait;
                        provider.with_breaker(|b| b.cooldown_until(until));
                        tracing::info!(
                            provider = provider.name,
                            retry_after_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                            "summary provider rate limited; cooling down"
                        );
                    }
                    tracing::warn!(
                        provider = provider.name,
                        status = e.status,
                        breaker_failure = e.is_breaker_failure(),
                        error = %e,
                        "summary provider failed"
                    );
                    passed.push((provider.name, e.message));
                }
            }
        }
        Err(SummarizeError::Unavailable(passed))
    }
}
