//! Accounts and their sessions: registration, login, refresh-token rotation, logout, email
//! verification and password reset.
//!
//! A session here is a refresh-token family (see `store::sessions`); the short-lived access
//! token that goes with it is the API's (`forum_api::tokens`), which signs one for each
//! [`Session`] these operations return.

use chrono::{Duration, Utc};
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::adapters::passwords::Hasher;
use crate::change::{Change, Written};
use crate::error::{DomainError, DomainResult, ErrorCode};
use crate::model::{Actor, Me};
use crate::rules::validation::{
    self, BIO_MAX, DISPLAY_NAME_MAX, Email, Errors, FieldError, Password, Username,
};
use crate::secrets::{self, OpaqueToken};
use crate::settings;
use crate::store::accounts::{self, NewEmailToken, NewSession};
use crate::store::notifications;
use crate::store::sessions::{self, Rotation};
use crate::store::users::{self, NewUser, ProfileUpdate};

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// `^[A-Za-z0-9_]{3,20}$`, unique case-insensitively.
    pub username: String,
    pub email: String,
    /// 8-128 characters.
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Username or email address.
    pub login: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    pub token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordResetRequest {
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordResetConfirm {
    pub token: String,
    pub new_password: String,
}

/// A registration whose every field is valid.
pub struct NewAccount {
    pub username: Username,
    pub email: Email,
    pub password: Password,
}

impl TryFrom<RegisterRequest> for NewAccount {
    type Error = Vec<FieldError>;

    /// Reports every invalid field at once.
    fn try_from(body: RegisterRequest) -> Result<Self, Vec<FieldError>> {
        let mut errors = Errors::default();
        let username = errors.check(Username::parse("username", &body.username));
        let email = errors.check(Email::parse("email", &body.email));
        let password = errors.check(Password::parse("password", &body.password));
        match (username, email, password) {
            (Some(username), Some(email), Some(password)) => Ok(NewAccount {
                username,
                email,
                password,
            }),
            _ => Err(errors.into_vec()),
        }
    }
}

/// An open session: the account, the session's id and its current refresh token (plain; only
/// its hash is stored).
pub struct Session {
    pub user: Me,
    pub session_id: Uuid,
    pub refresh_token: String,
}

fn refresh_expiry(auth: &settings::Auth) -> chrono::DateTime<Utc> {
    Utc::now() + Duration::days(auth.refresh_token_ttl_days)
}

fn invalid_token() -> DomainError {
    DomainError::refused(
        ErrorCode::InvalidToken,
        "The token is invalid, used or expired.",
    )
}

fn unauthorized(detail: &str) -> DomainError {
    DomainError::refused(ErrorCode::Unauthorized, detail)
}

/// Creates the account with its first session, and queues the verification email.
#[tracing::instrument(name = "accounts::register", skip_all)]
pub async fn register(
    db: &PgPool,
    hasher: &Hasher,
    auth: &settings::Auth,
    body: RegisterRequest,
) -> DomainResult<Written<Session>> {
    let account = NewAccount::try_from(body)?;
    let password_hash = hasher.hash(account.password.as_str().to_string()).await?;
    let session_id = Uuid::now_v7();
    let refresh = OpaqueToken::generate();
    let verify = OpaqueToken::generate();
    let row = accounts::register(
        db,
        NewUser {
            id: Uuid::now_v7(),
            username: account.username.as_str(),
            email: account.email.as_str(),
            password_hash: &password_hash,
        },
        NewSession {
            id: session_id,
            refresh_hash: &refresh.hash,
            expires_at: refresh_expiry(auth),
        },
        NewEmailToken {
            plain: &verify.plain,
            hash: &verify.hash,
            expires_at: Utc::now() + Duration::hours(auth.email_verification_ttl_hours),
        },
    )
    .await?;
    tracing::info!(user = %row.id, "registered");
    Ok(Written::plain(Session {
        user: row.into(),
        session_id,
        refresh_token: refresh.plain,
    }))
}

/// Opens a session for the account named by username or email, if the password matches.
#[tracing::instrument(name = "accounts::login", skip_all)]
pub async fn login(
    db: &PgPool,
    hasher: &Hasher,
    auth: &settings::Auth,
    body: LoginRequest,
) -> DomainResult<Written<Session>> {
    let user = users::by_login(db, body.login.trim()).await?;
    // Unknown users cost one verification too (against a dummy hash), so the answer's timing
    // does not reveal who has an account.
    let phc = user.as_ref().map(|u| u.password_hash.clone());
    let matches = hasher.verify(body.password, phc).await?;
    let user = match user {
        Some(user) if matches && user.is_banned() => {
            return Err(DomainError::refused(
                ErrorCode::Banned,
                "This account is banned.",
            ));
        }
        Some(user) if matches => user,
        _ => {
            return Err(DomainError::refused(
                ErrorCode::InvalidCredentials,
                "The login or password is wrong.",
            ));
        }
    };
    let session_id = Uuid::now_v7();
    let refresh = OpaqueToken::generate();
    sessions::create(db, session_id, user.id, &refresh.hash, refresh_expiry(auth)).await?;
    Ok(Written::plain(Session {
        user: user.into(),
        session_id,
        refresh_token: refresh.plain,
    }))
}

/// Spends a refresh token for the next one. A token presented twice has leaked: its whole
/// session ends, which is a change even though the caller is refused, hence the inner result.
#[tracing::instrument(name = "accounts::refresh", skip_all)]
pub async fn refresh(
    db: &PgPool,
    auth: &settings::Auth,
    body: RefreshRequest,
) -> DomainResult<Written<DomainResult<Session>>> {
    let next = OpaqueToken::generate();
    let mut conn = db.acquire().await?;
    let rotation = sessions::rotate(
        &mut conn,
        &secrets::hash_token(&body.refresh_token),
        &next.hash,
        refresh_expiry(auth),
    )
    .await?;
    drop(conn);
    match rotation {
        Rotation::Rotated {
            session_id,
            user_id,
        } => {
            let session = users::by_id(db, user_id)
                .await?
                .map(|user| Session {
                    user: user.into(),
                    session_id,
                    refresh_token: next.plain,
                })
                .ok_or_else(|| unauthorized("The account no longer exists."));
            Ok(Written::plain(session))
        }
        Rotation::ReuseDetected => {
            tracing::warn!("refresh token reused; session revoked");
            Ok(Written::new(
                Err(unauthorized(
                    "This refresh token was already used; the session has been ended.",
                )),
                [Change::SessionsChanged],
            ))
        }
        Rotation::Invalid => Ok(Written::plain(Err(unauthorized(
            "The refresh token is invalid or expired.",
        )))),
    }
}

/// Ends one session: its access and refresh tokens stop working.
#[tracing::instrument(name = "accounts::logout", skip_all, fields(session = %session_id))]
pub async fn logout(db: &PgPool, session_id: Uuid) -> DomainResult<Written<()>> {
    sessions::revoke(db, session_id, "logout").await?;
    Ok(Written::new((), [Change::SessionsChanged]))
}

/// Spends a verification token and marks the address verified (and queues the welcome email).
#[tracing::instrument(name = "accounts::verify_email", skip_all)]
pub async fn verify_email(db: &PgPool, body: TokenRequest) -> DomainResult<()> {
    if accounts::verify_email(db, &secrets::hash_token(&body.token)).await? {
        Ok(())
    } else {
        Err(invalid_token())
    }
}

/// Queues a reset email if the address belongs to an account; says nothing either way, so the
/// answer does not reveal which addresses have accounts.
#[tracing::instrument(name = "accounts::request_password_reset", skip_all)]
pub async fn request_password_reset(
    db: &PgPool,
    auth: &settings::Auth,
    body: PasswordResetRequest,
) -> DomainResult<()> {
    if let Some(user) = users::by_email(db, body.email.trim()).await? {
        let token = OpaqueToken::generate();
        let new = NewEmailToken {
            plain: &token.plain,
            hash: &token.hash,
            expires_at: Utc::now() + Duration::minutes(auth.password_reset_ttl_minutes),
        };
        accounts::request_password_reset(db, &user, new).await?;
    }
    Ok(())
}

/// Spends a reset token and sets the new password; every session of the account ends.
#[tracing::instrument(name = "accounts::reset_password", skip_all)]
pub async fn reset_password(
    db: &PgPool,
    hasher: &Hasher,
    body: PasswordResetConfirm,
) -> DomainResult<Written<()>> {
    let password = Password::parse("new_password", &body.new_password)?;
    let password_hash = hasher.hash(password.as_str().to_string()).await?;
    match accounts::reset_password(db, &secrets::hash_token(&body.token), &password_hash).await? {
        Some(user) => {
            tracing::info!(%user, "password reset");
            Ok(Written::new((), [Change::SessionsChanged]))
        }
        None => Err(invalid_token()),
    }
}

/// Fields left out stay as they are; `null` or a blank string clears a text field.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateMe {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 50)]
    pub display_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub bio: Option<Option<String>>,
    pub email_notifications: Option<bool>,
}

