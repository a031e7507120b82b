//! KSeF certificates (`/certificates/*`) and their test-data helpers: limits, enrollment data,
//! enrollment with the simulator CA, status, retrieve, query, revoke, shortening `validTo`.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use crate::app::{parse_json, AppState};
use crate::certificates::{check_csr, new_serial, CertificateType, Enrollment, IssuedCert, MAX_VALIDITY};
use crate::crypto::{b64, b64_decode};
use crate::errors::{ApiError, ApiResult};
use crate::ids::reference_number;
use crate::jwt::Claims;
use crate::state::{Db, SignerRec, Subject};
use crate::time;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/certificates/limits", web::get().to(limits))
        .route("/certificates/enrollments/data", web::get().to(enrollment_data))
        .route("/certificates/enrollments", web::post().to(enroll))
        .route("/certificates/enrollments/{reference}", web::get().to(enrollment_status))
        .route("/certificates/retrieve", web::post().to(retrieve))
        .route("/certificates/query", web::post().to(query))
        .route("/certificates/{serial}/revoke", web::post().to(revoke))
        .route("/testdata/certificates/{serial}", web::put().to(shorten))
        .route("/testdata/limits/subject/certificate", web::post().to(set_limits))
        .route("/testdata/limits/subject/certificate", web::delete().to(reset_limits));
}

/// Default (enrollments, active certificates) per subject: a NIP 300/100, PESEL or fingerprint 12/6.
fn default_limits(subject: &Subject) -> (u32, u32) {
    match subject {
        Subject::Nip(_) => (300, 100),
        Subject::Pesel(_) | Subject::Fingerprint(_) => (12, 6),
    }
}

/// (limit, used) of enrollments and of active certificates of `subject`.
fn usage(db: &Db, subject: &Subject, now: DateTime<Utc>) -> ((u32, u32), (u32, u32)) {
    let (enroll_default, cert_default) = default_limits(subject);
    let (enroll_override, cert_override) = db.certificate_limits.get(subject).copied().unwrap_or_default();
    let enrollments = db.enrollments.values().filter(|e| &e.owner == subject).count() as u32;
    let active =
        db.certificates.values().filter(|c| &c.owner == subject && c.status(now) == "Active").count() as u32;
    (
        (enroll_override.unwrap_or(enroll_default), enrollments),
        (cert_override.unwrap_or(cert_default), active),
    )
}

/// The caller's identity (any authenticated access token).
fn identity(state: &AppState, req: &HttpRequest) -> ApiResult<(Claims, Subject)> {
    let claims = state.access(req, &[])?;
    let subject = state
        .db
        .lock()
        .identity(&claims.auth_ref)
        .ok_or_else(|| ApiError::Unauthorized("Nieznane uwierzytelnienie.".to_owned()))?;
    Ok((claims, subject))
}

/// The XAdES signer behind the access token, or `refusal` for a KSeF token.
fn signer(state: &AppState, req: &HttpRequest, refusal: ApiError) -> ApiResult<SignerRec> {
    let claims = state.access(req, &[])?;
    let db = state.db.lock();
    db.auth_ops.get(&claims.auth_ref).and_then(|op| op.signer.clone()).ok_or(refusal)
}

async fn limits(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let (_, subject) = identity(&state, &req)?;
    let ((enroll_limit, enrolled), (cert_limit, active)) = usage(&state.db.lock(), &subject, Utc::now());
    let remaining = |limit: u32, used: u32| limit.saturating_sub(used);
    Ok(HttpResponse::Ok().json(json!({
        "canRequest": enrolled < enroll_limit && active < cert_limit,
        "enrollment": {"limit": enroll_limit, "remaining": remaining(enroll_limit, enrolled)},
        "certificate": {"limit": cert_limit, "remaining": remaining(cert_limit, active)},
    })))
}

