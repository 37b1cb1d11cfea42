//! `forum-api`: the HTTP edge. Handlers parse, authorize, call `forum_domain`, map the result.

pub mod auth;
pub mod cache;
pub mod effects;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod limits;
pub mod listings;
pub mod metrics;
pub mod middleware;
pub mod moderation;
pub mod openapi;
pub mod replica;
pub mod route_table;
pub mod routes;
pub mod startup;
pub mod state;
pub mod summaries;
pub mod threads;
pub mod tokens;
pub mod uploads;
