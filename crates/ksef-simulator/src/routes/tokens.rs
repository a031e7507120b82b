//! KSeF token management: generate, list, read, revoke.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use rand::Rng;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::{parse_json, AppState};
use crate::errors::{ApiError, ApiResult};
use crate::ids::reference_number;
use crate::jwt::Claims;
use crate::routes::status::{continuation, next_token};
use crate::state::KsefTokenRec;
use crate::time;

const TOKEN_PERMISSIONS: [&str; 8] = [
    "InvoiceRead",
    "InvoiceWrite",
    "CredentialsRead",
    "CredentialsManage",
    "SubunitManage",
    "EnforcementOperations",
    "Introspection",
    "CollectiveIdentifierManage",
];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/tokens", web::post().to(generate))
        .route("/tokens", web::get().to(list))
        .route("/tokens/{reference}", web::get().to(get_one))
        .route("/tokens/{reference}", web::delete().to(revoke));
}

#[derive(Deserialize)]
struct GenerateRequest {
    permissions: Vec<String>,
    description: String,
}

async fn generate(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> ApiResult<HttpResponse> {
    let claims = state.access(&req, &[])?;
    let body: GenerateRequest = parse_json(&body)?;
    let len = body.description.chars().count();
    if !(5..=256).contains(&len) || body.permissions.is_empty() {
        return Err(ApiError::validation("description (5–256 znaków) i permissions są wymagane."));
    }
    if let Some(p) = body.permissions.iter().find(|p| !TOKEN_PERMISSIONS.contains(&p.as_str())) {
        return Err(ApiError::validation(format!("Nieznane uprawnienie: {p}")));
    }
    if body.permissions.iter().any(|p| !claims.permissions.contains(p)) {
        return Err(ApiError::exception(
            26001,
            "Nie można nadać tokenowi uprawnień, których nie posiada wywołujący.",
        ));
    }
    let now = Utc::now();
    let reference = reference_number("EC", now);
    let secret: String = (0..32).map(|_| format!("{:02x}", rand::thread_rng().gen::<u8>())).collect();
    let token = format!("{reference}|nip-{}|{secret}", claims.context_value);
    let rec = KsefTokenRec {
        reference: reference.clone(),
        nip: claims.context_value.clone(),
        permissions: body.permissions.clone(),
        description: body.description.clone(),
        created: now,
        last_use: None,
        status: "Active",
    };
    state.db.lock().tokens.insert(token.clone(), rec);
    Ok(HttpResponse::Accepted().json(json!({"referenceNumber": reference, "token": token})))
}

fn item(t: &KsefTokenRec) -> Value {
    json!({
        "referenceNumber": t.reference,
        "authorIdentifier": {"type": "Nip", "value": t.nip},
        "contextIdentifier": {"type": "Nip", "value": t.nip},
        "description": t.description,
        "requestedPermissions": t.permissions,
        "dateCreated": time::fmt(t.created),
        "lastUseDate": t.last_use.map(time::fmt),
        "status": t.status,
        "statusDetails": [],
    })
}

/// With CredentialsManage/CredentialsRead every token of the context, otherwise only the caller's own.
fn visible(claims: &Claims, t: &KsefTokenRec) -> bool {
    t.nip == claims.context_value
        && (claims.has_any(&["CredentialsManage", "CredentialsRead"]) || t.reference == claims.token_ref)
}

async fn list(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let claims = state.access(&req, &[])?;
    let pairs = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map_err(|e| ApiError::validation(e.to_string()))?
        .into_inner();
    let statuses: Vec<&str> = pairs.iter().filter(|(k, _)| k == "status").map(|(_, v)| v.as_str()).collect();
    let description = pairs.iter().find(|(k, _)| k == "description").map(|(_, v)| v.to_lowercase());
    let size: usize = pairs
        .iter()
        .find(|(k, _)| k == "pageSize")
        .map_or(Ok(10), |(_, v)| v.parse())
        .map_err(|_| ApiError::validation("pageSize"))?;
    if !(10..=100).contains(&size) {
        return Err(ApiError::validation("pageSize musi być w zakresie 10..100."));
    }
    let offset = continuation(&req)?;
    let db = state.db.lock();
    let mut tokens: Vec<&KsefTokenRec> = db
        .tokens
        .values()
        .filter(|t| visible(&claims, t))
        .filter(|t| statuses.is_empty() || statuses.contains(&t.status))
        .filter(|t| description.as_ref().is_none_or(|d| t.description.to_lowercase().contains(d)))
        .collect();
    tokens.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.reference.cmp(&b.reference)));
    let page: Vec<Value> = tokens.iter().skip(offset).take(size).map(|t| item(t)).collect();
    let token = next_token(offset, page.len(), tokens.len());
    Ok(HttpResponse::Ok().json(json!({"continuationToken": token, "tokens": page})))
}

fn not_found() -> ApiError {
    ApiError::validation("Nie znaleziono tokenu o podanym numerze referencyjnym.")
}

async fn get_one(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let claims = state.access(&req, &[])?;
    let db = state.db.lock();
    let (_, t) = db.token_by_ref(&path).filter(|(_, t)| visible(&claims, t)).ok_or_else(not_found)?;
    Ok(HttpResponse::Ok().json(item(t)))
}

async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let claims = state.access(&req, &[])?;
    let mut db = state.db.lock();
    let key = db
        .token_by_ref(&path)
        .filter(|(_, t)| visible(&claims, t))
        .map(|(k, _)| k.clone())
        .ok_or_else(not_found)?;
    if let Some(t) = db.tokens.get_mut(&key) {
        t.status = "Revoked";
    }
    Ok(HttpResponse::NoContent().finish())
}
