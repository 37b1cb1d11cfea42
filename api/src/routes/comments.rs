use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, put, web};
use forum_domain::model::{Comment, CommentWithPath, Page, Thread, VoteResult};
use forum_domain::rules::markdown;
use forum_domain::rules::paging::{Cursor, clamp_limit, finish_page};
use forum_domain::rules::permissions::is_author;
use forum_domain::rules::validation::{self, FieldError};
use forum_domain::store::comments::{
    self, AuthorSort, CommentRow, CommentSort, NewComment, ReplyRecipient,
};
use forum_domain::store::{posts, users};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::{AuthUser, MaybeUser};
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;
use crate::{idempotency, listings, threads};

pub const BODY_MAX: usize = 10_000;
pub const MAX_DEPTH: i16 = 10;

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct CreateComment {
    /// Markdown, 1-10,000 characters.
    pub body: String,
    /// The comment this replies to (same post); omit for a top-level comment.
    pub parent_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateComment {
    pub body: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct VoteRequest {
    /// -1, 0 (no vote) or 1.
    pub value: i64,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CommentSortParam {
    Best,
    Top,
    New,
    Old,
    Controversial,
}

impl From<CommentSortParam> for CommentSort {
    fn from(s: CommentSortParam) -> Self {
        match s {
            CommentSortParam::Best => CommentSort::Best,
            CommentSortParam::Top => CommentSort::Top,
            CommentSortParam::New => CommentSort::New,
            CommentSortParam::Old => CommentSort::Old,
            CommentSortParam::Controversial => CommentSort::Controversial,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ThreadParams {
    /// `best` (default), `top`, `new`, `old` or `controversial`.
    #[param(inline)]
    pub sort: Option<CommentSortParam>,
    /// Comments on the first level, 1-100 (default 25).
    pub limit: Option<i64>,
    /// Levels of the tree to return, the first included: 1-11 (default 5).
    pub depth: Option<i64>,
    /// Replies shown per comment below the first level, 1-100 (default 10).
    pub replies: Option<i64>,
    /// Return the replies of this comment (a `more` continuation) instead of the top level.
    pub parent_id: Option<Uuid>,
    pub cursor: Option<String>,
}

pub fn parse_vote(value: i64) -> ApiResult<i16> {
    match value {
        -1..=1 => Ok(value as i16),
        _ => Err(ApiError::field("value", "must be -1, 0 or 1")),
    }
}

async fn load(state: &AppState, id: Uuid) -> ApiResult<CommentRow> {
    comments::get(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("No such comment."))
}

fn validate_body(raw: &str) -> Result<String, FieldError> {
    let body = validation::markdown("body", raw, BODY_MAX)?;
    if body.trim().is_empty() {
        return Err(FieldError::new("body", "must be 1-10000 characters"));
    }
    Ok(body)
}

async fn create(
    state: &AppState,
    user: &AuthUser,
    post_id: Uuid,
    body: &CreateComment,
) -> ApiResult<(StatusCode, serde_json::Value)> {
    let post = posts::get(&state.db, post_id)
        .await?
        .ok_or_else(|| ApiError::not_found("No such post."))?;
    if post.deleted_at.is_some() || post.removed_at.is_some() {
        return Err(ApiError::forbidden(
            "This post was deleted or removed; it takes no new comments.",
        ));
    }
    if post.locked {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "locked",
            "This post is locked.",
        ));
    }
    crate::moderation::refuse_banned(state, post.community_id, user).await?;
    let text = validate_body(&body.body).map_err(|e| ApiError::validation(vec![e]))?;
    let parent = match body.parent_id {
        Some(id) => {
            let parent = comments::get(&state.db, id)
                .await?
                .filter(|p| p.post_id == post.id)
                .ok_or_else(|| ApiError::field("parent_id", "is not a comment on this post"))?;
            if parent.depth >= MAX_DEPTH {
                return Err(ApiError::field(
                    "parent_id",
                    "replies nest at most 10 levels deep",
                ));
            }
            Some(parent)
        }
        None => None,
    };
    let recipient_id = match &parent {
        Some(p) => p.author_id,
        None => post.author_id,
    };
    let recipient = match recipient_id {
        Some(id) => users::find_by_id(&state.db, id).await?,
        None => None,
    };
    let actor = users::find_by_id(&state.db, user.user_id)
        .await?
        .map(|u| u.username)
        .unwrap_or_default();
    let html = markdown::render(&text);
    let row = comments::create(
        &state.db,
        NewComment {
            post_id: post.id,
            parent: parent.as_ref(),
            author_id: user.user_id,
            body: &text,
            body_html: &html,
        },
        recipient.as_ref().map(|r| ReplyRecipient {
            user_id: r.id,
            email: &r.email,
            username: &r.username,
            wants_email: r.email_notifications,
            post_title: &post.title,
            actor: &actor,
        }),
    )
    .await?;
    listings::forget_post(state, post.id).await;
    crate::summaries::forget(state, post.id).await;
    crate::summaries::on_new_comment(state, post.id, post.comment_count.saturating_add(1)).await;
    state.wrote(user).await;
    Ok((
        StatusCode::CREATED,
        serde_json::to_value(row.view(false)).map_err(ApiError::internal)?,
    ))
}

#[utoipa::path(
    tag = "comments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Post id"), ("Idempotency-Key" = Option<String>, Header, description = "1-255 characters; repeats replay the first response")),
    request_body = CreateComment,
    responses(
        (status = 201, description = "Created", body = Comment),
        (status = 403, description = "The post is locked, deleted or removed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such post", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A request with this Idempotency-Key is in flight", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid body, a parent on another post, deeper than 10 levels, or an Idempotency-Key reused for another body", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/posts/{id}/comments")]
pub async fn create_comment(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: web::Json<CreateComment>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    idempotency::run(
        &state,
        &user,
        &req,
        &body,
        crate::limits::Bucket::Comments,
        || create(&state, &user, *id, &body),
    )
    .await
}

#[utoipa::path(
    tag = "comments",
    params(("id" = Uuid, Path, description = "Post id"), ThreadParams),
    responses(
        (status = 200, description = "A page of the comment tree", body = Thread),
        (status = 400, description = "Invalid query or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such post (or parent comment)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/posts/{id}/comments")]
pub async fn thread(
    state: web::Data<AppState>,
    user: MaybeUser,
    id: web::Path<Uuid>,
    query: web::Query<ThreadParams>,
) -> ApiResult<web::Json<Thread>> {
    let post = posts::get(&state.db, *id)
        .await?
        .ok_or_else(|| ApiError::not_found("No such post."))?;
    let sort: CommentSort = query.sort.unwrap_or(CommentSortParam::Best).into();
    if let Some(parent) = query.parent_id {
        load(&state, parent)
            .await
            .ok()
            .filter(|p| p.post_id == post.id)
            .ok_or_else(|| ApiError::not_found("No such comment on this post."))?;
    }
    let after = query
        .cursor
        .as_deref()
        .map(|c| Cursor::decode(c, &sort.scope(query.parent_id)))
        .transpose()?;
    let q = threads::ThreadQuery {
        post_id: post.id,
        parent: query.parent_id,
        sort,
        after,
        limit: clamp_limit(query.limit),
        levels: usize::try_from(query.depth.unwrap_or(5).clamp(1, 11)).unwrap_or(5),
        replies: query.replies.unwrap_or(10).clamp(1, 100),
    };
    let moderator =
        crate::moderation::moderates(&state, post.community_id, user.0.as_ref()).await?;
    Ok(web::Json(
        threads::page(&state, &q, user.0.as_ref(), moderator).await?,
    ))
}

#[utoipa::path(
    tag = "comments",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The comment and its ancestors' ids (`path`)", body = CommentWithPath),
        (status = 404, description = "No such comment", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/comments/{id}")]
pub async fn get_comment(
    state: web::Data<AppState>,
    user: MaybeUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<CommentWithPath>> {
    let row = load(&state, *id).await?;
    let path = row.path.clone();
    let post = posts::get(&state.db, row.post_id)
        .await?
        .ok_or_else(|| ApiError::not_found("No such comment."))?;
    let moderator =
        crate::moderation::moderates(&state, post.community_id, user.0.as_ref()).await?;
    let mut comment = row.view(moderator);
    if let Some(u) = &user.0 {
        let votes: HashMap<Uuid, i32> = comments::viewer_votes(&state.db, u.user_id, &[comment.id])
            .await?
            .into_iter()
            .collect();
        threads::apply_votes(std::slice::from_mut(&mut comment), &votes);
    }
    Ok(web::Json(CommentWithPath { comment, path }))
}

#[utoipa::path(
    tag = "comments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    request_body = UpdateComment,
    responses(
        (status = 200, description = "Updated; `edited_at` is set", body = Comment),
        (status = 403, description = "Not the author", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such comment (or deleted)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/comments/{id}")]
pub async fn update_comment(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<UpdateComment>,
) -> ApiResult<web::Json<Comment>> {
    let row = load(&state, *id).await?;
    if !is_author(user.user_id, row.author_id) {
        return Err(ApiError::forbidden("Only the author can edit a comment."));
    }
    if row.deleted_at.is_some() {
        return Err(ApiError::not_found("The comment was deleted."));
    }
    let text = validate_body(&body.body).map_err(|e| ApiError::validation(vec![e]))?;
    comments::update(&state.db, row.id, &text, &markdown::render(&text)).await?;
    crate::summaries::forget(&state, row.post_id).await;
    state.wrote(&user).await;
    Ok(web::Json(load(&state, row.id).await?.view(false)))
}

#[utoipa::path(
    tag = "comments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 204, description = "Deleted: the body reads `[deleted]`, the author is hidden, replies stay"),
        (status = 403, description = "Not the author", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such comment", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/comments/{id}")]
pub async fn delete_comment(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let row = load(&state, *id).await?;
    if !is_author(user.user_id, row.author_id) {
        return Err(ApiError::forbidden("Only the author can delete a comment."));
    }
    comments::soft_delete(&state.db, row.id).await?;
    crate::summaries::forget(&state, row.post_id).await;
    state.wrote(&user).await;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "comments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    request_body = VoteRequest,
    responses(
        (status = 200, description = "The comment's counts after your vote", body = VoteResult),
        (status = 403, description = "Deleted or removed comments take no votes", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such comment", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "value is not -1, 0 or 1", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/comments/{id}/vote")]
pub async fn vote_comment(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<VoteRequest>,
) -> ApiResult<web::Json<VoteResult>> {
    let value = parse_vote(body.value)?;
    let cast = comments::vote(&state.db, user.user_id, *id, value).await?;
    Ok(web::Json(crate::moderation::vote_counted(cast, "comment")?))
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UserCommentSort {
    New,
    Top,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserCommentsQuery {
    /// `new` (default) or `top`.
    #[param(inline)]
    pub sort: Option<UserCommentSort>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[utoipa::path(
    tag = "accounts",
    params(("username" = String, Path), UserCommentsQuery),
    responses(
        (status = 200, description = "The user's comments (without replies)", body = Page<Comment>),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users/{username}/comments")]
pub async fn user_comments(
    state: web::Data<AppState>,
    user: MaybeUser,
    username: web::Path<String>,
    query: web::Query<UserCommentsQuery>,
) -> ApiResult<web::Json<Page<Comment>>> {
    let author = users::find_by_username(&state.db, &username)
        .await?
        .ok_or_else(|| ApiError::not_found("No such user."))?;
    let (sort, scope) = match query.sort.unwrap_or(UserCommentSort::New) {
        UserCommentSort::New => (AuthorSort::New, "user_comments:new"),
        UserCommentSort::Top => (AuthorSort::Top, "user_comments:top"),
    };
    let after = query
        .cursor
        .as_deref()
        .map(|c| Cursor::decode(c, scope))
        .transpose()?;
    let limit = clamp_limit(query.limit);
    let rows = comments::by_author(
        state.reader(user.0.as_ref()).await,
        author.id,
        sort,
        after.as_ref(),
        limit,
    )
    .await?;
    let (rows, next_cursor) = finish_page(rows, limit, |r| Cursor {
        scope: scope.into(),
        key: (sort == AuthorSort::Top).then_some(r.sort_key),
        id: r.id,
        at: None,
        snapshot: None,
        pos: None,
    });
    let mut items: Vec<Comment> = rows.into_iter().map(|r| r.view(false)).collect();
    if let Some(u) = &user.0 {
        let ids: Vec<Uuid> = items.iter().map(|c| c.id).collect();
        let votes: HashMap<Uuid, i32> = comments::viewer_votes(&state.db, u.user_id, &ids)
            .await?
            .into_iter()
            .collect();
        threads::apply_votes(&mut items, &votes);
    }
    Ok(web::Json(Page { items, next_cursor }))
}
