//! Route registration: the single place routes are added, always through utoipa-actix-web's
//! `service`, so every served route is in the OpenAPI document.

use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

pub mod auth;
pub mod me;
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
            .service(users::get_user),
    )
    .service(service::live)
    .service(service::ready)
    .service(service::metrics)
    .service(service::openapi_json)
    .service(service::docs);
}
