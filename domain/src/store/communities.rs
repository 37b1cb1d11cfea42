//! Communities, membership, moderators and approved posters.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgExecutor, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::{StoreError, conflict_on};
use crate::model::{Community, CommunitySort, Moderator, Role};
use crate::rules::paging::Cursor;
use crate::rules::permissions::{ModRole, Standing};

/// A community with the caller's relation to it (all false/None for anonymous callers).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CommunityRow {
    pub id: Uuid,
    pub name: String,
    pub title: String,
    pub description: String,
    pub rules: Json<Vec<serde_json::Value>>,
    pub nsfw: bool,
    pub restricted: bool,
    pub member_count: i64,
    pub post_count: i64,
    pub created_at: DateTime<Utc>,
    pub is_member: bool,
    pub mod_role: Option<String>,
    pub is_approved: bool,
}

impl From<CommunityRow> for Community {
    fn from(c: CommunityRow) -> Self {
        Self {
            id: c.id,
            name: c.name,
            title: c.title,
            description: c.description,
            rules: c.rules.0,
            nsfw: c.nsfw,
            restricted: c.restricted,
            member_count: c.member_count,
            post_count: c.post_count,
            created_at: c.created_at,
            is_member: c.is_member,
            is_moderator: c.mod_role.is_some(),
        }
    }
}

impl CommunityRow {
    /// The caller's standing here, for `rules::permissions`.
    pub fn standing(&self, site_role: Option<Role>) -> Standing {
        Standing {
            site_role,
            member: self.is_member,
            moderator: self.mod_role.as_deref().map(ModRole::from_db),
            approved: self.is_approved,
        }
    }
}

/// `$1` is the viewer (NULL for anonymous): the joins hit primary keys.
const SELECT: &str = "SELECT c.id, c.name, c.title, c.description, c.rules, c.nsfw, c.restricted,
        c.member_count, c.post_count, c.created_at,
        (m.user_id IS NOT NULL) AS is_member, mo.role AS mod_role, (a.user_id IS NOT NULL) AS is_approved
    FROM communities c
    LEFT JOIN community_members m ON m.community_id = c.id AND m.user_id = $1
    LEFT JOIN community_moderators mo ON mo.community_id = c.id AND mo.user_id = $1
    LEFT JOIN community_approved a ON a.community_id = c.id AND a.user_id = $1
    WHERE c.removed_at IS NULL";

pub struct NewCommunity<'a> {
    pub name: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub rules: &'a [serde_json::Value],
    pub nsfw: bool,
    pub owner_id: Uuid,
}

/// Creates the community; its creator becomes owner-moderator and first member.
pub async fn create(db: &PgPool, new: NewCommunity<'_>) -> Result<CommunityRow, StoreError> {
    let id = Uuid::now_v7();
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO communities (id, name, title, description, rules, nsfw, owner_id, member_count)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1)",
    )
    .bind(id)
    .bind(new.name)
    .bind(new.title)
    .bind(new.description)
    .bind(Json(new.rules))
    .bind(new.nsfw)
    .bind(new.owner_id)
    .execute(&mut *tx)
    .await
    .map_err(|e| conflict_on(e, &[("communities_name_lower_key", "name")]))?;
    sqlx::query(
        "WITH mo AS (INSERT INTO community_moderators (community_id, user_id, role) VALUES ($1, $2, 'owner'))
         INSERT INTO community_members (community_id, user_id) VALUES ($1, $2)",
    )
    .bind(id)
    .bind(new.owner_id)
    .execute(&mut *tx)
    .await?;
    let row = by_id(&mut *tx, id, Some(new.owner_id))
        .await?
        .ok_or(StoreError::Db(sqlx::Error::RowNotFound))?;
    tx.commit().await?;
    Ok(row)
}

pub async fn by_name(
    db: impl PgExecutor<'_>,
    name: &str,
    viewer: Option<Uuid>,
) -> Result<Option<CommunityRow>, StoreError> {
    let sql = format!("{SELECT} AND lower(c.name) = lower($2)");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(viewer)
        .bind(name)
        .fetch_optional(db)
        .await?)
}

pub async fn by_id(
    db: impl PgExecutor<'_>,
    id: Uuid,
    viewer: Option<Uuid>,
) -> Result<Option<CommunityRow>, StoreError> {
    let sql = format!("{SELECT} AND c.id = $2");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(viewer)
        .bind(id)
        .fetch_optional(db)
        .await?)
}

impl CommunitySort {
    pub fn scope(self) -> &'static str {
        match self {
            CommunitySort::Popular => "communities:popular",
            CommunitySort::New => "communities:new",
        }
    }
}

