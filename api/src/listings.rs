//! Post pages: cache-aside for the shared part, then the caller's own fields (`my_vote`,
//! `saved`) merged from one indexed query per page.

use std::time::Duration;

use forum_domain::model::{Page, Post};
use forum_domain::model::{SearchSort, Sort};
use forum_domain::rules::paging::{Cursor, PageRequest, finish_page};
use forum_domain::store::communities;
use forum_domain::store::posts::{self, Listing, PostRow, Scope};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::cache::posts_scope;
use crate::error::{ApiError, ApiResult};
use crate::extract::Paging;
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
        // Listing cache switched off (a TTL of 0).
        _ if state.config.settings.cache.listing_ttl_secs == 0 => None,
        // A moderator's view (with removed posts) is theirs alone, like a feed.
        _ if listing.include_removed => None,
        Scope::All => Some(posts_scope(None)),
        Scope::Community(id) => Some(posts_scope(Some(id))),
        // A feed is one user's: nothing to share.
        Scope::Feed(_) => None,
    };
    let key = match &scope {
        Some(scope) => state
            .cache
            .version(&state.metrics, scope)
            .await
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
        let ttl = Duration::from_secs(state.config.settings.cache.listing_ttl_secs);
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
    if listing.sort != Sort::New
        && let Some((rows, next_cursor)) = snapshot_page(state, db, &listing).await?
    {
        items.extend(
            rows.into_iter()
                .map(|r| r.into_post(listing.include_removed)),
        );
        return Ok(Page { items, next_cursor });
    }
    let rows = posts::list(db, &listing).await?;
    let (rows, next_cursor) = finish_page(rows, listing.limit, |r| listing.cursor_for(r));
    items.extend(
        rows.into_iter()
            .map(|r| r.into_post(listing.include_removed)),
    );
    Ok(Page { items, next_cursor })
}

/// Entries a listing snapshot keeps (40 pages of 25); past them pages go on by keyset.
const SNAPSHOT_LEN: i64 = 1000;
const SNAPSHOT_TTL_SECS: i64 = 3600;

fn snapshot_key(state: &AppState, id: Uuid) -> String {
    state.cache.key(&format!("snap:{id}"))
}

/// A page of a vote-ordered listing cut from the order its first page saw, so votes between
/// page requests neither repeat nor skip items (a keyset on a score that moves would). The
/// first page takes the snapshot (ids and sort keys, in Redis for an hour); later pages read
/// their slice and load those posts fresh. `None`: no snapshot (Redis unavailable, or it
/// expired): the caller goes on by keyset from the cursor's last item.
async fn snapshot_page(
    state: &AppState,
    db: &sqlx::PgPool,
    listing: &Listing,
) -> ApiResult<Option<(Vec<PostRow>, Option<String>)>> {
    use redis::AsyncCommands;
    let limit = usize::try_from(listing.limit).unwrap_or(25);
    let mut redis = state.redis.clone();
    // The snapshot, where in it this page starts, and up to `limit + 1` of its entries from there.
    let (snapshot, window_start, entries): (Uuid, usize, Vec<(Uuid, f64)>) = match &listing.after {
        None => {
            let ids = posts::list_ids(
                db,
                &Listing {
                    limit: SNAPSHOT_LEN,
                    ..listing.clone()
                },
            )
            .await?;
            let snapshot = Uuid::now_v7();
            if ids.len() > limit {
                let key = snapshot_key(state, snapshot);
                let entries: Vec<String> = ids
                    .iter()
                    .map(|(id, k)| format!("{id}:{:016x}", k.to_bits()))
                    .collect();
                let stored: Result<(), _> = redis::pipe()
                    .rpush(&key, entries)
                    .ignore()
                    .expire(&key, SNAPSHOT_TTL_SECS)
                    .ignore()
                    .query_async(&mut redis)
                    .await;
                if let Err(e) = stored {
                    state.metrics.redis_error("snapshot");
                    tracing::warn!(error = %e, "listing snapshot not stored; paging by keyset");
                    return Ok(None);
                }
            }
            (snapshot, 0, ids.into_iter().take(limit + 1).collect())
        }
        Some(cursor) => {
            let (Some(snapshot), Some(pos)) = (cursor.snapshot, cursor.pos) else {
                return Ok(None);
            };
            let pos = pos as usize;
            let raw: Vec<String> = match redis
                .lrange(
                    snapshot_key(state, snapshot),
                    pos as isize,
                    (pos + limit) as isize,
                )
                .await
            {
                Ok(raw) => raw,
                Err(e) => {
                    state.metrics.redis_error("snapshot");
                    tracing::warn!(error = %e, "listing snapshot unreadable; paging by keyset");
                    return Ok(None);
                }
            };
            // A cursor into a snapshot is only given while entries remain: none means it expired.
            if raw.is_empty() {
                return Ok(None);
            }
            let window = raw
                .iter()
                .filter_map(|e| {
                    let (id, bits) = e.split_once(':')?;
                    Some((
                        id.parse().ok()?,
                        f64::from_bits(u64::from_str_radix(bits, 16).ok()?),
                    ))
                })
                .collect();
            (snapshot, pos, window)
        }
    };
    let served: Vec<(Uuid, f64)> = entries.iter().take(limit).copied().collect();
    let Some(&(last_id, last_key)) = served.last() else {
        return Ok(Some((Vec::new(), None)));
    };
    let ids: Vec<Uuid> = served.iter().map(|(id, _)| *id).collect();
    let rows = posts::by_ids(db, &ids, listing.include_removed).await?;
    let next_pos = window_start + served.len();
    let next = if entries.len() > limit {
        let mut cursor = listing.cursor_at(last_id, last_key);
        cursor.snapshot = Some(snapshot);
        cursor.pos = u32::try_from(next_pos).ok();
        Some(cursor.encode())
    } else if next_pos >= SNAPSHOT_LEN as usize {
        // The snapshot ended before the listing did: go on by keyset.
        Some(listing.cursor_at(last_id, last_key).encode())
    } else {
        None
    };
    Ok(Some((rows, next)))
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

/// What a post search asks for; `scope` is its cursor scope (query type and sort).
struct Search<'a> {
    q: &'a str,
    sort: SearchSort,
    community: Option<Uuid>,
    scope: &'a str,
    after: Option<Cursor>,
    limit: i64,
}

