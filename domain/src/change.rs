//! What a committed write changed, as data.
//!
//! The after-write rule: a write's after-effects that live outside its Postgres transaction
//! (cached pages and posts in Redis, this process' local page cache, summary state, session
//! checks, read-your-writes marks, automatic summaries) are never done by the code that wrote.
//! A service operation returns [`Written`]: its result plus the [`Change`]s it made, and the API
//! applies them in one place after the commit (`forum_api::effects`). Effects that must be atomic
//! with the write (outbox rows, notifications, modlog entries, counters) stay inside the
//! store's transaction.
//!
//! A change names what happened to which thing, not which cache to drop: deciding that is the
//! effect mechanism's job, so a new cache or a new consumer changes one match, not every write.

use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A post appeared, disappeared or changed what listings show of it (created, edited,
    /// deleted, removed, restored, locked, pinned).
    PostListed { post: Uuid, community: Uuid },
    /// A post's counts changed (a vote). Listings may show the old score for their TTL, so a
    /// vote storm does not empty the listing cache; each caller's own vote is merged fresh.
    PostCounted { post: Uuid },
    /// A comment was added to a post that now has `comment_count` comments.
    CommentAdded { post: Uuid, comment_count: i32 },
    /// The text of a thread changed (a comment edited, deleted, removed or restored).
    ThreadChanged { post: Uuid },
    /// Every post listing that may show this community's posts changed (the community was
    /// removed or restored).
    CommunityListed { community: Uuid },
    /// Sessions ended or a user's standing changed (logout, refresh, password reset, ban,
    /// role change): remembered session checks are stale.
    SessionsChanged,
}

/// A write's result and what it changed; see the module doc.
#[derive(Debug)]
#[must_use = "a write's changes must be applied after commit"]
pub struct Written<T> {
    pub value: T,
    pub changes: Vec<Change>,
}

impl<T> Written<T> {
    pub fn new(value: T, changes: impl IntoIterator<Item = Change>) -> Self {
        Written {
            value,
            changes: changes.into_iter().collect(),
        }
    }

    /// A write whose only effect is inside its transaction.
    pub fn plain(value: T) -> Self {
        Written {
            value,
            changes: Vec::new(),
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Written<U> {
        Written {
            value: f(self.value),
            changes: self.changes,
        }
    }
}
