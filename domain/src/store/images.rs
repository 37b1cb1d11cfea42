//! Uploaded images and their processing state.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use sqlx::types::Json;
use uuid::Uuid;

use super::{StoreError, outbox};
use crate::jobs::{ImageJob, Topic};
use crate::model::{Image, ImageState, ImageVariant};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ImageRow {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub post_id: Option<Uuid>,
    pub purpose: String,
    pub state: String,
    pub original_key: String,
    pub format: String,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub variants: Json<Vec<ImageVariant>>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl ImageRow {
    pub fn into_image(self) -> Image {
        let state = match self.state.as_str() {
            "ready" => ImageState::Ready,
            "failed" => ImageState::Failed,
            _ => ImageState::Pending,
        };
        let variants = self.variants.0;
        Image {
            id: self.id,
            state,
            width: self.width.and_then(|w| u32::try_from(w).ok()),
            height: self.height.and_then(|h| u32::try_from(h).ok()),
            url: variants.last().map(|v| v.url.clone()),
            variants,
            error: self.error,
            created_at: self.created_at,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Post(Uuid),
    Avatar,
}

pub struct NewImage<'a> {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub purpose: Purpose,
    pub original_key: &'a str,
    pub byte_size: i64,
    pub sha256: &'a str,
    pub format: &'a str,
}

const COLUMNS: &str = "id, owner_id, post_id, purpose, state, original_key, format, width, height, variants, error, created_at";

/// Records the upload and its processing job in one transaction.
pub async fn create(db: &PgPool, new: NewImage<'_>) -> Result<ImageRow, StoreError> {
    let (post_id, purpose) = match new.purpose {
        Purpose::Post(id) => (Some(id), "post"),
        Purpose::Avatar => (None, "avatar"),
    };
    let mut tx = db.begin().await?;
    let row: ImageRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO images (id, owner_id, post_id, purpose, original_key, byte_size, sha256, format)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {COLUMNS}"
    )))
    .bind(new.id)
    .bind(new.owner_id)
    .bind(post_id)
    .bind(purpose)
    .bind(new.original_key)
    .bind(new.byte_size)
    .bind(new.sha256)
    .bind(new.format)
    .fetch_one(&mut *tx)
    .await?;
    outbox::enqueue(&mut *tx, Topic::Images, &ImageJob { image_id: new.id }).await?;
    tx.commit().await?;
    Ok(row)
}

pub async fn by_id(db: &PgPool, id: Uuid) -> Result<Option<ImageRow>, StoreError> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM images WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await?)
}

/// Marks the image ready and shows it where it belongs (the post's `images`, or the owner's
/// avatar). Idempotent: a second call for a ready image changes nothing. Returns the post id
/// whose cached copies are now stale, if any.
pub async fn mark_ready(
    db: &PgPool,
    id: Uuid,
    width: u32,
    height: u32,
    variants: &[ImageVariant],
) -> Result<Option<ImageRow>, StoreError> {
    let mut tx = db.begin().await?;
    let row: Option<ImageRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE images SET state = 'ready', width = $2, height = $3, variants = $4,
             error = NULL, processed_at = now()
         WHERE id = $1 AND state <> 'ready' RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(i32::try_from(width).unwrap_or(i32::MAX))
    .bind(i32::try_from(height).unwrap_or(i32::MAX))
    .bind(Json(variants))
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        tx.rollback().await?;
        return Ok(None);
    };
    let image = row.clone().into_image();
    if let Some(post_id) = row.post_id {
        let json = serde_json::to_value([&image])
            .map_err(|e| StoreError::Db(sqlx::Error::Encode(Box::new(e))))?;
        sqlx::query("UPDATE posts SET images = images || $2 WHERE id = $1")
            .bind(post_id)
            .bind(json)
            .execute(&mut *tx)
            .await?;
    } else if let Some(url) = &image.url {
        sqlx::query("UPDATE users SET avatar_url = $2 WHERE id = $1")
            .bind(row.owner_id)
            .bind(url)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(Some(row))
}

pub async fn mark_failed(db: &PgPool, id: Uuid, error: &str) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE images SET state = 'failed', error = $2, processed_at = now()
         WHERE id = $1 AND state = 'pending'",
    )
    .bind(id)
    .bind(error)
    .execute(db)
    .await?;
    Ok(())
}

/// Images attached to a post, in any state.
pub async fn count_for_post(db: &PgPool, post_id: Uuid) -> Result<i64, StoreError> {
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM images WHERE post_id = $1")
        .bind(post_id)
        .fetch_one(db)
        .await?;
    Ok(n)
}
