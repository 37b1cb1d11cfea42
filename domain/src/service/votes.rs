//! Votes on posts and comments: one statement each (see `store::votes`).

use serde::Deserialize;
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::change::{Change, Written};
use crate::error::{DomainError, DomainResult, ErrorCode};
use crate::model::{Actor, VoteResult};
use crate::rules::validation::FieldError;
use crate::store::votes::{self, Cast, Target};

#[derive(Debug, Deserialize, ToSchema)]
pub struct VoteRequest {
    /// -1, 0 (no vote) or 1.
    pub value: i64,
}

/// A vote's value: -1, 0 (no vote) or 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoteValue(i16);

impl VoteValue {
    pub fn get(self) -> i16 {
        self.0
    }
}

impl TryFrom<i64> for VoteValue {
    type Error = FieldError;

    fn try_from(value: i64) -> Result<Self, FieldError> {
        match value {
            -1..=1 => Ok(VoteValue(value as i16)),
            _ => Err(FieldError::new("value", "must be -1, 0 or 1")),
        }
    }
}

impl TryFrom<VoteRequest> for VoteValue {
    type Error = FieldError;

    fn try_from(body: VoteRequest) -> Result<Self, FieldError> {
        VoteValue::try_from(body.value)
    }
}

/// Sets the actor's vote on a post. Repeating a vote changes nothing.
#[tracing::instrument(name = "votes::on_post", skip_all, fields(post = %post, user = %actor.user_id))]
pub async fn on_post(
    db: &PgPool,
    actor: &Actor,
    post: Uuid,
    body: VoteRequest,
) -> DomainResult<Written<VoteResult>> {
    let value = VoteValue::try_from(body)?;
    let cast = votes::cast(db, Target::Post, actor.user_id, post, value.get()).await?;
    Ok(Written::new(
        counted(cast, "post")?,
        [Change::PostCounted { post }],
    ))
}

/// Sets the actor's vote on a comment. Comment scores are not cached anywhere, so nothing
/// else changes.
#[tracing::instrument(name = "votes::on_comment", skip_all, fields(comment = %comment, user = %actor.user_id))]
pub async fn on_comment(
    db: &PgPool,
    actor: &Actor,
    comment: Uuid,
    body: VoteRequest,
) -> DomainResult<Written<VoteResult>> {
    let value = VoteValue::try_from(body)?;
    let cast = votes::cast(db, Target::Comment, actor.user_id, comment, value.get()).await?;
    Ok(Written::plain(counted(cast, "comment")?))
}

/// A vote's outcome: the counts, or why it was not counted.
fn counted(cast: Cast, what: &str) -> DomainResult<VoteResult> {
    match cast {
        Cast::Counted(result) => Ok(result),
        Cast::NotFound => Err(DomainError::not_found(format!("No such {what}."))),
        Cast::NotVotable => Err(DomainError::refused(
            ErrorCode::NotVotable,
            format!("Deleted or removed {what}s take no votes."),
        )),
        Cast::Banned => Err(super::access::banned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_minus_one_zero_and_one_are_votes() {
        for v in [-1, 0, 1] {
            assert_eq!(VoteValue::try_from(v).map(VoteValue::get), Ok(v as i16));
        }
        for v in [-2, 2, i64::MAX, i64::MIN] {
            assert!(VoteValue::try_from(v).is_err());
        }
    }
}
