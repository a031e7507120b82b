//! `GET /faktury/{id}`: one invoice in full (identifiers, findings, timeline with people, UPO,
//! QR code KOD I, a link to the PDF visualisation) in a layout that prints well; its QR image;
//! and the four-eyes approval.

use std::collections::HashMap;

use actix_web::{get, post, web, HttpResponse};
use askama::Template;

use super::forms::Fields;
use super::labels::{day, when, FindingRow};
use super::{may, ok, see_other, Layout, PanelError, PanelUser};
use crate::domain::{Actor, InvoiceState};
use crate::http::id_in_path;
use crate::service::clients::{self, ClientView};
use crate::service::decisions;
use crate::service::findings::Lang;
use crate::service::invoices::{self, InvoiceView};
use crate::service::panel_views;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(invoice_page).service(qr_image).service(certificate_qr_image).service(approve);
}

struct Step {
    at: String,
    state: String,
    actor: String,
    note: String,
}

#[derive(Template)]
#[template(path = "panel/invoice.html")]
struct InvoicePage {
    layout: Layout,
    inv: InvoiceView,
    /// The gross amount as Polish pages show it (`2 051,00 zł`).
    gross: String,
    client: ClientView,
    state: String,
    findings: Vec<FindingRow>,
    steps: Vec<Step>,
    /// KOD I's caption: the KSeF number, or OFFLINE for an invoice issued offline before KSeF
    /// assigned one; None (no KOD I shown or printed) for any other invoice.
    qr_label: Option<String>,
    /// The end of the legal deadline of an offline invoice, in Warsaw time.
    offline_deadline: Option<String>,
    /// P_1 as the panel shows dates.
    issued: String,
    /// KOD II is printed too (offline invoice, client with an offline certificate).
    has_kod2: bool,
    has_upo: bool,
    /// Who received the UPO, when, and its hash (once KSeF issued it).
    upo: Option<invoices::UpoSummary>,
    upo_fetched: String,
    can_approve: bool,
    /// Nobody decided on it yet and the caller may upload: it can be deleted.
    can_delete: bool,
    /// On its way to KSeF: the page follows its state live (`static/live.js`).
    live: bool,
    /// The approver's comment when the draft was returned to its preparer (the last step).
    returned: Option<String>,
    /// The invoice's content (parties, lines, VAT, payment) as the visualisation reads it.
    content: Option<super::approvals::ContentView>,
}

/// How a timeline names an actor: the person's e-mail where known, the automatic sender in
/// words, else the actor as stored.
fn actor_name(actor: &Actor, emails: &HashMap<Actor, String>) -> String {
    match (emails.get(actor), actor) {
        (Some(email), _) => email.clone(),
        (None, Actor::ApiKey(key)) => format!("klucz API {key}"),
        (None, Actor::Sender) => "system (wysyłka automatyczna)".to_owned(),
        (None, other) => other.to_string(),
    }
}

