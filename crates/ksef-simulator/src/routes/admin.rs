//! Simulator-only administration under `/sim/admin/` (not part of KSeF): faults, counters, tokens,
//! received invoices from outside sellers.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::app::AppState;
use crate::faults::{FaultHandle, FaultSettings};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/sim/admin/faults", web::get().to(get_faults))
        .route("/sim/admin/faults", web::put().to(put_faults))
        .route("/sim/admin/counters", web::get().to(counters))
        .route("/sim/admin/counters/reset", web::post().to(reset_counters))
        .route("/sim/admin/tokens", web::post().to(add_token))
        .route("/sim/admin/forget", web::post().to(forget))
        .route("/sim/admin/received-invoices", web::post().to(received_invoices));
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

/// What `POST /sim/admin/forget` drops: `{"tokens": true}` acts as a KSeF restart (access and
/// refresh tokens refused), `{"session": "REF"}` forgets one session and its invoices,
/// `{"everything": true}` a restart with memory lost.
#[derive(Deserialize, Default)]
#[serde(default)]
struct ForgetRequest {
    tokens: bool,
    session: Option<String>,
    everything: bool,
}

async fn forget(state: web::Data<AppState>, body: web::Json<ForgetRequest>) -> HttpResponse {
    let h = handle(state);
    let req = body.into_inner();
    let mut invoices = 0;
    if req.everything {
        invoices += h.forget_everything();
    }
    if req.tokens {
        h.forget_tokens();
    }
    if let Some(reference) = &req.session {
        invoices += h.forget_session(reference);
    }
    HttpResponse::Ok().json(serde_json::json!({"forgottenInvoices": invoices}))
}

/// Stores accepted invoices of an outside seller for a buyer (`ReceivedInvoices` JSON):
/// 201 `{"ksefNumbers": [...]}`, or 400 `{"error": "..."}` with nothing stored.
async fn received_invoices(
    state: web::Data<AppState>,
    body: web::Json<crate::purchase::ReceivedInvoices>,
) -> HttpResponse {
    let req = body.into_inner();
    match web::block(move || crate::purchase::add(&state, &req)).await {
        Ok(Ok(numbers)) => HttpResponse::Created().json(serde_json::json!({"ksefNumbers": numbers})),
        Ok(Err(message)) => HttpResponse::BadRequest().json(serde_json::json!({"error": message})),
        Err(e) => HttpResponse::InternalServerError().json(serde_json::json!({"error": e.to_string()})),
    }
}
