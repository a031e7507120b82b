//! Pre-signed storage links (no bearer token, not rate limited): UPO downloads, batch part uploads
//! and export part downloads.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::app::AppState;
use crate::errors::{ApiError, ApiResult};
use crate::export::ExportState;
use crate::faults::FaultHandle;
use crate::routes::status::{invoice_upo_xml, session_upo_xml, xml_response};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/sim/storage/upo/{session}/{kind}/{id}", web::get().to(download_upo))
        .route("/sim/storage/batch/{session}/{ordinal}", web::put().to(upload_part))
        .route("/sim/storage/export/{reference}/{ordinal}", web::get().to(download_export_part));
}

#[derive(Deserialize)]
struct Signed {
    exp: i64,
    sig: String,
}

fn check(state: &AppState, req: &HttpRequest, q: &Signed) -> ApiResult<()> {
    if state.verify_signed(req.path(), q.exp, &q.sig) {
        Ok(())
    } else {
        Err(ApiError::Forbidden {
            reason_code: "invalid-signature",
            detail: "Link wygasł lub ma nieprawidłowy podpis.".to_owned(),
            security: None,
        })
    }
}

async fn download_upo(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    q: web::Query<Signed>,
) -> ApiResult<HttpResponse> {
    check(&state, &req, &q)?;
    let (session, kind, id) = path.into_inner();
    let db = state.db.lock();
    let xml = match kind.as_str() {
        "invoice" => invoice_upo_xml(&db, &session, &id),
        _ => session_upo_xml(&db, &session, &id),
    };
    xml.map(xml_response).ok_or_else(|| ApiError::NotFound("UPO not found".to_owned()))
}

/// An encrypted export package part, with `x-ms-meta-hash` of the encrypted bytes.
async fn download_export_part(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, u32)>,
    q: web::Query<Signed>,
) -> ApiResult<HttpResponse> {
    check(&state, &req, &q)?;
    let (reference, ordinal) = path.into_inner();
    let (mut bytes, hash) = {
        let db = state.db.lock();
        let part = db
            .exports
            .get(&reference)
            .and_then(|e| match &e.state {
                ExportState::Done(p) => p.parts.iter().find(|p| p.ordinal == ordinal),
                _ => None,
            })
            .ok_or_else(|| ApiError::NotFound("export part".to_owned()))?;
        (part.encrypted.clone(), part.encrypted_hash.clone())
    };
    if (FaultHandle { state: state.clone().into_inner() }).take_corrupt_part() {
        state.counters.fault();
        if let Some(b) = bytes.last_mut() {
            *b ^= 0x5a;
        }
    }
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header(("x-ms-meta-hash", hash))
        .body(bytes))
}

async fn upload_part(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, u32)>,
    q: web::Query<Signed>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    check(&state, &req, &q)?;
    let blob_type = req.headers().get("x-ms-blob-type").and_then(|v| v.to_str().ok());
    if blob_type != Some("BlockBlob") {
        return Err(ApiError::validation("Brak nagłówka x-ms-blob-type: BlockBlob."));
    }
    let (session, ordinal) = path.into_inner();
    let mut db = state.db.lock();
    let s = db.sessions.get_mut(&session).ok_or_else(|| ApiError::NotFound("session".to_owned()))?;
    if s.closed.is_some() {
        return Err(ApiError::validation("Sesja jest już zamknięta."));
    }
    let part = s
        .batch
        .as_mut()
        .and_then(|b| b.parts.iter_mut().find(|p| p.ordinal == ordinal))
        .ok_or_else(|| ApiError::NotFound("part".to_owned()))?;
    part.data = Some(body.to_vec());
    Ok(HttpResponse::Created().finish())
}
