use actix_web::{HttpRequest, HttpResponse, post, web};
use chrono::{Duration, Utc};
use forum_domain::change::{Change, Written};
use forum_domain::error::ErrorCode;
use forum_domain::model::Me;
use forum_domain::rules::validation::{Email, Errors, Password, Username};
use forum_domain::secrets::{self, OpaqueToken};
use forum_domain::store::accounts::{self, NewEmailToken, NewSession};
use forum_domain::store::sessions::{self, Rotation};
use forum_domain::store::users::{self, NewUser};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::limits::Bucket;
use crate::state::AppState;

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

/// A new access token and refresh token, with the account they belong to.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthTokens {
    pub user: Me,
    pub access_token: String,
    /// Opaque; single use: each refresh returns a new one.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

/// argon2 takes tens of milliseconds of CPU: keep it off the async executor, a few at a time.
async fn hash_on_blocking_pool(state: &AppState, password: String) -> ApiResult<String> {
    let _permit = state
        .password_hashing
        .acquire()
        .await
        .map_err(ApiError::internal)?;
    web::block(move || secrets::hash_password(&password))
        .await?
        .map_err(ApiError::internal)
}

async fn verify_on_blocking_pool(
    state: &AppState,
    password: String,
    phc: String,
) -> ApiResult<bool> {
    let _permit = state
        .password_hashing
        .acquire()
        .await
        .map_err(ApiError::internal)?;
    Ok(web::block(move || secrets::verify_password(&password, &phc)).await?)
}

/// Opens a session for `user` and returns its first token pair.
async fn start_session(
    state: &AppState,
    user: Me,
    session_id: Option<(Uuid, OpaqueToken)>,
) -> ApiResult<AuthTokens> {
    let (session_id, refresh_token) = match session_id {
        Some(pair) => pair,
        None => {
            let id = Uuid::now_v7();
            let token = OpaqueToken::generate();
            sessions::create(&state.db, id, user.id, &token.hash, refresh_expiry(state)).await?;
            (id, token)
        }
    };
    tokens(state, user, session_id, refresh_token.plain)
}

fn tokens(
    state: &AppState,
    user: Me,
    session_id: Uuid,
    refresh_token: String,
) -> ApiResult<AuthTokens> {
    Ok(AuthTokens {
        access_token: state.jwt.issue(user.id, session_id)?,
        refresh_token,
        token_type: "Bearer".into(),
        expires_in: state.jwt.ttl_secs,
        user,
    })
}

fn refresh_expiry(state: &AppState) -> chrono::DateTime<Utc> {
    Utc::now() + Duration::days(state.config.settings.refresh_token_ttl_days)
}

#[utoipa::path(
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created and logged in", body = AuthTokens),
        (status = 409, description = "Username or email taken (case-insensitively)"),
        (status = 422, description = "Invalid fields"),
    )
)]
#[post("/auth/register")]
pub async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<RegisterRequest>,
) -> ApiResult<HttpResponse> {
    let ip = state.limits.client_ip(&req).to_string();
    state
        .limits
        .check(&state.metrics, &req, Bucket::Register, &ip)
        .await?;
    state
        .limits
        .check(&state.metrics, &req, Bucket::RegisterHourly, &ip)
        .await?;
    let mut errors = Errors::default();
    let username = errors.check(Username::parse("username", &body.username));
    let email = errors.check(Email::parse("email", &body.email));
    let password = errors.check(Password::parse("password", &body.password));
    errors.into_result().map_err(ApiError::validation)?;
    let (Some(username), Some(email), Some(password)) = (username, email, password) else {
        return Err(ApiError::internal(anyhow::anyhow!(
            "validated fields missing"
        )));
    };

    let password_hash = hash_on_blocking_pool(&state, password.as_str().to_string()).await?;
    let session_id = Uuid::now_v7();
    let refresh_token = OpaqueToken::generate();
    let verify = OpaqueToken::generate();
    let settings = &state.config.settings;
    let row = accounts::register(
        &state.db,
        NewUser {
            id: Uuid::now_v7(),
            username: username.as_str(),
            email: email.as_str(),
            password_hash: &password_hash,
        },
        NewSession {
            id: session_id,
            refresh_hash: &refresh_token.hash,
            expires_at: refresh_expiry(&state),
        },
        NewEmailToken {
            plain: &verify.plain,
            hash: &verify.hash,
            expires_at: Utc::now() + Duration::hours(settings.email_verification_ttl_hours),
        },
    )
    .await?;
    let body = start_session(&state, row.into(), Some((session_id, refresh_token))).await?;
    Ok(HttpResponse::Created().json(body))
}

