//! KSeF certificates the gateway enrolls: `/api/v1/office/certificates` (office admins) and
//! `/api/v1/clients/{nip}/certificates` (the `credentials` permission on the client). List with
//! KSeF's limits, enroll, renew, revoke; the rules live in `service::enrollment`.

use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::openapi_types::Errors;
use crate::domain::{CertificatePurpose, KeyChoice, RevokeReason};
use crate::error::AppError;
use crate::service::access::Caller;
use crate::service::enrollment::{self, Subject};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(office_list)
        .service(office_enroll)
        .service(office_renew)
        .service(office_revoke)
        .service(client_list)
        .service(client_enroll)
        .service(client_renew)
        .service(client_revoke);
}

/// `{"type": "authentication"|"offline", "key": "ec"|"rsa"}`, both optional.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct EnrollBody {
    /// authentication (default): becomes the login credential; offline: the client's
    /// certificate for KOD II (clients only)
    #[serde(rename = "type")]
    #[schema(schema_with = super::openapi_types::certificate_purpose)]
    kind: Option<String>,
    /// ec (EC P-256, default) or rsa (RSA 2048)
    #[schema(schema_with = super::openapi_types::key_choice)]
    key: Option<String>,
}

impl EnrollBody {
    fn read(&self) -> Result<(CertificatePurpose, KeyChoice), AppError> {
        let purpose = self.kind.as_deref().map_or(Ok(CertificatePurpose::Authentication), |k| {
            CertificatePurpose::parse(k)
                .map_err(|e| AppError::invalid_field("type", "unknown_certificate_type", e))
        })?;
        let key = self.key.as_deref().map_or(Ok(KeyChoice::Ec), |k| {
            KeyChoice::parse(k).map_err(|e| AppError::invalid_field("key", "unknown_key_type", e))
        })?;
        Ok((purpose, key))
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RevokeBody {
    #[schema(schema_with = super::openapi_types::revoke_reason)]
    reason: String,
    /// Revoke even the certificate the gateway uses (422 certificate_in_use without it)
    #[serde(default)]
    force: bool,
}

async fn client_subject(st: &AppState, caller: &Caller, nip: &str) -> Result<Subject, AppError> {
    Ok(Subject::Client(
        crate::service::clients::find_visible(st, caller, &crate::http::id_in_path(nip)?).await?.id,
    ))
}

async fn list(st: &AppState, caller: &Caller, subject: Subject) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(enrollment::list(st, caller, &subject).await?))
}

async fn enroll(
    st: &AppState,
    caller: &Caller,
    subject: Subject,
    body: &EnrollBody,
    renew: bool,
) -> Result<HttpResponse, AppError> {
    let (purpose, key) = body.read()?;
    let kind = enrollment::Enrollment::renewal_if(renew);
    let done = enrollment::enroll(st, caller, &subject, purpose, key, kind).await?;
    Ok(HttpResponse::Created().json(json!({"certificate": done})))
}

async fn revoke(
    st: &AppState,
    caller: &Caller,
    subject: Subject,
    serial: &str,
    body: &RevokeBody,
) -> Result<HttpResponse, AppError> {
    let reason = RevokeReason::parse(&body.reason)
        .map_err(|e| AppError::invalid_field("reason", "unknown_revocation_reason", e))?;
    let done = enrollment::revoke(st, caller, &subject, serial, reason, body.force).await?;
    Ok(HttpResponse::Ok().json(json!({"revoked": done})))
}

