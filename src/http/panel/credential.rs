//! Replacing a client's KSeF credential from the panel (the access page shows the forms to
//! whoever holds the `credentials` permission): a new KSeF token, a KSeF certificate to log in
//! with, or a certificate of type Offline for KOD II. A new login credential is checked against
//! KSeF at once and resumes a sender paused for a refused credential. Secrets go straight to the
//! vault; the answer is the access page with the credential's health, never the secret.

use actix_web::{post, web, HttpResponse};
use secrecy::SecretString;

use super::forms::Fields;
use super::{see_other, PanelError, PanelUser};
use crate::service::certificates::CertificateUse;
use crate::service::clients::{self, ClientView};
use crate::service::credentials;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(token).service(certificate);
}

/// Back to the credential section of the client's access page.
fn back(client: &ClientView) -> HttpResponse {
    see_other(&format!("/klienci/{}/dostepy#poswiadczenie-h", client.nip))
}

/// Checks the client's login credential against KSeF (the result lands on the credential row,
/// shown by the access page), then back to that page.
async fn checked(st: &AppState, client: &ClientView) -> Result<HttpResponse, PanelError> {
    credentials::check_client(st, &client.id).await?;
    Ok(back(client))
}

/// `POST /klienci/{nip}/poswiadczenie/token`: a new KSeF token.
#[post("/klienci/{nip}/poswiadczenie/token")]
async fn token(
    st: web::Data<AppState>,
    me: PanelUser,
    nip: web::Path<String>,
    form: Fields,
) -> Result<HttpResponse, PanelError> {
    let client = me.client_for_form(&st, &nip, &form).await?;
    let token = SecretString::from(form.text("token"));
    clients::replace_token(&st, &me.caller, &client.id, token).await?;
    checked(&st, &client).await
}

/// `POST /klienci/{nip}/poswiadczenie/certyfikat`: a KSeF certificate and its private key (PEM);
/// `offline` ticked for a certificate of type Offline.
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
    clients::store_certificate(&st, &me.caller, &client.id, usage, &form.text("certyfikat"), &key).await?;
    match usage {
        CertificateUse::Authentication => checked(&st, &client).await,
        // It never logs in: nothing to check against KSeF.
        CertificateUse::Offline => Ok(back(&client)),
    }
}
