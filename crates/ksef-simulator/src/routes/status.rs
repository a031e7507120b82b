//! Session status, invoice statuses, UPO (per invoice and per session).

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::errors::{ApiError, ApiResult};
use crate::ids::reference_number;
use crate::jwt::Claims;
use crate::state::{Db, Invoice, Outcome, Session, SessionKind, UpoPage};
use crate::time;
use crate::upo;

/// Who may read session statuses.
pub const READ: &[&str] =
    &["InvoiceWrite", "InvoiceRead", "Introspection", "EnforcementOperations", "PefInvoiceWrite"];
/// Lifetime of pre-signed download links.
const LINK_TTL: Duration = Duration::hours(1);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/sessions/{reference}", web::get().to(session_status))
        .route("/sessions/{reference}/invoices", web::get().to(invoices))
        .route("/sessions/{reference}/invoices/failed", web::get().to(failed))
        .route("/sessions/{reference}/invoices/ksef/{ksef}/upo", web::get().to(upo_by_ksef))
        .route("/sessions/{reference}/invoices/{invoice}/upo", web::get().to(upo_by_ref))
        .route("/sessions/{reference}/invoices/{invoice}", web::get().to(invoice_status))
        .route("/sessions/{reference}/upo/{upo}", web::get().to(session_upo));
}

fn no_session() -> ApiError {
    ApiError::exception(21173, "Brak sesji o wskazanym numerze referencyjnym.")
}

fn no_upo() -> ApiError {
    ApiError::exception(21178, "Nie znaleziono UPO.")
}

/// The session `reference` of the caller's context.
pub fn own_session<'a>(db: &'a Db, claims: &Claims, reference: &str) -> ApiResult<&'a Session> {
    db.sessions.get(reference).filter(|s| s.nip == claims.context_value).ok_or_else(no_session)
}

/// (code, description, details) of a session at `now`, plus (total, successful, failed) counts.
pub fn session_state(
    db: &Db,
    s: &Session,
    now: DateTime<Utc>,
    delay: Duration,
) -> ((u16, String), (usize, usize, usize)) {
    let mut done = (0, 0);
    let mut pending = 0;
    for inv in s.invoices.iter().filter_map(|r| db.invoices.get(r)) {
        match inv.visible_status(now, delay).0 {
            100 | 150 => pending += 1,
            200 => done.0 += 1,
            _ => done.1 += 1,
        }
    }
    let counts = (s.invoices.len(), done.0, done.1);
    let online = s.kind == SessionKind::Online;
    let status = if let Some((code, desc)) = &s.failure {
        (*code, desc.clone())
    } else if s.key.is_none() {
        (415, "Błąd odszyfrowania dostarczonego klucza".to_owned())
    } else if s.closed.is_none() {
        (100, if online { "Sesja interaktywna otwarta" } else { "Sesja wsadowa rozpoczęta" }.to_owned())
    } else if s.batch.as_ref().is_some_and(|b| b.processing) {
        (150, "Trwa przetwarzanie".to_owned())
    } else if s.invoices.is_empty() {
        (440, "Sesja anulowana".to_owned())
    } else if pending > 0 {
        if online {
            (170, "Sesja interaktywna zamknięta".to_owned())
        } else {
            (150, "Trwa przetwarzanie".to_owned())
        }
    } else if done.0 > 0 {
        (200, "Sesja przetworzona pomyślnie".to_owned())
    } else {
        (445, "Błąd weryfikacji, brak poprawnych faktur".to_owned())
    };
    (status, counts)
}

/// Creates the session UPO pages once the session is processed.
fn ensure_pages(db: &mut Db, reference: &str, now: DateTime<Utc>, delay: Duration) {
    let Some(s) = db.sessions.get(reference) else { return };
    if !s.upo_pages.is_empty() || session_state(db, s, now, delay).0 .0 != 200 {
        return;
    }
    let accepted: Vec<String> = s
        .invoices
        .iter()
        .filter(|r| db.invoices.get(*r).is_some_and(|i| i.accepted_at(now).is_some()))
        .cloned()
        .collect();
    let pages = accepted
        .chunks(upo::PAGE_SIZE)
        .map(|chunk| UpoPage { reference: reference_number("EU", now), invoices: chunk.to_vec() })
        .collect();
    if let Some(s) = db.sessions.get_mut(reference) {
        s.upo_pages = pages;
    }
}

