//! Batch sessions: open with declared parts, close, then unpack and process every invoice.

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Duration, Utc};
use serde::Deserialize;
use serde_json::json;

use crate::app::{parse_json, AppState};
use crate::errors::{ApiError, ApiResult};
use crate::process::{register, Received};
use crate::routes::online::{check_form_code, new_session, unwrap_key, EncryptionInfo, FormCode, WRITE};
use crate::state::{BatchInfo, BatchPart, SessionKind};
use crate::{package, time};

/// Declared-part limits (API_BRIEF §10): ≤ 50 parts of ≤ 100 MB before encryption (+ one AES block).
const MAX_PARTS: usize = 50;
const MAX_PART_SIZE: u64 = 100_000_000 + 16;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/sessions/batch", web::post().to(open))
        .route("/sessions/batch/{reference}/close", web::post().to(close));
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PartInfo {
    ordinal_number: u32,
    file_size: u64,
    file_hash: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileInfo {
    file_size: u64,
    file_hash: String,
    compression_type: Option<String>,
    file_parts: Vec<PartInfo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OpenRequest {
    form_code: FormCode,
    batch_file: FileInfo,
    encryption: EncryptionInfo,
    #[serde(default)]
    offline_mode: bool,
}

fn part_size_error(detail: String) -> ApiError {
    ApiError::exception_with(21157, "Nieprawidłowy rozmiar części pakietu.", vec![detail])
}

async fn open(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> ApiResult<HttpResponse> {
    let claims = state.access(&req, WRITE)?;
    let body: OpenRequest = parse_json(&body)?;
    check_form_code(&body.form_code)?;
    let file = body.batch_file;
    if file.compression_type.as_deref().is_some_and(|c| c != "Zip") {
        return Err(ApiError::validation("Symulator obsługuje compressionType Zip."));
    }
    if file.file_parts.len() > MAX_PARTS {
        return Err(ApiError::exception(21161, "Przekroczono dozwoloną liczbę części pakietu."));
    }
    if file.file_parts.is_empty() || file.file_size == 0 || file.file_size > 5_000_000_000 {
        return Err(ApiError::validation("Nieprawidłowy opis pakietu (fileSize/fileParts)."));
    }
    let mut parts: Vec<BatchPart> = Vec::with_capacity(file.file_parts.len());
    for (i, p) in file.file_parts.into_iter().enumerate() {
        if p.ordinal_number as usize != i + 1 {
            return Err(ApiError::validation("Części pakietu muszą być numerowane kolejno od 1."));
        }
        if p.file_size == 0 || p.file_size > MAX_PART_SIZE {
            return Err(part_size_error(format!("Część {} ma rozmiar {} B.", p.ordinal_number, p.file_size)));
        }
        parts.push(BatchPart { ordinal: p.ordinal_number, size: p.file_size, hash: p.file_hash, data: None });
    }
    let key = unwrap_key(&state, &body.encryption)?;
    let mut session = new_session(SessionKind::Batch, &claims, key);
    session.offline_mode = body.offline_mode;
    let now = Utc::now();
    let exp = now + Duration::minutes(20 * parts.len() as i64);
    let uploads: Vec<_> = parts
        .iter()
        .map(|p| {
            let path = format!("/sim/storage/batch/{}/{}", session.reference, p.ordinal);
            json!({"ordinalNumber": p.ordinal, "method": "PUT", "url": state.signed_url(&path, exp.timestamp()),
                "headers": {"x-ms-blob-type": "BlockBlob"}})
        })
        .collect();
    session.batch = Some(BatchInfo {
        file_size: file.file_size,
        file_hash: file.file_hash,
        parts,
        upload_deadline: exp,
        processing: false,
    });
    let reference = session.reference.clone();
    state.db.lock().add_session(session);
    Ok(HttpResponse::Created().json(json!({"referenceNumber": reference, "partUploadRequests": uploads})))
}

async fn close(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let claims = state.access(&req, WRITE)?;
    let reference = path.into_inner();
    let mut taken = None;
    crate::routes::online::close_session(&state, &claims, &reference, SessionKind::Batch, |_, db| {
        let s = db.sessions.get_mut(&reference).ok_or_else(|| ApiError::exception(21173, "Brak sesji."))?;
        let key = s.key;
        let offline = s.offline_mode;
        let info =
            s.batch.as_mut().ok_or_else(|| ApiError::exception(21180, "To nie jest sesja wsadowa."))?;
        if Utc::now() > info.upload_deadline {
            s.failure = Some((440, "Sesja anulowana: przekroczono czas wysyłki".to_owned()));
            return Ok(());
        }
        for p in &info.parts {
            match &p.data {
                None => {
                    return Err(ApiError::exception_with(
                        21205,
                        "Pakiet nie może być pusty.",
                        vec![format!("Brak części {}.", p.ordinal)],
                    ))
                }
                Some(d) if d.len() as u64 != p.size => {
                    return Err(part_size_error(format!(
                        "Część {}: zadeklarowano {} B, przesłano {} B.",
                        p.ordinal,
                        p.size,
                        d.len()
                    )))
                }
                Some(_) => {}
            }
        }
        let parts = info
            .parts
            .iter_mut()
            .map(|p| (p.ordinal, p.hash.clone(), p.data.take().unwrap_or_default()))
            .collect();
        let upload = package::Upload { file_size: info.file_size, file_hash: info.file_hash.clone(), parts };
        info.processing = true;
        taken = Some((upload, key, offline));
        Ok(())
    })?;
    if let Some((upload, key, offline)) = taken {
        let st = state.clone().into_inner();
        let r = reference.clone();
        // Decrypting, unzipping and validating run without the lock; the session shows 150.
        let unpacked = tokio::task::spawn_blocking(move || match key {
            None => Err((415, "Błąd odszyfrowania dostarczonego klucza".to_owned())),
            Some((k, iv)) => package::unpack(upload, &k, &iv),
        })
        .await
        .unwrap_or_else(|e| Err((500, format!("Nieznany błąd: {e}"))));
        let result = match unpacked {
            Ok(files) => check_all(&st, files, offline).await,
            Err(failure) => Err(failure),
        };
        let mut db = st.db.lock();
        match result {
            Ok(files) if files.is_empty() => {
                set_failure(&mut db, &r, (445, "Brak faktur w paczce".to_owned()))
            }
            Ok(files) => {
                for received in files {
                    register(&st, &mut db, &r, received);
                }
            }
            Err(failure) => set_failure(&mut db, &r, failure),
        }
        if let Some(b) = db.sessions.get_mut(&r).and_then(|s| s.batch.as_mut()) {
            b.processing = false;
        }
        tracing::debug!(session = %r, at = %time::fmt(Utc::now()), "batch processed");
    }
    crate::routes::close_fault(&state).await
}

/// Every file of a package through the gate, in order, on as many blocking threads as there are
/// cores (KSeF checks a package on many machines; one thread made a 10 000-invoice package take
/// over 2 s here). The blocking pool keeps its threads, and with them each thread's compiled
/// schema.
async fn check_all(
    state: &Arc<AppState>,
    files: Vec<(String, Vec<u8>)>,
    offline: bool,
) -> Result<Vec<Received>, package::Failure> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let per_thread = files.len().div_ceil(threads).max(1);
    let mut files = files.into_iter();
    let mut shares = Vec::with_capacity(threads);
    loop {
        let share: Vec<_> = files.by_ref().take(per_thread).collect();
        if share.is_empty() {
            break;
        }
        let st = state.clone();
        shares.push(tokio::task::spawn_blocking(move || {
            let checked = share.into_iter().map(|(name, xml)| {
                let hash = crate::crypto::sha256_b64(&xml);
                Received::checked(&st, Some(xml), hash, Some(name), offline)
            });
            checked.collect::<Vec<_>>()
        }));
    }
    let mut all = Vec::new();
    for share in shares {
        all.extend(share.await.map_err(|e| (500, format!("Nieznany błąd: {e}")))?);
    }
    Ok(all)
}

fn set_failure(db: &mut crate::state::Db, reference: &str, failure: package::Failure) {
    if let Some(s) = db.sessions.get_mut(reference) {
        s.failure = Some(failure);
    }
}