/// `GET /api/v1/office/certificates`: KSeF's list of the office's certificates and its limits.
#[utoipa::path(
    get,
    path = "/api/v1/office/certificates",
    tag = "office",
    operation_id = "certificates_office_list",
    summary = "KSeF's list of the office's certificates (the one the gateway uses marked in_use), KSeF's limits (active certificates, enrollments) and enrollments not finished",
    responses(
        (status = 200, description = "The list", content_type = "application/json"),
        Errors<401, 403, 405, 422, 429, 503>,
    ),
)]
#[get("/office/certificates")]
async fn office_list(st: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, AppError> {
    list(&st, &caller, Subject::Office).await
}

/// `POST /api/v1/office/certificates`: enroll the office's login certificate (201).
#[utoipa::path(
    post,
    path = "/api/v1/office/certificates",
    tag = "office",
    operation_id = "certificates_office_enroll",
    summary = "Enroll a KSeF certificate for the office's: a new key sealed in the vault, a CSR with KSeF's DN, poll, retrieve, check against the key, store (a login certificate replaces the login credential only after KSeF accepted a login with it). Needs a login with a certificate already (422 certificate_login_needed); refused when KSeF's limits are reached (422 certificate_limit_reached); 503 while KSeF has not issued it (the enrollment stays pending and the next call finishes it)",
    request_body(content = inline(EnrollBody), content_type = "application/json"),
    responses(
        (status = 201, description = "Enrolled and stored", content_type = "application/json"),
        Errors<401, 403, 405, 413, 422, 429, 503>,
    ),
)]
#[post("/office/certificates")]
async fn office_enroll(
    st: web::Data<AppState>,
    caller: Caller,
    body: web::Json<EnrollBody>,
) -> Result<HttpResponse, AppError> {
    enroll(&st, &caller, Subject::Office, &body, false).await
}

/// `POST /api/v1/office/certificates/renew`: a new one of the same type, switched to (201).
#[utoipa::path(
    post,
    path = "/api/v1/office/certificates/renew",
    tag = "office",
    operation_id = "certificates_office_renew",
    summary = "Renew the office's certificate of this type: enroll a new one and switch to it (the previous one stays valid in KSeF until revoked)",
    request_body(content = inline(EnrollBody), content_type = "application/json"),
    responses(
        (status = 201, description = "Enrolled and switched to", content_type = "application/json"),
        Errors<401, 403, 405, 413, 422, 429, 503>,
    ),
)]
#[post("/office/certificates/renew")]
async fn office_renew(
    st: web::Data<AppState>,
    caller: Caller,
    body: web::Json<EnrollBody>,
) -> Result<HttpResponse, AppError> {
    enroll(&st, &caller, Subject::Office, &body, true).await
}

/// `POST /api/v1/office/certificates/{serial}/revoke`.
#[utoipa::path(
    post,
    path = "/api/v1/office/certificates/{serial}/revoke",
    tag = "office",
    operation_id = "certificates_office_revoke",
    summary = "Revoke one of the office's certificates in KSeF; the one the gateway uses only with force (422 certificate_in_use)",
    params(
        ("serial" = String, Path, description = "The certificate's serial number (hex)"),
    ),
    request_body(content = inline(RevokeBody), content_type = "application/json"),
    responses(
        (status = 200, description = "Revoked", content_type = "application/json"),
        Errors<401, 403, 404, 405, 413, 422, 429, 503>,
    ),
)]
#[post("/office/certificates/{serial}/revoke")]
async fn office_revoke(
    st: web::Data<AppState>,
    caller: Caller,
    serial: web::Path<String>,
    body: web::Json<RevokeBody>,
) -> Result<HttpResponse, AppError> {
    revoke(&st, &caller, Subject::Office, &serial, &body).await
}

/// `GET /api/v1/clients/{nip}/certificates`.
#[utoipa::path(
    get,
    path = "/api/v1/clients/{nip}/certificates",
    tag = "clients",
    operation_id = "certificates_client_list",
    summary = "KSeF's list of the client's certificates (the one the gateway uses marked in_use), KSeF's limits (active certificates, enrollments) and enrollments not finished",
    params(
        ("nip" = String, Path, description = "Client NIP"),
    ),
    responses(
        (status = 200, description = "The list", content_type = "application/json"),
        Errors<401, 403, 404, 405, 422, 429, 503>,
    ),
)]
#[get("/clients/{nip}/certificates")]
async fn client_list(
    st: web::Data<AppState>,
    caller: Caller,
    nip: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let subject = client_subject(&st, &caller, &nip).await?;
    list(&st, &caller, subject).await
}

