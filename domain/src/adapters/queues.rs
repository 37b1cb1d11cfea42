//! Queue state in Redis, for the admin endpoint and the workers' metrics, and dead-job retry.

use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::jobs::{DeadJob, QueueKeys, Topic};
use crate::store::{StoreError, outbox};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueueStats {
    pub queue: String,
    /// Ready to run now.
    pub ready: u64,
    /// Waiting for their time (new delayed jobs and retries).
    pub scheduled: u64,
    /// Held by a worker right now.
    pub running: u64,
    /// Failed at least once and waiting for their next attempt.
    pub retrying: u64,
    /// Out of attempts (or failed for good); retry with `POST /admin/jobs/{id}/retry`.
    pub dead: u64,
    /// The newest dead jobs (at most 50).
    pub dead_jobs: Vec<DeadJobView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeadJobView {
    pub id: Uuid,
    pub attempts: u32,
    pub error: String,
    pub failed_at: chrono::DateTime<chrono::Utc>,
    #[schema(value_type = Object)]
    pub job: serde_json::Value,
}

pub async fn stats(
    redis: &mut ConnectionManager,
    prefix: &str,
    topic: Topic,
    dead_listed: usize,
) -> redis::RedisResult<QueueStats> {
    let keys = QueueKeys::new(prefix, topic);
    let (ready, scheduled, workers, retrying, dead, apalis_dead): (
        u64,
        u64,
        Vec<String>,
        u64,
        u64,
        u64,
    ) = redis::pipe()
        .llen(keys.active())
        .zcard(keys.scheduled())
        .zrange(keys.workers(), 0, -1)
        .hlen(keys.retrying())
        .hlen(keys.dead())
        .scard(keys.apalis_dead())
        .query_async(redis)
        .await?;
    let mut running = 0;
    if !workers.is_empty() {
        let mut pipe = redis::pipe();
        for w in &workers {
            pipe.scard(keys.inflight_of(w));
        }
        let counts: Vec<u64> = pipe.query_async(redis).await?;
        running = counts.iter().sum();
    }
    let mut dead_jobs: Vec<DeadJobView> = Vec::new();
    if dead_listed > 0 && dead > 0 {
        let raw: Vec<String> = redis.hvals(keys.dead()).await?;
        dead_jobs = raw
            .iter()
            .filter_map(|r| serde_json::from_str::<DeadJob>(r).ok())
            .map(|d| DeadJobView {
                id: d.id,
                attempts: d.attempts,
                error: d.error,
                failed_at: d.failed_at,
                job: d.job,
            })
            .collect();
        dead_jobs.sort_by_key(|d| std::cmp::Reverse(d.failed_at));
        dead_jobs.truncate(dead_listed);
    }
    Ok(QueueStats {
        queue: topic.as_str().to_string(),
        ready,
        scheduled,
        running,
        retrying,
        dead: dead + apalis_dead,
        dead_jobs,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    #[error(transparent)]
    Redis(#[from] redis::RedisError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Sends a dead job back through the outbox (so it survives a Redis outage like any new job)
/// and takes it off the dead set. Returns its queue, or `None` when no dead job has this id.
pub async fn retry_dead(
    redis: &mut ConnectionManager,
    db: &PgPool,
    prefix: &str,
    id: Uuid,
) -> Result<Option<Topic>, RetryError> {
    for topic in Topic::ALL {
        let keys = QueueKeys::new(prefix, topic);
        let raw: Option<String> = redis.hget(keys.dead(), id.to_string()).await?;
        let Some(dead) = raw.and_then(|r| serde_json::from_str::<DeadJob>(&r).ok()) else {
            continue;
        };
        outbox::enqueue(db, topic, &dead.job).await?;
        // Removed only after the outbox row exists: a failure in between leaves it listed.
        let _: () = redis.hdel(keys.dead(), id.to_string()).await?;
        return Ok(Some(topic));
    }
    Ok(None)
}
