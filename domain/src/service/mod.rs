//! Domain operations: one async function per thing a user can do, called by the API's handlers.
//!
//! A service function takes the database, the [`Actor`](crate::model::Actor) and the request's
//! input; it loads what it needs, checks permissions with `rules`, turns the input into a
//! validated value (`TryFrom`), writes through `store`, and returns the result. Writes return
//! [`Written`](crate::change::Written): the value plus the [`Change`](crate::change::Change)s the
//! API applies after commit (see `crate::change` for the after-write rule). Refusals are
//! [`DomainError`](crate::error::DomainError)s with an [`ErrorCode`](crate::error::ErrorCode).
//!
//! Services are instrumented: every operation is a tracing span named after it, carrying ids,
//! never bodies or secrets, so one request can be followed from the route to the store.

pub mod access;
pub mod accounts;
pub mod admin;
pub mod comments;
pub mod communities;
pub mod moderation;
pub mod posts;
pub mod votes;
