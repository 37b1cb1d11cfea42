//! Redis cache-aside. Redis is never the source of truth: every failure here is counted and
//! answered by going to Postgres, never by an error to the client.
//!
//! Listing pages are keyed by a version number per scope (all posts, one community); a write
//! increments the versions, so older pages are never read again and expire by TTL.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use actix_web::web::Bytes;

use chrono::Utc;
use redis::AsyncCommands;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::metrics::Metrics;

pub struct Cache {
    redis: redis::aio::ConnectionManager,
    prefix: String,
    /// After a failure, reads skip Redis until this time (ms) instead of waiting on timeouts.
    skip_reads_until: AtomicI64,
    /// Anonymous listing responses, already serialized, kept in this process for a moment.
    pub pages: LocalPages,
}

/// Response bodies of anonymous listing pages, by path and query, for a short time. A front page
/// read by thousands of visitors a second costs a map lookup instead of two Redis round trips and
/// a JSON round trip. Every listing invalidation in this process clears it; other processes'
/// writes show once an entry is older than the TTL.
pub type LocalPages = Recent<String, Bytes>;

/// Distinct pages kept at most (query strings are caller-controlled); beyond it, start over.
const LOCAL_PAGES_MAX: usize = 4_096;

/// Values this process saw less than a TTL ago, at most `max` of them; a TTL of 0 keeps nothing.
pub struct Recent<K, V> {
    ttl: Duration,
    max: usize,
    entries: RwLock<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + std::hash::Hash, V: Clone> Recent<K, V> {
    pub fn new(ttl: Duration, max: usize) -> Self {
        Self {
            ttl,
            max,
            entries: RwLock::new(HashMap::new()),
        }
    }

    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + std::hash::Hash + ?Sized,
    {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.read().ok()?;
        let (at, value) = entries.get(key)?;
        (at.elapsed() < self.ttl).then(|| value.clone())
    }

    pub fn put(&self, key: K, value: V) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= self.max {
                let ttl = self.ttl;
                entries.retain(|_, (at, _)| at.elapsed() < ttl);
                if entries.len() >= self.max {
                    entries.clear();
                }
            }
            entries.insert(key, (Instant::now(), value));
        }
    }

    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.write() {
            entries.clear();
        }
    }
}

const COOLDOWN_MS: i64 = 2_000;

impl Cache {
    pub fn new(redis: redis::aio::ConnectionManager, prefix: &str, local_ttl: Duration) -> Self {
        Self {
            redis,
            prefix: prefix.to_string(),
            skip_reads_until: AtomicI64::new(0),
            pages: LocalPages::new(local_ttl, LOCAL_PAGES_MAX),
        }
    }

    pub fn key(&self, parts: &str) -> String {
        format!("{}{parts}", self.prefix)
    }

    fn reads_paused(&self) -> bool {
        Utc::now().timestamp_millis() < self.skip_reads_until.load(Ordering::Relaxed)
    }

    fn failed(&self, metrics: &Metrics, op: &str, err: &redis::RedisError) {
        metrics.redis_error(op);
        tracing::warn!(op, error = %err, "redis unavailable; serving without cache");
        self.skip_reads_until.store(
            Utc::now().timestamp_millis() + COOLDOWN_MS,
            Ordering::Relaxed,
        );
    }

    /// A cached JSON value; `None` on a miss or when Redis is unavailable.
    pub async fn get<T: DeserializeOwned>(
        &self,
        metrics: &Metrics,
        cache: &str,
        key: &str,
    ) -> Option<T> {
        if self.reads_paused() {
            metrics.cache(cache, "bypass");
            return None;
        }
        let mut conn = self.redis.clone();
        match conn.get::<_, Option<Vec<u8>>>(key).await {
            Ok(Some(bytes)) => match serde_json::from_slice(&bytes) {
                Ok(v) => {
                    metrics.cache(cache, "hit");
                    Some(v)
                }
                Err(_) => {
                    metrics.cache(cache, "miss");
                    None
                }
            },
            Ok(None) => {
                metrics.cache(cache, "miss");
                None
            }
            Err(e) => {
                metrics.cache(cache, "error");
                self.failed(metrics, "get", &e);
                None
            }
        }
    }

