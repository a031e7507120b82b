//! A Latarnia-like status service (in KSeF a separate host, see API_BRIEF §1), served here under
//! `/latarnia/status` and `/latarnia/messages`; it reflects the simulator's scripted outages.

use actix_web::{web, HttpResponse};
use chrono::Utc;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::faults::OutageScope;
use crate::time;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/latarnia/status", web::get().to(status)).route("/latarnia/messages", web::get().to(messages));
}

fn outage_messages(state: &AppState) -> Vec<Value> {
    let faults = state.faults.read();
    let Some(o) = &faults.outage else { return Vec::new() };
    let now = Utc::now();
    let (category, kind) = match (o.scope, o.from > now) {
        (_, true) => ("MAINTENANCE", "MAINTENANCE_ANNOUNCEMENT"),
        (OutageScope::All, false) if now < o.until => ("TOTAL_FAILURE", "FAILURE_START"),
        (OutageScope::Auth, false) if now < o.until => ("FAILURE", "FAILURE_START"),
        _ => ("FAILURE", "FAILURE_END"),
    };
    vec![json!({
        "id": 1, "eventId": 1, "category": category, "type": kind,
        "title": "Niedostępność KSeF (symulator)",
        "text": "Symulowana niedostępność usług KSeF.",
        "start": time::fmt(o.from), "end": time::fmt(o.until), "version": 1, "published": time::fmt(o.from),
    })]
}

async fn status(state: web::Data<AppState>) -> HttpResponse {
    let status = match state.faults.read().outage_at(Utc::now()) {
        Some(OutageScope::All) => "TOTAL_FAILURE",
        Some(OutageScope::Auth) => "FAILURE",
        None => "AVAILABLE",
    };
    let messages: Vec<Value> =
        outage_messages(&state).into_iter().filter(|m| m["type"] != "FAILURE_END").collect();
    HttpResponse::Ok().json(json!({"status": status, "messages": messages}))
}

async fn messages(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(outage_messages(&state))
}
