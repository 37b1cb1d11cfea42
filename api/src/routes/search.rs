use actix_web::{get, web};
use forum_domain::model::{Community, Post, SearchSort};
use forum_domain::rules::paging::{Cursor, PageRequest, finish_page};
use forum_domain::store::communities;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::MaybeUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::Paging;
use crate::listings;
use crate::state::AppState;

#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SearchType {
    Posts,
    Communities,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Web-search syntax: words, "quoted phrases", `-excluded`, `or`. 1-256 characters.
    pub q: Option<String>,
    /// `posts` (default) or `communities`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    #[param(inline)]
    pub kind: Option<SearchType>,
    /// Posts only: `relevance` (default; the best 500 matches, best first), `new` or `top`.
    #[param(inline)]
    pub sort: Option<SearchSort>,
    /// Posts only: search within this community (its name).
    pub community: Option<String>,
}

/// A page of matches: posts or communities, as asked by `type`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResults {
    pub items: Vec<SearchHit>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum SearchHit {
    Post(Post),
    Community(Community),
}

#[utoipa::path(
    tag = "posts",
    params(SearchQuery, Paging),
    responses(
        (status = 200, description = "Matches, best first", body = SearchResults),
        (status = 400, description = "Invalid query or cursor"),
        (status = 404, description = "No such community"),
        (status = 422, description = "Missing or too long `q`"),
    )
)]
#[get("/search")]
pub async fn search(
    state: web::Data<AppState>,
    user: MaybeUser,
    query: web::Query<SearchQuery>,
    page: Paging,
) -> ApiResult<web::Json<SearchResults>> {
    let q = query.q.as_deref().map(str::trim).unwrap_or("");
    if q.is_empty() || q.chars().count() > 256 {
        return Err(ApiError::field("q", "must be 1-256 characters"));
    }
    let db = state.reader(user.0.as_ref()).await;
    match query.kind.unwrap_or(SearchType::Posts) {
        SearchType::Posts => {
            let sort = query.sort.unwrap_or_default();
            let community = query.community.as_deref();
            let found =
                listings::search_posts(&state, user.0.as_ref(), q, sort, community, &page).await?;
            Ok(web::Json(SearchResults {
                items: found.items.into_iter().map(SearchHit::Post).collect(),
                next_cursor: found.next_cursor,
            }))
        }
        SearchType::Communities => {
            const SCOPE: &str = "search:communities";
            let PageRequest { limit, after } = page.request(SCOPE)?;
            let rows = communities::search(db, q, after.as_ref(), limit, user.id()).await?;
            let (rows, next) = finish_page(rows, limit, |(r, rank)| {
                Cursor::after(SCOPE, Some(*rank), r.id)
            });
            let items = rows.into_iter().map(|(r, _)| Community::from(r));
            Ok(web::Json(SearchResults {
                items: items.map(SearchHit::Community).collect(),
                next_cursor: next,
            }))
        }
    }
}
