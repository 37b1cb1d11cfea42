//! The domain's only reach beyond Postgres, shared by `forum-api` and `forum-jobs`: queue state
//! in Redis, object storage for uploads, and the process' tracing subscriber. Nothing in
//! `model`, `rules`, `store` or `service` imports these.

pub mod media;
pub mod passwords;
pub mod queues;
pub mod telemetry;
