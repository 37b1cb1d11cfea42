//! Comments: a materialized path (`path`, `depth`) plus `parent_id`; thread pages are fetched
//! one level at a time with a per-parent limit, so a page costs a bounded number of queries.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::StoreError;
use crate::jobs::{EmailJob, EmailTemplate, Topic};
use crate::model::{AuthorRef, AuthorSort, Comment, CommentSort};
use crate::rules::paging::Cursor;
use crate::rules::tree::Node;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CommentRow {
    pub id: Uuid,
    pub post_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub author_id: Option<Uuid>,
    pub author_username: Option<String>,
    pub path: Vec<Uuid>,
    pub depth: i16,
    pub body: String,
    pub body_html: String,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub removed_at: Option<DateTime<Utc>>,
    pub score: i32,
    pub upvotes: i32,
    pub downvotes: i32,
    pub reply_count: i32,
    /// The value the page was ordered by (the cursor key).
    pub sort_key: f64,
    /// Show removed text (the viewer moderates this community).
    #[sqlx(skip)]
    pub reveal: bool,
}

impl CommentRow {
    /// The API view: deleted comments read `[deleted]` with no author; removed ones read
    /// `[removed]` for everyone but moderators. Their replies stay either way.
    pub fn view(self, sees_removed: bool) -> Comment {
        let deleted = self.deleted_at.is_some();
        let removed = self.removed_at.is_some();
        let hide = deleted || (removed && !sees_removed);
        let placeholder = if deleted { "[deleted]" } else { "[removed]" };
        Comment {
            id: self.id,
            post_id: self.post_id,
            parent_id: self.parent_id,
            depth: self.depth.into(),
            author: if hide {
                None
            } else {
                self.author_username.map(|username| AuthorRef { username })
            },
            body: if hide { placeholder.into() } else { self.body },
            body_html: if hide {
                format!("<p>{placeholder}</p>")
            } else {
                self.body_html
            },
            score: self.score.into(),
            upvotes: self.upvotes.into(),
            downvotes: self.downvotes.into(),
            my_vote: 0,
            created_at: self.created_at,
            edited_at: self.edited_at,
            removed,
            deleted,
            reply_count: self.reply_count.into(),
            replies: Vec::new(),
            more: None,
            report_count: None,
        }
    }
}

impl Node for CommentRow {
    fn id(&self) -> Uuid {
        self.id
    }
    fn parent_id(&self) -> Option<Uuid> {
        self.parent_id
    }
    fn reply_count(&self) -> i64 {
        self.reply_count.into()
    }
    fn into_comment(self) -> Comment {
        let reveal = self.reveal;
        self.view(reveal)
    }
}

macro_rules! comment_select {
    ($sort_key:expr) => {
        concat!(
            "SELECT c.id, c.post_id, c.parent_id, c.author_id, u.username AS author_username, c.path, c.depth,
                c.body, c.body_html, c.created_at, c.edited_at, c.deleted_at, c.removed_at,
                c.score, c.upvotes, c.downvotes, c.reply_count, ",
            $sort_key,
            " AS sort_key FROM comments c LEFT JOIN users u ON u.id = c.author_id"
        )
    };
}

