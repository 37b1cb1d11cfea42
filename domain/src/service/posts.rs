//! Posts: create, edit, delete, save.

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use super::access;
use crate::change::{Change, Written};
use crate::error::{DomainError, DomainResult};
use crate::model::{Actor, Post};
use crate::rules::markdown;
use crate::rules::permissions::is_author;
use crate::rules::validation::{self, Errors, FieldError};
use crate::store::posts;

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct CreatePost {
    /// 1-300 characters.
    pub title: String,
    /// Markdown, at most 40,000 characters.
    pub body: Option<String>,
    /// An http(s) link.
    pub url: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdatePost {
    pub title: Option<String>,
    pub body: Option<String>,
}

/// A post's text as it may be stored: a valid title, markdown body and optional link.
#[derive(Debug)]
pub struct NewPost {
    title: String,
    body: String,
    url: Option<String>,
}

impl TryFrom<&CreatePost> for NewPost {
    type Error = Vec<FieldError>;

    fn try_from(body: &CreatePost) -> Result<Self, Vec<FieldError>> {
        let mut errors = Errors::default();
        let title = errors.check(validation::required_text(
            "title",
            &body.title,
            1,
            validation::POST_TITLE_MAX,
        ));
        let text = errors.check(validation::markdown(
            "body",
            body.body.as_deref().unwrap_or(""),
            validation::POST_BODY_MAX,
        ));
        let url = match body.url.as_deref().filter(|u| !u.trim().is_empty()) {
            Some(u) => errors.check(validation::http_url("url", u)).map(Some),
            None => Some(None),
        };
        match (title, text, url) {
            (Some(title), Some(body), Some(url)) => Ok(NewPost { title, body, url }),
            _ => Err(errors.into_vec()),
        }
    }
}

/// An edit: a new title, a new body, or both; never neither.
#[derive(Debug)]
pub struct PostEdit {
    title: Option<String>,
    body: Option<String>,
}

impl TryFrom<UpdatePost> for PostEdit {
    type Error = Vec<FieldError>;

    fn try_from(body: UpdatePost) -> Result<Self, Vec<FieldError>> {
        if body.title.is_none() && body.body.is_none() {
            return Err(vec![FieldError::new(
                "body",
                "send a title, a body or both",
            )]);
        }
        let mut errors = Errors::default();
        let title = body.title.as_deref().map(|t| {
            errors.check(validation::required_text(
                "title",
                t,
                1,
                validation::POST_TITLE_MAX,
            ))
        });
        let text = body
            .body
            .as_deref()
            .map(|b| errors.check(validation::markdown("body", b, validation::POST_BODY_MAX)));
        match (title, text) {
            (Some(None), _) | (_, Some(None)) => Err(errors.into_vec()),
            (title, text) => Ok(PostEdit {
                title: title.flatten(),
                body: text.flatten(),
            }),
        }
    }
}

/// Posts in a community the actor may post in.
#[tracing::instrument(name = "posts::create", skip_all, fields(community = %community, user = %actor.user_id))]
pub async fn create(
    db: &PgPool,
    actor: &Actor,
    community: &str,
    body: &CreatePost,
) -> DomainResult<Written<Post>> {
    let community = access::community(db, community, Some(actor.user_id)).await?;
    access::refuse_banned(db, community.id, actor).await?;
    if !community
        .standing(Some(actor.role))
        .can_post(community.restricted)
    {
        return Err(DomainError::forbidden(
            "This community is restricted: only moderators and approved users can post.",
        ));
    }
    let new = NewPost::try_from(body)?;
    let html = markdown::render(&new.body);
    let row = posts::create(
        db,
        posts::NewPost {
            community_id: community.id,
            author_id: actor.user_id,
            title: &new.title,
            body: &new.body,
            body_html: &html,
            url: new.url.as_deref(),
        },
    )
    .await?;
    let changes = [Change::PostListed {
        post: row.id,
        community: row.community_id,
    }];
    Ok(Written::new(row.into_post(false), changes))
}

/// The author edits title and/or body; `edited_at` is set.
#[tracing::instrument(name = "posts::update", skip_all, fields(post = %id, user = %actor.user_id))]
pub async fn update(
    db: &PgPool,
    actor: &Actor,
    id: Uuid,
    body: UpdatePost,
) -> DomainResult<Written<Post>> {
    let post = access::post(db, id).await?;
    if !is_author(actor.user_id, post.author_id) {
        return Err(DomainError::forbidden("Only the author can edit a post."));
    }
    if post.deleted_at.is_some() {
        return Err(DomainError::not_found("The post was deleted."));
    }
    let edit = PostEdit::try_from(body)?;
    let html = edit.body.as_deref().map(markdown::render);
    let new_body = edit.body.as_deref().zip(html.as_deref());
    posts::update(db, post.id, edit.title.as_deref(), new_body).await?;
    let changes = [Change::PostListed {
        post: post.id,
        community: post.community_id,
    }];
    let view = access::post(db, post.id).await?.into_post(false);
    Ok(Written::new(view, changes))
}

/// The author deletes: title and body read `[deleted]`, the author is hidden.
#[tracing::instrument(name = "posts::delete", skip_all, fields(post = %id, user = %actor.user_id))]
pub async fn delete(db: &PgPool, actor: &Actor, id: Uuid) -> DomainResult<Written<()>> {
    let post = access::post(db, id).await?;
    if !is_author(actor.user_id, post.author_id) {
        return Err(DomainError::forbidden("Only the author can delete a post."));
    }
    posts::soft_delete(db, post.id).await?;
    Ok(Written::new(
        (),
        [Change::PostListed {
            post: post.id,
            community: post.community_id,
        }],
    ))
}

/// Saves (`true`) or unsaves a post for the actor; both are idempotent.
#[tracing::instrument(name = "posts::save", skip_all, fields(post = %id, user = %actor.user_id))]
pub async fn save(db: &PgPool, actor: &Actor, id: Uuid, saved: bool) -> DomainResult<Written<()>> {
    let post = access::post(db, id).await?;
    if saved {
        posts::save(db, actor.user_id, post.id).await?;
    } else {
        posts::unsave(db, actor.user_id, post.id).await?;
    }
    Ok(Written::plain(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(e: Vec<FieldError>) -> Vec<String> {
        e.into_iter().map(|f| f.field).collect()
    }

    #[test]
    fn a_new_post_needs_a_title_and_a_valid_link() {
        let body = CreatePost {
            title: " ".into(),
            body: None,
            url: Some("ftp://x".into()),
        };
        let err = NewPost::try_from(&body)
            .err()
            .map(fields)
            .unwrap_or_default();
        assert_eq!(err, ["title", "url"]);
        let ok = CreatePost {
            title: "Hello".into(),
            body: None,
            url: Some("  ".into()),
        };
        assert!(NewPost::try_from(&ok).is_ok_and(|p| p.url.is_none() && p.body.is_empty()));
    }

    #[test]
    fn an_edit_changes_something() {
        let none = UpdatePost {
            title: None,
            body: None,
        };
        assert_eq!(
            PostEdit::try_from(none)
                .err()
                .map(fields)
                .unwrap_or_default(),
            ["body"]
        );
        let title = UpdatePost {
            title: Some("New".into()),
            body: None,
        };
        assert!(PostEdit::try_from(title).is_ok_and(|e| e.body.is_none()));
    }
}
