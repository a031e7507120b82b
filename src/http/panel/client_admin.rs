//! `/nowy-klient`: an office admin adds a client company with its KSeF token (checked against
//! KSeF before anything is stored); `/klienci/{nip}/nazwa`: renames one. The send policy and
//! later credentials stay on the access page. Rules in `service::client_admin`.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use askama::Template;
use secrecy::SecretString;

use super::error::FieldError;
use super::forms::Fields;
use super::{html, see_other, Layout, PanelError, PanelUser};
use crate::domain::{CredentialMode, KsefTarget, Nip, SendPolicy};
use crate::error::AppError;
use crate::service::client_admin;
use crate::service::clients::{self, ClientView, NewClientInput};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(new_page).service(add).service(rename_page).service(rename);
}

/// What the form shows again after a refusal (never the token).
#[derive(Default)]
struct Typed {
    nip: String,
    name: String,
    ksef: String,
    policy: String,
    /// `office` or `own` ([`CredentialMode`]).
    credential: String,
}

#[derive(Template)]
#[template(path = "panel/client_new.html")]
struct NewClientPage {
    layout: Layout,
    typed: Typed,
    policies: Vec<(&'static str, &'static str)>,
    error: Option<FieldError>,
}

impl NewClientPage {
    fn error_at(&self, field: &str) -> Option<String> {
        FieldError::at(&self.error, field)
    }
}

fn new_client_page(
    me: &PanelUser,
    typed: Typed,
    error: Option<FieldError>,
) -> Result<HttpResponse, PanelError> {
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let policies = SendPolicy::ALL.iter().map(|p| (p.as_str(), p.label_pl())).collect();
    html(status, &NewClientPage { layout: Layout::for_user("Nowy klient", me), typed, policies, error })
}

#[get("/nowy-klient")]
async fn new_page(me: PanelUser) -> Result<HttpResponse, PanelError> {
    crate::service::access::require_office_admin(&me.caller)?;
    let typed = Typed {
        ksef: "test".into(),
        policy: SendPolicy::Manual.as_str().into(),
        credential: CredentialMode::Office.as_str().into(),
        ..Typed::default()
    };
    new_client_page(&me, typed, None)
}

/// `POST /nowy-klient`: on success, the new client's access page (its credential's health).
#[post("/nowy-klient")]
async fn add(st: web::Data<AppState>, me: PanelUser, form: Fields) -> Result<HttpResponse, PanelError> {
    me.check_csrf(&st, form.csrf())?;
    let typed = Typed {
        nip: form.text("nip"),
        name: form.text("nazwa"),
        ksef: form.text("ksef"),
        policy: form.text("polityka"),
        credential: form.text("poswiadczenie"),
    };
    let added = async {
        let input = NewClientInput {
            nip: Nip::parse(&typed.nip).map_err(|e| AppError::invalid_field("nip", "nip_invalid", e))?,
            name: typed.name.clone(),
            ksef: KsefTarget::parse(&typed.ksef)
                .map_err(|e| AppError::invalid_field("ksef", "ksef_unknown", e))?,
            policy: SendPolicy::parse(&typed.policy)
                .map_err(|e| AppError::invalid_field("policy", "unknown_policy", e))?,
        };
        match CredentialMode::parse(&typed.credential)
            .map_err(|e| AppError::invalid_field("credential", "unknown_credential_mode", e))?
        {
            CredentialMode::Office => client_admin::add_with_office_credential(&st, &me.caller, input).await,
            CredentialMode::Own => {
                client_admin::add_checked(&st, &me.caller, input, SecretString::from(form.text("token")))
                    .await
            }
        }
    }
    .await;
    match added {
        Ok(c) => Ok(see_other(&format!("/klienci/{}/dostepy", c.nip))),
        Err(e) => match FieldError::of(&e, "ksef_token") {
            Some(error) => new_client_page(&me, typed, Some(error)),
            None => Err(e.into()),
        },
    }
}

#[derive(Template)]
#[template(path = "panel/client_rename.html")]
struct RenamePage {
    layout: Layout,
    client: ClientView,
    typed: String,
    error: Option<FieldError>,
}

impl RenamePage {
    fn error_at(&self, field: &str) -> Option<String> {
        FieldError::at(&self.error, field)
    }
}

#[get("/klienci/{nip}/nazwa")]
async fn rename_page(
    st: web::Data<AppState>,
    me: PanelUser,
    nip: web::Path<String>,
) -> Result<HttpResponse, PanelError> {
    let client = clients::find_visible(&st, &me.caller, &crate::http::id_in_path(&nip)?).await?;
    crate::service::access::require_office_admin(&me.caller)?;
    let page = RenamePage {
        layout: Layout::for_user("Nazwa klienta", &me),
        typed: client.name.clone(),
        client,
        error: None,
    };
    html(StatusCode::OK, &page)
}

#[post("/klienci/{nip}/nazwa")]
async fn rename(
    st: web::Data<AppState>,
    me: PanelUser,
    nip: web::Path<String>,
    form: Fields,
) -> Result<HttpResponse, PanelError> {
    let client = me.client_for_form(&st, &nip, &form).await?;
    let typed = form.text("nazwa");
    match client_admin::rename(&st, &me.caller, &client.id, &typed).await {
        Ok(()) => Ok(see_other(&format!("/klienci/{}/dostepy", client.nip))),
        Err(e) => match FieldError::of(&e, "name") {
            Some(error) => {
                let page = RenamePage {
                    layout: Layout::for_user("Nazwa klienta", &me),
                    client,
                    typed,
                    error: Some(error),
                };
                html(StatusCode::UNPROCESSABLE_ENTITY, &page)
            }
            None => Err(e.into()),
        },
    }
}
