//! Posts, listings (every sort an index range scan with a keyset cursor), saves and search.

use chrono::{DateTime, Duration, Utc};
use sqlx::{PgExecutor, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::StoreError;
use crate::model::{AuthorRef, AuthorSort, CommunityRef, Post, SearchSort, Sort, Window};
use crate::rules::paging::Cursor;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PostRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub community_name: String,
    pub community_title: String,
    pub author_id: Option<Uuid>,
    pub author_username: Option<String>,
    pub title: String,
    pub body: String,
    pub body_html: String,
    pub url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub removed_at: Option<DateTime<Utc>>,
    pub locked: bool,
    pub pinned_at: Option<DateTime<Utc>>,
    pub score: i32,
    pub upvotes: i32,
    pub downvotes: i32,
    pub comment_count: i32,
    pub hot: f64,
    pub controversy: f64,
    /// Ready images (`images::Image` JSON), kept on the post by the image job.
    pub images: serde_json::Value,
    /// The value the listing was ordered by (the cursor key).
    pub sort_key: f64,
}

pub const DELETED: &str = "[deleted]";
pub const REMOVED: &str = "[removed]";

impl PostRow {
    /// The API view. Moderators see removed posts as they were; everyone else sees `[removed]`.
    pub fn into_post(self, sees_removed: bool) -> Post {
        let deleted = self.deleted_at.is_some();
        let removed = self.removed_at.is_some();
        let hide = deleted || (removed && !sees_removed);
        let placeholder = if deleted { DELETED } else { REMOVED };
        Post {
            id: self.id,
            community: CommunityRef {
                name: self.community_name,
                title: self.community_title,
            },
            author: if deleted {
                None
            } else {
                self.author_username.map(|username| AuthorRef { username })
            },
            title: if hide { placeholder.into() } else { self.title },
            body: if hide { placeholder.into() } else { self.body },
            body_html: if hide {
                format!("<p>{placeholder}</p>")
            } else {
                self.body_html
            },
            url: if hide { None } else { self.url },
            created_at: self.created_at,
            edited_at: self.edited_at,
            score: self.score.into(),
            upvotes: self.upvotes.into(),
            downvotes: self.downvotes.into(),
            comment_count: self.comment_count.into(),
            my_vote: 0,
            saved: false,
            locked: self.locked,
            pinned: self.pinned_at.is_some(),
            removed,
            deleted,
            images: match self.images {
                serde_json::Value::Array(images) if !hide => images,
                _ => Vec::new(),
            },
            report_count: None,
        }
    }
}

macro_rules! post_select {
    ($sort_key:expr) => {
        concat!(
            "SELECT p.id, p.community_id, c.name AS community_name, c.title AS community_title,
                p.author_id, u.username AS author_username, p.title, p.body, p.body_html, p.url,
                p.created_at, p.edited_at, p.deleted_at, p.removed_at, p.locked, p.pinned_at,
                p.score, p.upvotes, p.downvotes, p.comment_count, p.hot, p.controversy, p.images, ",
            $sort_key,
            " AS sort_key
             FROM posts p JOIN communities c ON c.id = p.community_id LEFT JOIN users u ON u.id = p.author_id"
        )
    };
}

/// Posts that listings show: not deleted, not removed, in a live community.
const VISIBLE: &str =
    " WHERE p.deleted_at IS NULL AND p.removed_at IS NULL AND c.removed_at IS NULL";
const VISIBLE_TO_MODERATORS: &str = " WHERE p.deleted_at IS NULL AND c.removed_at IS NULL";

pub async fn by_id(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<PostRow>, StoreError> {
    Ok(sqlx::query_as(concat!(
        post_select!("0::float8"),
        " WHERE p.id = $1 AND c.removed_at IS NULL"
    ))
    .bind(id)
    .fetch_optional(db)
    .await?)
}

pub struct NewPost<'a> {
    pub community_id: Uuid,
    pub author_id: Uuid,
    pub title: &'a str,
    pub body: &'a str,
    pub body_html: &'a str,
    pub url: Option<&'a str>,
}

/// Inserts the post and counts it in its community, in one transaction.
pub async fn create(db: &PgPool, new: NewPost<'_>) -> Result<PostRow, StoreError> {
    let id = Uuid::now_v7();
    let mut tx = db.begin().await?;
    sqlx::query(
        "WITH p AS (
            INSERT INTO posts (id, community_id, author_id, title, body, body_html, url)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
         )
         UPDATE communities SET post_count = post_count + 1 WHERE id = $2",
    )
    .bind(id)
    .bind(new.community_id)
    .bind(new.author_id)
    .bind(new.title)
    .bind(new.body)
    .bind(new.body_html)
    .bind(new.url)
    .execute(&mut *tx)
    .await?;
    let row = by_id(&mut *tx, id)
        .await?
        .ok_or(StoreError::Db(sqlx::Error::RowNotFound))?;
    tx.commit().await?;
    Ok(row)
}

