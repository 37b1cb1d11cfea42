//! The after-write hook: the one place where a committed write's [`Change`]s reach caches,
//! session checks, read-your-writes marks and automatic summaries (the rule is in
//! `forum_domain::change`).
//!
//! Handlers call [`AppState::commit`] with what a service returned; nothing else in the API
//! invalidates a cache or clears a session check.

use forum_domain::change::{Change, Written};

use crate::auth::AuthUser;
use crate::cache::post_scopes;
use crate::state::AppState;
use crate::{listings, summaries, threads};

impl AppState {
    /// Applies a write's changes, marks `user` as having just written (read-your-writes with a
    /// replica), and hands back the write's value.
    pub async fn commit<T>(&self, user: &AuthUser, written: Written<T>) -> T {
        apply(self, &written.changes).await;
        self.wrote(user).await;
        written.value
    }

    /// Applies the changes of a write that no signed-in user made (or whose author must not be
    /// marked, such as a login).
    pub async fn commit_anonymous<T>(&self, written: Written<T>) -> T {
        apply(self, &written.changes).await;
        written.value
    }
}

/// Each change's effects. Redis being down never fails the write that already committed: the
/// cache layer logs, counts and moves on, and entries expire on their own.
async fn apply(state: &AppState, changes: &[Change]) {
    for change in changes {
        tracing::debug!(?change, "applying");
        match *change {
            // Its listings are versioned away (which also empties this process' page copies)
            // and its cached detail and summary state dropped.
            Change::PostListed { post, community } => {
                let keys = [listings::post_key(state, post), summaries::key(state, post)];
                invalidate(state, &post_scopes(community), &keys).await;
            }
            // Listing pages are not versioned away for votes and new comments: a vote storm
            // would empty the cache. Their scores lag by the listing TTL; each caller's own
            // vote is merged fresh.
            Change::PostCounted { post } => {
                invalidate(state, &[], &[listings::post_key(state, post)]).await;
            }
            Change::CommentAdded {
                post,
                comment_count,
            } => {
                let keys = [listings::post_key(state, post), summaries::key(state, post)];
                invalidate(state, &[threads::scope(post)], &keys).await;
                summaries::on_new_comment(state, post, comment_count).await;
            }
            Change::ThreadChanged { post } => {
                let keys = [summaries::key(state, post)];
                invalidate(state, &[threads::scope(post)], &keys).await;
            }
            Change::CommunityListed { community } => {
                invalidate(state, &post_scopes(community), &[]).await;
            }
            Change::SessionsChanged => state.sessions_seen.clear(),
        }
    }
}

async fn invalidate(state: &AppState, scopes: &[String], keys: &[String]) {
    state.cache.invalidate(&state.metrics, scopes, keys).await;
}