async fn session_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let claims = state.access(&req, READ)?;
    let reference = path.into_inner();
    let now = Utc::now();
    let mut db = state.db.lock();
    own_session(&db, &claims, &reference)?;
    ensure_pages(&mut db, &reference, now, state.delay());
    let s = own_session(&db, &claims, &reference)?;
    let ((code, description), (total, ok, failed)) = session_state(&db, s, now, state.delay());
    let exp = now + LINK_TTL;
    let pages: Vec<Value> = s
        .upo_pages
        .iter()
        .map(|p| {
            json!({
                "referenceNumber": p.reference,
                "downloadUrl": state.signed_url(&format!("/sim/storage/upo/{}/page/{}", s.reference, p.reference), exp.timestamp()),
                "downloadUrlExpirationDate": time::fmt(exp),
            })
        })
        .collect();
    let mut body = json!({
        "status": {"code": code, "description": description},
        "dateCreated": time::fmt(s.created),
        "dateUpdated": time::fmt(s.updated),
        "validUntil": time::fmt(s.valid_until),
        "invoiceCount": total,
        "successfulInvoiceCount": ok,
        "failedInvoiceCount": failed,
    });
    if !pages.is_empty() {
        body["upo"] = json!({"pages": pages});
    }
    Ok(HttpResponse::Ok().json(body))
}

/// `SessionInvoiceStatusResponse` of one invoice at `now`.
pub fn invoice_json(state: &AppState, inv: &Invoice, now: DateTime<Utc>) -> Value {
    let (code, description) = inv.visible_status(now, state.delay());
    let mut status = json!({"code": code, "description": description});
    if let (Outcome::Rejected { details, extensions, .. }, true) = (&inv.outcome, code >= 400) {
        status["details"] = json!(details);
        if let Some(ext) = extensions {
            status["extensions"] = ext.clone();
        }
    }
    let mut body = json!({
        "ordinalNumber": inv.ordinal,
        "referenceNumber": inv.reference,
        "invoiceHash": inv.hash,
        "invoicingDate": time::fmt(inv.invoicing),
        "invoicingMode": if inv.offline { "Offline" } else { "Online" },
        "status": status,
    });
    if let Some(n) = &inv.invoice_number {
        body["invoiceNumber"] = json!(n);
    }
    if let Some(f) = &inv.file_name {
        body["invoiceFileName"] = json!(f);
    }
    if let Some(acc) = inv.accepted_at(now) {
        let exp = now + LINK_TTL;
        body["ksefNumber"] = json!(acc.ksef_number);
        body["acquisitionDate"] = json!(time::fmt(inv.ready_at));
        body["permanentStorageDate"] = json!(time::fmt(inv.ready_at));
        body["upoDownloadUrl"] = json!(state.signed_url(
            &format!("/sim/storage/upo/{}/invoice/{}", inv.session_ref, inv.reference),
            exp.timestamp()
        ));
        body["upoDownloadUrlExpirationDate"] = json!(time::fmt(exp));
    }
    body
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageQuery {
    page_size: Option<usize>,
}

/// Paging by `x-continuation-token` (an offset the simulator issued); 21418 when malformed.
pub fn continuation(req: &HttpRequest) -> ApiResult<usize> {
    match req.headers().get("x-continuation-token") {
        None => Ok(0),
        Some(v) => {
            v.to_str().ok().and_then(|s| s.strip_prefix("sim-")).and_then(|s| s.parse().ok()).ok_or_else(
                || ApiError::exception(21418, "Przekazany token kontynuacji ma nieprawidłowy format."),
            )
        }
    }
}

/// The continuation token for the next page, if any.
pub fn next_token(offset: usize, page: usize, total: usize) -> Option<String> {
    (offset + page < total).then(|| format!("sim-{}", offset + page))
}

async fn list(
    state: &AppState,
    req: &HttpRequest,
    reference: &str,
    size: Option<usize>,
    only_failed: bool,
) -> ApiResult<HttpResponse> {
    let claims = state.access(req, READ)?;
    let size = size.unwrap_or(10);
    if !(10..=1000).contains(&size) {
        return Err(ApiError::validation("pageSize musi być w zakresie 10..1000."));
    }
    let offset = continuation(req)?;
    let now = Utc::now();
    let db = state.db.lock();
    let s = own_session(&db, &claims, reference)?;
    let all: Vec<&Invoice> = s
        .invoices
        .iter()
        .filter_map(|r| db.invoices.get(r))
        .filter(|i| !only_failed || i.visible_status(now, state.delay()).0 >= 400)
        .collect();
    let page: Vec<Value> = all.iter().skip(offset).take(size).map(|i| invoice_json(state, i, now)).collect();
    let token = next_token(offset, page.len(), all.len());
    let mut res = HttpResponse::Ok();
    if let Some(t) = &token {
        res.insert_header(("x-continuation-token", t.as_str()));
    }
    Ok(res.json(json!({"continuationToken": token, "invoices": page})))
}

async fn invoices(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    list(&state, &req, &path.into_inner(), q.page_size, false).await
}

async fn failed(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    list(&state, &req, &path.into_inner(), q.page_size, true).await
}

fn find_invoice<'a>(db: &'a Db, s: &Session, invoice_ref: &str) -> ApiResult<&'a Invoice> {
    db.invoices
        .get(invoice_ref)
        .filter(|i| i.session_ref == s.reference)
        .ok_or_else(|| ApiError::exception(21405, "Brak faktury o wskazanym numerze referencyjnym w sesji."))
}

