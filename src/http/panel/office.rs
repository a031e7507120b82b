//! `/biuro/poswiadczenie`: the office's own KSeF credential (office admins): what is stored, the
//! clients that log in with it and whether KSeF lets the office into each, and the forms to store
//! a new token or certificate (checked against KSeF first; one KSeF refuses is never stored).

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use askama::Template;
use secrecy::SecretString;

use super::error::FieldError;
use super::forms::Fields;
use super::labels::when;
use super::{html, see_other, Layout, PanelError, PanelUser};
use crate::domain::CredentialMode;
use crate::service::clients::{self, ClientView};
use crate::service::lifetime::ExpiryWarning;
use crate::service::office::{self, OfficeCredentialInput, OfficeCredentialView, OfficeSecret};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(office_page).service(token).service(certificate);
}

/// A client that logs in with the office's credential, as the page lists it.
struct UsingRow {
    nip: crate::domain::Nip,
    name: String,
    ok: bool,
    explanation: Option<String>,
}

#[derive(Template)]
#[template(path = "panel/office_credential.html")]
struct OfficePage {
    layout: Layout,
    current: Option<OfficeCredentialView>,
    valid_until: Option<String>,
    last_ok: Option<String>,
    warning: Option<ExpiryWarning>,
    using: Vec<UsingRow>,
    own: usize,
    form: OfficeForm,
}

/// What a failed submit leaves in the forms (secrets excepted).
#[derive(Default)]
struct OfficeForm {
    error: Option<FieldError>,
    nip: String,
    ksef: String,
    certificate_pem: String,
}

impl OfficeForm {
    fn error_at(&self, field: &str) -> Option<String> {
        FieldError::at(&self.error, field)
    }
}

async fn render(
    st: &AppState,
    me: &PanelUser,
    form: OfficeForm,
    status: StatusCode,
) -> Result<HttpResponse, PanelError> {
    let current = office::show(st, &me.caller).await?;
    let visible: Vec<ClientView> = clients::list_visible(st, &me.caller).await?;
    let own = visible.iter().filter(|c| c.credential_mode == CredentialMode::Own).count();
    let using = visible
        .into_iter()
        .filter(|c| c.credential_mode == CredentialMode::Office)
        .map(|c| UsingRow {
            ok: c.office_access.as_ref().is_some_and(|a| a.ok),
            explanation: c.office_access.and_then(|a| a.explanation_pl),
            nip: c.nip,
            name: c.name,
        })
        .collect();
    let form = OfficeForm {
        nip: if form.nip.is_empty() {
            current.as_ref().map(|c| c.office_nip.to_string()).unwrap_or_default()
        } else {
            form.nip
        },
        ..form
    };
    let page = OfficePage {
        layout: Layout::for_user("Poświadczenie KSeF biura", me),
        valid_until: current.as_ref().and_then(|c| c.validity.valid_until).map(when),
        last_ok: current.as_ref().and_then(|c| c.last_auth_ok_at).map(when),
        warning: current.as_ref().and_then(|c| c.validity.expiry_warning),
        current,
        using,
        own,
        form,
    };
    html(status, &page)
}

#[get("/biuro/poswiadczenie")]
async fn office_page(st: web::Data<AppState>, me: PanelUser) -> Result<HttpResponse, PanelError> {
    render(&st, &me, OfficeForm::default(), StatusCode::OK).await
}

/// After a store: back to the page; after bad input or a refusal: the page again with the
/// Polish reason beside the field, and what was typed (secrets excepted).
async fn answer(
    st: &AppState,
    me: &PanelUser,
    form: &Fields,
    secret: OfficeSecret,
    main_field: &str,
) -> Result<HttpResponse, PanelError> {
    me.check_csrf(st, form.csrf())?;
    let ksef = form.text("ksef");
    let stored = match OfficeCredentialInput::read(&form.text("nip"), Some(&ksef), secret) {
        Ok(input) => office::store(st, &me.caller, input).await,
        Err(e) => Err(e),
    };
    match stored {
        Ok(_) => Ok(see_other("/biuro/poswiadczenie")),
        Err(e) => match FieldError::of(&e, main_field) {
            Some(error) => {
                let typed = OfficeForm {
                    error: Some(error),
                    nip: form.text("nip"),
                    ksef,
                    certificate_pem: form.text("certyfikat"),
                };
                render(st, me, typed, StatusCode::UNPROCESSABLE_ENTITY).await
            }
            None => Err(e.into()),
        },
    }
}

/// `POST /biuro/poswiadczenie/token`: the office's KSeF token.
#[post("/biuro/poswiadczenie/token")]
async fn token(st: web::Data<AppState>, me: PanelUser, form: Fields) -> Result<HttpResponse, PanelError> {
    let secret = OfficeSecret::Token(SecretString::from(form.text("token")));
    answer(&st, &me, &form, secret, "ksef_token").await
}

/// `POST /biuro/poswiadczenie/certyfikat`: the office's KSeF certificate with its private key.
#[post("/biuro/poswiadczenie/certyfikat")]
async fn certificate(
    st: web::Data<AppState>,
    me: PanelUser,
    form: Fields,
) -> Result<HttpResponse, PanelError> {
    let secret = OfficeSecret::Certificate {
        certificate_pem: form.text("certyfikat"),
        private_key_pem: SecretString::from(form.text("klucz")),
    };
    answer(&st, &me, &form, secret, "certificate_pem").await
}
