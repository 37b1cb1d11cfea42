//! Black-box tests of the API: one binary, the real server per test.

mod auth;
mod communities;
mod errors;
mod listings;
mod openapi;
mod posts;
mod service;