/// `POST /api/v1/clients/{nip}/certificates` (201).
#[utoipa::path(
    post,
    path = "/api/v1/clients/{nip}/certificates",
    tag = "clients",
    operation_id = "certificates_client_enroll",
    summary = "Enroll a KSeF certificate for the client's: a new key sealed in the vault, a CSR with KSeF's DN, poll, retrieve, check against the key, store (a login certificate replaces the login credential only after KSeF accepted a login with it). Needs a login with a certificate already (422 certificate_login_needed); refused when KSeF's limits are reached (422 certificate_limit_reached); 503 while KSeF has not issued it (the enrollment stays pending and the next call finishes it)",
    params(
        ("nip" = String, Path, description = "Client NIP"),
    ),
    request_body(content = inline(EnrollBody), content_type = "application/json"),
    responses(
        (status = 201, description = "Enrolled and stored", content_type = "application/json"),
        Errors<401, 403, 404, 405, 413, 422, 429, 503>,
    ),
)]
#[post("/clients/{nip}/certificates")]
async fn client_enroll(
    st: web::Data<AppState>,
    caller: Caller,
    nip: web::Path<String>,
    body: web::Json<EnrollBody>,
) -> Result<HttpResponse, AppError> {
    let subject = client_subject(&st, &caller, &nip).await?;
    enroll(&st, &caller, subject, &body, false).await
}

/// `POST /api/v1/clients/{nip}/certificates/renew` (201).
#[utoipa::path(
    post,
    path = "/api/v1/clients/{nip}/certificates/renew",
    tag = "clients",
    operation_id = "certificates_client_renew",
    summary = "Renew the client's certificate of this type: enroll a new one and switch to it (the previous one stays valid in KSeF until revoked)",
    params(
        ("nip" = String, Path, description = "Client NIP"),
    ),
    request_body(content = inline(EnrollBody), content_type = "application/json"),
    responses(
        (status = 201, description = "Enrolled and switched to", content_type = "application/json"),
        Errors<401, 403, 404, 405, 413, 422, 429, 503>,
    ),
)]
#[post("/clients/{nip}/certificates/renew")]
async fn client_renew(
    st: web::Data<AppState>,
    caller: Caller,
    nip: web::Path<String>,
    body: web::Json<EnrollBody>,
) -> Result<HttpResponse, AppError> {
    let subject = client_subject(&st, &caller, &nip).await?;
    enroll(&st, &caller, subject, &body, true).await
}

/// `POST /api/v1/clients/{nip}/certificates/{serial}/revoke`.
#[utoipa::path(
    post,
    path = "/api/v1/clients/{nip}/certificates/{serial}/revoke",
    tag = "clients",
    operation_id = "certificates_client_revoke",
    summary = "Revoke one of the client's certificates in KSeF; the one the gateway uses only with force (422 certificate_in_use)",
    params(
        ("nip" = String, Path, description = "Client NIP"),
        ("serial" = String, Path, description = "The certificate's serial number (hex)"),
    ),
    request_body(content = inline(RevokeBody), content_type = "application/json"),
    responses(
        (status = 200, description = "Revoked", content_type = "application/json"),
        Errors<401, 403, 404, 405, 413, 422, 429, 503>,
    ),
)]
#[post("/clients/{nip}/certificates/{serial}/revoke")]
async fn client_revoke(
    st: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: web::Json<RevokeBody>,
) -> Result<HttpResponse, AppError> {
    let (nip, serial) = path.into_inner();
    let subject = client_subject(&st, &caller, &nip).await?;
    revoke(&st, &caller, subject, &serial, &body).await
}
