//! Redis cache keys shared by the API (which fills the caches) and the workers (which drop
//! entries their writes made stale), without the deployment's prefix.

use uuid::Uuid;

/// A post's cached detail.
pub fn post_detail(post: Uuid) -> String {
    format!("post:{post}")
}

/// A post's cached summary state.
pub fn summary_state(post: Uuid) -> String {
    format!("summary:{post}")
}