/// Edits title and/or body (with its rendered HTML); sets `edited_at`. Deleted posts stay as they are.
pub async fn update(
    db: impl PgExecutor<'_>,
    id: Uuid,
    title: Option<&str>,
    body: Option<(&str, &str)>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE posts SET title = COALESCE($2, title), body = COALESCE($3, body),
            body_html = COALESCE($4, body_html), edited_at = now(),
            thread_changes = thread_changes + 1
         WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(id)
    .bind(title)
    .bind(body.map(|b| b.0))
    .bind(body.map(|b| b.1))
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The author's delete: the text is gone for good (`[deleted]`), the row stays so links and
/// comments keep working. The community's post count drops in the same transaction.
pub async fn soft_delete(db: &PgPool, id: Uuid) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "WITH d AS (
            UPDATE posts SET deleted_at = now(), title = '[deleted]', body = '[deleted]',
                body_html = '<p>[deleted]</p>', url = NULL, pinned_at = NULL
            WHERE id = $1 AND deleted_at IS NULL
            RETURNING community_id
         )
         UPDATE communities SET post_count = post_count - 1 WHERE id IN (SELECT community_id FROM d)",
    )
    .bind(id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Posts younger than this are candidates for `rising`.
pub const RISING_WINDOW_HOURS: i64 = 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    Community(Uuid),
    /// Posts of the communities this user joined.
    Feed(Uuid),
}

#[derive(Debug, Clone)]
pub struct Listing {
    pub sort: Sort,
    pub window: Window,
    pub scope: Scope,
    pub after: Option<Cursor>,
    pub limit: i64,
    /// Moderators' view of their community: removed posts are listed too.
    pub include_removed: bool,
}

impl Listing {
    /// What a cursor of this listing is tagged with.
    pub fn cursor_scope(&self) -> String {
        match self.sort {
            Sort::Hot => "posts:hot".into(),
            Sort::New => "posts:new".into(),
            Sort::Rising => "posts:rising".into(),
            Sort::Top => format!("posts:top:{}", self.window.as_str()),
            Sort::Controversial => format!("posts:controversial:{}", self.window.as_str()),
        }
    }

    /// The reference time of time-dependent sorts: fixed by the first page, carried by cursors.
    /// Whole seconds (rounded up, so nothing created before the first page falls outside its
    /// window), so the first page computes exactly what the cursor will carry.
    pub fn reference_time(&self) -> DateTime<Utc> {
        let at = self
            .after
            .as_ref()
            .and_then(|c| c.at)
            .unwrap_or_else(|| Utc::now().timestamp() + 1);
        DateTime::from_timestamp(at, 0).unwrap_or_else(Utc::now)
    }

    pub fn cursor_for(&self, row: &PostRow) -> Cursor {
        self.cursor_at(row.id, row.sort_key)
    }

    /// The keyset cursor after the item `id` whose sort value is `key`.
    pub fn cursor_at(&self, id: Uuid, key: f64) -> Cursor {
        let at = matches!(self.sort, Sort::Rising | Sort::Top | Sort::Controversial)
            .then(|| self.reference_time().timestamp());
        let key = (self.sort != Sort::New).then_some(key);
        Cursor {
            scope: self.cursor_scope(),
            key,
            id,
            at,
            snapshot: None,
            pos: None,
        }
    }

    /// Pinned posts lead a community's hot listing on its first page.
    pub fn shows_pinned(&self) -> bool {
        self.sort == Sort::Hot && matches!(self.scope, Scope::Community(_)) && self.after.is_none()
    }
}

/// The listing query behind `EXPLAIN (FORMAT JSON)`, for the test that every sort is served by
/// an index rather than a sort of the whole table.
pub fn explain_listing(listing: &Listing) -> QueryBuilder<Postgres> {
    build_listing(listing, "EXPLAIN (FORMAT JSON) ")
}

/// The listing query behind `EXPLAIN (ANALYZE, BUFFERS)`: runs it and reports the plan as text.
pub fn explain_analyze_listing(listing: &Listing) -> QueryBuilder<Postgres> {
    build_listing(listing, "EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) ")
}

fn listing_query(listing: &Listing) -> QueryBuilder<Postgres> {
    build_listing(listing, "")
}

