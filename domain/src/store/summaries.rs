//! Thread summaries: what was generated, from which text, and whether a job is queued.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::{StoreError, outbox};
use crate::jobs::{SummaryJob, Topic};
use crate::rules::summary::{CommentInput, ThreadInput};

/// A post's thread state with its summary, if one was made.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
pub struct SummaryState {
    pub visible: bool,
    pub comment_count: i32,
    pub thread_changes: i64,
    pub summary: Option<String>,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub comment_count_at: Option<i32>,
    pub changes_at: Option<i64>,
    pub generated_at: Option<DateTime<Utc>>,
    pub content_hash: Option<String>,
}

impl SummaryState {
    /// Whether the stored summary may be served: it exists, and its thread changed less than
    /// `after_changes` times since, or it is younger than `min_interval_secs`.
    pub fn is_current(
        &self,
        now: DateTime<Utc>,
        after_changes: i64,
        min_interval_secs: i64,
    ) -> bool {
        let (Some(_), Some(at), Some(changes_at)) =
            (&self.summary, self.generated_at, self.changes_at)
        else {
            return false;
        };
        crate::rules::summary::is_current(
            self.thread_changes - changes_at,
            (now - at).num_seconds(),
            after_changes,
            min_interval_secs,
        )
    }
}

/// `None` when the post does not exist.
pub async fn state(db: &PgPool, post_id: Uuid) -> Result<Option<SummaryState>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT p.deleted_at IS NULL AND p.removed_at IS NULL AS visible, p.comment_count,
                p.thread_changes, s.summary, s.provider, s.model, s.comment_count_at, s.changes_at,
                s.generated_at, s.content_hash
         FROM posts p LEFT JOIN post_summaries s ON s.post_id = p.id
         WHERE p.id = $1",
    )
    .bind(post_id)
    .fetch_optional(db)
    .await?)
}

/// Queues a summary job unless one was queued less than `pending_for_secs` ago; `true` when
/// this call queued it. Concurrent callers serialize on the row, so one of them wins.
pub async fn request(
    db: &PgPool,
    post_id: Uuid,
    pending_for_secs: i64,
) -> Result<bool, StoreError> {
    let mut tx = db.begin().await?;
    let claimed: Option<(Uuid,)> = sqlx::query_as(
        "INSERT INTO post_summaries (post_id, requested_at) VALUES ($1, now())
         ON CONFLICT (post_id) DO UPDATE SET requested_at = now()
         WHERE post_summaries.requested_at IS NULL
            OR post_summaries.requested_at < now() - make_interval(secs => $2)
         RETURNING post_id",
    )
    .bind(post_id)
    .bind(pending_for_secs as f64)
    .fetch_optional(&mut *tx)
    .await?;
    if claimed.is_none() {
        return Ok(false);
    }
    outbox::enqueue(&mut *tx, Topic::Summaries, &SummaryJob { post_id }).await?;
    tx.commit().await?;
    Ok(true)
}

/// The text to summarize: the post and its best `max_comments` live comments. `None` when the
/// post is gone, deleted or removed. Also returns the post's change counter and comment count.
pub async fn thread_input(
    db: &PgPool,
    post_id: Uuid,
    max_comments: i64,
) -> Result<Option<(ThreadInput, i64, i32)>, StoreError> {
    let post: Option<(String, String, i64, i32)> = sqlx::query_as(
        "SELECT title, body, thread_changes, comment_count FROM posts
         WHERE id = $1 AND deleted_at IS NULL AND removed_at IS NULL",
    )
    .bind(post_id)
    .fetch_optional(db)
    .await?;
    let Some((title, body, changes, comment_count)) = post else {
        return Ok(None);
    };
    let comments: Vec<(Option<String>, String, i32)> = sqlx::query_as(
        "SELECT u.username, c.body, c.score FROM comments c LEFT JOIN users u ON u.id = c.author_id
         WHERE c.post_id = $1 AND c.deleted_at IS NULL AND c.removed_at IS NULL
         ORDER BY c.best DESC, c.id DESC LIMIT $2",
    )
    .bind(post_id)
    .bind(max_comments)
    .fetch_all(db)
    .await?;
    let input = ThreadInput {
        title,
        body,
        comments: comments
            .into_iter()
            .map(|(author, body, score)| CommentInput {
                author: author.unwrap_or_else(|| "[deleted]".into()),
                body,
                score: score.into(),
            })
            .collect(),
    };
    Ok(Some((input, changes, comment_count)))
}

pub struct NewSummary<'a> {
    pub summary: &'a str,
    pub provider: &'a str,
    pub model: &'a str,
    pub input_tokens: i32,
    pub output_tokens: i32,
    pub cost_usd: f64,
    pub content_hash: &'a str,
    pub comment_count_at: i32,
    pub changes_at: i64,
}

/// Stores a fresh summary and clears the pending request.
pub async fn store(
    db: &PgPool,
    post_id: Uuid,
    new: NewSummary<'_>,
) -> Result<DateTime<Utc>, StoreError> {
    let (at,): (DateTime<Utc>,) = sqlx::query_as(
        "INSERT INTO post_summaries (post_id, summary, provider, model, input_tokens, output_tokens,
             cost_usd, content_hash, comment_count_at, changes_at, generated_at, requested_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now(), NULL)
         ON CONFLICT (post_id) DO UPDATE SET summary = $2, provider = $3, model = $4,
             input_tokens = $5, output_tokens = $6, cost_usd = $7, content_hash = $8,
             comment_count_at = $9, changes_at = $10, generated_at = now(), requested_at = NULL
         RETURNING generated_at",
    )
    .bind(post_id)
    .bind(new.summary)
    .bind(new.provider)
    .bind(new.model)
    .bind(new.input_tokens)
    .bind(new.output_tokens)
    .bind(new.cost_usd)
    .bind(new.content_hash)
    .bind(new.comment_count_at)
    .bind(new.changes_at)
    .fetch_one(db)
    .await?;
    Ok(at)
}

/// The thread changed only in ways that left its text the same: the summary stays, now counted
/// as current for these changes.
pub async fn still_current(
    db: &PgPool,
    post_id: Uuid,
    comment_count_at: i32,
    changes_at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE post_summaries SET comment_count_at = $2, changes_at = $3, requested_at = NULL
         WHERE post_id = $1",
    )
    .bind(post_id)
    .bind(comment_count_at)
    .bind(changes_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Clears a pending request without a summary (the post is gone, or the job gave up).
pub async fn release(db: &PgPool, post_id: Uuid) -> Result<(), StoreError> {
    sqlx::query("UPDATE post_summaries SET requested_at = NULL WHERE post_id = $1")
        .bind(post_id)
        .execute(db)
        .await?;
    Ok(())
}
