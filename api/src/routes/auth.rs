//! Accounts' HTTP face: rate limits per address, then one `service::accounts` operation, then
//! the token pair (the access token is signed here, the session is the service's).

use actix_web::{HttpRequest, HttpResponse, post, web};
use forum_domain::model::Me;
use forum_domain::service::accounts::{
    self, LoginRequest, PasswordResetConfirm, PasswordResetRequest, RefreshRequest,
    RegisterRequest, Session, TokenRequest,
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::error::ApiResult;
use crate::limits::Bucket;
use crate::state::AppState;

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

/// A session's token pair: its refresh token and a freshly signed access token.
fn tokens(state: &AppState, session: Session) -> ApiResult<AuthTokens> {
    Ok(AuthTokens {
        access_token: state.jwt.issue(session.user.id, session.session_id)?,
        refresh_token: session.refresh_token,
        token_type: "Bearer".into(),
        expires_in: state.jwt.ttl_secs,
        user: session.user,
    })
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
    for bucket in [Bucket::Register, Bucket::RegisterHourly] {
        state
            .limits
            .check(&state.metrics, &req, bucket, &ip)
            .await?;
    }
    let auth = &state.config.settings.auth;
    let written = accounts::register(&state.db, &state.passwords, auth, body.into_inner()).await?;
    let session = state.commit_anonymous(written).await;
    Ok(HttpResponse::Created().json(tokens(&state, session)?))
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
    let auth = &state.config.settings.auth;
    let written = accounts::login(&state.db, &state.passwords, auth, body.into_inner()).await?;
    let session = state.commit_anonymous(written).await;
    Ok(web::Json(tokens(&state, session)?))
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
    let auth = &state.config.settings.auth;
    let written = accounts::refresh(&state.db, auth, body.into_inner()).await?;
    // A reused token ends its session (a change) and is still refused.
    let session = state.commit_anonymous(written).await?;
    Ok(web::Json(tokens(&state, session)?))
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
    let written = accounts::logout(&state.db, user.session_id).await?;
    state.commit_anonymous(written).await;
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
    accounts::verify_email(&state.db, body.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
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
    let auth = &state.config.settings.auth;
    accounts::request_password_reset(&state.db, auth, body.into_inner()).await?;
    // Always 202, so the answer does not reveal which addresses have accounts.
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
    let written = accounts::reset_password(&state.db, &state.passwords, body.into_inner()).await?;
    state.commit_anonymous(written).await;
    Ok(HttpResponse::NoContent().finish())
}
