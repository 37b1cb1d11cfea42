//! Post pages: cache-aside for the shared part, then the caller's own fields (`my_vote`,
//! `saved`) merged from one indexed query per page.

use std::time::Duration;

use forum_domain::model::{Page, Post};
use forum_domain::rules::paging::finish_page;
use forum_domain::store::posts::{self, Listing, PostRow, Scope};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::cache::post_scopes;
use crate::error::ApiResult;
use crate::state::AppState;

/// The cache key of a listing page under a scope version.
fn page_key(state: &AppState, listing: &Listing, scope: &str, version: i64) -> String {
    let sort = listing.cursor_scope();
    let cursor = listing
        .after
        .as_ref()
        .map(|c| c.encode())
        .unwrap_or_else(|| "-".into());
    state.cache.key(&format!(
        "page:{scope}:v{version}:{sort}:{}:{cursor}",
        listing.limit
    ))
}

/// One page of a listing, shared by every caller (no per-user fields yet).
async fn shared_page(
    state: &AppState,
    listing: &Listing,
    user: Option<&AuthUser>,
) -> ApiResult<Page<Post>> {
    let scope = match listing.scope {
        // A moderator's view (with removed posts) is theirs alone, like a feed.
        _ if listing.include_removed => None,
        Scope::All => Some("posts:all".to_string()),
        Scope::Community(id) => Some(format!("posts:{id}")),
        // A feed is one user's: nothing to share.
        Scope::Feed(_) => None,
    };
    let key = match &scope {
        Some(scope) => state
            .cache
            .versions(&state.metrics, std::slice::from_ref(scope))
            .await
            .and_then(|v| v.first().copied())
            .map(|version| page_key(state, listing, scope, version)),
        None => None,
    };
    if let Some(key) = &key
        && let Some(page) = state
            .cache
            .get::<Page<Post>>(&state.metrics, "listing", key)
            .await
    {
        return Ok(page);
    }
    let page = query_page(state, listing, user).await?;
    if let Some(key) = &key {
        let ttl = Duration::from_secs(state.config.settings.cache_listing_ttl_secs);
        state.cache.put(&state.metrics, key, &page, ttl).await;
    }
    Ok(page)
}

async fn query_page(
    state: &AppState,
    listing: &Listing,
    user: Option<&AuthUser>,
) -> ApiResult<Page<Post>> {
    let db = state.reader(user).await;
    let mut items: Vec<Post> = Vec::new();
    let mut listing = listing.clone();
    if let (true, Scope::Community(id)) = (listing.shows_pinned(), listing.scope) {
        items.extend(
            posts::pinned(db, id)
                .await?
                .into_iter()
                .map(|r| r.into_post(listing.include_removed)),
        );
        listing.limit = (listing.limit - items.len() as i64).max(1);
    }
    let rows = posts::list(db, &listing).await?;
    let (rows, next_cursor) = finish_page(rows, listing.limit, |r| listing.cursor_for(r));
    items.extend(
        rows.into_iter()
            .map(|r| r.into_post(listing.include_removed)),
    );
    Ok(Page { items, next_cursor })
}

/// Sets the caller's vote and saved flag on each post.
pub async fn personalize(
    state: &AppState,
    user: Option<&AuthUser>,
    items: &mut [Post],
) -> ApiResult<()> {
    let Some(user) = user else { return Ok(()) };
    if items.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = items.iter().map(|p| p.id).collect();
    let states = posts::viewer_state(state.reader(Some(user)).await, user.user_id, &ids).await?;
    for post in items.iter_mut() {
        if let Some((_, vote, saved)) = states.iter().find(|(id, _, _)| *id == post.id) {
            post.my_vote = *vote;
            post.saved = *saved;
        }
    }
    Ok(())
}

pub async fn post_page(
    state: &AppState,
    listing: &Listing,
    user: Option<&AuthUser>,
) -> ApiResult<Page<Post>> {
    let mut page = shared_page(state, listing, user).await?;
    personalize(state, user, &mut page.items).await?;
    Ok(page)
}

/// A post as anyone sees it, cached briefly.
pub async fn post_detail(
    state: &AppState,
    id: Uuid,
    user: Option<&AuthUser>,
) -> ApiResult<Option<Post>> {
    let key = post_key(state, id);
    let post = match state.cache.get::<Post>(&state.metrics, "post", &key).await {
        Some(post) => Some(post),
        None => {
            let post = posts::get(state.reader(user).await, id)
                .await?
                .map(|r| r.into_post(false));
            if let Some(post) = &post {
                let ttl = Duration::from_secs(state.config.settings.cache_post_ttl_secs);
                state.cache.put(&state.metrics, &key, post, ttl).await;
            }
            post
        }
    };
    let Some(mut post) = post else {
        return Ok(None);
    };
    // The community's moderators see removed text and the open report count.
    if let Some(u) = user {
        let community = forum_domain::store::communities::by_name(
            &state.db,
            &post.community.name,
            Some(u.user_id),
        )
        .await?;
        if community.is_some_and(|c| c.standing(Some(u.role)).moderates())
            && let Some(row) = posts::get(&state.db, id).await?
        {
            let counts =
                forum_domain::store::moderation::open_report_counts(&state.db, &[row.id]).await?;
            post = row.into_post(true);
            post.report_count = Some(counts.first().map_or(0, |c| c.1));
        }
    }
    personalize(state, user, std::slice::from_mut(&mut post)).await?;
    Ok(Some(post))
}

pub fn post_key(state: &AppState, id: Uuid) -> String {
    state.cache.key(&format!("post:{id}"))
}

/// After a write to a post: version away its listings and drop its cached detail.
pub async fn invalidate_post(state: &AppState, row_community: Uuid, post: Uuid) {
    state
        .cache
        .invalidate(
            &state.metrics,
            &post_scopes(row_community),
            &[post_key(state, post), crate::summaries::key(state, post)],
        )
        .await;
}

/// After a vote or a new comment: drop the cached detail. Listing pages are not versioned away
/// for these (a vote storm would otherwise empty the cache); their scores may lag by the
/// listing TTL, while each caller's own vote is always merged fresh.
pub async fn forget_post(state: &AppState, post: Uuid) {
    state
        .cache
        .invalidate(&state.metrics, &[], &[post_key(state, post)])
        .await;
}

/// Rows of a non-listing page (user posts, saved) as views with the caller's fields.
pub async fn rows_page(
    state: &AppState,
    rows: Vec<PostRow>,
    next_cursor: Option<String>,
    user: Option<&AuthUser>,
) -> ApiResult<Page<Post>> {
    let mut items: Vec<Post> = rows.into_iter().map(|r| r.into_post(false)).collect();
    personalize(state, user, &mut items).await?;
    Ok(Page { items, next_cursor })
}
