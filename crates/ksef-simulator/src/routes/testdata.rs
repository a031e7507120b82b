//! `/testdata/*` helpers of the TE environment that the gateway may use.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::app::AppState;
use crate::errors::{ApiError, ApiResult};
use crate::routes::auth::{valid_nip, ContextIdentifier};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/testdata/subject", web::post().to(subject))
        .route("/testdata/subject/remove", web::post().to(subject_remove))
        .route("/testdata/person", web::post().to(person))
        .route("/testdata/person/remove", web::post().to(person_remove))
        .route("/testdata/permissions", web::post().to(grant))
        .route("/testdata/permissions/revoke", web::post().to(revoke))
        .route("/testdata/attachment", web::post().to(allow_attachments))
        .route("/testdata/attachment/revoke", web::post().to(revoke_attachments))
        .route("/testdata/context/block", web::post().to(block))
        .route("/testdata/context/unblock", web::post().to(unblock));
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubjectRequest {
    subject_nip: String,
}

#[derive(Deserialize)]
struct PersonRequest {
    nip: String,
}

fn create(state: &AppState, nip: &str) -> ApiResult<HttpResponse> {
    if !valid_nip(nip) {
        return Err(ApiError::validation(format!("Nieprawidłowy NIP: {nip}")));
    }
    if !state.db.lock().test_subjects.insert(nip.to_owned()) {
        return Err(ApiError::exception(30001, "Podmiot już istnieje."));
    }
    Ok(HttpResponse::Ok().finish())
}

fn remove(state: &AppState, nip: &str) -> HttpResponse {
    state.db.lock().test_subjects.remove(nip);
    HttpResponse::Ok().finish()
}

async fn subject(state: web::Data<AppState>, body: web::Json<SubjectRequest>) -> ApiResult<HttpResponse> {
    create(&state, &body.subject_nip)
}

async fn subject_remove(state: web::Data<AppState>, body: web::Json<SubjectRequest>) -> HttpResponse {
    remove(&state, &body.subject_nip)
}

async fn person(state: web::Data<AppState>, body: web::Json<PersonRequest>) -> ApiResult<HttpResponse> {
    create(&state, &body.nip)
}

async fn person_remove(state: web::Data<AppState>, body: web::Json<PersonRequest>) -> HttpResponse {
    remove(&state, &body.nip)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Permission {
    permission_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GrantRequest {
    context_identifier: ContextIdentifier,
    authorized_identifier: ContextIdentifier,
    #[serde(default)]
    permissions: Vec<Permission>,
}

/// Grants permissions in a context to another NIP: its tokens then authenticate in that context.
async fn grant(state: web::Data<AppState>, body: web::Json<GrantRequest>) -> ApiResult<HttpResponse> {
    let key = (body.context_identifier.value.clone(), body.authorized_identifier.value.clone());
    let mut db = state.db.lock();
    let set = db.granted.entry(key).or_default();
    set.extend(body.permissions.iter().map(|p| p.permission_type.clone()));
    Ok(HttpResponse::Ok().finish())
}

async fn revoke(state: web::Data<AppState>, body: web::Json<GrantRequest>) -> HttpResponse {
    let key = (body.context_identifier.value.clone(), body.authorized_identifier.value.clone());
    state.db.lock().granted.remove(&key);
    HttpResponse::Ok().finish()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockRequest {
    context_identifier: Option<ContextIdentifier>,
}

fn context_of(body: &BlockRequest) -> ApiResult<String> {
    body.context_identifier
        .as_ref()
        .map(|c| c.value.clone())
        .ok_or_else(|| ApiError::validation("contextIdentifier jest wymagany."))
}

/// Blocks authentication in a context: auth then ends with 480.
async fn block(state: web::Data<AppState>, body: web::Json<BlockRequest>) -> ApiResult<HttpResponse> {
    let ctx = context_of(&body)?;
    state.db.lock().blocked_contexts.insert(ctx);
    Ok(HttpResponse::Ok().finish())
}

async fn unblock(state: web::Data<AppState>, body: web::Json<BlockRequest>) -> ApiResult<HttpResponse> {
    let ctx = context_of(&body)?;
    state.db.lock().blocked_contexts.remove(&ctx);
    Ok(HttpResponse::Ok().finish())
}

/// Allows invoices with attachments in a context.
async fn allow_attachments(state: web::Data<AppState>, body: web::Json<PersonRequest>) -> HttpResponse {
    state.db.lock().attachments_allowed.insert(body.nip.clone());
    HttpResponse::Ok().finish()
}

async fn revoke_attachments(state: web::Data<AppState>, body: web::Json<PersonRequest>) -> HttpResponse {
    state.db.lock().attachments_allowed.remove(&body.nip);
    HttpResponse::Ok().finish()
}
