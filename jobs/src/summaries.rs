//! The `summaries` queue: summarize a thread through the providers (see `llm`), store it.

use std::sync::Arc;
use std::time::Instant;

use forum_domain::cache_keys;
use forum_domain::jobs::{Envelope, SummaryJob, Topic};
use forum_domain::rules::summary::content_hash;
use forum_domain::store::summaries::{self, NewSummary};
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use sqlx::PgPool;

use crate::llm::Summarizer;
use crate::metrics::Metrics;
use crate::queue::{Handler, JobError};

pub struct SummaryHandler {
    pub db: PgPool,
    /// Shared by every job of the process: the breakers live in it.
    pub summarizer: Arc<Summarizer>,
    pub redis: ConnectionManager,
    pub prefix: String,
    pub max_comments: i64,
    pub metrics: Arc<Metrics>,
}

impl SummaryHandler {
    async fn forget_cached(&self, post: uuid::Uuid) {
        let key = format!("{}{}", self.prefix, cache_keys::summary_state(post));
        let _: Result<(), _> = self.redis.clone().del(key).await;
    }

    fn export_breakers(&self) {
        for (provider, state) in self.summarizer.breaker_states() {
            self.metrics
                .breaker_state
                .with_label_values(&[provider])
                .set(f64::from(state));
        }
    }
}

impl Handler for SummaryHandler {
    type Job = SummaryJob;
    const TOPIC: Topic = Topic::Summaries;

    async fn handle(&self, envelope: &Envelope<SummaryJob>) -> Result<(), JobError> {
        let post = envelope.job.post_id;
        let Some((input, changes, comment_count)) =
            summaries::thread_input(&self.db, post, self.max_comments)
                .await
                .map_err(JobError::retry)?
        else {
            summaries::release(&self.db, post)
                .await
                .map_err(JobError::retry)?;
            return Ok(());
        };
        let hash = content_hash(&input);
        let stored = summaries::state(&self.db, post)
            .await
            .map_err(JobError::retry)?;
        if let Some(st) = stored
            && st.summary.is_some()
            && st.content_hash.as_deref() == Some(hash.as_str())
        {
            // Same text as last time (e.g. an edit that changed nothing): no provider call.
            summaries::still_current(&self.db, post, comment_count, changes)
                .await
                .map_err(JobError::retry)?;
            self.forget_cached(post).await;
            self.metrics
                .summaries
                .with_label_values(&["none", "unchanged"])
                .inc();
            return Ok(());
        }
        let started = Instant::now();
        let result = self.summarizer.summarize(&input).await;
        self.export_breakers();
        let outcome = match result {
            Ok(o) => o,
            Err(e) => {
                self.metrics
                    .summaries
                    .with_label_values(&["none", "failed"])
                    .inc();
                return Err(JobError::retry(e));
            }
        };
        let p = outcome.provider;
        self.metrics
            .provider_latency
            .with_label_values(&[p])
            .observe(started.elapsed().as_secs_f64());
        self.metrics.summaries.with_label_values(&[p, "ok"]).inc();
        self.metrics
            .tokens
            .with_label_values(&[p, "input"])
            .inc_by(u64::from(outcome.input_tokens));
        self.metrics
            .tokens
            .with_label_values(&[p, "output"])
            .inc_by(u64::from(outcome.output_tokens));
        self.metrics
            .cost
            .with_label_values(&[p])
            .inc_by(outcome.cost_usd);
        if outcome.fallbacks > 0 {
            self.metrics.fallbacks.inc();
        }
        summaries::store(
            &self.db,
            post,
            NewSummary {
                summary: &outcome.text,
                provider: p,
                model: &outcome.model,
                input_tokens: i32::try_from(outcome.input_tokens).unwrap_or(i32::MAX),
                output_tokens: i32::try_from(outcome.output_tokens).unwrap_or(i32::MAX),
                cost_usd: outcome.cost_usd,
                content_hash: &hash,
                comment_count_at: comment_count,
                changes_at: changes,
            },
        )
        .await
        .map_err(JobError::retry)?;
        self.forget_cached(post).await;
        tracing::info!(%post, provider = p, model = outcome.model, input_tokens = outcome.input_tokens,
            output_tokens = outcome.output_tokens, fallbacks = outcome.fallbacks, "thread summarized");
        Ok(())
    }
}
