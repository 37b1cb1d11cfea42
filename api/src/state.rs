//! What every handler can reach, built once per process.

use std::sync::Arc;

use forum_domain::settings::Config;
use sqlx::PgPool;

use crate::auth::{AuthUser, JwtKeys};
use crate::cache::Cache;
use crate::metrics::Metrics;
use crate::openapi::RouteTable;

pub struct AppState {
    /// Through PgBouncer.
    pub db: PgPool,
    /// A replica for listings and searches, when configured.
    pub read_db: Option<PgPool>,
    pub redis: redis::aio::ConnectionManager,
    /// Uploads and image variants (local folder or S3-compatible).
    pub media: Arc<dyn object_store::ObjectStore>,
    pub cache: Cache,
    pub limits: std::sync::Arc<crate::limits::Limits>,
    pub config: Arc<Config>,
    pub jwt: JwtKeys,
    pub metrics: Metrics,
    /// A real argon2id hash of a random password, verified against when a login names no
    /// user, so unknown and known users take the same time.
    pub dummy_password_hash: String,
    /// The served routes with their methods, from the OpenAPI document (404 vs 405).
    pub routes: RouteTable,
    /// Bounds concurrent argon2 runs to the cores: each takes ~19 MiB and a core for tens of
    /// milliseconds, so a burst of logins queues here instead of exhausting memory and then
    /// stampeding the database pool all at once.
    pub password_hashing: tokio::sync::Semaphore,
    /// `/openapi.json`, serialized once.
    pub openapi_json: String,
    /// Sessions this process found active a moment ago, with the user's role.
    pub sessions_seen: SessionsSeen,
}

/// A session's check (not revoked, user not banned: its role) remembered for a moment, so a
/// burst of requests on one token costs one query. Anything in this process that ends sessions
/// or changes roles calls `clear`.
pub type SessionsSeen = crate::cache::Recent<uuid::Uuid, String>;

/// Sessions remembered at most; beyond it, start over.
pub const SESSIONS_SEEN_MAX: usize = 100_000;

impl AppState {
    /// The pool for reads that tolerate replica lag: the replica, unless this caller wrote in
    /// the last few seconds (read-your-writes) or no replica is configured.
    pub async fn reader(&self, user: Option<&AuthUser>) -> &PgPool {
        let Some(replica) = &self.read_db else {
            return &self.db;
        };
        match user {
            Some(u) if self.cache.wrote_recently(&self.metrics, u.user_id).await => &self.db,
            _ => replica,
        }
    }

    /// Records that `user` wrote, so their next reads see it (only needed with a replica).
    /// Called by `commit` (crate::effects), after every write.
    pub(crate) async fn wrote(&self, user: &AuthUser) {
        if self.read_db.is_some() {
            self.cache
                .mark_writer(
                    &self.metrics,
                    user.user_id,
                    self.config.settings.read_your_writes_secs,
                )
                .await;
        }
    }
}
