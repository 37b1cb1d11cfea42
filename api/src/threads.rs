//! Thread pages: the first level by the chosen sort, then each further level with one query
//! (the first replies of every node of the level above), then the caller's votes in one more.
//! At most `1 + levels + 2` queries, whatever the thread's size.

use std::collections::{HashMap, HashSet};

use forum_domain::model::CommentSort;
use forum_domain::model::{Comment, More, Thread};
use forum_domain::rules::paging::Cursor;
use forum_domain::rules::tree;
use forum_domain::store::comments::{self, CommentRow};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::ApiResult;
use crate::state::AppState;

/// Most comments one page carries, over all levels.
pub const NODE_BUDGET: usize = 500;

pub struct ThreadQuery {
    pub post_id: Uuid,
    /// Page the replies of this comment instead of the top level.
    pub parent: Option<Uuid>,
    pub sort: CommentSort,
    pub after: Option<Cursor>,
    /// Comments on the first level.
    pub limit: i64,
    /// Levels shown, the first included (1 = no replies).
    pub levels: usize,
    /// Replies shown per comment below the first level.
    pub replies: i64,
}

/// `moderator`: the caller moderates the post's community, so removed comments show their
/// text (flagged `removed`) and every comment its open report count.
pub async fn page(
    state: &AppState,
    q: &ThreadQuery,
    user: Option<&AuthUser>,
    moderator: bool,
) -> ApiResult<Thread> {
    let mut thread = if moderator {
        build(state, q, true).await?
    } else {
        shared(state, q).await?
    };
    if let Some(u) = user {
        let mut ids = Vec::new();
        collect_ids(&thread.items, &mut ids);
        if !ids.is_empty() {
            let votes: HashMap<Uuid, i32> = comments::viewer_votes(&state.db, u.user_id, &ids)
                .await?
                .into_iter()
                .collect();
            apply_votes(&mut thread.items, &votes);
        }
    }
    Ok(thread)
}

/// The version scope of one post's thread pages, bumped by every write to its comments.
pub fn scope(post: Uuid) -> String {
    format!("thread:{post}")
}

/// The page as anyone but a moderator sees it, without anyone's votes: shared between readers
/// for the listing TTL under the thread's version, so a comment written, edited, deleted or
/// removed shows at once; comment scores may lag by the TTL, like listing pages.
async fn shared(state: &AppState, q: &ThreadQuery) -> ApiResult<Thread> {
    let ttl = state.config.settings.cache.listing_ttl_secs;
    if ttl == 0 {
        return build(state, q, false).await;
    }
    let scope = scope(q.post_id);
    let key = state
        .cache
        .version(&state.metrics, &scope)
        .await
        .map(|version| {
            let cursor = q.after.as_ref().map_or_else(|| "-".into(), Cursor::encode);
            let parent = q.parent.map_or_else(|| "-".into(), |p| p.to_string());
            state.cache.key(&format!(
                "{scope}:v{version}:{}:{parent}:{cursor}:{}:{}:{}",
                q.sort.as_str(),
                q.limit,
                q.levels,
                q.replies
            ))
        });
    if let Some(key) = &key
        && let Some(thread) = state
            .cache
            .get::<Thread>(&state.metrics, "thread", key)
            .await
    {
        return Ok(thread);
    }
    let thread = build(state, q, false).await?;
    if let Some(key) = &key {
        let ttl = std::time::Duration::from_secs(ttl);
        state.cache.put(&state.metrics, key, &thread, ttl).await;
    }
    Ok(thread)
}

fn collect_ids(items: &[Comment], ids: &mut Vec<Uuid>) {
    for c in items {
        ids.push(c.id);
        collect_ids(&c.replies, ids);
    }
}

async fn build(state: &AppState, q: &ThreadQuery, moderator: bool) -> ApiResult<Thread> {
    let db = &state.db;
    let mut first =
        comments::first_level(db, q.post_id, q.parent, q.sort, q.after.as_ref(), q.limit).await?;
    let has_more = first.len() as i64 > q.limit;
    first.truncate(usize::try_from(q.limit).unwrap_or(0));
    let mut root_more = Vec::new();
    if has_more {
        let cursor = q.sort.cursor(q.parent, first.last());
        let count = comments::count_after(db, q.post_id, q.parent, q.sort, &cursor).await?;
        root_more.push(More {
            count,
            parent_id: q.parent,
            cursor: cursor.encode(),
        });
    }

    let mut descendants: Vec<CommentRow> = Vec::new();
    let mut expanded: HashSet<Uuid> = HashSet::new();
    let mut frontier: Vec<Uuid> = first
        .iter()
        .filter(|c| c.reply_count > 0)
        .map(|c| c.id)
        .collect();
    let mut budget = NODE_BUDGET.saturating_sub(first.len());
    for _ in 1..q.levels {
        if frontier.is_empty() || budget == 0 {
            break;
        }
        // Expand as many nodes as the budget allows, each with its full share of replies; the
        // others keep a `more` from their first reply.
        let per_parent = usize::try_from(q.replies).unwrap_or(1).max(1);
        frontier.truncate((budget / per_parent).max(1));
        let rows = comments::replies(db, &frontier, q.sort, q.replies).await?;
        expanded.extend(frontier.iter().copied());
        budget = budget.saturating_sub(rows.len());
        frontier = rows
            .iter()
            .filter(|c| c.reply_count > 0)
            .map(|c| c.id)
            .collect();
        descendants.extend(rows);
    }

    let mut reports: HashMap<Uuid, i64> = HashMap::new();
    if moderator {
        for c in first.iter_mut().chain(descendants.iter_mut()) {
            c.reveal = true;
        }
        let ids: Vec<Uuid> = first
            .iter()
            .chain(descendants.iter())
            .map(|c| c.id)
            .collect();
        reports = forum_domain::store::reports::open_report_counts(db, &ids)
            .await?
            .into_iter()
            .collect();
    }
    let sort = q.sort;
    let cursor =
        move |parent: Uuid, after: Option<&CommentRow>| sort.cursor(Some(parent), after).encode();
    let mut items = tree::assemble(first, descendants, &expanded, &cursor);
    if moderator {
        apply_reports(&mut items, &reports);
    }
    Ok(Thread {
        items,
        more: root_more,
    })
}

pub fn apply_votes(items: &mut [Comment], votes: &HashMap<Uuid, i32>) {
    for c in items {
        c.my_vote = votes.get(&c.id).copied().unwrap_or(0);
        apply_votes(&mut c.replies, votes);
    }
}

fn apply_reports(items: &mut [Comment], reports: &HashMap<Uuid, i64>) {
    for c in items {
        c.report_count = Some(reports.get(&c.id).copied().unwrap_or(0));
        apply_reports(&mut c.replies, reports);
    }
}
