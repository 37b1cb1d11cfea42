//! The outbox relay: moves rows written by the API into the job queues, at least once.
//!
//! Rows are claimed with `FOR UPDATE SKIP LOCKED` inside a transaction, pushed, and marked sent
//! in the same transaction. If Redis is unreachable the push fails, the transaction rolls back
//! and the rows wait for the next round: nothing is lost. Several relays may run at once.

use std::collections::HashMap;
use std::time::Duration;

use apalis::prelude::TaskSink;
use apalis_redis::RedisStorage;
use forum_domain::jobs::{Envelope, Topic};
use forum_domain::store::outbox;
use sqlx::PgPool;

/// Rows per round: bounded so one push stays small (apalis-redis moves scheduled ids with one
/// Lua `unpack`, which breaks past a few thousand).
const BATCH: i64 = 200;

/// Jobs a queue may hold waiting before the relay stops feeding it. apalis-redis promotes every
/// due job of `{queue}:scheduled` with one Lua `unpack`, which fails past ~8,000 and would stop
/// the queue for good; above this the rows simply wait in the outbox (the outbox lag shows it).
pub const BACKLOG_CAP: u64 = 4_000;

/// Every queue, with payloads left as JSON: the workers read the same bytes as their own types.
pub type Queues = HashMap<Topic, RedisStorage<Envelope<serde_json::Value>>>;

pub struct Relay {
    pub db: PgPool,
    pub queues: Queues,
    pub idle: Duration,
}

impl Relay {
    /// One round; returns how many rows moved.
    pub async fn round(&mut self) -> anyhow::Result<usize> {
        let mut tx = self.db.begin().await?;
        let rows = outbox::claim(&mut tx, BATCH).await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let full = self.full_queues().await?;
        let mut moved = Vec::with_capacity(rows.len());
        for row in rows {
            let topic = Topic::parse(&row.topic);
            if topic.is_some_and(|t| full.contains(&t)) {
                continue;
            }
            match topic.and_then(|t| self.queues.get_mut(&t)) {
                Some(queue) => queue
                    .push(Envelope::new(row.id, row.payload))
                    .await
                    .map_err(|e| anyhow::anyhow!("queue push: {e}"))?,
                // A row no queue takes would block the outbox forever: log and skip it.
                None => {
                    tracing::error!(id = %row.id, topic = row.topic, "outbox row for an unknown topic skipped")
                }
            }
            moved.push(row.id);
        }
        if moved.is_empty() {
            return Ok(0);
        }
        outbox::mark_sent(&mut tx, &moved).await?;
        tx.commit().await?;
        Ok(moved.len())
    }

    /// Queues whose backlog is at the cap (one pipelined round trip for all of them).
    async fn full_queues(&mut self) -> anyhow::Result<Vec<Topic>> {
        let topics: Vec<Topic> = self.queues.keys().copied().collect();
        let mut pipe = redis::pipe();
        for storage in self.queues.values() {
            pipe.zcard(storage.get_config().scheduled_jobs_set());
        }
        let Some(storage) = self.queues.values_mut().next() else {
            return Ok(Vec::new());
        };
        let waiting: Vec<u64> = pipe.query_async(storage.get_connection()).await?;
        let mut full = Vec::new();
        for (topic, waiting) in topics.into_iter().zip(waiting) {
            if waiting >= BACKLOG_CAP {
                tracing::warn!(
                    queue = topic.as_str(),
                    waiting,
                    "queue backlog at its cap; rows wait in the outbox"
                );
                full.push(topic);
            }
        }
        Ok(full)
    }

    /// Runs rounds until cancelled: at once while there is work, else after `idle`.
    pub async fn run(mut self) {
        let mut failures = 0u32;
        loop {
            match self.round().await {
                Ok(n) if n > 0 => {
                    failures = 0;
                    tracing::debug!(moved = n, "outbox relayed");
                    continue;
                }
                Ok(_) => failures = 0,
                Err(e) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(error = %e, failures, "outbox relay round failed; rows stay in the outbox");
                }
            }
            let backoff = self.idle * 2u32.saturating_pow(failures.min(5));
            tokio::time::sleep(backoff.min(Duration::from_secs(10))).await;
        }
    }
}
