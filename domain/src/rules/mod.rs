//! Pure rules: validation, ranking, markdown, paging, permissions, and the pure parts of thread
//! summaries (prompt, extractive fallback, circuit breaker). No I/O.

pub mod breaker;
pub mod extractive;
pub mod markdown;
pub mod net;
pub mod paging;
pub mod permissions;
pub mod ranking;
pub mod summary;
pub mod tree;
pub mod validation;
