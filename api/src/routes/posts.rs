use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, put, web};
use forum_domain::model::{Page, Post, VoteResult};
use forum_domain::rules::markdown;
use forum_domain::rules::paging::{Cursor, clamp_limit};
use forum_domain::rules::permissions::is_author;
use forum_domain::rules::validation::{self, Errors};
use forum_domain::store::posts::{self, Listing, NewPost, PostRow, Scope, Sort, Window};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::{AuthUser, MaybeUser};
use crate::error::{ApiError, ApiResult, Problem};
use crate::routes::comments::{VoteRequest, parse_vote};
use crate::routes::communities::load;
use crate::state::AppState;
use crate::{idempotency, listings};

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

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SortParam {
    Hot,
    New,
    Top,
    Controversial,
    Rising,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WindowParam {
    Hour,
    Day,
    Week,
    Month,
    Year,
    All,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListPosts {
    /// Only posts of this community.
    pub community: Option<String>,
    /// `hot` (default), `new`, `top`, `controversial` or `rising`.
    #[param(inline)]
    pub sort: Option<SortParam>,
    /// Time window of `top` and `controversial` (default `day`).
    #[param(inline)]
    pub t: Option<WindowParam>,
    /// 1-100, default 25.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

fn listing(query: &ListPosts, scope: Scope) -> ApiResult<Listing> {
    let sort = match query.sort.unwrap_or(SortParam::Hot) {
        SortParam::Hot => Sort::Hot,
        SortParam::New => Sort::New,
        SortParam::Top => Sort::Top,
        SortParam::Controversial => Sort::Controversial,
        SortParam::Rising => Sort::Rising,
    };
    let window = match query.t.unwrap_or(WindowParam::Day) {
        WindowParam::Hour => Window::Hour,
        WindowParam::Day => Window::Day,
        WindowParam::Week => Window::Week,
        WindowParam::Month => Window::Month,
        WindowParam::Year => Window::Year,
        WindowParam::All => Window::All,
    };
    let mut listing = Listing {
        sort,
        window,
        scope,
        after: None,
        limit: clamp_limit(query.limit),
        include_removed: false,
    };
    if let Some(raw) = &query.cursor {
        listing.after = Some(Cursor::decode(raw, &listing.cursor_scope())?);
    }
    Ok(listing)
}

async fn load_post(state: &AppState, id: Uuid) -> ApiResult<PostRow> {
    posts::get(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("No such post."))
}

async fn create(
    state: &AppState,
    user: &AuthUser,
    name: &str,
    body: &CreatePost,
) -> ApiResult<(StatusCode, serde_json::Value)> {
    let community = load(state, name, Some(user.user_id)).await?;
    crate::moderation::refuse_banned(state, community.id, user).await?;
    if !community
        .standing(Some(user.role))
        .can_post(community.restricted)
    {
        return Err(ApiError::forbidden(
            "This community is restricted: only moderators and approved users can post.",
        ));
    }
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
        Some(u) => errors.check(validation::http_url("url", u)),
        None => None,
    };
    errors.into_result().map_err(ApiError::validation)?;
    let (Some(title), Some(text)) = (title, text) else {
        return Err(ApiError::internal(anyhow::anyhow!(
            "validated fields missing"
        )));
    };
    let html = markdown::render(&text);
    let row = posts::create(
        &state.db,
        NewPost {
            community_id: community.id,
            author_id: user.user_id,
            title: &title,
            body: &text,
            body_html: &html,
            url: url.as_deref(),
        },
    )
    .await?;
    listings::invalidate_post(state, row.community_id, row.id).await;
    state.wrote(user).await;
    Ok((
        StatusCode::CREATED,
        serde_json::to_value(row.into_post(false)).map_err(ApiError::internal)?,
    ))
}

#[utoipa::path(
    tag = "posts",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Community name"), ("Idempotency-Key" = Option<String>, Header, description = "1-255 characters; repeats replay the first response")),
    request_body = CreatePost,
    responses(
        (status = 201, description = "Created", body = Post),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Restricted community: moderators and approved users only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such community", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A request with this Idempotency-Key is in flight", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or an Idempotency-Key reused for another body", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/communities/{name}/posts")]
pub async fn create_post(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Json<CreatePost>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    idempotency::run(
        &state,
        &user,
        &req,
        &body,
        crate::limits::Bucket::Posts,
        || create(&state, &user, &name, &body),
    )
    .await
}

#[utoipa::path(
    tag = "posts",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    request_body = VoteRequest,
    responses(
        (status = 200, description = "The post's counts after your vote; repeating a vote changes nothing", body = VoteResult),
        (status = 403, description = "Deleted or removed posts take no votes", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such post", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "value is not -1, 0 or 1", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/posts/{id}/vote")]
pub async fn vote_post(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<VoteRequest>,
) -> ApiResult<web::Json<VoteResult>> {
    let value = parse_vote(body.value)?;
    let cast = posts::vote(&state.db, user.user_id, *id, value).await?;
    let result = crate::moderation::vote_counted(cast, "post")?;
    listings::forget_post(&state, *id).await;
    Ok(web::Json(result))
}

#[utoipa::path(
    tag = "posts",
    params(ListPosts),
    responses(
        (status = 200, description = "A page of posts", body = Page<Post>),
        (status = 400, description = "Invalid query or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such community", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/posts")]
pub async fn list_posts(
    state: web::Data<AppState>,
    user: MaybeUser,
    query: web::Query<ListPosts>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    // An anonymous page is everyone's: answered from this process' copy while it is fresh.
    let local_key = user
        .0
        .is_none()
        .then(|| format!("posts?{}", req.query_string()));
    if let Some(body) = local_key.as_deref().and_then(|k| state.cache.pages.get(k)) {
        state.metrics.cache("listing_local", "hit");
        return Ok(json_body(body));
    }
    let (scope, moderator) = match &query.community {
        Some(name) => {
            let community = load(&state, name, user.id()).await?;
            (
                Scope::Community(community.id),
                community.standing(user.role()).moderates(),
            )
        }
        None => (Scope::All, false),
    };
    let mut listing = listing(&query, scope)?;
    // A community's moderators also see its removed posts (uncached; see listings).
    listing.include_removed = moderator;
    let page = listings::post_page(&state, &listing, user.0.as_ref()).await?;
    let body = web::Bytes::from(serde_json::to_vec(&page).map_err(ApiError::internal)?);
    if let Some(key) = local_key {
        state.cache.pages.put(key, body.clone());
    }
    Ok(json_body(body))
}

fn json_body(body: web::Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(body)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    #[param(inline)]
    pub sort: Option<SortParam>,
    #[param(inline)]
    pub t: Option<WindowParam>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[utoipa::path(
    tag = "posts",
    security(("bearer" = [])),
    params(FeedQuery),
    responses(
        (status = 200, description = "Posts of the communities you joined", body = Page<Post>),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/feed")]
pub async fn feed(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<FeedQuery>,
) -> ApiResult<web::Json<Page<Post>>> {
    let q = query.into_inner();
    let query = ListPosts {
        community: None,
        sort: q.sort,
        t: q.t,
        limit: q.limit,
        cursor: q.cursor,
    };
    let listing = listing(&query, Scope::Feed(user.user_id))?;
    Ok(web::Json(
        listings::post_page(&state, &listing, Some(&user)).await?,
    ))
}

#[utoipa::path(
    tag = "posts",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The post", body = Post),
        (status = 404, description = "No such post", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/posts/{id}")]
pub async fn get_post(
    state: web::Data<AppState>,
    user: MaybeUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<Post>> {
    listings::post_detail(&state, *id, user.0.as_ref())
        .await?
        .map(web::Json)
        .ok_or_else(|| ApiError::not_found("No such post."))
}

#[utoipa::path(
    tag = "posts",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    request_body = UpdatePost,
    responses(
        (status = 200, description = "Updated; `edited_at` is set", body = Post),
        (status = 403, description = "Not the author", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such post (or deleted)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/posts/{id}")]
pub async fn update_post(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<UpdatePost>,
) -> ApiResult<web::Json<Post>> {
    let post = load_post(&state, *id).await?;
    if !is_author(user.user_id, post.author_id) {
        return Err(ApiError::forbidden("Only the author can edit a post."));
    }
    if post.deleted_at.is_some() {
        return Err(ApiError::not_found("The post was deleted."));
    }
    let body = body.into_inner();
    if body.title.is_none() && body.body.is_none() {
        return Err(ApiError::field("body", "send a title, a body or both"));
    }
    let mut errors = Errors::default();
    let title = body.title.as_deref().and_then(|t| {
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
        .and_then(|b| errors.check(validation::markdown("body", b, validation::POST_BODY_MAX)));
    errors.into_result().map_err(ApiError::validation)?;
    let html = text.as_deref().map(markdown::render);
    let new_body = text.as_deref().zip(html.as_deref());
    posts::update(&state.db, post.id, title.as_deref(), new_body).await?;
    listings::invalidate_post(&state, post.community_id, post.id).await;
    state.wrote(&user).await;
    let mut view = load_post(&state, post.id).await?.into_post(false);
    listings::personalize(&state, Some(&user), std::slice::from_mut(&mut view)).await?;
    Ok(web::Json(view))
}

#[utoipa::path(
    tag = "posts",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 204, description = "Deleted: title and body read `[deleted]`, the author is hidden"),
        (status = 403, description = "Not the author", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such post", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/posts/{id}")]
pub async fn delete_post(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let post = load_post(&state, *id).await?;
    if !is_author(user.user_id, post.author_id) {
        return Err(ApiError::forbidden("Only the author can delete a post."));
    }
    posts::soft_delete(&state.db, post.id).await?;
    listings::invalidate_post(&state, post.community_id, post.id).await;
    state.wrote(&user).await;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "posts",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 204, description = "Saved (saving twice is fine)"),
        (status = 404, description = "No such post", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/posts/{id}/save")]
pub async fn save_post(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let post = load_post(&state, *id).await?;
    posts::save(&state.db, user.user_id, post.id).await?;
    state.wrote(&user).await;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "posts",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 204, description = "Not saved (unsaving twice is fine)"),
        (status = 404, description = "No such post", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/posts/{id}/save")]
pub async fn unsave_post(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let post = load_post(&state, *id).await?;
    posts::unsave(&state.db, user.user_id, post.id).await?;
    state.wrote(&user).await;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "posts",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The thread's current summary", body = crate::summaries::Summary),
        (status = 202, description = "No current summary: one job was queued (concurrent requests share it); ask again shortly", body = crate::summaries::Pending),
        (status = 404, description = "No such post (or deleted or removed)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Summary requests quota spent", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/posts/{id}/summary")]
pub async fn summary(
    state: web::Data<AppState>,
    user: MaybeUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(
        match crate::summaries::get(&state, user.0.as_ref(), &req, *id).await? {
            crate::summaries::Answer::Ready(s) => HttpResponse::Ok().json(s),
            crate::summaries::Answer::Pending => {
                HttpResponse::Accepted().json(crate::summaries::Pending { status: "pending" })
            }
        },
    )
}
