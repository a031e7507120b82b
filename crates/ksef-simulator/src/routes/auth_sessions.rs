//! Authentication sessions of the context: list and revoke (`/auth/sessions`).

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::errors::{ApiError, ApiResult};
use crate::jwt::{bearer, TokenKind};
use crate::routes::auth::{op_json, op_not_found};
use crate::routes::status::{continuation, next_token};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/sessions", web::get().to(list))
        .route("/auth/sessions/current", web::delete().to(revoke_current))
        .route("/auth/sessions/{reference}", web::delete().to(revoke));
}

async fn list(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let claims = state.access(&req, &[])?;
    let offset = continuation(&req)?;
    let size: usize = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.iter().find(|(k, _)| k == "pageSize").and_then(|(_, v)| v.parse().ok()))
        .unwrap_or(10);
    if !(10..=100).contains(&size) {
        return Err(ApiError::validation("pageSize musi być w zakresie 10..100."));
    }
    let now = Utc::now();
    let db = state.db.lock();
    let mut ops: Vec<(&String, &crate::state::AuthOp)> =
        db.auth_ops.iter().filter(|(_, op)| op.nip == claims.context_value && op.redeemed).collect();
    ops.sort_by_key(|(_, op)| std::cmp::Reverse(op.start));
    let items: Vec<Value> = ops
        .iter()
        .skip(offset)
        .take(size)
        .map(|(reference, op)| {
            let mut item = op_json(op, now);
            item["referenceNumber"] = json!(reference);
            item["isCurrent"] = json!(**reference == claims.auth_ref);
            item
        })
        .collect();
    let token = next_token(offset, items.len(), ops.len());
    Ok(HttpResponse::Ok().json(json!({"continuationToken": token, "items": items})))
}

fn revoke_op(state: &AppState, context: &str, reference: &str) -> ApiResult<HttpResponse> {
    let mut db = state.db.lock();
    let op = db.auth_ops.get_mut(reference).filter(|op| op.nip == context).ok_or_else(op_not_found)?;
    op.revoked = true;
    Ok(HttpResponse::NoContent().finish())
}

/// Revokes the caller's own authentication; accepts the access or the refresh token.
async fn revoke_current(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let token =
        bearer(&req).ok_or_else(|| ApiError::Unauthorized("Brak tokenu uwierzytelniającego.".to_owned()))?;
    let claims = state.jwt.decode_any(token)?;
    if claims.kind == TokenKind::OperationToken {
        return Err(ApiError::Unauthorized("Wymagany token dostępowy lub odświeżający.".to_owned()));
    }
    revoke_op(&state, &claims.context_value, &claims.auth_ref)
}

async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let claims = state.access(&req, &[])?;
    revoke_op(&state, &claims.context_value, &path.into_inner())
}
