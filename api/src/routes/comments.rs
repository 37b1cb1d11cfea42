use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, put, web};
use forum_domain::model::{AuthorSort, CommentSort};
use forum_domain::model::{Comment, CommentWithPath, Page, Thread, VoteResult};
use forum_domain::rules::paging::{Cursor, PageRequest, finish_page};
use forum_domain::service;
use forum_domain::service::comments::{CreateComment, UpdateComment};
use forum_domain::service::votes::VoteRequest;
use forum_domain::store::comments::{self, CommentRow};
use forum_domain::store::{posts, users};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::auth::{AuthUser, MaybeUser};
use crate::error::{ApiError, ApiResult};
use crate::extract::Paging;
use crate::state::AppState;
use crate::{idempotency, threads};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ThreadParams {
    /// `best` (default), `top`, `new`, `old` or `controversial`.
    #[param(inline)]
    pub sort: Option<CommentSort>,
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

async fn load(state: &AppState, id: Uuid) -> ApiResult<CommentRow> {
    Ok(service::access::comment(&state.db, id).await?)
}

#[utoipa::path(
    tag = "comments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Post id"), ("Idempotency-Key" = Option<String>, Header, description = "1-255 characters; repeats replay the first response")),
    request_body = CreateComment,
    responses(
        (status = 201, description = "Created", body = Comment),
        (status = 403, description = "The post is locked, deleted or removed"),
        (status = 404, description = "No such post"),
        (status = 409, description = "A request with this Idempotency-Key is in flight"),
        (status = 422, description = "Invalid body, a parent on another post, deeper than 10 levels, or an Idempotency-Key reused for another body"),
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
        || async {
            let written = service::comments::create(&state.db, &user.actor(), *id, &body).await?;
            Ok((StatusCode::CREATED, state.commit(&user, written).await))
        },
    )
    .await
}

#[utoipa::path(
    tag = "comments",
    params(("id" = Uuid, Path, description = "Post id"), ThreadParams),
    responses(
        (status = 200, description = "A page of the comment tree", body = Thread),
        (status = 400, description = "Invalid query or cursor"),
        (status = 404, description = "No such post (or parent comment)"),
    )
)]
#[get("/posts/{id}/comments")]
pub async fn thread(
    state: web::Data<AppState>,
    user: MaybeUser,
    id: web::Path<Uuid>,
    query: web::Query<ThreadParams>,
) -> ApiResult<web::Json<Thread>> {
    let post = posts::by_id(&state.db, *id)
        .await?
        .ok_or_else(|| ApiError::not_found("No such post."))?;
    let sort = query.sort.unwrap_or_default();
    if let Some(parent) = query.parent_id {
        load(&state, parent)
            .await
            .ok()
            .filter(|p| p.post_id == post.id)
            .ok_or_else(|| ApiError::not_found("No such comment on this post."))?;
    }
    let page = PageRequest::parse(
        query.limit,
        query.cursor.as_deref(),
        &sort.scope(query.parent_id),
    )?;
    let q = threads::ThreadQuery {
        post_id: post.id,
        parent: query.parent_id,
        sort,
        after: page.after,
        limit: page.limit,
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
        (status = 404, description = "No such comment"),
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
    let post = posts::by_id(&state.db, row.post_id)
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
        (status = 403, description = "Not the author"),
        (status = 404, description = "No such comment (or deleted)"),
        (status = 422, description = "Invalid body"),
    )
)]
#[patch("/comments/{id}")]
pub async fn update_comment(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<UpdateComment>,
) -> ApiResult<web::Json<Comment>> {
    let written = service::comments::update(&state.db, &user.actor(), *id, &body).await?;
    Ok(web::Json(state.commit(&user, written).await))
}

#[utoipa::path(
    tag = "comments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 204, description = "Deleted: the body reads `[deleted]`, the author is hidden, replies stay"),
        (status = 403, description = "Not the author"),
        (status = 404, description = "No such comment"),
    )
)]
#[delete("/comments/{id}")]
pub async fn delete_comment(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let written = service::comments::delete(&state.db, &user.actor(), *id).await?;
    state.commit(&user, written).await;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "comments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    request_body = VoteRequest,
    responses(
        (status = 200, description = "The comment's counts after your vote", body = VoteResult),
        (status = 403, description = "Deleted or removed comments take no votes"),
        (status = 404, description = "No such comment"),
        (status = 422, description = "value is not -1, 0 or 1"),
    )
)]
#[put("/comments/{id}/vote")]
pub async fn vote_comment(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<VoteRequest>,
) -> ApiResult<web::Json<VoteResult>> {
    let written =
        service::votes::on_comment(&state.db, &user.actor(), *id, body.into_inner()).await?;
    Ok(web::Json(state.commit(&user, written).await))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserCommentsQuery {
    /// `new` (default) or `top`.
    #[param(inline)]
    pub sort: Option<AuthorSort>,
}

#[utoipa::path(
    tag = "accounts",
    params(("username" = String, Path), UserCommentsQuery, Paging),
    responses(
        (status = 200, description = "The user's comments (without replies)", body = Page<Comment>),
        (status = 404, description = "No such user"),
    )
)]
#[get("/users/{username}/comments")]
pub async fn user_comments(
    state: web::Data<AppState>,
    user: MaybeUser,
    username: web::Path<String>,
    query: web::Query<UserCommentsQuery>,
    page: Paging,
) -> ApiResult<web::Json<Page<Comment>>> {
    let author = users::by_username(&state.db, &username)
        .await?
        .ok_or_else(|| ApiError::not_found("No such user."))?;
    let sort = query.sort.unwrap_or_default();
    let scope = format!("user_comments:{}", sort.as_str());
    let PageRequest { limit, after } = page.request(&scope)?;
    let rows = comments::by_author(
        state.reader(user.0.as_ref()).await,
        author.id,
        sort,
        after.as_ref(),
        limit,
    )
    .await?;
    let (rows, next_cursor) = finish_page(rows, limit, |r| {
        Cursor::after(
            scope.as_str(),
            (sort == AuthorSort::Top).then_some(r.sort_key),
            r.id,
        )
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
