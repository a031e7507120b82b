//! KSeF certificates the gateway enrolls: `/api/v1/office/certificates` (office admins) and
//! `/api/v1/clients/{nip}/certificates` (the `credentials` permission on the client). List with
//! KSeF's limits, enroll, renew, revoke; the rules live in `service::enrollment`.

use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

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
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnrollBody {
    #[serde(rename = "type")]
    kind: Option<String>,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeBody {
    reason: String,
    #[serde(default)]
    force: bool,
}

async fn client_subject(st: &AppState, caller: &Caller, nip: &str) -> Result<Subject, AppError> {
    Ok(Subject::Client(crate::service::clients::find_visible(st, caller, nip).await?.id))
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
    let done = if renew {
        enrollment::renew(st, caller, &subject, purpose, key).await?
    } else {
        enrollment::enroll(st, caller, &subject, purpose, key).await?
    };
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
#[get("/office/certificates")]
async fn office_list(st: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, AppError> {
    list(&st, &caller, Subject::Office).await
}

/// `POST /api/v1/office/certificates`: enroll the office's login certificate (201).
#[post("/office/certificates")]
async fn office_enroll(
    st: web::Data<AppState>,
    caller: Caller,
    body: web::Json<EnrollBody>,
) -> Result<HttpResponse, AppError> {
    enroll(&st, &caller, Subject::Office, &body, false).await
}

/// `POST /api/v1/office/certificates/renew`: a new one of the same type, switched to (201).
#[post("/office/certificates/renew")]
async fn office_renew(
    st: web::Data<AppState>,
    caller: Caller,
    body: web::Json<EnrollBody>,
) -> Result<HttpResponse, AppError> {
    enroll(&st, &caller, Subject::Office, &body, true).await
}

/// `POST /api/v1/office/certificates/{serial}/revoke`.
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