fn build_listing(listing: &Listing, prefix: &str) -> QueryBuilder<Postgres> {
    let reference = listing.reference_time();
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(prefix);
    qb.push(match listing.sort {
        Sort::Hot => post_select!("p.hot"),
        Sort::New => post_select!("0::float8"),
        Sort::Top => post_select!("p.score::float8"),
        Sort::Controversial => post_select!("p.controversy"),
        Sort::Rising => "",
    });
    qb.push(if listing.include_removed {
        VISIBLE_TO_MODERATORS
    } else {
        VISIBLE
    });
    match listing.scope {
        Scope::All => {}
        Scope::Community(id) => {
            qb.push(" AND p.community_id = ").push_bind(id);
            if listing.sort == Sort::Hot {
                // Pinned posts are listed separately, first.
                qb.push(" AND p.pinned_at IS NULL");
            }
        }
        Scope::Feed(user) => {
            qb.push(" AND p.community_id IN (SELECT community_id FROM community_members WHERE user_id = ")
                .push_bind(user)
                .push(")");
        }
    }
    let since = match listing.sort {
        Sort::Top | Sort::Controversial => listing.window.duration().map(|d| reference - d),
        Sort::Rising => Some(reference - Duration::hours(RISING_WINDOW_HOURS)),
        Sort::Hot | Sort::New => None,
    };
    if let Some(since) = since {
        qb.push(" AND p.created_at >= ").push_bind(since);
    }
    let after = listing.after.as_ref();
    match listing.sort {
        Sort::Hot => {
            if let Some(c) = after {
                qb.push(" AND (p.hot, p.id) < (")
                    .push_bind(c.key.unwrap_or(f64::MAX))
                    .push(", ")
                    .push_bind(c.id)
                    .push(")");
            }
            qb.push(" ORDER BY p.hot DESC, p.id DESC");
        }
        Sort::New => {
            if let Some(c) = after {
                qb.push(" AND p.id < ").push_bind(c.id);
            }
            qb.push(" ORDER BY p.id DESC");
        }
        Sort::Top => {
            if let Some(c) = after {
                let key =
                    c.key
                        .unwrap_or(f64::from(i32::MAX))
                        .clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32;
                qb.push(" AND (p.score, p.id) < (")
                    .push_bind(key)
                    .push(", ")
                    .push_bind(c.id)
                    .push(")");
            }
            qb.push(" ORDER BY p.score DESC, p.id DESC");
        }
        Sort::Controversial => {
            if let Some(c) = after {
                qb.push(" AND (p.controversy, p.id) < (")
                    .push_bind(c.key.unwrap_or(f64::MAX))
                    .push(", ")
                    .push_bind(c.id)
                    .push(")");
            }
            qb.push(" ORDER BY p.controversy DESC, p.id DESC");
        }
        Sort::Rising => {
            return rising_query(listing, reference, prefix);
        }
    }
    qb.push(" LIMIT ").push_bind(listing.limit + 1);
    qb
}

/// Rising orders by an expression of a reference time. The inner query ranks only the posts of
/// the window (found by the `created_at` index) and keeps one page; the joins come after.
fn rising_query(
    listing: &Listing,
    reference: DateTime<Utc>,
    prefix: &str,
) -> QueryBuilder<Postgres> {
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(prefix);
    qb.push(post_select!("r.rising_key"));
    qb.push(
        " JOIN (SELECT id, rising_key FROM (SELECT p.id, (p.score / power(extract(epoch FROM (",
    );
    qb.push_bind(reference);
    qb.push(" - p.created_at))::float8 / 3600.0 + 2, 1.5))::float8 AS rising_key FROM posts p");
    qb.push(if listing.include_removed {
        " WHERE p.deleted_at IS NULL"
    } else {
        " WHERE p.deleted_at IS NULL AND p.removed_at IS NULL"
    });
    qb.push(" AND p.community_id NOT IN (SELECT id FROM communities WHERE removed_at IS NOT NULL)");
    match listing.scope {
        Scope::All => {}
        Scope::Community(id) => {
            qb.push(" AND p.community_id = ").push_bind(id);
        }
        Scope::Feed(user) => {
            qb.push(" AND p.community_id IN (SELECT community_id FROM community_members WHERE user_id = ")
                .push_bind(user)
                .push(")");
        }
    }
    qb.push(" AND p.created_at >= ")
        .push_bind(reference - Duration::hours(RISING_WINDOW_HOURS));
    qb.push(" AND p.created_at <= ").push_bind(reference);
    qb.push(") w");
    if let Some(c) = listing.after.as_ref() {
        qb.push(" WHERE (rising_key, id) < (")
            .push_bind(c.key.unwrap_or(f64::MAX))
            .push(", ")
            .push_bind(c.id)
            .push(")");
    }
    qb.push(" ORDER BY rising_key DESC, id DESC LIMIT ")
        .push_bind(listing.limit + 1);
    qb.push(") r ON r.id = p.id ORDER BY r.rising_key DESC, r.id DESC");
    qb
}

