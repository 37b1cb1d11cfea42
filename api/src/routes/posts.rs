use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, put, web};
use forum_domain::model::{Page, Post, VoteResult};
use forum_domain::model::{Sort, Window};
use forum_domain::service;
use forum_domain::service::posts::{CreatePost, UpdatePost};
use forum_domain::service::votes::VoteRequest;
use forum_domain::store::posts::{Listing, Scope};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::auth::{AuthUser, MaybeUser};
use crate::error::{ApiError, ApiResult};
use crate::extract::Paging;
use crate::routes::communities::load;
use crate::state::AppState;
use crate::{idempotency, listings};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListPosts {
    /// Only posts of this community.
    pub community: Option<String>,
    /// `hot` (default), `new`, `top`, `controversial` or `rising`.
    #[param(inline)]
    pub sort: Option<Sort>,
    /// Time window of `top` and `controversial` (default `day`).
    #[param(inline)]
    pub t: Option<Window>,
}

fn listing(query: &ListPosts, page: &Paging, scope: Scope) -> ApiResult<Listing> {
    let sort = query.sort.unwrap_or_default();
    let window = query.t.unwrap_or_default();
    let mut listing = Listing {
        sort,
        window,
        scope,
        after: None,
        limit: page.limit(),
        include_removed: false,
    };
    listing.after = page.request(&listing.cursor_scope())?.after;
    Ok(listing)
}

#[utoipa::path(
    tag = "posts",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Community name"), ("Idempotency-Key" = Option<String>, Header, description = "1-255 characters; repeats replay the first response")),
    request_body = CreatePost,
    responses(
        (status = 201, description = "Created", body = Post),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Restricted community: moderators and approved users only"),
        (status = 404, description = "No such community"),
        (status = 409, description = "A request with this Idempotency-Key is in flight"),
        (status = 422, description = "Invalid fields, or an Idempotency-Key reused for another body"),
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
        || async {
            let written = service::posts::create(&state.db, &user.actor(), &name, &body).await?;
            Ok((StatusCode::CREATED, state.commit(&user, written).await))
        },
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
        (status = 403, description = "Deleted or removed posts take no votes"),
        (status = 404, description = "No such post"),
        (status = 422, description = "value is not -1, 0 or 1"),
    )
)]
#[put("/posts/{id}/vote")]
pub async fn vote_post(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<VoteRequest>,
) -> ApiResult<web::Json<VoteResult>> {
    let written = service::votes::on_post(&state.db, &user.actor(), *id, body.into_inner()).await?;
    Ok(web::Json(state.commit(&user, written).await))
}

#[utoipa::path(
    tag = "posts",
    params(ListPosts, Paging),
    responses(
        (status = 200, description = "A page of posts", body = Page<Post>),
        (status = 400, description = "Invalid query or cursor"),
        (status = 404, description = "No such community"),
    )
)]
#[get("/posts")]
pub async fn list_posts(
    state: web::Data<AppState>,
    user: MaybeUser,
    query: web::Query<ListPosts>,
    page: Paging,
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
    let mut listing = listing(&query, &page, scope)?;
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
    pub sort: Option<Sort>,
    #[param(inline)]
    pub t: Option<Window>,
}

#[utoipa::path(
    tag = "posts",
    security(("bearer" = [])),
    params(FeedQuery, Paging),
    responses(
        (status = 200, description = "Posts of the communities you joined", body = Page<Post>),
        (status = 401, description = "No valid token"),
    )
)]
#[get("/feed")]
pub async fn feed(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<FeedQuery>,
    page: Paging,
) -> ApiResult<web::Json<Page<Post>>> {
    let q = query.into_inner();
    let query = ListPosts {
        community: None,
        sort: q.sort,
        t: q.t,
    };
    let listing = listing(&query, &page, Scope::Feed(user.user_id))?;
    Ok(web::Json(
        listings::post_page(&state, &listing, Some(&user)).await?,
    ))
}

#[utoipa::path(
    tag = "posts",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The post", body = Post),
        (status = 404, description = "No such post"),
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
        (status = 403, description = "Not the author"),
        (status = 404, description = "No such post (or deleted)"),
        (status = 422, description = "Invalid fields"),
    )
)]
#[patch("/posts/{id}")]
pub async fn update_post(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<UpdatePost>,
) -> ApiResult<web::Json<Post>> {
    let written = service::posts::update(&state.db, &user.actor(), *id, body.into_inner()).await?;
    let mut view = state.commit(&user, written).await;
    listings::personalize(&state, Some(&user), std::slice::from_mut(&mut view)).await?;
    Ok(web::Json(view))
}

#[utoipa::path(
    tag = "posts",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 204, description = "Deleted: title and body read `[deleted]`, the author is hidden"),
        (status = 403, description = "Not the author"),
        (status = 404, description = "No such post"),
    )
)]
#[delete("/posts/{id}")]
pub async fn delete_post(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let written = service::posts::delete(&state.db, &user.actor(), *id).await?;
    state.commit(&user, written).await;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "posts",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 204, description = "Saved (saving twice is fine)"),
        (status = 404, description = "No such post"),
    )
)]
#[put("/posts/{id}/save")]
pub async fn save_post(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let written = service::posts::save(&state.db, &user.actor(), *id, true).await?;
    state.commit(&user, written).await;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "posts",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 204, description = "Not saved (unsaving twice is fine)"),
        (status = 404, description = "No such post"),
    )
)]
#[delete("/posts/{id}/save")]
pub async fn unsave_post(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let written = service::posts::save(&state.db, &user.actor(), *id, false).await?;
    state.commit(&user, written).await;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "posts",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The thread's current summary", body = crate::summaries::Summary),
        (status = 202, description = "No current summary: one job was queued (concurrent requests share it); ask again shortly", body = crate::summaries::Pending),
        (status = 404, description = "No such post (or deleted or removed)"),
        (status = 429, description = "Summary requests quota spent"),
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
