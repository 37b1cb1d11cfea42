//! What every handler can reach, built once per process.

use std::sync::Arc;

use forum_domain::settings::Config;
use sqlx::PgPool;

use crate::auth::JwtKeys;
use crate::metrics::Metrics;
use crate::openapi::RouteTable;

pub struct AppState {
    /// Through PgBouncer.
    pub db: PgPool,
    pub redis: redis::aio::ConnectionManager,
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
}