/// One page plus one extra row (whose presence means there is a next page).
pub async fn list(db: impl PgExecutor<'_>, listing: &Listing) -> Result<Vec<PostRow>, StoreError> {
    let mut qb = listing_query(listing);
    Ok(qb.build_query_as().fetch_all(db).await?)
}

/// The order of a listing as ids with their sort keys, `listing.limit` of them (no extra row):
/// what a snapshot of the listing keeps.
pub async fn list_ids(
    db: impl PgExecutor<'_>,
    listing: &Listing,
) -> Result<Vec<(Uuid, f64)>, StoreError> {
    let mut inner = listing.clone();
    inner.limit = listing.limit - 1;
    let mut qb = build_listing(&inner, "SELECT q.id, q.sort_key FROM (");
    qb.push(") q ORDER BY q.sort_key DESC, q.id DESC");
    Ok(qb.build_query_as().fetch_all(db).await?)
}

/// These posts (those still listed), in the order of `ids`.
pub async fn by_ids(
    db: impl PgExecutor<'_>,
    ids: &[Uuid],
    include_removed: bool,
) -> Result<Vec<PostRow>, StoreError> {
    let sql = if include_removed {
        concat!(
            post_select!("0::float8"),
            " WHERE p.deleted_at IS NULL AND c.removed_at IS NULL AND p.id = ANY($1)"
        )
    } else {
        concat!(
            post_select!("0::float8"),
            " WHERE p.deleted_at IS NULL AND p.removed_at IS NULL AND c.removed_at IS NULL AND p.id = ANY($1)"
        )
    };
    let mut rows: Vec<PostRow> = sqlx::query_as(sql).bind(ids).fetch_all(db).await?;
    rows.sort_by_key(|r| ids.iter().position(|id| *id == r.id));
    Ok(rows)
}

/// Pinned posts of a community, oldest pin first.
pub async fn pinned(
    db: impl PgExecutor<'_>,
    community_id: Uuid,
) -> Result<Vec<PostRow>, StoreError> {
    Ok(sqlx::query_as(concat!(
        post_select!("p.hot"),
        " WHERE p.community_id = $1 AND p.pinned_at IS NOT NULL AND p.deleted_at IS NULL AND p.removed_at IS NULL
          ORDER BY p.pinned_at"
    ))
    .bind(community_id)
    .fetch_all(db)
    .await?)
}

pub async fn by_author(
    db: impl PgExecutor<'_>,
    author_id: Uuid,
    sort: AuthorSort,
    after: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<PostRow>, StoreError> {
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(match sort {
        AuthorSort::New => post_select!("0::float8"),
        AuthorSort::Top => post_select!("p.score::float8"),
    });
    qb.push(VISIBLE)
        .push(" AND p.author_id = ")
        .push_bind(author_id);
    match (sort, after) {
        (AuthorSort::New, Some(c)) => {
            qb.push(" AND p.id < ").push_bind(c.id);
        }
        (AuthorSort::Top, Some(c)) => {
            let key = c
                .key
                .unwrap_or(0.0)
                .clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32;
            qb.push(" AND (p.score, p.id) < (")
                .push_bind(key)
                .push(", ")
                .push_bind(c.id)
                .push(")");
        }
        _ => {}
    }
    qb.push(match sort {
        AuthorSort::New => " ORDER BY p.id DESC LIMIT ",
        AuthorSort::Top => " ORDER BY p.score DESC, p.id DESC LIMIT ",
    });
    qb.push_bind(limit + 1);
    Ok(qb.build_query_as().fetch_all(db).await?)
}

pub async fn save(db: impl PgExecutor<'_>, user_id: Uuid, post_id: Uuid) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO saved_posts (user_id, post_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(user_id)
    .bind(post_id)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn unsave(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    post_id: Uuid,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM saved_posts WHERE user_id = $1 AND post_id = $2")
        .bind(user_id)
        .bind(post_id)
        .execute(db)
        .await?;
    Ok(())
}

/// A user's saved posts, most recently saved first; the cursor key is the save time in µs.
pub async fn saved(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    after: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<PostRow>, StoreError> {
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(concat!(
        post_select!("(extract(epoch FROM s.saved_at) * 1000000)::float8"),
        " JOIN saved_posts s ON s.post_id = p.id",
        " WHERE p.deleted_at IS NULL AND c.removed_at IS NULL AND s.user_id = "
    ));
    qb.push_bind(user_id);
    if let Some(c) = after {
        let at = DateTime::from_timestamp_micros(c.key.unwrap_or(0.0) as i64).unwrap_or_default();
        qb.push(" AND (s.saved_at, s.post_id) < (")
            .push_bind(at)
            .push(", ")
            .push_bind(c.id)
            .push(")");
    }
    qb.push(" ORDER BY s.saved_at DESC, s.post_id DESC LIMIT ")
        .push_bind(limit + 1);
    Ok(qb.build_query_as().fetch_all(db).await?)
}

/// The caller's vote and saved flag for each post of a page, in one indexed query.
pub async fn viewer_state(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    post_ids: &[Uuid],
) -> Result<Vec<(Uuid, i32, bool)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT t.id, COALESCE(v.value, 0)::int4, (s.post_id IS NOT NULL)
         FROM unnest($2::uuid[]) AS t(id)
         LEFT JOIN post_votes v ON v.user_id = $1 AND v.post_id = t.id
         LEFT JOIN saved_posts s ON s.user_id = $1 AND s.post_id = t.id",
    )
    .bind(user_id)
    .bind(post_ids)
    .fetch_all(db)
    .await?)
}