/// A page of post search results, optionally in the community named `community` (404 if none).
pub async fn search_posts(
    state: &AppState,
    user: Option<&AuthUser>,
    q: &str,
    sort: SearchSort,
    community: Option<&str>,
    page: &Paging,
) -> ApiResult<Page<Post>> {
    let scope = format!("search:posts:{}", sort.as_str());
    let PageRequest { limit, after } = page.request(&scope)?;
    let community = match community {
        Some(name) => Some(
            communities::by_name(state.reader(user).await, name, None)
                .await?
                .ok_or_else(|| ApiError::not_found("No such community."))?
                .id,
        ),
        None => None,
    };
    let search = Search {
        q,
        sort,
        community,
        scope: &scope,
        after,
        limit,
    };
    search_page(state, &search, user).await
}

/// Shared between readers like a listing page: under the same versioned scope (so a created,
/// edited or deleted post is seen at once) for the listing TTL, then the caller's votes and
/// saves are merged in.
async fn search_page(
    state: &AppState,
    search: &Search<'_>,
    user: Option<&AuthUser>,
) -> ApiResult<Page<Post>> {
    let scope = match search.community {
        _ if state.config.settings.cache.listing_ttl_secs == 0 => None,
        community => Some(posts_scope(community)),
    };
    let key = match &scope {
        Some(scope) => state
            .cache
            .version(&state.metrics, scope)
            .await
            .map(|version| {
                let cursor = search
                    .after
                    .as_ref()
                    .map_or_else(|| "-".into(), Cursor::encode);
                state.cache.key(&format!(
                    "search:{scope}:v{version}:{}:{}:{cursor}:{}",
                    search.scope, search.limit, search.q
                ))
            }),
        None => None,
    };
    let cached = match &key {
        Some(key) => {
            state
                .cache
                .get::<Page<Post>>(&state.metrics, "search", key)
                .await
        }
        None => None,
    };
    let mut page = match cached {
        Some(page) => page,
        None => {
            let db = state.reader(user).await;
            let rows = posts::search(
                db,
                search.q,
                search.sort,
                search.community,
                search.after.as_ref(),
                search.limit,
            )
            .await?;
            let (rows, next_cursor) = finish_page(rows, search.limit, |r| {
                let key = (search.sort != SearchSort::New).then_some(r.sort_key);
                Cursor::after(search.scope, key, r.id)
            });
            let page = Page {
                items: rows.into_iter().map(|r| r.into_post(false)).collect(),
                next_cursor,
            };
            if let Some(key) = &key {
                let ttl = Duration::from_secs(state.config.settings.cache.listing_ttl_secs);
                state.cache.put(&state.metrics, key, &page, ttl).await;
            }
            page
        }
    };
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
            let post = posts::by_id(state.reader(user).await, id)
                .await?
                .map(|r| r.into_post(false));
            if let Some(post) = &post {
                let ttl = Duration::from_secs(state.config.settings.cache.post_ttl_secs);
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
            && let Some(row) = posts::by_id(&state.db, id).await?
        {
            let counts =
                forum_domain::store::reports::open_report_counts(&state.db, &[row.id]).await?;
            post = row.into_post(true);
            post.report_count = Some(counts.first().map_or(0, |c| c.1));
        }
    }
    personalize(state, user, std::slice::from_mut(&mut post)).await?;
    Ok(Some(post))
}

pub fn post_key(state: &AppState, id: Uuid) -> String {
    state.cache.key(&forum_domain::cache_keys::post_detail(id))
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