#[get("/faktury/{id}")]
async fn invoice_page(
    st: web::Data<AppState>,
    me: PanelUser,
    id: web::Path<String>,
) -> Result<HttpResponse, PanelError> {
    let inv = invoices::get(&st, &me.caller, &id_in_path(&id)?, Lang::Pl).await?;
    let client = clients::list_visible(&st, &me.caller)
        .await?
        .into_iter()
        .find(|c| c.id == inv.client_id)
        .ok_or(crate::error::AppError::NotFound)?;
    let emails =
        panel_views::actor_emails(&st, inv.timeline.iter().map(|t| t.actor.clone()).collect()).await?;
    let preparer = inv.timeline.first().map(|t| &t.actor);
    let state = inv.head.state;
    let can_approve = state.may_be_approved_by(client.send_policy, preparer, &me.caller.actor())
        && may(&client, crate::auth::Permission::Approve);
    let upo = invoices::upo_summary(&st, &me.caller, &inv.head.id).await?;
    let page = InvoicePage {
        gross: super::labels::gross_pl(inv.gross_minor, inv.gross_total.clone(), inv.currency.clone()),
        upo_fetched: upo.as_ref().map(|u| when(u.fetched_at)).unwrap_or_default(),
        upo,
        layout: Layout::for_user(format!("Faktura {}", inv.head.number.as_deref().unwrap_or("")), &me),
        state: inv.head.state.label_pl().to_owned(),
        findings: inv.findings.iter().map(FindingRow::from).collect(),
        steps: inv
            .timeline
            .iter()
            .map(|t| Step {
                at: when(t.at),
                state: t.state.label_pl().to_owned(),
                actor: actor_name(&t.actor, &emails),
                note: t.note.clone().unwrap_or_default(),
            })
            .collect(),
        offline_deadline: inv.offline_deadline.map(when),
        issued: inv.issue_date.map_or_else(|| "—".to_owned(), day),
        qr_label: invoices::kod1_caption(inv.head.ksef_number.as_deref(), inv.offline)
            .filter(|_| inv.seller_nip.is_some() && inv.issue_date.is_some()),
        // Only whether there is one: the image route opens the certificate and signs.
        has_kod2: invoices::has_certificate_link(&st, &me.caller, &inv.head.id).await?,
        has_upo: state == InvoiceState::Accepted,
        can_approve,
        can_delete: state.is_undecided() && may(&client, crate::auth::Permission::Upload),
        live: state.is_on_its_way(),
        returned: inv
            .timeline
            .last()
            .and_then(|t| t.note.as_deref())
            .and_then(crate::service::approvals::returned_note)
            .map(str::to_owned),
        content: super::approvals::content(&st, &me, &inv.head.id).await?,
        client,
        inv,
    };
    ok(&page)
}

/// `GET /faktury/{id}/kod-qr.svg`: KOD I as an image (an `<img>` cannot ask the API for SVG
/// with an Accept header, so the panel serves it itself, through the same service).
#[get("/faktury/{id}/kod-qr.svg")]
async fn qr_image(
    st: web::Data<AppState>,
    me: PanelUser,
    id: web::Path<String>,
) -> Result<HttpResponse, PanelError> {
    let (inv, link) = invoices::qr_link(&st, &me.caller, &id_in_path(&id)?).await?;
    if invoices::qr_label(&inv).is_none() {
        // Not issued offline and not in KSeF: the invoice carries no KOD I.
        return Err(crate::error::AppError::NotFound.into());
    }
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "private, no-store"))
        .body(crate::http::qr_svg::render(&link)?))
}

/// `GET /faktury/{id}/kod-qr-certyfikat.svg`: KOD II as an image; 404 when the invoice has none.
#[get("/faktury/{id}/kod-qr-certyfikat.svg")]
async fn certificate_qr_image(
    st: web::Data<AppState>,
    me: PanelUser,
    id: web::Path<String>,
) -> Result<HttpResponse, PanelError> {
    let link = invoices::certificate_link(&st, &me.caller, &id_in_path(&id)?)
        .await?
        .ok_or(crate::error::AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "private, no-store"))
        .body(crate::http::qr_svg::render(&link)?))
}

/// `POST /faktury/{id}/zatwierdz`: the second person approves the exact bytes they saw (the
/// hash on the page travels with the form, and the service refuses if it changed).
#[post("/faktury/{id}/zatwierdz")]
async fn approve(
    st: web::Data<AppState>,
    me: PanelUser,
    id: web::Path<String>,
    form: Fields,
) -> Result<HttpResponse, PanelError> {
    me.check_csrf(&st, form.csrf())?;
    let seen = form.get("sha256").map(str::to_owned);
    let inv = decisions::approve(&st, &me.caller, &id_in_path(&id)?, seen).await?;
    Ok(see_other(&format!("/faktury/{}", inv.id)))
}