pub async fn by_id(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<CommentRow>, StoreError> {
    Ok(
        sqlx::query_as(concat!(comment_select!("0::float8"), " WHERE c.id = $1"))
            .bind(id)
            .fetch_optional(db)
            .await?,
    )
}

impl CommentSort {
    /// The sort column and its ORDER BY.
    fn key(self) -> (&'static str, &'static str) {
        match self {
            CommentSort::Best => ("c.best", "c.best DESC, c.id DESC"),
            CommentSort::Top => ("c.score::float8", "c.score DESC, c.id DESC"),
            CommentSort::New => ("0::float8", "c.id DESC"),
            CommentSort::Old => ("0::float8", "c.id ASC"),
            CommentSort::Controversial => ("c.controversy", "c.controversy DESC, c.id DESC"),
        }
    }

    /// The cursor scope of the replies of `parent` (or of the top level).
    pub fn scope(self, parent: Option<Uuid>) -> String {
        match parent {
            Some(p) => format!("comments:{}:{p}", self.as_str()),
            None => format!("comments:{}:top", self.as_str()),
        }
    }

    /// Continues after `row` (or from the start) among the replies of `parent`.
    pub fn cursor(self, parent: Option<Uuid>, row: Option<&CommentRow>) -> Cursor {
        Cursor {
            scope: self.scope(parent),
            key: row
                .filter(|_| !matches!(self, CommentSort::New | CommentSort::Old))
                .map(|r| r.sort_key),
            id: row.map_or(Uuid::nil(), |r| r.id),
            at: None,
            snapshot: None,
            pos: None,
        }
    }
}

/// `(sort key, id)` strictly after the cursor in this sort (a nil id means "from the start").
fn push_after(qb: &mut QueryBuilder<Postgres>, sort: CommentSort, after: Option<&Cursor>) {
    let Some(c) = after.filter(|c| !c.id.is_nil()) else {
        return;
    };
    match sort {
        CommentSort::New => {
            qb.push(" AND c.id < ").push_bind(c.id);
        }
        CommentSort::Old => {
            qb.push(" AND c.id > ").push_bind(c.id);
        }
        CommentSort::Top => {
            let key = c
                .key
                .unwrap_or(0.0)
                .clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32;
            qb.push(" AND (c.score, c.id) < (")
                .push_bind(key)
                .push(", ")
                .push_bind(c.id)
                .push(")");
        }
        CommentSort::Best | CommentSort::Controversial => {
            let col = if sort == CommentSort::Best {
                "c.best"
            } else {
                "c.controversy"
            };
            qb.push(" AND (")
                .push(col)
                .push(", c.id) < (")
                .push_bind(c.key.unwrap_or(0.0))
                .push(", ")
                .push_bind(c.id)
                .push(")");
        }
    }
}

/// One page of the first level: the top-level comments of `post`, or the replies of `parent`.
/// Fetches `limit + 1` rows (the extra one says there is more).
pub async fn first_level(
    db: impl PgExecutor<'_>,
    post: Uuid,
    parent: Option<Uuid>,
    sort: CommentSort,
    after: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<CommentRow>, StoreError> {
    let (key, order) = sort.key();
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(
        comment_select!("").replace(" AS sort_key", &format!("{key} AS sort_key")),
    );
    match parent {
        Some(p) => {
            qb.push(" WHERE c.parent_id = ").push_bind(p);
        }
        None => {
            qb.push(" WHERE c.post_id = ")
                .push_bind(post)
                .push(" AND c.parent_id IS NULL");
        }
    }
    push_after(&mut qb, sort, after);
    qb.push(" ORDER BY ")
        .push(order)
        .push(" LIMIT ")
        .push_bind(limit + 1);
    Ok(qb.build_query_as().fetch_all(db).await?)
}

/// How many comments of the first level come after the cursor (for the root `more` count).
pub async fn count_after(
    db: impl PgExecutor<'_>,
    post: Uuid,
    parent: Option<Uuid>,
    sort: CommentSort,
    after: &Cursor,
) -> Result<i64, StoreError> {
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new("SELECT count(*) FROM comments c");
    match parent {
        Some(p) => {
            qb.push(" WHERE c.parent_id = ").push_bind(p);
        }
        None => {
            qb.push(" WHERE c.post_id = ")
                .push_bind(post)
                .push(" AND c.parent_id IS NULL");
        }
    }
    push_after(&mut qb, sort, Some(after));
    let (n,): (i64,) = qb.build_query_as().fetch_one(db).await?;
    Ok(n)
}

/// The first `per_parent` replies of each of `parents`, in sort order per parent: one query
/// for a whole level of the tree.
pub async fn replies(
    db: impl PgExecutor<'_>,
    parents: &[Uuid],
    sort: CommentSort,
    per_parent: i64,
) -> Result<Vec<CommentRow>, StoreError> {
    let (key, order) = sort.key();
    let select = comment_select!("").replace(" AS sort_key", &format!("{key} AS sort_key"));
    let sql = format!(
        "SELECT * FROM (SELECT x.*, row_number() OVER (PARTITION BY x.parent_id ORDER BY {}) AS rn
                        FROM ({select} WHERE c.parent_id = ANY($1)) x) ranked
         WHERE rn <= $2 ORDER BY parent_id, rn",
        order
            .replace("c.best", "x.sort_key")
            .replace("c.score", "x.score")
            .replace("c.controversy", "x.sort_key")
            .replace("c.id", "x.id"),
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(parents)
        .bind(per_parent)
        .fetch_all(db)
        .await?)
}

pub struct NewComment<'a> {
    pub post_id: Uuid,
    pub parent: Option<&'a CommentRow>,
    pub author_id: Uuid,
    pub body: &'a str,
    pub body_html: &'a str,
}

/// Who hears about a reply: the author of the parent comment, or of the post.
pub struct ReplyRecipient<'a> {
    pub user_id: Uuid,
    pub email: &'a str,
    pub username: &'a str,
    pub wants_email: bool,
    pub post_title: &'a str,
    pub actor: &'a str,
}

