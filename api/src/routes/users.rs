use actix_web::{get, web};
use forum_domain::model::PublicProfile;
use forum_domain::store::users;

use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

#[utoipa::path(
    tag = "accounts",
    params(("username" = String, Path, description = "Case-insensitive")),
    responses(
        (status = 200, description = "Public profile", body = PublicProfile),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users/{username}")]
pub async fn get_user(
    state: web::Data<AppState>,
    username: web::Path<String>,
) -> ApiResult<web::Json<PublicProfile>> {
    let row = users::find_by_username(&state.db, &username)
        .await?
        .ok_or_else(|| ApiError::not_found("No such user."))?;
    Ok(web::Json(row.into()))
}
