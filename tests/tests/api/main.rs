//! Black-box tests of the API: one binary, the real server per test.

mod auth;
mod comments;
mod communities;
mod errors;
mod idempotency;
mod listings;
mod moderation;
mod openapi;
mod posts;
mod service;
mod votes;
