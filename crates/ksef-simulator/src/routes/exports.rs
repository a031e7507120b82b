//! Invoice exports: `POST /invoices/exports` (asynchronous package, ≤ 10 running per context) and
//! `GET /invoices/exports/{ref}` (100 → 200 with the package; 410 after the retention).

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Duration, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::{parse_json, AppState};
use crate::errors::{ApiError, ApiResult};
use crate::export::{self, Export, ExportState, Item, LastDate, Summary};
use crate::ids::reference_number;
use crate::query::{date_of, fmt_date, metadata, DateType, Filters, Window, MAX_RESULTS};
use crate::routes::online::{unwrap_key, EncryptionInfo};
use crate::state::Db;
use crate::time;

const READ: &[&str] = &["InvoiceRead"];

/// How long a part's pre-signed link works after a status read (OA example: one hour).
const LINK_TTL_MINUTES: i64 = 60;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/invoices/exports", web::post().to(start))
        .route("/invoices/exports/{reference}", web::get().to(status));
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportRequest {
    encryption: EncryptionInfo,
    filters: Filters,
    #[serde(default)]
    only_metadata: bool,
    compression_type: Option<String>,
}

/// The invoices of the export, capped at 10 000, and what the package reports about them.
fn snapshot(db: &Db, filters: &Filters, ctx: &str, window: &Window) -> (Vec<Item>, Summary) {
    let now = Utc::now();
    let mut found = filters.select(db, ctx, window, now);
    let is_truncated = found.len() > MAX_RESULTS;
    found.truncate(MAX_RESULTS);
    let last_date = found.last().filter(|_| is_truncated).map(|(i, a)| match window.date_type {
        DateType::Issue => LastDate::Issue(a.issue_date),
        DateType::Invoicing => LastDate::Invoicing(date_of(DateType::Invoicing, i, a)),
        DateType::PermanentStorage => LastDate::PermanentStorage(i.stored_at),
    });
    let items: Vec<Item> = found
        .iter()
        .map(|(i, a)| Item {
            ksef_number: a.ksef_number.clone(),
            xml: i.xml.clone(),
            metadata: metadata(i, a),
        })
        .collect();
    let summary = Summary { invoice_count: items.len(), is_truncated, last_date, hwm: window.hwm };
    (items, summary)
}

fn failed(code: u16, description: &str, detail: &str) -> ExportState {
    ExportState::Failed { code, description: description.to_owned(), details: vec![detail.to_owned()] }
}

async fn start(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> ApiResult<HttpResponse> {
    let claims = state.access(&req, READ)?;
    let body: ExportRequest = parse_json(&body)?;
    if body.compression_type.as_deref().is_some_and(|c| c != "Zip") {
        return Err(ApiError::validation("Symulator przygotowuje paczki eksportu tylko jako Zip."));
    }
    let key = unwrap_key(&state, &body.encryption)?;
    let now = Utc::now();
    let window = body.filters.window(now, state.hwm(now))?;
    let stuck = state.faults.read().hold_exports;
    let ctx = claims.context_value.clone();
    let reference = reference_number("EH", now);
    let mut db = state.db.lock();
    // Packages past their retention are dropped (memory); their status keeps answering 410.
    let retention = retention(&state);
    let finished = |e: &Export| !matches!(e.state, ExportState::Running);
    for e in db.exports.values_mut().filter(|e| now >= e.created + retention && finished(e)) {
        e.state = ExportState::Expired;
    }
    let running = db.exports.values().filter(|e| e.nip == ctx && e.running(now)).count();
    if running >= export::MAX_RUNNING {
        return Err(ApiError::exception_with(
            21182,
            "Osiągnięto limit trwających eksportów.",
            vec![format!(
                "Dla uwierzytelnionego podmiotu w bieżącym kontekście osiągnięto maksymalny limit {} równoczesnych eksportów faktur. Spróbuj ponownie później.",
                export::MAX_RUNNING
            )],
        ));
    }
    let job = match key {
        None => Err(failed(415, "Błąd odszyfrowania dostarczonego klucza", "Nie udało się odszyfrować klucza.")),
        Some(_) if window.beyond_hwm => Err(failed(
            420,
            "Zakres filtrowania wykracza poza dostępny zakres danych",
            "Parametr dateRange.from jest późniejszy niż PermanentStorageHwmDate przy włączonym restrictToPermanentStorageHwmDate.",
        )),
        Some(key) => Ok((key, snapshot(&db, &body.filters, &ctx, &window))),
    };
    let (job_state, completed, job) = match job {
        Err(failure) => (failure, Some(now), None),
        Ok(job) => (ExportState::Running, None, Some(job)),
    };
    let record = Export {
        reference: reference.clone(),
        nip: ctx.clone(),
        created: now,
        not_before: now + state.delay(),
        completed,
        state: job_state,
        stuck,
    };
    db.exports.insert(reference.clone(), record);
    drop(db);
    if let Some(((key, iv), (items, summary))) = job {
        let (state, reference) = (state.clone(), reference.clone());
        let only_metadata = body.only_metadata;
        actix_web::rt::spawn(async move {
            let part_size = state.cfg.effective_export_part_size();
            let r = reference.clone();
            let built =
                web::block(move || export::build(&r, &items, summary, only_metadata, (&key, &iv), part_size))
                    .await;
            let done = match built {
                Ok(Ok(package)) => ExportState::Done(Box::new(package)),
                _ => failed(500, "Nieznany błąd (500)", "Nie udało się przygotować paczki."),
            };
            if let Some(e) = state.db.lock().exports.get_mut(&reference) {
                e.state = done;
                e.completed = Some(Utc::now());
            }
        });
    }
    Ok(HttpResponse::Created().json(json!({ "referenceNumber": reference })))
}

/// The export status retention in force (a fault setting overrides the configuration).
fn retention(state: &AppState) -> Duration {
    let configured = state.cfg.effective_export_retention();
    let secs = state.faults.read().export_retention_s.unwrap_or(configured.as_secs());
    Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX / 1000))
}