/// Distinguishes "absent" (`None`) from "null" (`Some(None)`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

impl TryFrom<UpdateMe> for ProfileUpdate {
    type Error = Vec<FieldError>;

    fn try_from(body: UpdateMe) -> Result<Self, Vec<FieldError>> {
        let mut errors = Errors::default();
        let mut text = |field: &str, value: Option<Option<String>>, max: usize| {
            value.map(|v| {
                errors
                    .check(validation::optional_text(field, v.as_deref(), max))
                    .flatten()
            })
        };
        let display_name = text("display_name", body.display_name, DISPLAY_NAME_MAX);
        let bio = text("bio", body.bio, BIO_MAX);
        errors.into_result()?;
        Ok(ProfileUpdate {
            display_name,
            bio,
            email_notifications: body.email_notifications,
        })
    }
}

/// Changes the actor's own profile.
#[tracing::instrument(name = "accounts::update_profile", skip_all, fields(user = %actor.user_id))]
pub async fn update_profile(
    db: &PgPool,
    actor: &Actor,
    body: UpdateMe,
) -> DomainResult<Written<Me>> {
    let update = ProfileUpdate::try_from(body)?;
    let row = users::update_profile(db, actor.user_id, update)
        .await?
        .ok_or_else(|| DomainError::not_found("No such user."))?;
    Ok(Written::plain(row.into()))
}

