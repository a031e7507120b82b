//! `GET /security/public-key-certificates`.

use actix_web::{web, HttpResponse};

use crate::app::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/security/public-key-certificates", web::get().to(certificates));
}

async fn certificates(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json([state.keys.token.cert.to_json(), state.keys.symmetric.cert.to_json()])
}