/// One page (plus one row to tell whether there is more), optionally filtered by `q`
/// (a name prefix or a full-text match).
pub async fn list(
    db: impl PgExecutor<'_>,
    sort: CommunitySort,
    q: Option<&str>,
    after: Option<&Cursor>,
    limit: i64,
    viewer: Option<Uuid>,
) -> Result<Vec<CommunityRow>, StoreError> {
    let mut qb = rebuild_with_viewer(viewer);
    if let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) {
        qb.push(" AND (lower(c.name) LIKE ");
        qb.push_bind(format!("{}%", super::like_escape(&q.to_lowercase())));
        qb.push(" OR c.search @@ websearch_to_tsquery('english', ");
        qb.push_bind(q.to_string());
        qb.push("))");
    }
    match (sort, after) {
        (CommunitySort::Popular, Some(c)) => {
            qb.push(" AND (c.member_count, c.id) < (");
            qb.push_bind(c.key.unwrap_or(0.0) as i64);
            qb.push(", ");
            qb.push_bind(c.id);
            qb.push(")");
        }
        (CommunitySort::New, Some(c)) => {
            qb.push(" AND c.id < ");
            qb.push_bind(c.id);
        }
        _ => {}
    }
    qb.push(match sort {
        CommunitySort::Popular => " ORDER BY c.member_count DESC, c.id DESC LIMIT ",
        CommunitySort::New => " ORDER BY c.id DESC LIMIT ",
    });
    qb.push_bind(limit + 1);
    Ok(qb.build_query_as().fetch_all(db).await?)
}

/// A builder whose SQL is `SELECT` with the viewer bound as `$1`.
fn rebuild_with_viewer(viewer: Option<Uuid>) -> QueryBuilder<Postgres> {
    let (head, tail) = SELECT.split_once("$1").unwrap_or((SELECT, ""));
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(head);
    qb.push_bind(viewer);
    // The remaining `$1`s refer to the same parameter.
    qb.push(tail);
    qb
}

pub fn cursor_for(sort: CommunitySort, row: &CommunityRow) -> Cursor {
    let key = match sort {
        CommunitySort::Popular => Some(row.member_count as f64),
        CommunitySort::New => None,
    };
    Cursor {
        scope: sort.scope().into(),
        key,
        id: row.id,
        at: None,
        snapshot: None,
        pos: None,
    }
}

#[derive(Debug, Default)]
pub struct CommunityUpdate {
    pub title: Option<String>,
    pub description: Option<String>,
    pub rules: Option<Vec<serde_json::Value>>,
    pub nsfw: Option<bool>,
    pub restricted: Option<bool>,
}

