//! Simulator-only administration under `/sim/admin/` (not part of KSeF): faults, counters, tokens.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::app::AppState;
use crate::faults::{FaultHandle, FaultSettings};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/sim/admin/faults", web::get().to(get_faults))
        .route("/sim/admin/faults", web::put().to(put_faults))
        .route("/sim/admin/counters", web::get().to(counters))
        .route("/sim/admin/counters/reset", web::post().to(reset_counters))
        .route("/sim/admin/tokens", web::post().to(add_token));
}

fn handle(state: web::Data<AppState>) -> FaultHandle {
    FaultHandle { state: state.into_inner() }
}

async fn get_faults(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(handle(state).settings())
}

/// Replaces the fault settings (`FaultSettings` JSON; omitted fields reset to defaults).
async fn put_faults(state: web::Data<AppState>, body: web::Json<FaultSettings>) -> HttpResponse {
    let h = handle(state);
    h.apply(body.into_inner());
    HttpResponse::Ok().json(h.settings())
}

async fn counters(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(state.counters.snapshot())
}

async fn reset_counters(state: web::Data<AppState>) -> HttpResponse {
    state.counters.reset();
    HttpResponse::NoContent().finish()
}

#[derive(Deserialize)]
struct TokenRequest {
    nip: String,
    token: String,
    permissions: Vec<String>,
}

async fn add_token(state: web::Data<AppState>, body: web::Json<TokenRequest>) -> HttpResponse {
    crate::add_token(&state, &body.nip, &body.token, &body.permissions);
    HttpResponse::NoContent().finish()
}
