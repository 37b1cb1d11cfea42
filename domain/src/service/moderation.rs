//! Moderators act on posts and comments; every action is in the modlog (written in the same
//! transaction by the store).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use super::access;
use crate::change::{Change, Written};
use crate::error::{DomainError, DomainResult, ErrorCode};
use crate::model::{Actor, CommunityBan, Report, Role};
use crate::rules::validation::{self, FieldError};
use crate::store::actions::{self, ActionOutcome, PostAction};
use crate::store::reports::{self, NewReport};
use crate::store::{bans, communities, users};

/// Longest reason or note, in characters.
pub const REASON_MAX: usize = 1000;

#[derive(Debug, Deserialize, ToSchema, Default)]
pub struct ReasonBody {
    /// Shown in the modlog.
    pub reason: Option<String>,
}

/// An optional reason (or note): blank is none, otherwise 1-1000 characters.
#[derive(Debug, Clone, Default)]
pub struct Reason(Option<String>);

impl Reason {
    pub fn parse(field: &str, raw: Option<&str>) -> Result<Self, FieldError> {
        match raw.map(str::trim).filter(|r| !r.is_empty()) {
            Some(r) => Ok(Reason(Some(validation::required_text(
                field, r, 1, REASON_MAX,
            )?))),
            None => Ok(Reason(None)),
        }
    }

    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

/// Removes, restores, locks, unlocks, pins or unpins a post (idempotent).
#[tracing::instrument(name = "moderation::post_action", skip_all, fields(post = %id, action = action.name(), user = %actor.user_id))]
pub async fn post_action(
    db: &PgPool,
    actor: &Actor,
    id: Uuid,
    action: PostAction,
    reason: Option<&str>,
) -> DomainResult<Written<()>> {
    let post = access::post(db, id).await?;
    access::require_moderator(db, post.community_id, actor).await?;
    let reason = Reason::parse("reason", reason)?;
    let outcome = actions::post_action(
        db,
        post.id,
        post.community_id,
        post.author_id,
        action,
        actor.user_id,
        reason.as_deref(),
    )
    .await?;
    match outcome {
        ActionOutcome::Done => Ok(Written::new(
            (),
            [Change::PostListed {
                post: post.id,
                community: post.community_id,
            }],
        )),
        ActionOutcome::TooManyPins => Err(DomainError::refused(
            ErrorCode::TooManyPins,
            "A community can pin at most 2 posts; unpin one first.",
        )),
    }
}

/// Removes (`removed = true`) or restores a comment.
#[tracing::instrument(name = "moderation::comment_action", skip_all, fields(comment = %id, removed, user = %actor.user_id))]
pub async fn comment_action(
    db: &PgPool,
    actor: &Actor,
    id: Uuid,
    removed: bool,
    reason: Option<&str>,
) -> DomainResult<Written<()>> {
    let comment = access::comment(db, id).await?;
    let post = access::post(db, comment.post_id).await?;
    access::require_moderator(db, post.community_id, actor).await?;
    let reason = Reason::parse("reason", reason)?;
    actions::comment_action(
        db,
        comment.id,
        post.community_id,
        comment.author_id,
        removed,
        actor.user_id,
        reason.as_deref(),
    )
    .await?;
    Ok(Written::new((), [Change::ThreadChanged { post: post.id }]))
}

/// What a report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportTarget {
    Post,
    Comment,
}

impl ReportTarget {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportTarget::Post => "post",
            ReportTarget::Comment => "comment",
        }
    }
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct CreateReport {
    /// `post` or `comment`.
    pub target_type: String,
    pub target_id: Uuid,
    /// 1-1000 characters.
    pub reason: String,
}

/// A report as it may be filed: a known target kind and a reason.
#[derive(Debug)]
pub struct NewReportInput {
    target: ReportTarget,
    target_id: Uuid,
    reason: String,
}

impl TryFrom<&CreateReport> for NewReportInput {
    type Error = FieldError;

    fn try_from(body: &CreateReport) -> Result<Self, FieldError> {
        let reason = validation::required_text("reason", &body.reason, 1, REASON_MAX)?;
        let target = match body.target_type.as_str() {
            "post" => ReportTarget::Post,
            "comment" => ReportTarget::Comment,
            _ => return Err(FieldError::new("target_type", "must be post or comment")),
        };
        Ok(NewReportInput {
            target,
            target_id: body.target_id,
            reason,
        })
    }
}

