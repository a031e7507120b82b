//! Replacing a client's KSeF credential from the panel (the access page shows the forms to
//! whoever holds the `credentials` permission): a new KSeF token, a KSeF certificate to log in
//! with, or a certificate of type Offline for KOD II. A new login credential is checked against
//! KSeF before it is stored (one KSeF refuses never replaces a working one) and resumes a sender
//! paused for a refused credential. Secrets go straight to the vault; the answer is the access
//! page with the credential's health, never the secret.

use actix_web::http::StatusCode;
use actix_web::{post, web, HttpResponse};
use secrecy::SecretString;

use super::access::CredentialForm;
use super::error::FieldError;
use super::forms::Fields;
use super::{see_other, PanelError, PanelUser};
use crate::domain::CredentialMode;
use crate::error::AppError;
use crate::service::certificates::CertificateUse;
use crate::service::clients::{self, ClientView, CredentialView};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(token).service(certificate).service(mode).service(check);
}

/// After a store: back to the credential section of the access page; after a refusal or bad
/// input, that page again with the Polish reason beside the field and what was typed (secrets
/// excepted). The previous credential is untouched either way (the service checks first).
async fn answer(
    st: &AppState,
    me: &PanelUser,
    client: ClientView,
    stored: Result<CredentialView, AppError>,
    mut form: CredentialForm,
    main_field: &str,
) -> Result<HttpResponse, PanelError> {
    match stored {
        Ok(_) => Ok(see_other(&format!("/klienci/{}/dostepy#poswiadczenie-h", client.nip))),
        Err(e) => match FieldError::of(&e, main_field) {
            Some(error) => {
                form.error = Some(error);
                let fresh = clients::find_visible(st, &me.caller, &client.nip).await?;
                super::access::render(st, me, fresh, form, StatusCode::UNPROCESSABLE_ENTITY).await
            }
            None => Err(e.into()),
        },
    }
}

/// `POST /klienci/{nip}/poswiadczenie/token`: a new KSeF token, stored only once KSeF accepts it.
#[post("/klienci/{nip}/poswiadczenie/token")]
async fn token(
    st: web::Data<AppState>,
    me: PanelUser,
    nip: web::Path<String>,
    form: Fields,
) -> Result<HttpResponse, PanelError> {
    let client = me.client_for_form(&st, &nip, &form).await?;
    let token = SecretString::from(form.text("token"));
    let stored = clients::replace_token(&st, &me.caller, &client.id, token).await;
    answer(&st, &me, client, stored, CredentialForm::default(), "ksef_token").await
}

/// `POST /klienci/{nip}/poswiadczenie/certyfikat`: a KSeF certificate and its private key (PEM);
/// `offline` ticked for a certificate of type Offline. A login certificate is stored only once
/// KSeF accepts it.
#[post("/klienci/{nip}/poswiadczenie/certyfikat")]
async fn certificate(
    st: web::Data<AppState>,
    me: PanelUser,
    nip: web::Path<String>,
    form: Fields,
) -> Result<HttpResponse, PanelError> {
    let client = me.client_for_form(&st, &nip, &form).await?;
    let usage = if form.ticked("offline") { CertificateUse::Offline } else { CertificateUse::Authentication };
    let key = SecretString::from(form.text("klucz"));
    let pem = form.text("certyfikat");
    let stored = clients::store_certificate(&st, &me.caller, &client.id, usage, &pem, &key).await;
    let typed =
        CredentialForm { certificate_pem: pem, offline: form.ticked("offline"), ..CredentialForm::default() };
    answer(&st, &me, client, stored, typed, "certificate_pem").await
}

/// `POST /klienci/{nip}/poswiadczenie/tryb`: log in with the office's credential or the
/// client's own (`credentials` permission).
#[post("/klienci/{nip}/poswiadczenie/tryb")]
async fn mode(
    st: web::Data<AppState>,
    me: PanelUser,
    nip: web::Path<String>,
    form: Fields,
) -> Result<HttpResponse, PanelError> {
    let client = me.client_for_form(&st, &nip, &form).await?;
    let mode = CredentialMode::parse(&form.text("tryb"))
        .map_err(|e| AppError::invalid_field("credential_mode", "unknown_credential_mode", e))?;
    crate::service::office::set_mode(&st, &me.caller, &client.id, mode).await?;
    Ok(see_other(&format!("/klienci/{}/dostepy#poswiadczenie-h", client.nip)))
}

/// `POST /klienci/{nip}/poswiadczenie/sprawdz`: log in to KSeF now with the credential the
/// client uses; with the office's, what the office may do there (and what is missing). A client
/// paused for its credential resumes when the check passes.
#[post("/klienci/{nip}/poswiadczenie/sprawdz")]
async fn check(
    st: web::Data<AppState>,
    me: PanelUser,
    nip: web::Path<String>,
    form: Fields,
) -> Result<HttpResponse, PanelError> {
    let client = me.client_for_form(&st, &nip, &form).await?;
    crate::service::credentials::check_as(&st, &me.caller, &client.id).await?;
    Ok(see_other(&format!("/klienci/{}/dostepy#poswiadczenie-h", client.nip)))
}
