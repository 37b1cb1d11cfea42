//! Exact, idempotent votes in one statement (one round trip, one commit).
//!
//! The statement checks the target (exists, not deleted or removed, caller not banned from its
//! community), locks the caller's vote row and reads its value as last committed, writes the new
//! value, and applies only the difference (as `rules::ranking::VoteChange` defines it) to the
//! target's counters and its author's karma. Concurrent votes by one user serialize on their vote
//! row; votes by different users on the target row. Locks are always taken in that order: vote
//! row, target, author.

use std::sync::LazyLock;

use sqlx::PgPool;
use uuid::Uuid;

use super::StoreError;
use crate::model::VoteResult;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Post,
    Comment,
}

/// What a vote came to.
#[derive(Debug, Clone)]
pub enum Cast {
    Counted(VoteResult),
    NotFound,
    /// The target is deleted or removed.
    NotVotable,
    /// The caller is banned from the target's community.
    Banned,
}

/// `$1` user, `$2` target, `$3` value. One row, or none when the target does not exist:
/// (votable, banned, score, upvotes, downvotes, settled). `settled` is false only when another
/// request of the same user created the vote row after this statement's snapshot: nothing was
/// written, and the statement is run again.
fn statement(target: Target) -> String {
    let (table, votes, key, karma, from) = match target {
        Target::Post => ("posts", "post_votes", "post_id", "post_karma", "posts t"),
        Target::Comment => (
            "comments",
            "comment_votes",
            "comment_id",
            "comment_karma",
            "comments t JOIN posts p ON p.id = t.post_id",
        ),
    };
    let community = match target {
        Target::Post => "t.community_id",
        Target::Comment => "p.community_id",
    };
    format!(
        "WITH target AS (
            SELECT t.score, t.upvotes, t.downvotes,
                   t.deleted_at IS NULL AND t.removed_at IS NULL AS votable,
                   EXISTS (SELECT 1 FROM community_bans b
                           WHERE b.community_id = {community} AND b.user_id = $1
                             AND (b.expires_at IS NULL OR b.expires_at > now())) AS banned
            FROM {from} WHERE t.id = $2
         ), allowed AS (
            SELECT 1 FROM target WHERE votable AND NOT banned
         ), prior AS (
            SELECT v.value FROM {votes} v
            WHERE v.user_id = $1 AND v.{key} = $2 AND EXISTS (SELECT 1 FROM allowed)
            FOR UPDATE
         ), changed AS (
            UPDATE {votes} v SET value = $3, voted_at = now() FROM prior
            WHERE v.user_id = $1 AND v.{key} = $2 AND prior.value <> $3
            RETURNING prior.value AS previous
         ), added AS (
            INSERT INTO {votes} (user_id, {key}, value)
            SELECT $1, $2, $3 FROM allowed WHERE NOT EXISTS (SELECT 1 FROM prior)
            ON CONFLICT DO NOTHING
            RETURNING 0::smallint AS previous
         ), delta AS (
            SELECT $3 - previous AS score,
                   ($3 = 1)::int - (previous = 1)::int AS up,
                   ($3 = -1)::int - (previous = -1)::int AS down
            FROM (SELECT previous FROM changed UNION ALL SELECT previous FROM added) d
            WHERE previous <> $3
         ), counted AS (
            UPDATE {table} t SET score = t.score + d.score, upvotes = t.upvotes + d.up,
                                 downvotes = t.downvotes + d.down
            FROM delta d WHERE t.id = $2
            RETURNING t.score, t.upvotes, t.downvotes, t.author_id, d.score AS change
         ), karma AS (
            UPDATE users u SET {karma} = u.{karma} + c.change FROM counted c WHERE u.id = c.author_id
         )
         SELECT target.votable, target.banned,
                coalesce(c.score, target.score), coalesce(c.upvotes, target.upvotes),
                coalesce(c.downvotes, target.downvotes),
                EXISTS (SELECT 1 FROM prior) OR EXISTS (SELECT 1 FROM added)
         FROM target LEFT JOIN counted c ON true"
    )
}

pub async fn cast(
    db: &PgPool,
    target: Target,
    user_id: Uuid,
    target_id: Uuid,
    value: i16,
) -> Result<Cast, StoreError> {
    static POST: LazyLock<String> = LazyLock::new(|| statement(Target::Post));
    static COMMENT: LazyLock<String> = LazyLock::new(|| statement(Target::Comment));
    let sql = match target {
        Target::Post => &POST,
        Target::Comment => &COMMENT,
    };
    // A lost race for the first vote row leaves nothing written; the next try sees the row.
    for _ in 0..5 {
        let row: Option<(bool, bool, i32, i32, i32, bool)> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(user_id)
                .bind(target_id)
                .bind(value)
                .fetch_optional(db)
                .await?;
        let Some((votable, banned, score, upvotes, downvotes, settled)) = row else {
            return Ok(Cast::NotFound);
        };
        if !votable {
            return Ok(Cast::NotVotable);
        }
        if banned {
            return Ok(Cast::Banned);
        }
        if settled {
            return Ok(Cast::Counted(VoteResult {
                score: score.into(),
                upvotes: upvotes.into(),
                downvotes: downvotes.into(),
                my_vote: value.into(),
            }));
        }
    }
    Err(StoreError::Db(sqlx::Error::Protocol(
        "a vote kept racing with the same user's votes".into(),
    )))
}
