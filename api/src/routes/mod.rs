//! Route registration: the single place routes are added, always through utoipa-actix-web's
//! `service`, so every served route is in the OpenAPI document.

use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

pub mod admin;
pub mod auth;
pub mod comments;
pub mod communities;
pub mod images;
pub mod me;
pub mod moderation;
pub mod posts;
pub mod search;
pub mod service;
pub mod users;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(
        scope("/api/v1")
            .service(auth::register)
            .service(auth::login)
            .service(auth::refresh)
            .service(auth::logout)
            .service(auth::verify_email)
            .service(auth::password_reset)
            .service(auth::password_reset_confirm)
            .service(me::get_me)
            .service(me::patch_me)
            .service(me::saved_posts)
            .service(me::list_notifications)
            .service(me::mark_notifications_read)
            .service(me::unsubscribe)
            .service(users::get_user)
            .service(users::user_posts)
            .service(comments::user_comments)
            .service(communities::create_community)
            .service(communities::list_communities)
            .service(communities::get_community)
            .service(communities::update_community)
            .service(communities::join_community)
            .service(communities::leave_community)
            .service(communities::list_moderators)
            .service(communities::add_moderator)
            .service(communities::remove_moderator)
            .service(communities::list_approved)
            .service(communities::approve_user)
            .service(communities::unapprove_user)
            .service(posts::list_posts)
            .service(posts::feed)
            .service(posts::get_post)
            .service(posts::delete_post)
            .service(posts::save_post)
            .service(posts::unsave_post)
            .service(posts::vote_post)
            .service(posts::summary)
            .service(comments::create_comment)
            .service(comments::thread)
            .service(comments::get_comment)
            .service(comments::update_comment)
            .service(comments::delete_comment)
            .service(comments::vote_comment)
            .service(search::search)
            .service(moderation::create_report)
            .service(moderation::list_reports)
            .service(moderation::resolve_report)
            .service(moderation::remove_post)
            .service(moderation::restore_post)
            .service(moderation::lock_post)
            .service(moderation::unlock_post)
            .service(moderation::pin_post)
            .service(moderation::unpin_post)
            .service(moderation::remove_comment)
            .service(moderation::restore_comment)
            .service(moderation::ban_user)
            .service(moderation::unban_user)
            .service(moderation::list_bans)
            .service(moderation::community_modlog)
            .service(admin::list_users)
            .service(admin::ban)
            .service(admin::unban)
            .service(admin::set_role)
            .service(admin::remove_community)
            .service(admin::restore_community)
            .service(admin::modlog)
            .service(admin::jobs)
            .service(admin::retry_job)
            .service(images::upload_post_image)
            .service(images::upload_avatar)
            .service(images::get_image)
            // Post bodies may be up to 40,000 characters: these two take up to 256 KiB of JSON.
            // Last in the scope, so an unmatched request still reaches the app's default service.
            .service(
                scope("")
                    .app_data(crate::extract::json_config(crate::extract::POST_JSON_LIMIT))
                    .service(posts::create_post)
                    .service(posts::update_post),
            ),
    )
    .service(images::media)
    .service(service::live)
    .service(service::ready)
    .service(service::metrics)
    .service(service::openapi_json)
    .service(service::docs);
}