    pub async fn put<T: Serialize>(&self, metrics: &Metrics, key: &str, value: &T, ttl: Duration) {
        if self.reads_paused() {
            return;
        }
        let Ok(bytes) = serde_json::to_vec(value) else {
            return;
        };
        let mut conn = self.redis.clone();
        if let Err(e) = conn
            .set_ex::<_, _, ()>(key, bytes, ttl.as_secs().max(1))
            .await
        {
            self.failed(metrics, "set", &e);
        }
    }

    /// Current versions of the given scopes (0 when never bumped); `None` without Redis.
    pub async fn versions(&self, metrics: &Metrics, scopes: &[String]) -> Option<Vec<i64>> {
        if self.reads_paused() {
            return None;
        }
        let keys: Vec<String> = scopes
            .iter()
            .map(|s| self.key(&format!("ver:{s}")))
            .collect();
        let mut conn = self.redis.clone();
        match redis::cmd("MGET")
            .arg(&keys)
            .query_async::<Vec<Option<i64>>>(&mut conn)
            .await
        {
            Ok(v) => Some(v.into_iter().map(|x| x.unwrap_or(0)).collect()),
            Err(e) => {
                self.failed(metrics, "mget", &e);
                None
            }
        }
    }

    /// The current version of one scope; `None` without Redis.
    pub async fn version(&self, metrics: &Metrics, scope: &str) -> Option<i64> {
        self.versions(metrics, &[scope.to_string()])
            .await
            .and_then(|v| v.first().copied())
    }

    /// Invalidates: bumps scope versions and deletes keys, in one round trip. Always attempted
    /// (even while reads are paused) so a recovering Redis does not serve stale pages.
    pub async fn invalidate(&self, metrics: &Metrics, scopes: &[String], keys: &[String]) {
        if !scopes.is_empty() {
            self.pages.clear();
        }
        let mut pipe = redis::pipe();
        for s in scopes {
            pipe.incr(self.key(&format!("ver:{s}")), 1).ignore();
        }
        for k in keys {
            pipe.del(k).ignore();
        }
        let mut conn = self.redis.clone();
        if let Err(e) = pipe.query_async::<()>(&mut conn).await {
            self.failed(metrics, "invalidate", &e);
        }
    }

    /// Marks a user as having just written (read-your-writes with a replica).
    pub async fn mark_writer(&self, metrics: &Metrics, user: Uuid, secs: u64) {
        let mut conn = self.redis.clone();
        if let Err(e) = conn
            .set_ex::<_, _, ()>(self.key(&format!("ryw:{user}")), 1, secs.max(1))
            .await
        {
            self.failed(metrics, "ryw", &e);
        }
    }

    /// Whether the user wrote recently; `true` when unsure (Redis down), which is the safe side.
    pub async fn wrote_recently(&self, metrics: &Metrics, user: Uuid) -> bool {
        let mut conn = self.redis.clone();
        match conn
            .exists::<_, bool>(self.key(&format!("ryw:{user}")))
            .await
        {
            Ok(v) => v,
            Err(e) => {
                self.failed(metrics, "ryw", &e);
                true
            }
        }
    }
}

/// The version scope of the posts of one community, or of all of them.
pub fn posts_scope(community: Option<Uuid>) -> String {
    match community {
        Some(id) => format!("posts:{id}"),
        None => "posts:all".to_string(),
    }
}

/// Version scopes a write to a post in `community` bumps.
pub fn post_scopes(community: Uuid) -> [String; 2] {
    [posts_scope(None), posts_scope(Some(community))]
}
