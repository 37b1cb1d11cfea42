//! The forum itself: types, rules and persistence. No HTTP, no queue client.

pub mod cache_keys;
pub mod change;
pub mod error;
pub mod jobs;
pub mod media;
pub mod model;
pub mod queues;
pub mod rules;
pub mod secrets;
pub mod service;
pub mod settings;
pub mod store;
pub mod telemetry;
