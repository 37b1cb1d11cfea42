//! Access tokens (JWT, HS256, short-lived) and the `AuthUser` extractor.
//!
//! An access token names its session (`sid`); the extractor checks that the session is still
//! live, so logout, password resets and bans refuse tokens at once rather than at expiry.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use forum_domain::model::{Actor, Role};
use forum_domain::store::sessions;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// The caller, authenticated by a bearer token whose session is live.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub role: Role,
}

impl AuthUser {
    /// The caller as the domain knows them.
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.user_id,
            role: self.role,
        }
    }
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(req);
        Box::pin(async move {
            let state =
                state.ok_or_else(|| ApiError::internal(anyhow::anyhow!("app state missing")))?;
            let token =
                token.ok_or_else(|| ApiError::unauthorized("A bearer token is required."))?;
            let claims = state
                .jwt
                .verify(&token)
                .ok_or_else(|| ApiError::unauthorized("The token is invalid or expired."))?;
            // The token's user is part of the session row checked, so the session id is key enough.
            let role = match state.sessions_seen.get(&claims.sid) {
                Some(role) => role,
                None => {
                    let role = sessions::active_role(&state.db, claims.sid, claims.sub)
                        .await?
                        .ok_or_else(|| {
                            ApiError::unauthorized("The session has ended; log in again.")
                        })?;
                    state.sessions_seen.put(claims.sid, role.clone());
                    role
                }
            };
            Ok(AuthUser {
                user_id: claims.sub,
                session_id: claims.sid,
                role: Role::from_db(&role),
            })
        })
    }
}

/// The caller when a bearer token is sent, `None` for anonymous requests. A token that is sent
/// but invalid is still a 401: silently treating it as anonymous would hide the problem.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<AuthUser>);

impl FromRequest for MaybeUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if req.headers().get(header::AUTHORIZATION).is_none() {
            return Box::pin(async { Ok(MaybeUser(None)) });
        }
        let inner = AuthUser::from_request(req, payload);
        Box::pin(async move { inner.await.map(|u| MaybeUser(Some(u))) })
    }
}

impl MaybeUser {
    pub fn id(&self) -> Option<Uuid> {
        self.0.as_ref().map(|u| u.user_id)
    }
    pub fn role(&self) -> Option<Role> {
        self.0.as_ref().map(|u| u.role)
    }
}