/// Either `ids` or `all: true`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MarkRead {
    pub ids: Option<Vec<Uuid>>,
    pub all: Option<bool>,
}

/// Marks some or all of the actor's notifications read.
#[tracing::instrument(name = "accounts::mark_notifications_read", skip_all, fields(user = %actor.user_id))]
pub async fn mark_notifications_read(
    db: &PgPool,
    actor: &Actor,
    body: MarkRead,
) -> DomainResult<Written<()>> {
    let ids = match (body.ids, body.all) {
        (_, Some(true)) => None,
        (Some(ids), _) if ids.len() <= 1000 => Some(ids),
        (Some(_), _) => return Err(DomainError::field("ids", "at most 1000 ids at a time")),
        (None, _) => return Err(DomainError::field("ids", "send `ids` or `all: true`")),
    };
    notifications::mark_read(db, actor.user_id, ids.as_deref()).await?;
    Ok(Written::plain(()))
}

/// One-click unsubscribe from reply emails (RFC 8058): the token is the proof, no login.
#[tracing::instrument(name = "accounts::unsubscribe", skip_all)]
pub async fn unsubscribe(db: &PgPool, key: &[u8], token: &str) -> DomainResult<Written<()>> {
    let no_such = || DomainError::not_found("No such subscription.");
    let user = secrets::verify_unsubscribe_token(key, token).ok_or_else(no_such)?;
    if !users::unsubscribe(db, user).await? {
        return Err(no_such());
    }
    Ok(Written::plain(()))
}
