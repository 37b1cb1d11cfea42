//! Black-box tests of the API: one binary, the real server per test.

mod auth;
mod errors;
mod openapi;
mod service;