async fn enrollment_data(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let refusal = ApiError::exception(
        25001,
        "Brak możliwości pobrania danych do CSR dla wykorzystanego sposobu uwierzytelnienia.",
    );
    let signer = signer(&state, &req, refusal)?;
    Ok(HttpResponse::Ok().json(crate::certificates::enrollment_json(&signer.dn)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnrollRequest {
    certificate_name: String,
    certificate_type: CertificateType,
    csr: String,
    valid_from: Option<DateTime<Utc>>,
}

/// `certificateName`: 5–100 letters (Polish included), digits, `_`, `-` and spaces.
fn valid_name(name: &str) -> bool {
    let len = name.chars().count();
    (5..=100).contains(&len)
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "_- ąćęłńóśźżĄĆĘŁŃÓŚŹŻ".contains(c))
}

async fn enroll(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> ApiResult<HttpResponse> {
    let refusal = ApiError::exception(
        25002,
        "Brak możliwości złożenia wniosku certyfikacyjnego dla wykorzystanego sposobu uwierzytelnienia.",
    );
    let signer = signer(&state, &req, refusal)?;
    let body: EnrollRequest = parse_json(&body)?;
    if !valid_name(&body.certificate_name) {
        return Err(ApiError::validation("certificateName: 5–100 znaków: litery, cyfry, _, - i spacje."));
    }
    let der = b64_decode(&body.csr).ok_or_else(|| ApiError::validation("csr nie jest poprawnym Base64."))?;
    // Parsing and signature checks are CPU work: done before taking the state lock.
    let csr = check_csr(&der, &signer.dn)?;
    let now = time::now_ms();
    let owner = signer.subject;
    let mut db = state.db.lock();
    let ((enroll_limit, enrolled), (cert_limit, active)) = usage(&db, &owner, now);
    if enrolled >= enroll_limit {
        return Err(ApiError::exception(
            25006,
            "Osiągnięto limit możliwych do złożenia wniosków certyfikacyjnych.",
        ));
    }
    if active >= cert_limit {
        return Err(ApiError::exception(
            25007,
            "Osiągnięto limit dopuszczalnej liczby posiadanych certyfikatów.",
        ));
    }
    let outcome = match db.certified_keys.get(&csr.key.spki_hash) {
        Some(holder) if *holder != owner => {
            Err("Klucz publiczny został już certyfikowany przez inny podmiot.")
        }
        _ => {
            let (serial_bytes, serial) = new_serial();
            let valid_from = body.valid_from.map_or(now, |from| from.max(now));
            let valid_to = valid_from + MAX_VALIDITY;
            let cert_der = state.ca.issue(&csr, &serial_bytes, valid_from, valid_to)?;
            let common_name = csr
                .subject
                .iter()
                .find(|(oid, _, _)| oid == "2.5.4.3")
                .map(|s| s.1.clone())
                .unwrap_or_default();
            db.certified_keys.insert(csr.key.spki_hash.clone(), owner.clone());
            db.certificates.insert(
                serial.clone(),
                IssuedCert {
                    serial: serial.clone(),
                    der: cert_der,
                    name: body.certificate_name,
                    kind: body.certificate_type,
                    owner: owner.clone(),
                    common_name,
                    valid_from,
                    valid_to,
                    requested: now,
                    revoked: None,
                    last_use: None,
                },
            );
            Ok(serial)
        }
    };
    let reference = reference_number("CE", now);
    db.enrollments.insert(
        reference.clone(),
        Enrollment { owner, requested: now, ready_at: now + state.delay(), outcome },
    );
    Ok(HttpResponse::Accepted().json(json!({"referenceNumber": reference, "timestamp": time::fmt(now)})))
}

async fn enrollment_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (_, subject) = identity(&state, &req)?;
    let db = state.db.lock();
    let enrollment = db.enrollments.get(path.as_str()).filter(|e| e.owner == subject).ok_or_else(|| {
        ApiError::exception(25005, "Wniosek certyfikacyjny o podanym numerze referencyjnym nie istnieje.")
    })?;
    let requested = time::fmt(enrollment.requested);
    Ok(HttpResponse::Ok().json(match &enrollment.outcome {
        _ if Utc::now() < enrollment.ready_at => {
            json!({"requestDate": requested, "status": {"code": 100, "description": "Wniosek przyjęty do realizacji"}})
        }
        Ok(serial) => json!({"requestDate": requested, "certificateSerialNumber": serial,
            "status": {"code": 200, "description": "Wniosek obsłużony (certyfikat wygenerowany)"}}),
        Err(detail) => json!({"requestDate": requested,
            "status": {"code": 400, "description": "Wniosek odrzucony", "details": [detail]}}),
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RetrieveRequest {
    certificate_serial_numbers: Vec<String>,
}

async fn retrieve(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> ApiResult<HttpResponse> {
    let (_, subject) = identity(&state, &req)?;
    let body: RetrieveRequest = parse_json(&body)?;
    if body.certificate_serial_numbers.is_empty() || body.certificate_serial_numbers.len() > 10 {
        return Err(ApiError::validation("certificateSerialNumbers: od 1 do 10 numerów."));
    }
    let db = state.db.lock();
    let certificates: Vec<_> = body
        .certificate_serial_numbers
        .iter()
        .filter_map(|s| db.certificates.get(s))
        .filter(|c| c.owner == subject)
        .map(|c| {
            json!({"certificate": b64(&c.der), "certificateName": c.name,
                "certificateSerialNumber": c.serial, "certificateType": c.kind.as_str()})
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"certificates": certificates})))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct QueryRequest {
    certificate_serial_number: Option<String>,
    name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<CertificateType>,
    status: Option<String>,
    expires_after: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    page_size: Option<usize>,
    page_offset: Option<usize>,
}

async fn query(
    state: web::Data<AppState>,
    req: HttpRequest,
    page: web::Query<Page>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let (_, subject) = identity(&state, &req)?;
    let filter: QueryRequest = if body.is_empty() { QueryRequest::default() } else { parse_json(&body)? };
    let size = page.page_size.unwrap_or(10);
    if !(10..=50).contains(&size) {
        return Err(ApiError::validation("pageSize: od 10 do 50."));
    }
    let now = Utc::now();
    let db = state.db.lock();
    let mut found: Vec<&IssuedCert> = db
        .certificates
        .values()
        .filter(|c| c.owner == subject)
        .filter(|c| filter.certificate_serial_number.as_ref().is_none_or(|s| *s == c.serial))
        .filter(|c| filter.name.as_ref().is_none_or(|n| c.name.contains(n.as_str())))
        .filter(|c| filter.kind.is_none_or(|k| k == c.kind))
        .filter(|c| filter.status.as_ref().is_none_or(|s| s == c.status(now)))
        .filter(|c| filter.expires_after.is_none_or(|t| c.valid_to > t))
        .collect();
    found.sort_by(|a, b| b.requested.cmp(&a.requested).then_with(|| b.serial.cmp(&a.serial)));
    let start = page.page_offset.unwrap_or(0).saturating_mul(size);
    let items: Vec<_> = found
        .iter()
        .skip(start)
        .take(size)
        .map(|c| {
            json!({
                "certificateSerialNumber": c.serial, "name": c.name, "type": c.kind.as_str(),
                "commonName": c.common_name, "status": c.status(now),
                "subjectIdentifier": {"type": c.owner.kind(), "value": c.owner.value()},
                "validFrom": time::fmt(c.valid_from), "validTo": time::fmt(c.valid_to),
                "lastUseDate": c.last_use.map(time::fmt), "requestDate": time::fmt(c.requested),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"certificates": items, "hasMore": found.len() > start + size})))
}

fn not_found() -> ApiError {
    ApiError::exception(25008, "Certyfikat o podanym numerze seryjnym nie istnieje.")
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RevokeRequest {
    revocation_reason: Option<String>,
}

async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let refusal = ApiError::Forbidden {
        reason_code: "auth-method-not-allowed",
        detail: "Unieważnienie certyfikatu nie jest dostępne przy uwierzytelnieniu tokenem KSeF.".to_owned(),
        security: None,
    };
    let signer = signer(&state, &req, refusal)?;
    let body: RevokeRequest = if body.is_empty() { RevokeRequest::default() } else { parse_json(&body)? };
    let reason = body.revocation_reason.unwrap_or_else(|| "Unspecified".to_owned());
    if !["Unspecified", "Superseded", "KeyCompromise"].contains(&reason.as_str()) {
        return Err(ApiError::validation(format!("Nieznany revocationReason: {reason}")));
    }
    let mut db = state.db.lock();
    let cert =
        db.certificates.get_mut(path.as_str()).filter(|c| c.owner == signer.subject).ok_or_else(not_found)?;
    if cert.status(Utc::now()) != "Active" {
        return Err(ApiError::exception(
            25009,
            "Nie można odwołać wskazanego certyfikatu, ponieważ jest już odwołany, zablokowany lub nieważny.",
        ));
    }
    cert.revoked = Some(reason);
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShortenRequest {
    valid_to: DateTime<Utc>,
}

/// `PUT /testdata/certificates/{serial}`: an earlier `validTo` (to test expiry).
async fn shorten(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let (_, subject) = identity(&state, &req)?;
    let body: ShortenRequest = parse_json(&body)?;
    let mut db = state.db.lock();
    let cert = db.certificates.get_mut(path.as_str()).filter(|c| c.owner == subject).ok_or_else(not_found)?;
    if body.valid_to > cert.valid_to {
        return Err(ApiError::validation("validTo nie może być późniejsza niż obecna."));
    }
    cert.valid_to = body.valid_to;
    Ok(HttpResponse::Ok().finish())
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct LimitsRequest {
    enrollment: Option<MaxEnrollments>,
    certificate: Option<MaxCertificates>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MaxEnrollments {
    max_enrollments: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MaxCertificates {
    max_certificates: Option<u32>,
}

async fn set_limits(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let (_, subject) = identity(&state, &req)?;
    let body: LimitsRequest = parse_json(&body)?;
    let mut db = state.db.lock();
    let entry = db.certificate_limits.entry(subject).or_default();
    if let Some(max) = body.enrollment.and_then(|e| e.max_enrollments) {
        entry.0 = Some(max);
    }
    if let Some(max) = body.certificate.and_then(|c| c.max_certificates) {
        entry.1 = Some(max);
    }
    Ok(HttpResponse::Ok().finish())
}

async fn reset_limits(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let (_, subject) = identity(&state, &req)?;
    state.db.lock().certificate_limits.remove(&subject);
    Ok(HttpResponse::Ok().finish())
}
