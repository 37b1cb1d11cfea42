use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use super::{StoreError, conflict_on};
use crate::model::{Me, PublicProfile, Role};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub email_verified: bool,
    pub role: String,
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub avatar_url: Option<String>,
    pub email_notifications: bool,
    pub post_karma: i64,
    pub comment_karma: i64,
    pub created_at: DateTime<Utc>,
    pub banned_at: Option<DateTime<Utc>>,
    pub banned_until: Option<DateTime<Utc>>,
}

impl UserRow {
    /// Site-banned right now (expired bans do not count).
    pub fn is_banned(&self) -> bool {
        self.banned_at.is_some()
            && crate::rules::permissions::ban_in_force(self.banned_until, Utc::now())
    }
}

/// The columns of `UserRow`, as a literal so queries stay `&'static str` (sqlx 0.9 insists).
macro_rules! user_columns {
    () => {
        "id, username, email, password_hash, email_verified, role, display_name, bio, \
         avatar_url, email_notifications, post_karma, comment_karma, created_at, banned_at, banned_until"
    };
}

pub struct NewUser<'a> {
    pub id: Uuid,
    pub username: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
}

pub async fn insert(db: impl PgExecutor<'_>, user: NewUser<'_>) -> Result<UserRow, StoreError> {
    sqlx::query_as(concat!(
        "INSERT INTO users (id, username, email, password_hash) VALUES ($1, $2, $3, $4) RETURNING ",
        user_columns!()
    ))
    .bind(user.id)
    .bind(user.username)
    .bind(user.email)
    .bind(user.password_hash)
    .fetch_one(db)
    .await
    .map_err(|e| {
        conflict_on(
            e,
            &[
                ("users_username_lower_key", "username"),
                ("users_email_lower_key", "email"),
            ],
        )
    })
}

/// `login` is a username or an email address, both case-insensitive.
pub async fn by_login(db: impl PgExecutor<'_>, login: &str) -> Result<Option<UserRow>, StoreError> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE lower(username) = lower($1) OR lower(email) = lower($1) LIMIT 1"
    ))
    .bind(login)
    .fetch_optional(db)
    .await?)
}

pub async fn by_id(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<UserRow>, StoreError> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db)
    .await?)
}

pub async fn by_username(
    db: impl PgExecutor<'_>,
    username: &str,
) -> Result<Option<UserRow>, StoreError> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE lower(username) = lower($1)"
    ))
    .bind(username)
    .fetch_optional(db)
    .await?)
}

pub async fn by_email(db: impl PgExecutor<'_>, email: &str) -> Result<Option<UserRow>, StoreError> {
    Ok(sqlx::query_as(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE lower(email) = lower($1)"
    ))
    .bind(email)
    .fetch_optional(db)
    .await?)
}

/// A partial profile update: `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct ProfileUpdate {
    pub display_name: Option<Option<String>>,
    pub bio: Option<Option<String>>,
    pub email_notifications: Option<bool>,
}

pub async fn update_profile(
    db: impl PgExecutor<'_>,
    id: Uuid,
    update: ProfileUpdate,
) -> Result<Option<UserRow>, StoreError> {
    Ok(sqlx::query_as(concat!(
        "UPDATE users SET
            display_name = CASE WHEN $2 THEN $3 ELSE display_name END,
            bio = CASE WHEN $4 THEN $5 ELSE bio END,
            email_notifications = COALESCE($6, email_notifications),
            updated_at = now()
         WHERE id = $1 RETURNING ",
        user_columns!()
    ))
    .bind(id)
    .bind(update.display_name.is_some())
    .bind(update.display_name.flatten())
    .bind(update.bio.is_some())
    .bind(update.bio.flatten())
    .bind(update.email_notifications)
    .fetch_optional(db)
    .await?)
}

pub async fn set_password(
    db: impl PgExecutor<'_>,
    id: Uuid,
    password_hash: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(password_hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Marks the address verified; returns `(username, email)` when it was not verified before.
pub async fn mark_email_verified(
    db: impl PgExecutor<'_>,
    id: Uuid,
) -> Result<Option<(String, String)>, StoreError> {
    Ok(sqlx::query_as(
        "UPDATE users SET email_verified = true, updated_at = now()
         WHERE id = $1 AND NOT email_verified RETURNING username, email",
    )
    .bind(id)
    .fetch_optional(db)
    .await?)
}

/// Turns reply-notification emails off (one-click unsubscribe); `false` for an unknown user.
pub async fn unsubscribe(db: impl PgExecutor<'_>, id: Uuid) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE users SET email_notifications = false, updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

impl From<UserRow> for Me {
    fn from(u: UserRow) -> Self {
        Self {
            id: u.id,
            role: Role::from_db(&u.role),
            username: u.username,
            email: u.email,
            email_verified: u.email_verified,
            display_name: u.display_name,
            bio: u.bio,
            avatar: u.avatar_url,
            email_notifications: u.email_notifications,
            post_karma: u.post_karma,
            comment_karma: u.comment_karma,
            created_at: u.created_at,
        }
    }
}

impl From<UserRow> for PublicProfile {
    fn from(u: UserRow) -> Self {
        Self {
            username: u.username,
            display_name: u.display_name,
            bio: u.bio,
            avatar: u.avatar_url,
            post_karma: u.post_karma,
            comment_karma: u.comment_karma,
            created_at: u.created_at,
        }
    }
}
