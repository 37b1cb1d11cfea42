use actix_web::{get, web};
use forum_domain::model::AuthorSort;
use forum_domain::model::{Page, Post, PublicProfile};
use forum_domain::rules::paging::{Cursor, PageRequest, finish_page};
use forum_domain::store::posts;
use forum_domain::store::users;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::MaybeUser;
use crate::listings;

use crate::error::{ApiError, ApiResult};
use crate::extract::Paging;
use crate::state::AppState;

#[utoipa::path(
    tag = "accounts",
    params(("username" = String, Path, description = "Case-insensitive")),
    responses(
        (status = 200, description = "Public profile", body = PublicProfile),
        (status = 404, description = "No such user"),
    )
)]
#[get("/users/{username}")]
pub async fn get_user(
    state: web::Data<AppState>,
    username: web::Path<String>,
) -> ApiResult<web::Json<PublicProfile>> {
    let row = users::by_username(&state.db, &username)
        .await?
        .ok_or_else(|| ApiError::not_found("No such user."))?;
    Ok(web::Json(row.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserPostsQuery {
    /// `new` (default) or `top`.
    #[param(inline)]
    pub sort: Option<AuthorSort>,
}

#[utoipa::path(
    tag = "accounts",
    params(("username" = String, Path), UserPostsQuery, Paging),
    responses(
        (status = 200, description = "The user's posts", body = Page<Post>),
        (status = 404, description = "No such user"),
    )
)]
#[get("/users/{username}/posts")]
pub async fn user_posts(
    state: web::Data<AppState>,
    user: MaybeUser,
    username: web::Path<String>,
    query: web::Query<UserPostsQuery>,
    page: Paging,
) -> ApiResult<web::Json<Page<Post>>> {
    let author = users::by_username(&state.db, &username)
        .await?
        .ok_or_else(|| ApiError::not_found("No such user."))?;
    let sort = query.sort.unwrap_or_default();
    let scope = format!("user_posts:{}", sort.as_str());
    let PageRequest { limit, after } = page.request(&scope)?;
    let db = state.reader(user.0.as_ref()).await;
    let rows = posts::by_author(db, author.id, sort, after.as_ref(), limit).await?;
    let (rows, next) = finish_page(rows, limit, |r| {
        Cursor::after(
            scope.as_str(),
            (sort == AuthorSort::Top).then_some(r.sort_key),
            r.id,
        )
    });
    Ok(web::Json(
        listings::rows_page(&state, rows, next, user.0.as_ref()).await?,
    ))
}
