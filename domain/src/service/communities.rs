//! Communities: create, edit, membership, moderators, approved users.

use serde::Deserialize;
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use super::access;
use crate::change::Written;
use crate::error::{DomainError, DomainResult, ErrorCode};
use crate::model::{Actor, Community, Moderator};
use crate::rules::validation::{self, CommunityName, Errors, FieldError};
use crate::store::communities::{self, CommunityRow, CommunityUpdate, NewCommunity};
use crate::store::users;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateCommunity {
    /// `^[A-Za-z0-9_]{3,21}$`, unique case-insensitively.
    pub name: String,
    /// 1-100 characters.
    pub title: String,
    pub description: Option<String>,
    /// Up to 15 rules, each a string or `{title, description}`.
    #[schema(value_type = Option<Vec<Object>>)]
    pub rules: Option<Vec<serde_json::Value>>,
    pub nsfw: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateCommunity {
    pub title: Option<String>,
    pub description: Option<String>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub rules: Option<Vec<serde_json::Value>>,
    pub nsfw: Option<bool>,
    /// Only moderators and approved users may post.
    pub restricted: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UsernameBody {
    pub username: String,
}

/// A new community as it may be stored.
#[derive(Debug)]
pub struct ValidCommunity {
    name: CommunityName,
    title: String,
    description: String,
    rules: Vec<serde_json::Value>,
    nsfw: bool,
}

fn check_rules(errors: &mut Errors, rules: Option<&Vec<serde_json::Value>>) -> bool {
    match rules {
        Some(rules) => errors
            .check(validation::community_rules("rules", rules))
            .is_some(),
        None => true,
    }
}

impl TryFrom<CreateCommunity> for ValidCommunity {
    type Error = Vec<FieldError>;

    fn try_from(body: CreateCommunity) -> Result<Self, Vec<FieldError>> {
        let mut errors = Errors::default();
        let name = errors.check(CommunityName::parse("name", &body.name));
        let title = errors.check(validation::required_text(
            "title",
            &body.title,
            1,
            validation::COMMUNITY_TITLE_MAX,
        ));
        let description = errors.check(validation::markdown(
            "description",
            body.description.as_deref().unwrap_or(""),
            validation::COMMUNITY_DESCRIPTION_MAX,
        ));
        let rules_ok = check_rules(&mut errors, body.rules.as_ref());
        match (name, title, description, rules_ok) {
            (Some(name), Some(title), Some(description), true) => Ok(ValidCommunity {
                name,
                title,
                description,
                rules: body.rules.unwrap_or_default(),
                nsfw: body.nsfw.unwrap_or(false),
            }),
            _ => Err(errors.into_vec()),
        }
    }
}

impl TryFrom<UpdateCommunity> for CommunityUpdate {
    type Error = Vec<FieldError>;

    fn try_from(body: UpdateCommunity) -> Result<Self, Vec<FieldError>> {
        let mut errors = Errors::default();
        let title = body.title.as_deref().map(|t| {
            errors.check(validation::required_text(
                "title",
                t,
                1,
                validation::COMMUNITY_TITLE_MAX,
            ))
        });
        let description = body.description.as_deref().map(|d| {
            errors.check(validation::markdown(
                "description",
                d,
                validation::COMMUNITY_DESCRIPTION_MAX,
            ))
        });
        let rules_ok = check_rules(&mut errors, body.rules.as_ref());
        match (title, description, rules_ok) {
            (Some(None), _, _) | (_, Some(None), _) | (_, _, false) => Err(errors.into_vec()),
            (title, description, true) => Ok(CommunityUpdate {
                title: title.flatten(),
                description: description.flatten(),
                rules: body.rules,
                nsfw: body.nsfw,
                restricted: body.restricted,
            }),
        }
    }
}

async fn user_id(db: &PgPool, username: &str) -> DomainResult<Uuid> {
    Ok(users::by_username(db, username)
        .await?
        .ok_or_else(|| DomainError::not_found("No such user."))?
        .id)
}

/// Creates a community; the actor becomes its owner and first member.
#[tracing::instrument(name = "communities::create", skip_all, fields(user = %actor.user_id))]
pub async fn create(
    db: &PgPool,
    actor: &Actor,
    body: CreateCommunity,
) -> DomainResult<Written<Community>> {
    let new = ValidCommunity::try_from(body)?;
    let row = communities::create(
        db,
        NewCommunity {
            name: new.name.as_str(),
            title: &new.title,
            description: &new.description,
            rules: &new.rules,
            nsfw: new.nsfw,
            owner_id: actor.user_id,
        },
    )
    .await?;
    Ok(Written::plain(Community::from(row)))
}

/// Moderators change the title, description, rules and flags.
#[tracing::instrument(name = "communities::update", skip_all, fields(community = %name, user = %actor.user_id))]
pub async fn update(
    db: &PgPool,
    actor: &Actor,
    name: &str,
    body: UpdateCommunity,
) -> DomainResult<Written<Community>> {
    let community = access::community(db, name, Some(actor.user_id)).await?;
    if !community.standing(Some(actor.role)).can_edit_community() {
        return Err(DomainError::forbidden(
            "Only moderators can change this community.",
        ));
    }
    let update = CommunityUpdate::try_from(body)?;
    communities::update(db, community.id, update, actor.user_id).await?;
    let view = access::community(db, &community.name, Some(actor.user_id)).await?;
    Ok(Written::plain(view.into()))
}

/// Joins (`true`) or leaves a community; both are idempotent.
#[tracing::instrument(name = "communities::membership", skip_all, fields(community = %name, user = %actor.user_id))]
pub async fn membership(
    db: &PgPool,
    actor: &Actor,
    name: &str,
    member: bool,
) -> DomainResult<Written<()>> {
    let community = access::community(db, name, Some(actor.user_id)).await?;
    if member {
        communities::join(db, community.id, actor.user_id).await?;
    } else {
        communities::leave(db, community.id, actor.user_id).await?;
    }
    Ok(Written::plain(()))
}

async fn managed(
    db: &PgPool,
    actor: &Actor,
    name: &str,
    allowed: fn(&crate::rules::permissions::Standing) -> bool,
    refusal: &str,
) -> DomainResult<CommunityRow> {
    let community = access::community(db, name, Some(actor.user_id)).await?;
    if allowed(&community.standing(Some(actor.role))) {
        Ok(community)
    } else {
        Err(DomainError::forbidden(refusal))
    }
}

/// The owner (or an admin) adds a moderator.
#[tracing::instrument(name = "communities::add_moderator", skip_all, fields(community = %name, user = %actor.user_id))]
pub async fn add_moderator(
    db: &PgPool,
    actor: &Actor,
    name: &str,
    username: &str,
) -> DomainResult<Written<Moderator>> {
    let community = managed(
        db,
        actor,
        name,
        |s| s.can_manage_moderators(),
        "Only the owner or an admin can add moderators.",
    )
    .await?;
    let target = user_id(db, username).await?;
    if !communities::add_moderator(db, community.id, target, actor.user_id).await? {
        return Err(DomainError::refused(
            ErrorCode::AlreadyModerator,
            "That user is already a moderator.",
        ));
    }
    let added = communities::moderators(db, community.id)
        .await?
        .into_iter()
        .find(|m| m.username.eq_ignore_ascii_case(username))
        .ok_or_else(|| DomainError::not_found("That user is not a moderator here."))?;
    Ok(Written::plain(added))
}

/// The owner (or an admin) removes a moderator; the owner stays.
#[tracing::instrument(name = "communities::remove_moderator", skip_all, fields(community = %name, user = %actor.user_id))]
pub async fn remove_moderator(
    db: &PgPool,
    actor: &Actor,
    name: &str,
    username: &str,
) -> DomainResult<Written<()>> {
    let community = managed(
        db,
        actor,
        name,
        |s| s.can_manage_moderators(),
        "Only the owner or an admin can remove moderators.",
    )
    .await?;
    let target = user_id(db, username).await?;
    if communities::remove_moderator(db, community.id, target, actor.user_id).await? {
        return Ok(Written::plain(()));
    }
    let is_owner = communities::moderators(db, community.id)
        .await?
        .iter()
        .any(|m| m.role == "owner" && m.username.eq_ignore_ascii_case(username));
    Err(if is_owner {
        DomainError::refused(ErrorCode::Owner, "The owner cannot be removed.")
    } else {
        DomainError::not_found("That user is not a moderator here.")
    })
}

/// Moderators approve (`true`) or unapprove a user to post in a restricted community.
#[tracing::instrument(name = "communities::approval", skip_all, fields(community = %name, user = %actor.user_id))]
pub async fn approval(
    db: &PgPool,
    actor: &Actor,
    name: &str,
    username: &str,
    approved: bool,
) -> DomainResult<Written<()>> {
    let refusal = if approved {
        "Only moderators can approve users."
    } else {
        "Only moderators can unapprove users."
    };
    let community = managed(db, actor, name, |s| s.can_approve(), refusal).await?;
    let target = user_id(db, username).await?;
    if approved {
        communities::approve(db, community.id, target, actor.user_id).await?;
    } else {
        communities::unapprove(db, community.id, target, actor.user_id).await?;
    }
    Ok(Written::plain(()))
}
