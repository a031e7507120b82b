//! `/biuro/certyfikaty` and `/klienci/{nip}/certyfikaty`: KSeF certificates the gateway enrolls
//! for the office or a client. The office-credential and access pages hold the first step (type
//! and key); this page shows KSeF's limits and the subject's certificates (the one in use marked)
//! before the person confirms, and the revocation forms. Every view logs in to KSeF with the
//! subject's certificate, which is why the limits live here and not on those busier pages.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::error::FieldError;
use super::forms::Fields;
use super::{html, see_other, Layout, PanelError, PanelUser};
use crate::domain::{CertificatePurpose, KeyChoice, RevokeReason};
use crate::error::AppError;
use crate::service::clients;
use crate::service::enrollment::{self, CertificateList, Subject};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(office_page)
        .service(office_enroll)
        .service(office_revoke)
        .service(client_page)
        .service(client_enroll)
        .service(client_revoke);
}

/// Whose page: where it lives and how it is named.
struct Owner {
    subject: Subject,
    base: String,
    heading: String,
    back: (String, String),
}

impl Owner {
    fn office() -> Self {
        Self {
            subject: Subject::Office,
            base: "/biuro/certyfikaty".into(),
            heading: "Certyfikaty KSeF biura".into(),
            back: ("/biuro/poswiadczenie".into(), "poświadczenie biura".into()),
        }
    }

    async fn client(st: &AppState, me: &PanelUser, nip: &str) -> Result<Self, PanelError> {
        let c = clients::find_visible(st, &me.caller, &crate::http::id_in_path(nip)?).await?;
        Ok(Self {
            subject: Subject::Client(c.id),
            base: format!("/klienci/{}/certyfikaty", c.nip),
            heading: format!("Certyfikaty KSeF – {} (NIP {})", c.name, c.nip),
            back: (format!("/klienci/{}/dostepy", c.nip), "dostępy".into()),
        })
    }

    fn offline_allowed(&self) -> bool {
        self.subject != Subject::Office
    }
}

/// A row of the list, in Polish.
struct Row {
    serial: String,
    name: String,
    kind: &'static str,
    status: &'static str,
    valid_to: String,
    in_use: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "panel/certificates.html")]
struct Page {
    layout: Layout,
    heading: String,
    base: String,
    back: (String, String),
    offline_allowed: bool,
    list: Option<CertificateList>,
    rows: Vec<Row>,
    /// Why KSeF could not be asked (no certificate login yet, KSeF refused or down).
    unavailable: Option<String>,
    kind: CertificatePurpose,
    key: KeyChoice,
    error: Option<FieldError>,
    notice: Option<String>,
}

impl Page {
    fn error_at(&self, field: &str) -> Option<String> {
        FieldError::at(&self.error, field)
    }

    fn limit_reached(&self) -> bool {
        self.list.as_ref().is_some_and(|l| !l.limits.allows())
    }
}

/// What the first step chose, and what a redirect after success says.
#[derive(Deserialize, Default)]
struct Choice {
    typ: Option<String>,
    klucz: Option<String>,
    wystawiono: Option<String>,
    uniewazniono: Option<String>,
}

fn status_pl(status: &str) -> &'static str {
    match status {
        "active" => "aktywny",
        "blocked" => "zablokowany",
        "revoked" => "unieważniony",
        "expired" => "wygasł",
        _ => "nieznany",
    }
}

fn use_pl(p: CertificatePurpose) -> &'static str {
    match p {
        CertificatePurpose::Authentication => "bramka loguje się nim",
        CertificatePurpose::Offline => "bramka podpisuje nim KOD II",
    }
}

async fn render(
    st: &AppState,
    me: &PanelUser,
    owner: Owner,
    choice: Choice,
    error: Option<FieldError>,
    status: StatusCode,
) -> Result<HttpResponse, PanelError> {
    let (list, unavailable) = match enrollment::list(st, &me.caller, &owner.subject).await {
        Ok(list) => (Some(list), None),
        Err(e)
            if e.is_unprocessable() || matches!(e, AppError::Unavailable(_) | AppError::Invalid { .. }) =>
        {
            let words = FieldError::of(&e, "ksef").map_or_else(|| e.to_string(), |f| f.message);
            (None, Some(words))
        }
        Err(e) => return Err(e.into()),
    };
    let rows = list
        .iter()
        .flat_map(|l| l.certificates.iter())
        .map(|c| Row {
            serial: c.serial_number.clone(),
            name: c.name.clone(),
            kind: c.certificate_type.label_pl(),
            status: status_pl(&c.status),
            valid_to: super::labels::when(c.valid_to.naive_utc()),
            in_use: c.in_use.map(use_pl),
        })
        .collect();
    let notice = match (&choice.wystawiono, &choice.uniewazniono) {
        (Some(s), _) => Some(format!("Certyfikat {s} wystawiony przez KSeF i zapisany w sejfie bramki.")),
        (None, Some(s)) => Some(format!("Certyfikat {s} unieważniony w KSeF.")),
        _ => None,
    };
    let kind = choice.typ.as_deref().and_then(|t| CertificatePurpose::parse(t).ok());
    let page = Page {
        layout: Layout::for_user(owner.heading.clone(), me),
        offline_allowed: owner.offline_allowed(),
        kind: kind.filter(|_| owner.offline_allowed()).unwrap_or(CertificatePurpose::Authentication),
        key: choice.klucz.as_deref().and_then(|k| KeyChoice::parse(k).ok()).unwrap_or(KeyChoice::Ec),
        heading: owner.heading,
        base: owner.base,
        back: owner.back,
        list,
        rows,
        unavailable,
        error,
        notice,
    };
    html(status, &page)
}

