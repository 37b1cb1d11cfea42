//! What every handler can reach, built once per process.

use std::sync::Arc;

use forum_domain::settings::Config;
use sqlx::PgPool;

use crate::cache::Cache;
use crate::metrics::Metrics;
use crate::route_table::RouteTable;
use crate::tokens::JwtKeys;

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
    /// The served routes with their methods, from the OpenAPI document (404 vs 405).
    pub routes: RouteTable,
    /// Password hashing, at most one argon2 run per core: each takes ~19 MiB and a core for
    /// tens of milliseconds, so a burst of logins queues here instead of exhausting memory and
    /// then stampeding the database pool all at once.
    pub passwords: forum_domain::adapters::passwords::Hasher,
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
