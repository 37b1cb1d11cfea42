//! One apalis worker per queue, with our retry policy around every handler.
//!
//! apalis-redis retries failed jobs at `now + attempt` seconds, up to 25 times, with no jitter
//! (see STACK.md). So handlers never fail towards apalis: a failed attempt is pushed back into
//! the queue's scheduled set at `now + backoff` (no worker slot sleeps) with its attempt count
//! in our envelope, and after the last attempt the job is written to our dead set, which admins
//! list and retry. apalis sees every run as done; `cleanup` deletes done jobs on a schedule.

use std::sync::Arc;
use std::time::{Duration, Instant};

use apalis::prelude::*;
use apalis_redis::RedisStorage;
use forum_domain::jobs::{DeadJob, Envelope, QueueKeys, Topic, backoff};
use forum_domain::settings::Config;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::metrics::Metrics;

/// How one attempt ended.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth another attempt (network, a service down, a timeout).
    #[error("{0}")]
    Retry(String),
    /// Will never succeed (bad input): straight to the dead set.
    #[error("{0}")]
    Fail(String),
}

impl JobError {
    pub fn retry(e: impl std::fmt::Display) -> Self {
        JobError::Retry(e.to_string())
    }
    pub fn fail(e: impl std::fmt::Display) -> Self {
        JobError::Fail(e.to_string())
    }
}

/// A queue's consumer.
pub trait Handler: Send + Sync + 'static {
    type Job: Serialize + DeserializeOwned + Clone + Send + Sync + Unpin + 'static;
    const TOPIC: Topic;
    fn handle(
        &self,
        envelope: &Envelope<Self::Job>,
    ) -> impl Future<Output = Result<(), JobError>> + Send;
}

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub concurrency: usize,
    pub timeout: Duration,
    pub max_attempts: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

impl Policy {
    pub fn for_topic(config: &Config, topic: Topic) -> Policy {
        let s = &config.settings;
        let (concurrency, timeout, max_attempts) = match topic {
            Topic::Email => (
                s.jobs.email_concurrency,
                s.jobs.email_timeout_secs,
                s.jobs.email_max_attempts,
            ),
            Topic::Images => (
                s.jobs.images_concurrency,
                s.jobs.images_timeout_secs,
                s.jobs.images_max_attempts,
            ),
            Topic::Summaries => (
                s.jobs.summaries_concurrency,
                s.jobs.summaries_timeout_secs,
                s.jobs.summaries_max_attempts,
            ),
            Topic::Probe => (s.jobs.probe_concurrency, 3600, 1),
        };
        Policy {
            concurrency,
            timeout: Duration::from_secs(timeout.max(1)),
            max_attempts: max_attempts.max(1),
            backoff_base: Duration::from_millis(s.jobs.backoff_base_ms),
            backoff_max: Duration::from_secs(s.jobs.backoff_max_secs),
        }
    }
}

/// The apalis storage of `topic`, under this deployment's key prefix.
pub async fn storage<T>(config: &Config, topic: Topic) -> anyhow::Result<RedisStorage<T>> {
    let conn = apalis_redis::connect(config.settings.redis.url.as_str()).await?;
    Ok(storage_on(conn, config, topic))
}

pub fn storage_on<T>(conn: ConnectionManager, config: &Config, topic: Topic) -> RedisStorage<T> {
    let keys = QueueKeys::new(&config.settings.redis.prefix, topic);
    let s = &config.settings;
    let beat = s.jobs.heartbeat_ms.max(50);
    // apalis declares a worker dead after `missed` beats; the beat also paces how soon an idle
    // worker looks for new jobs, so the two are set apart (apalis defaults: 30 s x 10).
    let missed = (s.jobs.orphan_after_secs * 1000 / beat).max(2);
    let storage_config = apalis_redis::Config::default()
        .queue(keys.queue)
        .heartbeat_interval(Duration::from_millis(beat))
        .missed_heartbeats(usize::try_from(missed).unwrap_or(usize::MAX))
        .batch_size(32);
    RedisStorage::new(conn).with_config(storage_config)
}

/// Everything a worker's handler function needs.
pub struct Runtime<H: Handler> {
    pub handler: H,
    pub policy: Policy,
    pub keys: QueueKeys,
    pub storage: RedisStorage<Envelope<H::Job>>,
    pub redis: ConnectionManager,
    pub metrics: Arc<Metrics>,
}

