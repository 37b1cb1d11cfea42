//! Pure rules: validation, ranking, markdown, paging and permissions. No I/O.

pub mod breaker;
pub mod markdown;
pub mod net;
pub mod paging;
pub mod permissions;
pub mod ranking;
pub mod summary;
pub mod tree;
pub mod validation;
