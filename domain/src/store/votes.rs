//! Exact, idempotent votes. One locked upsert reads the previous value; only the difference is
//! applied to the target's counters and its author's karma, in the same transaction. Concurrent
//! votes by one user serialize on their vote row; votes by different users on the target row.

use sqlx::PgPool;
use uuid::Uuid;

use super::StoreError;
use crate::model::VoteResult;
use crate::rules::ranking::VoteChange;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Post,
    Comment,
}

pub async fn cast(
    db: &PgPool,
    target: Target,
    user_id: Uuid,
    target_id: Uuid,
    value: i16,
) -> Result<VoteResult, StoreError> {
    let (upsert, apply, current) = match target {
        Target::Post => (
            "INSERT INTO post_votes (user_id, post_id, value) VALUES ($1, $2, 0)
             ON CONFLICT (user_id, post_id) DO UPDATE SET value = post_votes.value
             RETURNING value",
            "WITH v AS (
                UPDATE post_votes SET value = $3, voted_at = now() WHERE user_id = $1 AND post_id = $2
             ), t AS (
                UPDATE posts SET score = score + $4, upvotes = upvotes + $5, downvotes = downvotes + $6
                WHERE id = $2 RETURNING score, upvotes, downvotes, author_id
             ), k AS (
                UPDATE users SET post_karma = post_karma + $4 WHERE id = (SELECT author_id FROM t)
             )
             SELECT score, upvotes, downvotes FROM t",
            "SELECT score, upvotes, downvotes FROM posts WHERE id = $1",
        ),
        Target::Comment => (
            "INSERT INTO comment_votes (user_id, comment_id, value) VALUES ($1, $2, 0)
             ON CONFLICT (user_id, comment_id) DO UPDATE SET value = comment_votes.value
             RETURNING value",
            "WITH v AS (
                UPDATE comment_votes SET value = $3, voted_at = now() WHERE user_id = $1 AND comment_id = $2
             ), t AS (
                UPDATE comments SET score = score + $4, upvotes = upvotes + $5, downvotes = downvotes + $6
                WHERE id = $2 RETURNING score, upvotes, downvotes, author_id
             ), k AS (
                UPDATE users SET comment_karma = comment_karma + $4 WHERE id = (SELECT author_id FROM t)
             )
             SELECT score, upvotes, downvotes FROM t",
            "SELECT score, upvotes, downvotes FROM comments WHERE id = $1",
        ),
    };
    let mut tx = db.begin().await?;
    // The DO UPDATE takes the row lock and returns the value as it stands after any
    // concurrent vote of the same user committed.
    let (previous,): (i16,) = sqlx::query_as(upsert)
        .bind(user_id)
        .bind(target_id)
        .fetch_one(&mut *tx)
        .await?;
    let change = VoteChange::between(previous, value);
    let counts: (i32, i32, i32) = if change.is_none() {
        sqlx::query_as(current)
            .bind(target_id)
            .fetch_one(&mut *tx)
            .await?
    } else {
        sqlx::query_as(apply)
            .bind(user_id)
            .bind(target_id)
            .bind(value)
            .bind(change.score)
            .bind(change.upvotes)
            .bind(change.downvotes)
            .fetch_one(&mut *tx)
            .await?
    };
    tx.commit().await?;
    Ok(VoteResult {
        score: counts.0.into(),
        upvotes: counts.1.into(),
        downvotes: counts.2.into(),
        my_vote: value.into(),
    })
}