async fn run_one<H: Handler>(
    envelope: Envelope<H::Job>,
    rt: Data<Arc<Runtime<H>>>,
) -> Result<(), BoxDynError> {
    let queue = H::TOPIC.as_str();
    let started = Instant::now();
    let outcome = match tokio::time::timeout(rt.policy.timeout, rt.handler.handle(&envelope)).await
    {
        Ok(outcome) => outcome,
        Err(_) => Err(JobError::Retry(format!(
            "timed out after {} s",
            rt.policy.timeout.as_secs()
        ))),
    };
    rt.metrics.observe_duration(queue, started.elapsed());
    let mut redis = rt.redis.clone();
    match outcome {
        Ok(()) => {
            rt.metrics.job(queue, "done");
            if envelope.attempt > 0 {
                let _: Result<(), _> = redis
                    .hdel(rt.keys.retrying(), envelope.id.to_string())
                    .await;
            }
            Ok(())
        }
        Err(JobError::Retry(error)) if envelope.attempt + 1 < rt.policy.max_attempts => {
            let delay = backoff(
                envelope.attempt,
                rt.policy.backoff_base,
                rt.policy.backoff_max,
                rand::random::<f64>(),
            );
            tracing::warn!(queue, id = %envelope.id, attempt = envelope.attempt + 1, %error,
                retry_in_ms = delay.as_millis() as u64, "job failed; retrying later");
            let id = envelope.id;
            let next = Envelope {
                attempt: envelope.attempt + 1,
                ..envelope
            };
            let task = TaskBuilder::new(next).run_after(delay).build();
            // If Redis refuses, fail towards apalis: its own retry is better than losing it.
            rt.storage.clone().push_task(task).await?;
            let _: () = redis
                .hset(rt.keys.retrying(), id.to_string(), &error)
                .await?;
            rt.metrics.job(queue, "retried");
            Ok(())
        }
        Err(e) => {
            let error = e.to_string();
            tracing::error!(queue, id = %envelope.id, attempts = envelope.attempt + 1, %error,
                "job failed for good; moved to the dead set");
            let dead = DeadJob {
                id: envelope.id,
                queue: queue.to_string(),
                attempts: envelope.attempt + 1,
                error,
                failed_at: chrono::Utc::now(),
                job: serde_json::to_value(&envelope.job)?,
            };
            let _: () = redis
                .hset(
                    rt.keys.dead(),
                    envelope.id.to_string(),
                    serde_json::to_string(&dead)?,
                )
                .await?;
            let _: () = redis
                .hdel(rt.keys.retrying(), envelope.id.to_string())
                .await?;
            rt.metrics.job(queue, "dead");
            Ok(())
        }
    }
}

/// Runs `handler`'s worker until `stop` turns true, rebuilding it (with a fresh name) when its
/// backend fails. In-flight jobs get `grace` to finish after the stop; jobs still running then
/// stay in this worker's in-flight set and are re-run by the next live worker.
pub async fn supervise<H: Handler>(
    config: Config,
    handler: H,
    metrics: Arc<Metrics>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let topic = H::TOPIC;
    let policy = Policy::for_topic(&config, topic);
    if policy.concurrency == 0 {
        return;
    }
    let grace = Duration::from_secs(config.settings.jobs.shutdown_grace_secs);
    let Some(conn) = connect_until_up(&config, stop.clone()).await else {
        return;
    };
    let rt = Arc::new(Runtime {
        handler,
        policy,
        keys: QueueKeys::new(&config.settings.redis.prefix, topic),
        storage: storage_on(conn.clone(), &config, topic),
        redis: conn,
        metrics,
    });
    let mut failures = 0u32;
    while !*stop.borrow() {
        let Some(conn) = connect_until_up(&config, stop.clone()).await else {
            break;
        };
        // A unique name per run: apalis re-queues a dead worker's jobs only for names that
        // stopped heart-beating, and refuses a name that is still fresh.
        let name = format!("{}-{}", topic.as_str(), uuid::Uuid::now_v7());
        let worker = WorkerBuilder::new(name)
            .backend(storage_on::<Envelope<H::Job>>(conn, &config, topic))
            .data(rt.clone())
            .concurrency(policy.concurrency)
            .build(run_one::<H>);
        let mut stopped = stop.clone();
        let run = worker.run_until(async move {
            let _ = stopped.wait_for(|s| *s).await;
            Ok::<(), std::io::Error>(())
        });
        tokio::pin!(run);
        let result = tokio::select! {
            r = &mut run => r,
            _ = async { let _ = stop.wait_for(|s| *s).await; } => {
                match tokio::time::timeout(grace, &mut run).await {
                    Ok(r) => r,
                    Err(_) => {
                        tracing::warn!(queue = topic.as_str(), "grace period over; unfinished jobs return to the queue");
                        return;
                    }
                }
            }
        };
        match result {
            Ok(()) => break,
            Err(e) => {
                failures = failures.saturating_add(1);
                tracing::warn!(queue = topic.as_str(), error = %e, failures, "worker stopped; restarting");
                tokio::time::sleep(Duration::from_millis(200) * failures.min(25)).await;
            }
        }
    }
}

/// A Redis connection, retried while Redis is down; `None` once told to stop.
pub async fn connect_until_up(
    config: &Config,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Option<ConnectionManager> {
    let mut wait = Duration::from_millis(100);
    loop {
        if *stop.borrow() {
            return None;
        }
        match apalis_redis::connect(config.settings.redis.url.as_str()).await {
            Ok(conn) => return Some(conn),
            Err(e) => {
                tracing::warn!(error = %e, "Redis unavailable; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Deletes finished jobs of every queue, so Redis memory stays bounded.
pub async fn cleanup(redis: &mut ConnectionManager, prefix: &str) -> redis::RedisResult<u64> {
    let script = redis::Script::new(include_str!("lua/cleanup.lua"));
    let mut total = 0;
    for topic in Topic::ALL {
        let keys = QueueKeys::new(prefix, topic);
        loop {
            let n: u64 = script
                .key(keys.done())
                .key(keys.data())
                .key(keys.meta_prefix())
                .arg(1000)
                .invoke_async(redis)
                .await?;
            total += n;
            if n < 1000 {
                break;
            }
        }
    }
    Ok(total)
}
