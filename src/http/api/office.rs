//! The office's own KSeF credential and the credential each client logs in with: store the
//! office's certificate or token (office admins), switch a client between the office's credential
//! and its own, and check now whether KSeF lets that credential into the client's context.

use actix_web::{get, post, put, web, HttpResponse};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

use crate::domain::CredentialMode;
use crate::error::AppError;
use crate::service::access::Caller;
use crate::service::clients as client_svc;
use crate::service::office::{self, OfficeCredentialInput, OfficeSecret};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(get_office_credential)
        .service(put_office_credential)
        .service(put_credential_mode)
        .service(check_credential);
}

/// `GET /api/v1/office/credential`: what the office stored (never the secret), or null.
#[get("/office/credential")]
async fn get_office_credential(st: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(json!({"credential": office::show(&st, &caller).await?})))
}

/// The office's NIP, the KSeF (optional: the one its clients use) and a token or a certificate.
#[derive(Deserialize)]
struct OfficeBody {
    nip: String,
    ksef: Option<String>,
    #[serde(flatten)]
    secret: SecretBody,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SecretBody {
    Token { ksef_token: SecretString },
    Certificate { certificate_pem: String, private_key_pem: SecretString },
}

/// `PUT /api/v1/office/credential`: stored once KSeF accepts it in the office's own context
/// (422 `credential_refused`, nothing stored, when it does not).
#[put("/office/credential")]
async fn put_office_credential(
    st: web::Data<AppState>,
    caller: Caller,
    body: web::Json<OfficeBody>,
) -> Result<HttpResponse, AppError> {
    let b = body.into_inner();
    let secret = match b.secret {
        SecretBody::Token { ksef_token } => OfficeSecret::Token(ksef_token),
        SecretBody::Certificate { certificate_pem, private_key_pem } => {
            OfficeSecret::Certificate { certificate_pem, private_key_pem }
        }
    };
    let input = OfficeCredentialInput::read(&b.nip, b.ksef.as_deref(), secret)?;
    Ok(HttpResponse::Ok().json(json!({"credential": office::store(&st, &caller, input).await?})))
}

#[derive(Deserialize)]
struct ModeBody {
    mode: String,
}

/// `PUT /api/v1/clients/{nip}/credential-mode`: `office` or `own`.
#[put("/clients/{nip}/credential-mode")]
async fn put_credential_mode(
    st: web::Data<AppState>,
    caller: Caller,
    nip: web::Path<String>,
    body: web::Json<ModeBody>,
) -> Result<HttpResponse, AppError> {
    let mode = CredentialMode::parse(&body.mode)
        .map_err(|e| AppError::invalid_field("mode", "unknown_credential_mode", e))?;
    let client = client_svc::find_visible(&st, &caller, &nip).await?;
    office::set_mode(&st, &caller, &client.id, mode).await?;
    Ok(HttpResponse::Ok().json(json!({"nip": client.nip, "credential_mode": mode})))
}

/// `POST /api/v1/clients/{nip}/credential/check`: log in to the client's context now with the
/// credential it uses; the answer is the credential health (with the office's credential: the
/// permissions the office holds there and, in Polish, what the client must still grant). A client
/// paused for its credential resumes when the check passes.
#[post("/clients/{nip}/credential/check")]
async fn check_credential(
    st: web::Data<AppState>,
    caller: Caller,
    nip: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let client = client_svc::find_visible(&st, &caller, &nip).await?;
    let health = crate::service::credentials::check_as(&st, &caller, &client.id).await?;
    let fresh = client_svc::find_visible(&st, &caller, &nip).await?;
    Ok(HttpResponse::Ok().json(json!({
        "check": health.describe(),
        "ok": health == crate::service::credentials::CredentialHealth::Ok,
        "credential_mode": fresh.credential_mode,
        "credential": fresh.credential,
        "office_access": fresh.office_access,
        "paused_reason": fresh.paused_reason,
    })))
}
