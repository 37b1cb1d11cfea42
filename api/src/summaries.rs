//! Thread summaries on the API side: serve a current one, else queue one job per post.

use std::time::Duration;

use actix_web::HttpRequest;
use chrono::{DateTime, Utc};
use forum_domain::store::summaries::{self, SummaryState};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::limits::Bucket;
use crate::state::AppState;

/// How long a post's summary state stays cached; every write to the thread drops it.
const CACHE_TTL: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Serialize, ToSchema)]
pub struct Summary {
    pub summary: String,
    /// `openai`, `anthropic` or `extractive` (local, no network).
    pub provider: String,
    pub model: String,
    pub generated_at: DateTime<Utc>,
    /// The post's comment count when the summary was made.
    pub comment_count_at: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Pending {
    /// Always `pending`: a job is queued; ask again shortly.
    pub status: &'static str,
}

pub enum Answer {
    Ready(Summary),
    Pending,
}

pub fn key(state: &AppState, post: Uuid) -> String {
    state
        .cache
        .key(&forum_domain::cache_keys::summary_state(post))
}

pub async fn get(
    state: &AppState,
    user: Option<&AuthUser>,
    req: &HttpRequest,
    post: Uuid,
) -> ApiResult<Answer> {
    let key = key(state, post);
    let cached: Option<SummaryState> = state.cache.get(&state.metrics, "summary", &key).await;
    let st = match cached {
        Some(st) => st,
        None => {
            let st = summaries::state(&state.db, post)
                .await?
                .ok_or_else(|| ApiError::not_found("No such post."))?;
            state.cache.put(&state.metrics, &key, &st, CACHE_TTL).await;
            st
        }
    };
    if !st.visible {
        return Err(ApiError::not_found("The post was deleted or removed."));
    }
    let s = &state.config.settings;
    if st.is_current(
        Utc::now(),
        s.llm.summary_regenerate_after_changes,
        s.llm.summary_min_interval_secs,
    ) && let (Some(summary), Some(provider), Some(model), Some(generated_at)) =
        (st.summary, st.provider, st.model, st.generated_at)
    {
        return Ok(Answer::Ready(Summary {
            summary,
            provider,
            model,
            generated_at,
            comment_count_at: st.comment_count_at.unwrap_or(0),
        }));
    }
    let subject = match user {
        Some(u) => u.user_id.to_string(),
        None => state.limits.client_ip(req).to_string(),
    };
    // Only a request that queues work spends the quota; the row lock makes one request win.
    state
        .limits
        .check(&state.metrics, req, Bucket::Summaries, &subject)
        .await?;
    summaries::request(&state.db, post, s.llm.summary_pending_secs).await?;
    Ok(Answer::Pending)
}

/// After a comment: every `summary_auto_every_comments` comments the thread is summarized on
/// its own, within a site-wide hourly budget.
pub async fn on_new_comment(state: &AppState, post: Uuid, comment_count: i32) {
    let s = &state.config.settings;
    let every = s.llm.summary_auto_every_comments;
    if every <= 0 || comment_count <= 0 || comment_count % every != 0 {
        return;
    }
    let hour = Utc::now().format("%Y%m%d%H");
    let budget_key = state.cache.key(&format!("summaries:auto:{hour}"));
    let mut redis = state.redis.clone();
    let spent: Result<(u32, ()), _> = redis::pipe()
        .incr(&budget_key, 1)
        .expire(&budget_key, 3600)
        .query_async(&mut redis)
        .await;
    match spent {
        Ok((n, ())) if n <= s.llm.summary_auto_per_hour => {
            if let Err(e) = summaries::request(&state.db, post, s.llm.summary_pending_secs).await {
                tracing::warn!(error = %e, %post, "queueing an automatic summary");
            }
        }
        Ok(_) => tracing::debug!(%post, "automatic summary budget spent for this hour"),
        Err(e) => tracing::warn!(error = %e, "summary budget unavailable"),
    }
}