/// Files a report; one open report per user and target.
#[tracing::instrument(name = "moderation::report", skip_all, fields(target = %body.target_id, user = %actor.user_id))]
pub async fn report(db: &PgPool, actor: &Actor, body: &CreateReport) -> DomainResult<Report> {
    let input = NewReportInput::try_from(body)?;
    let post_id = match input.target {
        ReportTarget::Post => input.target_id,
        ReportTarget::Comment => access::comment(db, input.target_id).await?.post_id,
    };
    let post = access::post(db, post_id).await?;
    let new = NewReport {
        reporter_id: actor.user_id,
        community_id: post.community_id,
        target_type: input.target.as_str(),
        target_id: input.target_id,
        post_id,
        reason: &input.reason,
    };
    let id = reports::report(db, new).await?.ok_or_else(|| {
        DomainError::refused(
            ErrorCode::AlreadyReported,
            "You already have an open report on this.",
        )
    })?;
    let (report, _) = reports::by_id(db, id)
        .await?
        .ok_or_else(|| DomainError::not_found("No such report."))?;
    Ok(report)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResolveBody {
    pub note: Option<String>,
}

/// Resolves a report (resolving twice is fine).
#[tracing::instrument(name = "moderation::resolve_report", skip_all, fields(report = %id, user = %actor.user_id))]
pub async fn resolve_report(
    db: &PgPool,
    actor: &Actor,
    id: Uuid,
    note: Option<&str>,
) -> DomainResult<Written<()>> {
    let (report, community_id) = reports::by_id(db, id)
        .await?
        .ok_or_else(|| DomainError::not_found("No such report."))?;
    access::require_moderator(db, community_id, actor).await?;
    // Named `reason` in field errors, as it always was.
    let note = Reason::parse("reason", note)?;
    reports::resolve_report(db, report.id, community_id, actor.user_id, note.as_deref()).await?;
    Ok(Written::plain(()))
}

/// A ban's terms: a reason, and an end in the future (or none).
#[derive(Debug)]
pub struct BanTerms {
    reason: String,
    until: Option<DateTime<Utc>>,
}

impl BanTerms {
    pub fn parse(
        reason: &str,
        until: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Self, FieldError> {
        let reason = validation::required_text("reason", reason, 1, REASON_MAX)?;
        if until.is_some_and(|t| t <= now) {
            return Err(FieldError::new("expires_at", "must be in the future"));
        }
        Ok(BanTerms { reason, until })
    }

    pub fn reason(&self) -> &str {
        &self.reason
    }

    pub fn until(&self) -> Option<DateTime<Utc>> {
        self.until
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct BanBody {
    pub username: String,
    /// 1-1000 characters.
    pub reason: String,
    /// When the ban ends; omit for a permanent ban.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Bans a user from a community (moderators and admins cannot be banned there).
#[tracing::instrument(name = "moderation::ban", skip_all, fields(community = %community, target = %body.username, user = %actor.user_id))]
pub async fn ban(
    db: &PgPool,
    actor: &Actor,
    community: &str,
    body: &BanBody,
) -> DomainResult<Written<CommunityBan>> {
    let community = access::community(db, community, Some(actor.user_id)).await?;
    access::require_moderator(db, community.id, actor).await?;
    let terms = BanTerms::parse(&body.reason, body.expires_at, Utc::now())?;
    let target = users::by_username(db, &body.username)
        .await?
        .ok_or_else(|| DomainError::not_found("No such user."))?;
    let target_standing = communities::by_id(db, community.id, Some(target.id))
        .await?
        .map(|c| c.standing(Some(Role::from_db(&target.role))));
    if target_standing.is_some_and(|s| s.moderates()) {
        return Err(DomainError::field(
            "username",
            "moderators and admins cannot be banned here",
        ));
    }
    bans::ban(
        db,
        community.id,
        target.id,
        terms.reason(),
        terms.until(),
        actor.user_id,
    )
    .await?;
    Ok(Written::plain(CommunityBan {
        username: target.username,
        reason: terms.reason().to_string(),
        expires_at: terms.until(),
        created_at: Utc::now(),
    }))
}

/// Lifts a community ban (unbanning twice is fine).
#[tracing::instrument(name = "moderation::unban", skip_all, fields(community = %community, target = %username, user = %actor.user_id))]
pub async fn unban(
    db: &PgPool,
    actor: &Actor,
    community: &str,
    username: &str,
) -> DomainResult<Written<()>> {
    let community = access::community(db, community, Some(actor.user_id)).await?;
    access::require_moderator(db, community.id, actor).await?;
    let target = users::by_username(db, username)
        .await?
        .ok_or_else(|| DomainError::not_found("No such user."))?;
    bans::unban(db, community.id, target.id, actor.user_id).await?;
    Ok(Written::plain(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ban_needs_a_reason_and_a_future_end() {
        let now = Utc::now();
        assert!(BanTerms::parse(" ", None, now).is_err_and(|e| e.field == "reason"));
        let past = now - chrono::Duration::minutes(1);
        assert!(BanTerms::parse("spam", Some(past), now).is_err_and(|e| e.field == "expires_at"));
        assert!(BanTerms::parse("spam", None, now).is_ok());
    }

    #[test]
    fn blank_reasons_are_none_and_long_ones_are_refused() {
        assert!(Reason::parse("reason", Some("  ")).is_ok_and(|r| r.as_deref().is_none()));
        assert!(Reason::parse("note", Some(&"x".repeat(1001))).is_err_and(|e| e.field == "note"));
    }
}
