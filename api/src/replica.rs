//! Reads that tolerate replica lag, and read-your-writes: a user who just wrote reads from the
//! primary for a few seconds.

use sqlx::PgPool;

use crate::auth::AuthUser;
use crate::state::AppState;

impl AppState {
    /// The pool for reads that tolerate replica lag: the replica, unless this caller wrote in
    /// the last few seconds (read-your-writes) or no replica is configured.
    pub async fn reader(&self, user: Option<&AuthUser>) -> &PgPool {
        let Some(replica) = &self.read_db else {
            return &self.db;
        };
        match user {
            Some(u) if self.cache.wrote_recently(&self.metrics, u.user_id).await => &self.db,
            _ => replica,
        }
    }

    /// Records that `user` wrote, so their next reads see it (only needed with a replica).
    /// Called by `commit` (crate::effects), after every write.
    pub(crate) async fn wrote(&self, user: &AuthUser) {
        if self.read_db.is_some() {
            self.cache
                .mark_writer(
                    &self.metrics,
                    user.user_id,
                    self.config.settings.db.read_your_writes_secs,
                )
                .await;
        }
    }
}
