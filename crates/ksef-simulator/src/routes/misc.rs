//! Session listing, effective limits and the caller's own permissions.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::app::AppState;
use crate::errors::{ApiError, ApiResult};
use crate::routes::status::{continuation, next_token, session_state, READ};
use crate::state::Session;
use crate::time;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/sessions", web::get().to(list_sessions))
        .route("/rate-limits", web::get().to(rate_limits))
        .route("/limits/context", web::get().to(context_limits))
        .route("/permissions/query/personal/grants", web::post().to(personal_grants))
        .route("/permissions/attachments/status", web::get().to(attachments_status));
}

/// `CommonSessionStatus` of a session status code.
fn common_status(code: u16) -> &'static str {
    match code {
        100 | 150 | 170 => "InProgress",
        200 => "Succeeded",
        440 => "Cancelled",
        _ => "Failed",
    }
}

async fn list_sessions(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let claims = state.access(&req, READ)?;
    // Repeated `statuses=` parameters: parsed by hand (serde_urlencoded has no sequences).
    let pairs: Vec<(String, String)> = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .map_err(|e| ApiError::validation(e.to_string()))?;
    let param = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let kind = match param("sessionType") {
        Some(k @ ("Online" | "Batch")) => k,
        _ => return Err(ApiError::validation("Parametr sessionType (Online|Batch) jest wymagany.")),
    };
    let size: usize =
        param("pageSize").map_or(Ok(10), str::parse).map_err(|_| ApiError::validation("pageSize"))?;
    if !(10..=1000).contains(&size) {
        return Err(ApiError::validation("pageSize musi być w zakresie 10..1000."));
    }
    let statuses: Vec<&str> =
        pairs.iter().filter(|(k, _)| k == "statuses").map(|(_, v)| v.as_str()).collect();
    // Each pair bounds one timestamp (OA: GET /sessions); a session not yet closed has no closing date.
    let mut ranges = Vec::new();
    for (name, pick) in [
        ("dateCreated", (|s: &Session| Some(s.created)) as fn(&Session) -> Option<DateTime<Utc>>),
        ("dateClosed", |s: &Session| s.closed),
        ("dateModified", |s: &Session| Some(s.updated)),
    ] {
        ranges.push((
            pick,
            date_param(&param, &format!("{name}From"))?,
            date_param(&param, &format!("{name}To"))?,
        ));
    }
    let in_ranges = |s: &Session| {
        ranges.iter().all(|(pick, from, to)| match pick(s) {
            Some(t) => from.is_none_or(|f| t >= f) && to.is_none_or(|u| t <= u),
            None => from.is_none() && to.is_none(),
        })
    };
    let offset = continuation(&req)?;
    let now = Utc::now();
    let db = state.db.lock();
    let items: Vec<Value> = db
        .session_order
        .iter()
        .filter_map(|r| db.sessions.get(r))
        .filter(|s| s.nip == claims.context_value && s.kind.as_str() == kind)
        .filter(|s| param("referenceNumber").is_none_or(|r| r == s.reference))
        .filter(|s| in_ranges(s))
        .filter_map(|s| {
            let ((code, description), (total, ok, failed)) = session_state(&db, s, now, state.delay());
            (statuses.is_empty() || statuses.contains(&common_status(code))).then(|| {
                json!({"referenceNumber": s.reference, "status": {"code": code, "description": description},
                    "dateCreated": time::fmt(s.created), "dateUpdated": time::fmt(s.updated), "validUntil": time::fmt(s.valid_until),
                    "totalInvoiceCount": total, "successfulInvoiceCount": ok, "failedInvoiceCount": failed})
            })
        })
        .collect();
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(offset).take(size).collect();
    let token = next_token(offset, page.len(), total);
    Ok(HttpResponse::Ok().json(json!({"continuationToken": token, "sessions": page})))
}

/// A `date-time` query parameter; one that is not RFC 3339 is a 400, not an ignored filter.
fn date_param<'a>(param: &impl Fn(&str) -> Option<&'a str>, name: &str) -> ApiResult<Option<DateTime<Utc>>> {
    param(name)
        .map(|t| DateTime::parse_from_rfc3339(t).map(|d| d.with_timezone(&Utc)))
        .transpose()
        .map_err(|_| ApiError::validation(format!("Parametr {name} musi być datą ISO 8601 ze strefą.")))
}

async fn rate_limits(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    state.access(&req, &[])?;
    Ok(HttpResponse::Ok().json(state.limiter.effective_json()))
}

async fn context_limits(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    state.access(&req, &[])?;
    let limits =
        json!({"maxInvoiceSizeInMB": 1, "maxInvoiceWithAttachmentSizeInMB": 3, "maxInvoices": 10000});
    Ok(HttpResponse::Ok().json(json!({
        "onlineSession": limits,
        "batchSession": limits,
        "collectiveIdentifier": {"maxInvoices": crate::collective::MAX_INVOICES},
    })))
}

async fn personal_grants(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let claims = state.access(&req, &[])?;
    let db = state.db.lock();
    let op = db.auth_ops.get(&claims.auth_ref);
    // The holder: the KSeF token's owner, or the certificate's subject (NIP, PESEL or fingerprint).
    let author =
        match (db.token_by_ref(&claims.token_ref), op.and_then(|o| o.signer.as_ref()).map(|s| &s.subject)) {
            (Some((_, t)), _) => json!({"type": "Nip", "value": t.nip}),
            (None, Some(s)) => json!({"type": s.kind(), "value": s.value()}),
            (None, None) => json!({"type": "Nip", "value": claims.context_value}),
        };
    let start = db
        .token_by_ref(&claims.token_ref)
        .map(|(_, t)| t.created)
        .or_else(|| op.map(|o| o.start))
        .unwrap_or_else(Utc::now);
    let description =
        if claims.token_ref.is_empty() { "Uprawnienie w kontekście" } else { "Uprawnienie tokenu KSeF" };
    let permissions: Vec<Value> = claims
        .permissions
        .iter()
        .enumerate()
        .map(|(i, p)| {
            json!({
                "id": format!("{}-{:02X}", &claims.token_ref.get(..33).unwrap_or("00000000-PE-0000000000-0000000000"), i),
                "contextIdentifier": {"type": "Nip", "value": claims.context_value},
                "authorizedIdentifier": author,
                "permissionScope": p,
                "description": description,
                "permissionState": "Active",
                "startDate": time::fmt(start),
                "canDelegate": false,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"permissions": permissions, "hasMore": false})))
}

async fn attachments_status(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let claims = state.access(&req, &[])?;
    let allowed = state.db.lock().attachments_allowed.contains(&claims.context_value);
    Ok(HttpResponse::Ok().json(json!({"isAttachmentAllowed": allowed})))
}
