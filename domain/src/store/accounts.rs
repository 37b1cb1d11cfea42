//! Account operations that span several tables, each in one transaction.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::email_tokens::{self, Purpose};
use super::users::{self, NewUser, UserRow};
use super::{StoreError, outbox, sessions};
use crate::jobs::{EmailJob, EmailTemplate, Topic};

/// A refresh-token family to open, already hashed.
pub struct NewSession<'a> {
    pub id: Uuid,
    pub refresh_hash: &'a [u8],
    pub expires_at: DateTime<Utc>,
}

/// A single-use email token, already hashed, and the plain value for the email itself.
pub struct NewEmailToken<'a> {
    pub plain: &'a str,
    pub hash: &'a [u8],
    pub expires_at: DateTime<Utc>,
}

/// Creates the user, their first session and a verification token, and queues the
/// verification email, all or nothing.
pub async fn register(
    db: &PgPool,
    user: NewUser<'_>,
    session: NewSession<'_>,
    verify: NewEmailToken<'_>,
) -> Result<UserRow, StoreError> {
    let mut tx = db.begin().await?;
    let row = users::insert(&mut *tx, user).await?;
    sessions::create(
        &mut *tx,
        session.id,
        row.id,
        session.refresh_hash,
        session.expires_at,
    )
    .await?;
    email_tokens::create(
        &mut *tx,
        row.id,
        Purpose::VerifyEmail,
        verify.hash,
        verify.expires_at,
    )
    .await?;
    let job = EmailJob::new(
        &row.email,
        &row.username,
        EmailTemplate::VerifyEmail {
            token: verify.plain.to_string(),
        },
    );
    outbox::enqueue(&mut *tx, Topic::Email, &job).await?;
    tx.commit().await?;
    Ok(row)
}

/// Stores a reset token for `user` and queues the email that carries it.
pub async fn request_password_reset(
    db: &PgPool,
    user: &UserRow,
    token: NewEmailToken<'_>,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    email_tokens::create(
        &mut *tx,
        user.id,
        Purpose::PasswordReset,
        token.hash,
        token.expires_at,
    )
    .await?;
    let job = EmailJob::new(
        &user.email,
        &user.username,
        EmailTemplate::PasswordReset {
            token: token.plain.to_string(),
        },
    );
    outbox::enqueue(&mut *tx, Topic::Email, &job).await?;
    tx.commit().await?;
    Ok(())
}

/// Spends a reset token, sets the new password and ends every session of that user.
/// `None` when the token is unknown, used or expired (nothing changes then).
pub async fn reset_password(
    db: &PgPool,
    token_hash: &[u8],
    password_hash: &str,
) -> Result<Option<Uuid>, StoreError> {
    let mut tx = db.begin().await?;
    let Some(user_id) = email_tokens::consume(&mut *tx, token_hash, Purpose::PasswordReset).await?
    else {
        return Ok(None);
    };
    users::set_password(&mut *tx, user_id, password_hash).await?;
    sessions::revoke_all_for_user(&mut *tx, user_id, "password_reset").await?;
    tx.commit().await?;
    Ok(Some(user_id))
}

/// Spends a verification token and marks the address verified.
pub async fn verify_email(db: &PgPool, token_hash: &[u8]) -> Result<bool, StoreError> {
    let mut tx = db.begin().await?;
    let Some(user_id) = email_tokens::consume(&mut *tx, token_hash, Purpose::VerifyEmail).await?
    else {
        return Ok(false);
    };
    if let Some((username, email)) = users::mark_email_verified(&mut *tx, user_id).await? {
        let job = EmailJob::new(&email, &username, EmailTemplate::Welcome).for_user(user_id);
        outbox::enqueue(&mut *tx, Topic::Email, &job).await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Makes sure an admin with this username exists: creates it (with this password hash) or, if
/// the username is taken, gives that account the admin role. Returns the account and whether
/// it was created.
pub async fn ensure_admin(
    db: &PgPool,
    username: &str,
    email: &str,
    password_hash: &str,
) -> Result<(UserRow, bool), StoreError> {
    let mut tx = db.begin().await?;
    let (row, created) = match users::by_username(&mut *tx, username).await? {
        Some(row) => (row, false),
        None => {
            let new = NewUser {
                id: Uuid::now_v7(),
                username,
                email,
                password_hash,
            };
            (users::insert(&mut *tx, new).await?, true)
        }
    };
    sqlx::query("UPDATE users SET role = 'admin', email_verified = true WHERE id = $1")
        .bind(row.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok((row, created))
}