/// Enroll or renew: back to the page with the new serial, or the page again with the reason
/// beside the field.
async fn enroll(
    st: &AppState,
    me: &PanelUser,
    owner: Owner,
    form: &Fields,
) -> Result<HttpResponse, PanelError> {
    let choice = Choice { typ: Some(form.text("typ")), klucz: Some(form.text("klucz")), ..Choice::default() };
    let read = CertificatePurpose::parse(&form.text("typ"))
        .map_err(|e| AppError::invalid_field("type", "unknown_certificate_type", e))
        .and_then(|p| {
            KeyChoice::parse(&form.text("klucz"))
                .map(|k| (p, k))
                .map_err(|e| AppError::invalid_field("key", "unknown_key_type", e))
        });
    let kind = enrollment::Enrollment::renewal_if(form.text("akcja") == "odnow");
    let done = match read {
        Ok((purpose, key)) => enrollment::enroll(st, &me.caller, &owner.subject, purpose, key, kind).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(e) => Ok(see_other(&format!("{}?wystawiono={}", owner.base, e.serial_number))),
        Err(e) => match FieldError::of(&e, "type") {
            Some(error) => render(st, me, owner, choice, Some(error), StatusCode::UNPROCESSABLE_ENTITY).await,
            None => Err(e.into()),
        },
    }
}

async fn revoke(
    st: &AppState,
    me: &PanelUser,
    owner: Owner,
    form: &Fields,
) -> Result<HttpResponse, PanelError> {
    let serial = form.text("seria");
    let done = match RevokeReason::parse(&form.text("powod")) {
        Ok(reason) => {
            enrollment::revoke(st, &me.caller, &owner.subject, &serial, reason, form.ticked("mimo_uzycia"))
                .await
        }
        Err(e) => Err(AppError::invalid_field("reason", "unknown_revocation_reason", e)),
    };
    match done {
        Ok(r) => Ok(see_other(&format!("{}?uniewazniono={}", owner.base, r.serial_number))),
        Err(e) => match FieldError::of(&e, "serial") {
            Some(error) => {
                render(st, me, owner, Choice::default(), Some(error), StatusCode::UNPROCESSABLE_ENTITY).await
            }
            None => Err(e.into()),
        },
    }
}

#[get("/biuro/certyfikaty")]
async fn office_page(
    st: web::Data<AppState>,
    me: PanelUser,
    choice: web::Query<Choice>,
) -> Result<HttpResponse, PanelError> {
    crate::service::access::require_office_admin(&me.caller)?;
    render(&st, &me, Owner::office(), choice.into_inner(), None, StatusCode::OK).await
}

#[post("/biuro/certyfikaty")]
async fn office_enroll(
    st: web::Data<AppState>,
    me: PanelUser,
    form: Fields,
) -> Result<HttpResponse, PanelError> {
    me.check_csrf(&st, form.csrf())?;
    enroll(&st, &me, Owner::office(), &form).await
}

#[post("/biuro/certyfikaty/uniewaznij")]
async fn office_revoke(
    st: web::Data<AppState>,
    me: PanelUser,
    form: Fields,
) -> Result<HttpResponse, PanelError> {
    me.check_csrf(&st, form.csrf())?;
    revoke(&st, &me, Owner::office(), &form).await
}

#[get("/klienci/{nip}/certyfikaty")]
async fn client_page(
    st: web::Data<AppState>,
    me: PanelUser,
    nip: web::Path<String>,
    choice: web::Query<Choice>,
) -> Result<HttpResponse, PanelError> {
    let owner = Owner::client(&st, &me, &nip).await?;
    render(&st, &me, owner, choice.into_inner(), None, StatusCode::OK).await
}

#[post("/klienci/{nip}/certyfikaty")]
async fn client_enroll(
    st: web::Data<AppState>,
    me: PanelUser,
    nip: web::Path<String>,
    form: Fields,
) -> Result<HttpResponse, PanelError> {
    me.check_csrf(&st, form.csrf())?;
    let owner = Owner::client(&st, &me, &nip).await?;
    enroll(&st, &me, owner, &form).await
}

#[post("/klienci/{nip}/certyfikaty/uniewaznij")]
async fn client_revoke(
    st: web::Data<AppState>,
    me: PanelUser,
    nip: web::Path<String>,
    form: Fields,
) -> Result<HttpResponse, PanelError> {
    me.check_csrf(&st, form.csrf())?;
    let owner = Owner::client(&st, &me, &nip).await?;
    revoke(&st, &me, owner, &form).await
}
