//! Site administration: bans, roles, community removal. Admins only.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::ToSchema;

use super::access;
use super::moderation::BanTerms;
use crate::change::{Change, Written};
use crate::error::{DomainError, DomainResult};
use crate::model::{Actor, Role};
use crate::store::users::{self, UserRow};
use crate::store::{admin, bans};

#[derive(Debug, Deserialize, ToSchema)]
pub struct SiteBan {
    /// 1-1000 characters.
    pub reason: String,
    /// When the ban ends; omit for a permanent ban.
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
pub struct OptionalReason {
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RoleBody {
    // Text, parsed by the service, so an unknown role is refused naming `role`.
    /// `user` or `admin`.
    #[schema(value_type = Role)]
    pub role: String,
}

async fn target(db: &PgPool, username: &str) -> DomainResult<UserRow> {
    users::by_username(db, username)
        .await?
        .ok_or_else(|| DomainError::not_found("No such user."))
}

/// Bans a user from the whole site: every session ends, existing tokens are refused.
#[tracing::instrument(name = "admin::ban", skip_all, fields(target = %username, user = %actor.user_id))]
pub async fn ban(
    db: &PgPool,
    actor: &Actor,
    username: &str,
    body: &SiteBan,
) -> DomainResult<Written<()>> {
    access::require_admin(actor)?;
    let terms = BanTerms::parse(&body.reason, body.expires_at, Utc::now())?;
    let target = target(db, username).await?;
    if target.id == actor.user_id {
        return Err(DomainError::field("username", "you cannot ban yourself"));
    }
    bans::site_ban(db, target.id, terms.reason(), terms.until(), actor.user_id).await?;
    Ok(Written::new((), [Change::SessionsChanged]))
}

/// Lifts a site ban.
#[tracing::instrument(name = "admin::unban", skip_all, fields(target = %username, user = %actor.user_id))]
pub async fn unban(
    db: &PgPool,
    actor: &Actor,
    username: &str,
    reason: Option<&str>,
) -> DomainResult<Written<()>> {
    access::require_admin(actor)?;
    let target = target(db, username).await?;
    bans::site_unban(db, target.id, actor.user_id, reason).await?;
    Ok(Written::plain(()))
}

/// Makes a user an admin or a plain user again; admins cannot demote themselves.
#[tracing::instrument(name = "admin::set_role", skip_all, fields(target = %username, user = %actor.user_id))]
pub async fn set_role(
    db: &PgPool,
    actor: &Actor,
    username: &str,
    body: &RoleBody,
) -> DomainResult<Written<()>> {
    access::require_admin(actor)?;
    let role = Role::parse("role", &body.role)?;
    let target = target(db, username).await?;
    if target.id == actor.user_id && role != Role::Admin {
        return Err(DomainError::field("role", "you cannot demote yourself"));
    }
    admin::set_role(db, target.id, role, actor.user_id).await?;
    Ok(Written::new((), [Change::SessionsChanged]))
}

/// Removes (`true`) or restores a community, whatever its state.
#[tracing::instrument(name = "admin::community_removal", skip_all, fields(community = %name, removed, user = %actor.user_id))]
pub async fn community_removal(
    db: &PgPool,
    actor: &Actor,
    name: &str,
    removed: bool,
    reason: Option<&str>,
) -> DomainResult<Written<()>> {
    access::require_admin(actor)?;
    let (id, _) = admin::community_any(db, name)
        .await?
        .ok_or_else(|| DomainError::not_found("No such community."))?;
    admin::community_removal(db, id, removed, actor.user_id, reason).await?;
    Ok(Written::new(
        (),
        [Change::CommunityListed { community: id }],
    ))
}