/// How many matches a relevance search ranks: the best this many in the RUM index's own order
/// (its distance follows ts_rank_cd's rank), which are then ordered by the exact ts_rank_cd,
/// newest first among equals. Results end after this many.
pub const SEARCH_CANDIDATES: i64 = 500;

/// Full-text search over the titles and bodies of visible posts (`post_search`, kept by a
/// trigger), optionally in one community. The cursor key is the rank (relevance), none (new) or
/// the score (top).
pub async fn search(
    db: impl PgExecutor<'_>,
    q: &str,
    sort: SearchSort,
    community: Option<Uuid>,
    after: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<PostRow>, StoreError> {
    const QUERY: &str = "websearch_to_tsquery('english', $1)";
    let in_community = if community.is_some() {
        " AND s.community_id = $5"
    } else {
        ""
    };
    let sql = match sort {
        // The RUM index orders by its distance without reading the table; only the candidates
        // are read and ranked exactly.
        SearchSort::Relevance => format!(
            "WITH cand AS (
                 SELECT s.post_id, s.community_id, ts_rank_cd(s.search, {QUERY})::float8 AS rank
                   FROM post_search s
                  WHERE s.search @@ {QUERY}{in_community}
                  ORDER BY s.search <=> {QUERY}
                  LIMIT {SEARCH_CANDIDATES}),
             page AS (
                 SELECT cand.post_id, cand.rank
                   FROM cand JOIN communities c ON c.id = cand.community_id AND c.removed_at IS NULL{after}
                  ORDER BY cand.rank DESC, cand.post_id DESC LIMIT $4)
             {select} JOIN page ON page.post_id = p.id{VISIBLE}
              ORDER BY page.rank DESC, p.id DESC",
            select = post_select!("page.rank"),
            // Only the page's rows are joined to posts: the candidates are ordered first.
            after = if after.is_some() {
                " WHERE (cand.rank, cand.post_id) < ($2, $3)"
            } else {
                ""
            },
        ),
        SearchSort::New => format!(
            "{select} JOIN post_search s ON s.post_id = p.id{VISIBLE} AND s.search @@ {QUERY}{in_community}{after}
              ORDER BY p.id DESC LIMIT $4",
            select = post_select!("0::float8"),
            after = if after.is_some() { " AND p.id < $3" } else { "" },
        ),
        SearchSort::Top => format!(
            "{select} JOIN post_search s ON s.post_id = p.id{VISIBLE} AND s.search @@ {QUERY}{in_community}{after}
              ORDER BY p.score DESC, p.id DESC LIMIT $4",
            select = post_select!("p.score::float8"),
            after = if after.is_some() {
                " AND (p.score::float8, p.id) < ($2, $3)"
            } else {
                ""
            },
        ),
    };
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(q)
        .bind(after.and_then(|c| c.key).unwrap_or(0.0))
        .bind(after.map(|c| c.id).unwrap_or_default())
        .bind(limit + 1)
        .bind(community)
        .fetch_all(db)
        .await?)
}

/// Sets the caller's vote on a post; see `super::votes::cast`.
pub async fn vote(
    db: &PgPool,
    user_id: Uuid,
    post_id: Uuid,
    value: i16,
) -> Result<super::votes::Cast, StoreError> {
    super::votes::cast(db, super::votes::Target::Post, user_id, post_id, value).await
}