fn package_json(state: &AppState, e: &Export, p: &export::Package, expires: chrono::DateTime<Utc>) -> Value {
    let now = Utc::now();
    let link_until = (now + Duration::minutes(LINK_TTL_MINUTES)).min(expires);
    let parts: Vec<Value> = p
        .parts
        .iter()
        .map(|part| {
            let path = format!("/sim/storage/export/{}/{}", e.reference, part.ordinal);
            json!({
                "ordinalNumber": part.ordinal,
                "partName": part.name,
                "method": "GET",
                "url": state.signed_url(&path, link_until.timestamp()),
                "partSize": part.size,
                "partHash": part.hash,
                "encryptedPartSize": part.encrypted.len(),
                "encryptedPartHash": part.encrypted_hash,
                "expirationDate": time::fmt(link_until),
            })
        })
        .collect();
    let s = &p.summary;
    let mut package = json!({
        "invoiceCount": s.invoice_count,
        "size": p.size,
        "parts": parts,
        "isTruncated": s.is_truncated,
        "permanentStorageHwmDate": s.hwm.map(time::fmt),
        "compressionType": "Zip",
    });
    match s.last_date {
        Some(LastDate::Issue(d)) => package["lastIssueDate"] = json!(fmt_date(d)),
        Some(LastDate::Invoicing(t)) => package["lastInvoicingDate"] = json!(time::fmt(t)),
        Some(LastDate::PermanentStorage(t)) => package["lastPermanentStorageDate"] = json!(time::fmt(t)),
        None => {}
    }
    package
}

async fn status(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let claims = state.access(&req, READ)?;
    let reference = path.into_inner();
    let now = Utc::now();
    let retention = retention(&state);
    let db = state.db.lock();
    let e = db.exports.get(&reference).filter(|e| e.nip == claims.context_value).ok_or_else(|| {
        ApiError::exception(21175, "Wynik zapytania o podanym identyfikatorze nie istnieje.")
    })?;
    let expires = e.created + retention;
    if now >= expires || matches!(e.state, ExportState::Expired) {
        return Err(ApiError::Gone("Operacja wygasła i nie jest już dostępna.".to_owned()));
    }
    let body = if e.running(now) {
        json!({"status": {"code": 100, "description": "Eksport faktur w toku"}})
    } else {
        match &e.state {
            ExportState::Running | ExportState::Expired => {
                json!({"status": {"code": 100, "description": "Eksport faktur w toku"}})
            }
            ExportState::Failed { code, description, details } => json!({
                "status": {"code": code, "description": description, "details": details},
                "completedDate": e.completed.map(time::fmt),
            }),
            ExportState::Done(p) => json!({
                "status": {"code": 200, "description": "Eksport faktur zakończony sukcesem"},
                "completedDate": e.completed.map(time::fmt),
                "packageExpirationDate": time::fmt(expires),
                "package": package_json(&state, e, p, expires),
            }),
        }
    };
    Ok(HttpResponse::Ok().json(body))
}