pub async fn update(
    db: &PgPool,
    id: Uuid,
    u: CommunityUpdate,
    actor: Uuid,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE communities SET title = COALESCE($2, title), description = COALESCE($3, description),
            rules = COALESCE($4, rules), nsfw = COALESCE($5, nsfw), restricted = COALESCE($6, restricted),
            updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(u.title)
    .bind(u.description)
    .bind(u.rules.map(Json))
    .bind(u.nsfw)
    .bind(u.restricted)
    .execute(&mut *tx)
    .await?;
    log_action(
        &mut tx,
        id,
        actor,
        "edit_community",
        "community",
        Some(id),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn log_action(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    community_id: Uuid,
    actor: Uuid,
    action: &str,
    target_type: &str,
    target_id: Option<Uuid>,
    target_user_id: Option<Uuid>,
) -> Result<(), StoreError> {
    super::modlog::log(
        &mut **tx,
        &super::modlog::LogEntry {
            community_id: Some(community_id),
            actor_id: actor,
            action,
            target_type,
            target_id,
            target_user_id,
            reason: None,
        },
    )
    .await
}

/// Joins (idempotent); the member count moves only when membership changed.
pub async fn join(db: &PgPool, community_id: Uuid, user_id: Uuid) -> Result<bool, StoreError> {
    let mut tx = db.begin().await?;
    let added = sqlx::query(
        "INSERT INTO community_members (community_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(community_id)
    .bind(user_id)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if added {
        sqlx::query("UPDATE communities SET member_count = member_count + 1 WHERE id = $1")
            .bind(community_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(added)
}

pub async fn leave(db: &PgPool, community_id: Uuid, user_id: Uuid) -> Result<bool, StoreError> {
    let mut tx = db.begin().await?;
    let removed =
        sqlx::query("DELETE FROM community_members WHERE community_id = $1 AND user_id = $2")
            .bind(community_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
    if removed {
        sqlx::query("UPDATE communities SET member_count = member_count - 1 WHERE id = $1")
            .bind(community_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(removed)
}

pub async fn moderators(
    db: impl PgExecutor<'_>,
    community_id: Uuid,
) -> Result<Vec<Moderator>, StoreError> {
    let rows: Vec<(String, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT u.username, m.role, m.added_at FROM community_moderators m JOIN users u ON u.id = m.user_id
         WHERE m.community_id = $1 ORDER BY (m.role = 'owner') DESC, m.added_at, u.username",
    )
    .bind(community_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(username, role, added_at)| Moderator {
            username,
            role,
            added_at,
        })
        .collect())
}

/// Adds a moderator; `false` when they already were one.
pub async fn add_moderator(
    db: &PgPool,
    community_id: Uuid,
    user_id: Uuid,
    actor: Uuid,
) -> Result<bool, StoreError> {
    change_membership(
        db,
        "INSERT INTO community_moderators (community_id, user_id, role) VALUES ($1, $2, 'moderator') ON CONFLICT DO NOTHING",
        community_id,
        user_id,
        actor,
        "add_moderator",
    )
    .await
}

/// Removes a (non-owner) moderator; `false` when there was none to remove.
pub async fn remove_moderator(
    db: &PgPool,
    community_id: Uuid,
    user_id: Uuid,
    actor: Uuid,
) -> Result<bool, StoreError> {
    change_membership(
        db,
        "DELETE FROM community_moderators WHERE community_id = $1 AND user_id = $2 AND role <> 'owner'",
        community_id,
        user_id,
        actor,
        "remove_moderator",
    )
    .await
}

pub async fn approve(
    db: &PgPool,
    community_id: Uuid,
    user_id: Uuid,
    actor: Uuid,
) -> Result<bool, StoreError> {
    change_membership(
        db,
        "INSERT INTO community_approved (community_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        community_id,
        user_id,
        actor,
        "approve_user",
    )
    .await
}

pub async fn unapprove(
    db: &PgPool,
    community_id: Uuid,
    user_id: Uuid,
    actor: Uuid,
) -> Result<bool, StoreError> {
    change_membership(
        db,
        "DELETE FROM community_approved WHERE community_id = $1 AND user_id = $2",
        community_id,
        user_id,
        actor,
        "unapprove_user",
    )
    .await
}

/// Runs one change to a community's moderator or approved list and, if it changed anything,
/// logs it in the same transaction.
async fn change_membership(
    db: &PgPool,
    sql: &'static str,
    community_id: Uuid,
    user_id: Uuid,
    actor: Uuid,
    action: &str,
) -> Result<bool, StoreError> {
    let mut tx = db.begin().await?;
    let changed = sqlx::query(sql)
        .bind(community_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    if changed {
        log_action(
            &mut tx,
            community_id,
            actor,
            action,
            "user",
            Some(user_id),
            Some(user_id),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(changed)
}

pub async fn approved(
    db: impl PgExecutor<'_>,
    community_id: Uuid,
) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT u.username, a.approved_at FROM community_approved a JOIN users u ON u.id = a.user_id
         WHERE a.community_id = $1 ORDER BY a.approved_at DESC LIMIT 1000",
    )
    .bind(community_id)
    .fetch_all(db)
    .await?)
}

/// Full-text search over names, titles and descriptions, best match first. Returns each row
/// with its rank (the cursor key).
pub async fn search(
    db: impl PgExecutor<'_>,
    q: &str,
    after: Option<&Cursor>,
    limit: i64,
    viewer: Option<Uuid>,
) -> Result<Vec<(CommunityRow, f64)>, StoreError> {
    #[derive(sqlx::FromRow)]
    struct Ranked {
        #[sqlx(flatten)]
        row: CommunityRow,
        rank: f64,
    }
    const RANK: &str = "ts_rank_cd(c.search, websearch_to_tsquery('english', $2))::float8";
    let keyset = if after.is_some() {
        format!(" AND ({RANK}, c.id) < ($3, $4)")
    } else {
        String::new()
    };
    let sql = SELECT.replacen(
        "(a.user_id IS NOT NULL) AS is_approved",
        &format!("(a.user_id IS NOT NULL) AS is_approved, {RANK} AS rank"),
        1,
    ) + " AND c.search @@ websearch_to_tsquery('english', $2)"
        + &keyset
        + &format!(" ORDER BY {RANK} DESC, c.id DESC LIMIT $5");
    let rows: Vec<Ranked> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(viewer)
        .bind(q)
        .bind(after.and_then(|c| c.key).unwrap_or(0.0))
        .bind(after.map(|c| c.id).unwrap_or_default())
        .bind(limit + 1)
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.row, r.rank)).collect())
}