#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = AuthTokens),
        (status = 401, description = "Wrong login or password"),
    )
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginRequest>,
) -> ApiResult<web::Json<AuthTokens>> {
    // Per address and account: a flood on one account is stopped without locking out
    // everyone else behind the same address.
    let subject = format!(
        "{}:{}",
        state.limits.client_ip(&req),
        body.login.trim().to_lowercase()
    );
    state
        .limits
        .check(&state.metrics, &req, Bucket::Login, &subject)
        .await?;
    let body = body.into_inner();
    let user = users::by_login(&state.db, body.login.trim()).await?;
    // Unknown users cost one verification too, so timing does not reveal who has an account.
    let phc = user.as_ref().map_or_else(
        || state.dummy_password_hash.clone(),
        |u| u.password_hash.clone(),
    );
    let matches = verify_on_blocking_pool(&state, body.password, phc).await?;
    match user {
        Some(user) if matches && user.is_banned() => {
            Err(ApiError::new(ErrorCode::Banned, "This account is banned."))
        }
        Some(user) if matches => Ok(web::Json(start_session(&state, user.into(), None).await?)),
        _ => Err(ApiError::new(
            ErrorCode::InvalidCredentials,
            "The login or password is wrong.",
        )),
    }
}

#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair; the old refresh token is spent", body = AuthTokens),
        (status = 401, description = "Unknown, expired or already used (which also ends the session)"),
    )
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    body: web::Json<RefreshRequest>,
) -> ApiResult<web::Json<AuthTokens>> {
    let next = OpaqueToken::generate();
    // A reused refresh token revokes its session.
    state
        .commit_anonymous(Written::new((), [Change::SessionsChanged]))
        .await;
    let mut conn = state.db.acquire().await?;
    let rotation = sessions::rotate(
        &mut conn,
        &secrets::hash_token(&body.refresh_token),
        &next.hash,
        refresh_expiry(&state),
    )
    .await?;
    drop(conn);
    match rotation {
        Rotation::Rotated {
            session_id,
            user_id,
        } => {
            let user = users::by_id(&state.db, user_id)
                .await?
                .ok_or_else(|| ApiError::unauthorized("The account no longer exists."))?;
            Ok(web::Json(tokens(
                &state,
                user.into(),
                session_id,
                next.plain,
            )?))
        }
        Rotation::ReuseDetected => {
            tracing::warn!("refresh token reused; session revoked");
            Err(ApiError::unauthorized(
                "This refresh token was already used; the session has been ended.",
            ))
        }
        Rotation::Invalid => Err(ApiError::unauthorized(
            "The refresh token is invalid or expired.",
        )),
    }
}

#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Session ended: its access and refresh tokens stop working"),
        (status = 401, description = "No valid token"),
    )
)]
#[post("/auth/logout")]
pub async fn logout(state: web::Data<AppState>, user: AuthUser) -> ApiResult<HttpResponse> {
    sessions::revoke(&state.db, user.session_id, "logout").await?;
    state
        .commit_anonymous(Written::new((), [Change::SessionsChanged]))
        .await;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "auth",
    request_body = TokenRequest,
    responses(
        (status = 204, description = "Email address verified"),
        (status = 400, description = "Unknown, used or expired token"),
    )
)]
#[post("/auth/verify-email")]
pub async fn verify_email(
    state: web::Data<AppState>,
    body: web::Json<TokenRequest>,
) -> ApiResult<HttpResponse> {
    if accounts::verify_email(&state.db, &secrets::hash_token(&body.token)).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::new(
            ErrorCode::InvalidToken,
            "The token is invalid, used or expired.",
        ))
    }
}

#[utoipa::path(
    tag = "auth",
    request_body = PasswordResetRequest,
    responses((status = 202, description = "If the address belongs to an account, a reset email is on its way"))
)]
#[post("/auth/password-reset")]
pub async fn password_reset(
    state: web::Data<AppState>,
    body: web::Json<PasswordResetRequest>,
) -> ApiResult<HttpResponse> {
    // Always 202, so the answer does not reveal which addresses have accounts.
    if let Some(user) = users::by_email(&state.db, body.email.trim()).await? {
        let token = OpaqueToken::generate();
        let ttl = Duration::minutes(state.config.settings.password_reset_ttl_minutes);
        let new = NewEmailToken {
            plain: &token.plain,
            hash: &token.hash,
            expires_at: Utc::now() + ttl,
        };
        accounts::request_password_reset(&state.db, &user, new).await?;
    }
    Ok(HttpResponse::Accepted().finish())
}

#[utoipa::path(
    tag = "auth",
    request_body = PasswordResetConfirm,
    responses(
        (status = 204, description = "Password changed; every session of the account has ended"),
        (status = 400, description = "Unknown, used or expired token"),
        (status = 422, description = "Invalid new password"),
    )
)]
#[post("/auth/password-reset/confirm")]
pub async fn password_reset_confirm(
    state: web::Data<AppState>,
    body: web::Json<PasswordResetConfirm>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let password = Password::parse("new_password", &body.new_password)
        .map_err(|e| ApiError::validation(vec![e]))?;
    let password_hash = hash_on_blocking_pool(&state, password.as_str().to_string()).await?;
    let reset =
        accounts::reset_password(&state.db, &secrets::hash_token(&body.token), &password_hash)
            .await?;
    // The reset ended every session of the account.
    state
        .commit_anonymous(Written::new((), [Change::SessionsChanged]))
        .await;
    match reset {
        Some(_) => Ok(HttpResponse::NoContent().finish()),
        None => Err(ApiError::new(
            ErrorCode::InvalidToken,
            "The token is invalid, used or expired.",
        )),
    }
}
