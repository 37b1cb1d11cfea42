//! Black-box tests of the API: one binary, the real server per test.

mod auth;
mod comments;
mod communities;
mod errors;
mod faults;
mod fuzz;
mod idempotency;
mod images;
mod jobs;
mod limits;
mod listings;
mod moderation;
mod openapi;
mod posts;
mod seed;
mod service;
mod summaries;
mod votes;
