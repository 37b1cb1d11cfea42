//! The forum itself: vocabulary (`model`, `error`, `change`), pure rules (`rules`), SQL
//! (`store`) and use cases (`service`). No HTTP. The modules that reach Redis, object storage or
//! the tracing subscriber are set apart in `adapters`; see ARCHITECTURE.md for the layers.

pub mod adapters;
pub mod cache_keys;
pub mod change;
pub mod error;
pub mod jobs;
pub mod model;
pub mod rules;
pub mod secrets;
pub mod service;
pub mod settings;
pub mod store;
