use actix_web::{get, patch, web};
use forum_domain::model::Me;
use forum_domain::rules::validation::{self, BIO_MAX, DISPLAY_NAME_MAX, Errors};
use forum_domain::store::users::{self, ProfileUpdate};
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

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
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Your private profile", body = Me),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me")]
pub async fn get_me(state: web::Data<AppState>, user: AuthUser) -> ApiResult<web::Json<Me>> {
    let row = users::find_by_id(&state.db, user.user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("No such user."))?;
    Ok(web::Json(row.into()))
}

#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    request_body = UpdateMe,
    responses(
        (status = 200, description = "The updated profile", body = Me),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/me")]
pub async fn patch_me(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<UpdateMe>,
) -> ApiResult<web::Json<Me>> {
    let body = body.into_inner();
    let mut errors = Errors::default();
    let display_name = body.display_name.map(|v| {
        errors
            .check(validation::optional_text(
                "display_name",
                v.as_deref(),
                DISPLAY_NAME_MAX,
            ))
            .flatten()
    });
    let bio = body.bio.map(|v| {
        errors
            .check(validation::optional_text("bio", v.as_deref(), BIO_MAX))
            .flatten()
    });
    errors.into_result().map_err(ApiError::validation)?;
    let update = ProfileUpdate {
        display_name,
        bio,
        email_notifications: body.email_notifications,
    };
    let row = users::update_profile(&state.db, user.user_id, update)
        .await?
        .ok_or_else(|| ApiError::not_found("No such user."))?;
    Ok(web::Json(row.into()))
}
