//! Interactive sessions: open, send invoice, close.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Duration, Utc};
use serde::Deserialize;
use serde_json::json;

use crate::app::{parse_json, AppState};
use crate::crypto::{aes256cbc_decrypt, b64_decode, rsa_oaep_decrypt, sha256_b64};
use crate::errors::{ApiError, ApiResult};
use crate::faults::FaultHandle;
use crate::ids::reference_number;
use crate::jwt::Claims;
use crate::process::{register, Received};
use crate::state::{Session, SessionKind};
use crate::time;

/// Permissions that allow sending invoices.
pub const WRITE: &[&str] = &["InvoiceWrite", "PefInvoiceWrite", "EnforcementOperations"];
/// Maximum invoices per session.
pub const MAX_INVOICES: usize = 10_000;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/sessions/online", web::post().to(open))
        .route("/sessions/online/{reference}/invoices", web::post().to(send))
        .route("/sessions/online/{reference}/close", web::post().to(close));
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FormCode {
    pub system_code: String,
    pub schema_version: String,
    pub value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptionInfo {
    pub encrypted_symmetric_key: String,
    pub initialization_vector: String,
    pub public_key_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OpenRequest {
    form_code: FormCode,
    encryption: EncryptionInfo,
}

/// Only FA (3) is validated by the simulator.
pub fn check_form_code(f: &FormCode) -> ApiResult<()> {
    if (f.system_code.as_str(), f.schema_version.as_str(), f.value.as_str()) == ("FA (3)", "1-0E", "FA") {
        Ok(())
    } else {
        Err(ApiError::validation(format!(
            "Nieobsługiwany formCode: {} {} {} (symulator przyjmuje FA (3) 1-0E FA).",
            f.system_code, f.schema_version, f.value
        )))
    }
}

/// Unwraps the session key: 21470 for an unknown key id, 21405 for malformed input,
/// `Ok(None)` when RSA decryption fails or the key is not 32 bytes (session status 415).
pub fn unwrap_key(state: &AppState, e: &EncryptionInfo) -> ApiResult<Option<([u8; 32], [u8; 16])>> {
    if e.public_key_id.as_ref().is_some_and(|id| *id != state.keys.symmetric.cert.public_key_id) {
        return Err(ApiError::exception(21470, "Nieznany lub wycofany identyfikator klucza publicznego."));
    }
    let wrapped = b64_decode(&e.encrypted_symmetric_key)
        .ok_or_else(|| ApiError::validation("encryptedSymmetricKey nie jest poprawnym Base64."))?;
    let iv: [u8; 16] = b64_decode(&e.initialization_vector)
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| ApiError::validation("initializationVector musi mieć 16 bajtów (Base64)."))?;
    let key =
        rsa_oaep_decrypt(&state.keys.symmetric.key, &wrapped).and_then(|k| <[u8; 32]>::try_from(k).ok());
    Ok(key.map(|k| (k, iv)))
}

/// A new session record.
pub fn new_session(kind: SessionKind, claims: &Claims, key: Option<([u8; 32], [u8; 16])>) -> Session {
    let now = Utc::now();
    Session {
        reference: reference_number(if kind == SessionKind::Online { "SO" } else { "SB" }, now),
        kind,
        nip: claims.context_value.clone(),
        auth_ref: claims.token_ref.clone(),
        created: now,
        updated: now,
        valid_until: now + Duration::hours(12),
        closed: None,
        key,
        invoices: Vec::new(),
        failure: None,
        batch: None,
        upo_pages: Vec::new(),
        offline_mode: false,
    }
}

async fn open(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> ApiResult<HttpResponse> {
    let claims = state.access(&req, WRITE)?;
    let body: OpenRequest = parse_json(&body)?;
    check_form_code(&body.form_code)?;
    let key = unwrap_key(&state, &body.encryption)?;
    let session = new_session(SessionKind::Online, &claims, key);
    let body = json!({"referenceNumber": session.reference, "validUntil": time::fmt(session.valid_until)});
    state.db.lock().add_session(session);
    Ok(HttpResponse::Created().json(body))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendRequest {
    invoice_hash: String,
    invoice_size: i64,
    encrypted_invoice_hash: String,
    encrypted_invoice_size: i64,
    encrypted_invoice_content: String,
    #[serde(default)]
    offline_mode: bool,
}

fn no_session() -> ApiError {
    ApiError::exception(21173, "Brak sesji o wskazanym numerze referencyjnym.")
}

fn status_forbids() -> ApiError {
    ApiError::exception(21180, "Status sesji nie pozwala na wykonanie operacji.")
}

fn size_error(what: &str) -> ApiError {
    ApiError::exception_with(
        21402,
        "Nieprawidłowy rozmiar pliku.",
        vec![format!("{what} różni się od zadeklarowanego.")],
    )
}

fn hash_error(what: &str) -> ApiError {
    ApiError::exception_with(
        21403,
        "Nieprawidłowy skrót pliku.",
        vec![format!("{what} różni się od zadeklarowanego.")],
    )
}

async fn send(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let claims = state.access(&req, WRITE)?;
    let body: SendRequest = parse_json(&body)?;
    let reference = path.into_inner();
    let key = {
        let mut db = state.db.lock();
        let s = db
            .sessions
            .get(&reference)
            .filter(|s| s.nip == claims.context_value && s.kind == SessionKind::Online);
        let s = s.ok_or_else(no_session)?;
        if s.closed.is_some() || Utc::now() > s.valid_until {
            return Err(status_forbids());
        }
        if s.invoices.len() >= MAX_INVOICES {
            return Err(ApiError::exception(21155, "Przekroczono limit faktur w sesji."));
        }
        let key = s.key.ok_or_else(status_forbids)?;
        if (FaultHandle { state: state.clone().into_inner() }).session_paused(&mut db, &reference) {
            return Err(ApiError::exception_with(
                21184,
                "Sesja tymczasowo niedostępna",
                vec!["Wysyłka w tej sesji jest wstrzymana; otwórz nową sesję i wyślij w niej faktury."
                    .to_owned()],
            ));
        }
        key
    };
    let cipher = b64_decode(&body.encrypted_invoice_content)
        .ok_or_else(|| ApiError::validation("encryptedInvoiceContent nie jest poprawnym Base64."))?;
    if i64::try_from(cipher.len()).ok() != Some(body.encrypted_invoice_size) {
        return Err(size_error("Rozmiar zaszyfrowanej faktury"));
    }
    if sha256_b64(&cipher) != body.encrypted_invoice_hash {
        return Err(hash_error("Skrót zaszyfrowanej faktury"));
    }
    // Decryption and hashing happen outside the lock.
    let xml = aes256cbc_decrypt(&key.0, &key.1, &cipher);
    if let Some(xml) = &xml {
        if i64::try_from(xml.len()).ok() != Some(body.invoice_size) {
            return Err(size_error("Rozmiar faktury"));
        }
        if sha256_b64(xml) != body.invoice_hash {
            return Err(hash_error("Skrót faktury"));
        }
    }
    let received = Received::checked(&state, xml, body.invoice_hash.clone(), None, body.offline_mode);
    let mut db = state.db.lock();
    if db.sessions.get(&reference).is_none_or(|s| s.closed.is_some()) {
        return Err(status_forbids());
    }
    let invoice_ref = register(&state, &mut db, &reference, received);
    Ok(HttpResponse::Accepted().json(json!({"referenceNumber": invoice_ref})))
}

async fn close(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let claims = state.access(&req, WRITE)?;
    close_session(&state, &claims, &path.into_inner(), SessionKind::Online, |_, _| Ok(()))?;
    crate::routes::close_fault(&state).await
}

/// Common close logic: checks, `extra` (batch processing), marks the session closed.
pub fn close_session(
    state: &AppState,
    claims: &Claims,
    reference: &str,
    kind: SessionKind,
    extra: impl FnOnce(&AppState, &mut crate::state::Db) -> ApiResult<()>,
) -> ApiResult<()> {
    let mut db = state.db.lock();
    let s = db.sessions.get(reference).filter(|s| s.nip == claims.context_value && s.kind == kind);
    let s = s.ok_or_else(no_session)?;
    if s.closed.is_some() {
        return Err(status_forbids());
    }
    extra(state, &mut db)?;
    if let Some(s) = db.sessions.get_mut(reference) {
        let now = Utc::now();
        s.closed = Some(now);
        s.updated = now;
    }
    Ok(())
}