async fn invoice_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let claims = state.access(&req, READ)?;
    let (reference, invoice_ref) = path.into_inner();
    let db = state.db.lock();
    let s = own_session(&db, &claims, &reference)?;
    let inv = find_invoice(&db, s, &invoice_ref)?;
    Ok(HttpResponse::Ok().json(invoice_json(&state, inv, Utc::now())))
}

/// The UPO XML of one invoice, if it is accepted.
pub fn invoice_upo_xml(db: &Db, session_ref: &str, invoice_ref: &str) -> Option<String> {
    let s = db.sessions.get(session_ref)?;
    let inv = db.invoices.get(invoice_ref).filter(|i| i.session_ref == s.reference)?;
    let acc = inv.accepted_at(Utc::now())?;
    Some(upo::invoice_upo(s, &s.auth_ref, inv, acc))
}

/// The UPO XML of one session page.
pub fn session_upo_xml(db: &Db, session_ref: &str, page_ref: &str) -> Option<String> {
    let s = db.sessions.get(session_ref)?;
    let index = s.upo_pages.iter().position(|p| p.reference == page_ref)?;
    let now = Utc::now();
    let docs: Vec<_> = s.upo_pages[index]
        .invoices
        .iter()
        .filter_map(|r| db.invoices.get(r))
        .filter_map(|i| i.accepted_at(now).map(|a| (i, a)))
        .collect();
    let total = s.upo_pages.iter().map(|p| p.invoices.len()).sum();
    let first = index * upo::PAGE_SIZE + 1;
    Some(upo::session_upo(s, &s.auth_ref, (index + 1, s.upo_pages.len()), first, total, &docs))
}

/// An XML response with the `x-ms-meta-hash` header.
pub fn xml_response(xml: impl Into<Vec<u8>>) -> HttpResponse {
    let bytes = xml.into();
    HttpResponse::Ok()
        .content_type("application/xml")
        .insert_header(("x-ms-meta-hash", crate::crypto::sha256_b64(&bytes)))
        .body(bytes)
}

/// The common part of the three UPO routes: authorise, find the caller's session, answer the XML.
fn upo_answer(
    state: &AppState,
    req: &HttpRequest,
    reference: &str,
    find: impl FnOnce(&Db) -> Option<String>,
) -> ApiResult<HttpResponse> {
    let claims = state.access(req, READ)?;
    let db = state.db.lock();
    own_session(&db, &claims, reference)?;
    find(&db).map(xml_response).ok_or_else(no_upo)
}

async fn upo_by_ref(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (reference, invoice_ref) = path.into_inner();
    upo_answer(&state, &req, &reference, |db| invoice_upo_xml(db, &reference, &invoice_ref))
}

async fn upo_by_ksef(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (reference, ksef) = path.into_inner();
    upo_answer(&state, &req, &reference, |db| invoice_upo_xml(db, &reference, db.by_ksef.get(&ksef)?))
}

async fn session_upo(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (reference, upo_ref) = path.into_inner();
    upo_answer(&state, &req, &reference, |db| session_upo_xml(db, &reference, &upo_ref))
}