/// Inserts the comment, counts it on its parent and post, and notifies the recipient (an inbox
/// row, plus an outbox email if they want one), all in one transaction.
pub async fn create(
    db: &PgPool,
    new: NewComment<'_>,
    recipient: Option<ReplyRecipient<'_>>,
) -> Result<CommentRow, StoreError> {
    let id = Uuid::now_v7();
    let (path, depth) = match new.parent {
        Some(p) => {
            let mut path = p.path.clone();
            path.push(p.id);
            (path, p.depth + 1)
        }
        None => (Vec::new(), 0),
    };
    let mut tx = db.begin().await?;
    sqlx::query(
        "WITH c AS (
            INSERT INTO comments (id, post_id, parent_id, author_id, path, depth, body, body_html)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ), parent AS (
            UPDATE comments SET reply_count = reply_count + 1 WHERE id = $3
         )
         UPDATE posts SET comment_count = comment_count + 1, thread_changes = thread_changes + 1
         WHERE id = $2",
    )
    .bind(id)
    .bind(new.post_id)
    .bind(new.parent.map(|p| p.id))
    .bind(new.author_id)
    .bind(&path)
    .bind(depth)
    .bind(new.body)
    .bind(new.body_html)
    .execute(&mut *tx)
    .await?;
    if let Some(r) = recipient.filter(|r| r.user_id != new.author_id) {
        let kind = if new.parent.is_some() {
            "comment_reply"
        } else {
            "post_reply"
        };
        sqlx::query(
            "INSERT INTO notifications (id, user_id, kind, post_id, comment_id, actor_id) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(Uuid::now_v7())
        .bind(r.user_id)
        .bind(kind)
        .bind(new.post_id)
        .bind(id)
        .bind(new.author_id)
        .execute(&mut *tx)
        .await?;
        if r.wants_email {
            let excerpt: String = new.body.chars().take(280).collect();
            let template = EmailTemplate::ReplyNotification {
                post_id: new.post_id,
                comment_id: id,
                post_title: r.post_title.to_string(),
                actor: r.actor.to_string(),
                excerpt,
            };
            super::outbox::enqueue(
                &mut *tx,
                Topic::Email,
                &EmailJob::new(r.email, r.username, template).for_user(r.user_id),
            )
            .await?;
        }
    }
    let row = by_id(&mut *tx, id)
        .await?
        .ok_or(StoreError::Db(sqlx::Error::RowNotFound))?;
    tx.commit().await?;
    Ok(row)
}

pub async fn update(
    db: impl PgExecutor<'_>,
    id: Uuid,
    body: &str,
    body_html: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "WITH c AS (
            UPDATE comments SET body = $2, body_html = $3, edited_at = now()
            WHERE id = $1 AND deleted_at IS NULL RETURNING post_id
         )
         UPDATE posts SET thread_changes = thread_changes + 1 WHERE id IN (SELECT post_id FROM c)",
    )
    .bind(id)
    .bind(body)
    .bind(body_html)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The author's delete: the text is gone, the row (and so every reply) stays. The post's
/// `comment_count` keeps counting it, as Reddit's does.
pub async fn soft_delete(db: impl PgExecutor<'_>, id: Uuid) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "WITH c AS (
            UPDATE comments SET deleted_at = now(), body = '[deleted]', body_html = '<p>[deleted]</p>'
            WHERE id = $1 AND deleted_at IS NULL RETURNING post_id
         )
         UPDATE posts SET thread_changes = thread_changes + 1 WHERE id IN (SELECT post_id FROM c)",
    )
    .bind(id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn by_author(
    db: impl PgExecutor<'_>,
    author_id: Uuid,
    sort: AuthorSort,
    after: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<CommentRow>, StoreError> {
    let (key, csort) = match sort {
        AuthorSort::New => ("0::float8", CommentSort::New),
        AuthorSort::Top => ("c.score::float8", CommentSort::Top),
    };
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(
        comment_select!("").replace(" AS sort_key", &format!("{key} AS sort_key")),
    );
    qb.push(" WHERE c.deleted_at IS NULL AND c.removed_at IS NULL AND c.author_id = ")
        .push_bind(author_id);
    push_after(&mut qb, csort, after);
    qb.push(" ORDER BY ")
        .push(csort.key().1)
        .push(" LIMIT ")
        .push_bind(limit + 1);
    Ok(qb.build_query_as().fetch_all(db).await?)
}

/// The caller's votes on a set of comments.
pub async fn viewer_votes(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    ids: &[Uuid],
) -> Result<Vec<(Uuid, i32)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT comment_id, value::int4 FROM comment_votes WHERE user_id = $1 AND comment_id = ANY($2) AND value <> 0",
    )
    .bind(user_id)
    .bind(ids)
    .fetch_all(db)
    .await?)
}

/// Sets the caller's vote; see `super::votes::cast`.
pub async fn vote(
    db: &PgPool,
    user_id: Uuid,
    comment_id: Uuid,
    value: i16,
) -> Result<super::votes::Cast, StoreError> {
    super::votes::cast(
        db,
        super::votes::Target::Comment,
        user_id,
        comment_id,
        value,
    )
    .await
}
