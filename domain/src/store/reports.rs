//! Reports of posts and comments, and their resolution.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::StoreError;
use super::modlog::{LogEntry, log};
use crate::model::{AuthorRef, Report, ReportStatus};
use crate::rules::paging::Cursor;

pub struct NewReport<'a> {
    pub reporter_id: Uuid,
    pub community_id: Uuid,
    pub target_type: &'a str,
    pub target_id: Uuid,
    pub post_id: Uuid,
    pub reason: &'a str,
}

/// Files a report; `None` when this user already has an open report on the target.
pub async fn report(db: impl PgExecutor<'_>, r: NewReport<'_>) -> Result<Option<Uuid>, StoreError> {
    let id = Uuid::now_v7();
    let done = sqlx::query(
        "INSERT INTO reports (id, reporter_id, community_id, target_type, target_id, post_id, reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(r.reporter_id)
    .bind(r.community_id)
    .bind(r.target_type)
    .bind(r.target_id)
    .bind(r.post_id)
    .bind(r.reason)
    .execute(db)
    .await?;
    Ok((done.rows_affected() == 1).then_some(id))
}

#[derive(Debug, sqlx::FromRow)]
struct ReportRow {
    id: Uuid,
    target_type: String,
    target_id: Uuid,
    post_id: Uuid,
    community: String,
    community_id: Uuid,
    reporter: Option<String>,
    reason: String,
    status: String,
    created_at: DateTime<Utc>,
    resolved_at: Option<DateTime<Utc>>,
    resolution_note: Option<String>,
    open_reports_on_target: i64,
}

const REPORT_SELECT: &str = "SELECT r.id, r.target_type, r.target_id, r.post_id, c.name AS community, r.community_id,
        u.username AS reporter, r.reason, r.status, r.created_at, r.resolved_at, r.resolution_note,
        (SELECT count(*) FROM reports o WHERE o.target_id = r.target_id AND o.status = 'open') AS open_reports_on_target
     FROM reports r JOIN communities c ON c.id = r.community_id LEFT JOIN users u ON u.id = r.reporter_id";

fn report_view(r: ReportRow) -> (Report, Uuid) {
    (
        Report {
            id: r.id,
            target_type: r.target_type,
            target_id: r.target_id,
            post_id: r.post_id,
            community: r.community,
            reporter: r.reporter.map(|username| AuthorRef { username }),
            reason: r.reason,
            status: r.status,
            created_at: r.created_at,
            resolved_at: r.resolved_at,
            resolution_note: r.resolution_note,
            open_reports_on_target: r.open_reports_on_target,
        },
        r.community_id,
    )
}

pub async fn by_id(
    db: impl PgExecutor<'_>,
    id: Uuid,
) -> Result<Option<(Report, Uuid)>, StoreError> {
    let row: Option<ReportRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{REPORT_SELECT} WHERE r.id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(report_view))
}

/// A community's reports with the given status, newest first.
pub async fn reports(
    db: impl PgExecutor<'_>,
    community_id: Uuid,
    status: ReportStatus,
    after: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<Report>, StoreError> {
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(REPORT_SELECT);
    qb.push(" WHERE r.community_id = ")
        .push_bind(community_id)
        .push(" AND r.status = ")
        .push_bind(status.as_str());
    if let Some(c) = after {
        qb.push(" AND r.id < ").push_bind(c.id);
    }
    qb.push(" ORDER BY r.id DESC LIMIT ").push_bind(limit + 1);
    let rows: Vec<ReportRow> = qb.build_query_as().fetch_all(db).await?;
    Ok(rows.into_iter().map(|r| report_view(r).0).collect())
}

/// Resolves a report (idempotent) and logs it.
pub async fn resolve_report(
    db: &PgPool,
    id: Uuid,
    community_id: Uuid,
    actor: Uuid,
    note: Option<&str>,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE reports SET status = 'resolved', resolved_at = now(), resolved_by = $2, resolution_note = $3
         WHERE id = $1 AND status = 'open'",
    )
    .bind(id)
    .bind(actor)
    .bind(note)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 1 {
        let entry = LogEntry {
            community_id: Some(community_id),
            actor_id: actor,
            action: "resolve_report",
            target_type: "report",
            target_id: Some(id),
            target_user_id: None,
            reason: note,
        };
        log(&mut *tx, &entry).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Open report counts per target, for moderators' views of content.
pub async fn open_report_counts(
    db: impl PgExecutor<'_>,
    targets: &[Uuid],
) -> Result<Vec<(Uuid, i64)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT target_id, count(*) FROM reports WHERE status = 'open' AND target_id = ANY($1) GROUP BY target_id",
    )
    .bind(targets)
    .fetch_all(db)
    .await?)
}
