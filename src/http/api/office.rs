//! The office's own KSeF credential and the credential each client logs in with: store the
//! office's certificate or token (office admins), switch a client between the office's credential
//! and its own, and check now whether KSeF lets that credential into the client's context.

use actix_web::{get, post, put, web, HttpResponse};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

use super::openapi_types::Errors;
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
#[utoipa::path(
    get,
    path = "/api/v1/office/credential",
    tag = "office",
    operation_id = "office_get_office_credential",
    summary = "The office's own KSeF credential (office admins): kind, fingerprint, validity with 30/14/7-day warnings; never the secret; null when none",
    responses(
        (status = 200, description = "OK", content_type = "application/json"),
        Errors<401, 403, 405, 429>,
    ),
)]
#[get("/office/credential")]
async fn get_office_credential(st: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(json!({"credential": office::show(&st, &caller).await?})))
}

/// The office's NIP, the KSeF (optional: the one its clients use) and a token or a certificate.
#[derive(Deserialize, utoipa::ToSchema)]
struct OfficeBody {
    /// The office's NIP
    nip: String,
    /// test, demo, prod or an API base URL; by default the one the clients use
    ksef: Option<String>,
    #[serde(flatten)]
    #[schema(inline)]
    secret: SecretBody,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
enum SecretBody {
    Token {
        /// A KSeF token of the office
        #[schema(value_type = String)]
        ksef_token: SecretString,
    },
    Certificate {
        /// The office's KSeF certificate (type Authentication), PEM
        certificate_pem: String,
        /// Its private key, PEM (PKCS#8, PKCS#1 or SEC1)
        #[schema(value_type = String)]
        private_key_pem: SecretString,
    },
}

/// `PUT /api/v1/office/credential`: stored once KSeF accepts it in the office's own context
/// (422 `credential_refused`, nothing stored, when it does not).
#[utoipa::path(
    put,
    path = "/api/v1/office/credential",
    tag = "office",
    operation_id = "office_put_office_credential",
    summary = "Store the office's KSeF certificate or token once KSeF accepts it in the office's own context (422 credential_refused, not_ksef, key_mismatch: nothing stored)",
    request_body(content = inline(OfficeBody), content_type = "application/json"),
    responses(
        (status = 200, description = "Stored; its health", content_type = "application/json"),
        Errors<401, 403, 405, 413, 422, 429>,
    ),
)]
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

#[derive(Deserialize, utoipa::ToSchema)]
struct ModeBody {
    #[schema(schema_with = super::openapi_types::credential_mode)]
    mode: String,
}

/// `PUT /api/v1/clients/{nip}/credential-mode`: `office` or `own`.
#[utoipa::path(
    put,
    path = "/api/v1/clients/{nip}/credential-mode",
    tag = "clients",
    operation_id = "office_put_credential_mode",
    summary = "Whose credential logs in to the client's KSeF context: office (the office's credential) or own",
    params(
        ("nip" = String, Path, description = "Client NIP"),
    ),
    request_body(content = inline(ModeBody), content_type = "application/json"),
    responses(
        (status = 200, description = "OK", content_type = "application/json"),
        Errors<401, 403, 404, 405, 413, 422, 429>,
    ),
)]
#[put("/clients/{nip}/credential-mode")]
async fn put_credential_mode(
    st: web::Data<AppState>,
    caller: Caller,
    nip: web::Path<String>,
    body: web::Json<ModeBody>,
) -> Result<HttpResponse, AppError> {
    let mode = CredentialMode::parse(&body.mode)
        .map_err(|e| AppError::invalid_field("mode", "unknown_credential_mode", e))?;
    let client = client_svc::find_visible(&st, &caller, &crate::http::id_in_path(&nip)?).await?;
    office::set_mode(&st, &caller, &client.id, mode).await?;
    Ok(HttpResponse::Ok().json(json!({"nip": client.nip, "credential_mode": mode})))
}

/// `POST /api/v1/clients/{nip}/credential/check`: log in to the client's context now with the
/// credential it uses; the answer is the credential health (with the office's credential: the
/// permissions the office holds there and, in Polish, what the client must still grant). A client
/// paused for its credential resumes when the check passes.
#[utoipa::path(
    post,
    path = "/api/v1/clients/{nip}/credential/check",
    tag = "clients",
    operation_id = "office_check_credential",
    summary = "Log in to the client's KSeF context now with the credential it uses: health, the permissions the office holds there and what to grant (Polish); resumes a client paused for its credential when it passes",
    params(
        ("nip" = String, Path, description = "Client NIP"),
    ),
    responses(
        (status = 200, description = "The check's outcome", content_type = "application/json"),
        Errors<401, 403, 404, 405, 429>,
    ),
)]
#[post("/clients/{nip}/credential/check")]
async fn check_credential(
    st: web::Data<AppState>,
    caller: Caller,
    nip: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let client = client_svc::find_visible(&st, &caller, &crate::http::id_in_path(&nip)?).await?;
    let health = crate::service::credentials::check_as(&st, &caller, &client.id).await?;
    let fresh = client_svc::find_visible(&st, &caller, &client.nip).await?;
    Ok(HttpResponse::Ok().json(json!({
        "check": health.describe(),
        "ok": health == crate::service::credentials::CredentialHealth::Ok,
        "credential_mode": fresh.credential_mode,
        "credential": fresh.credential,
        "office_access": fresh.office_access,
        "paused_reason": fresh.paused_reason,
    })))
}
