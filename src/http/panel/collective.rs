//! "Utwórz identyfikator zbiorczy": the client page's selection leads to a confirmation page that
//! lists the chosen invoices KSeF accepted (the others are named as left out), with an optional
//! description and the invoices' gross amounts as payments; its POST creates the identifier in
//! KSeF and shows its number. A refusal is explained in Polish on the same page, the form refilled.

use actix_web::{post, web, HttpResponse};
use askama::Template;

use super::forms::Fields;
use super::{ok, Layout, PanelError, PanelUser};
use crate::domain::InvoiceState;
use crate::error::{AppError, Refusal};
use crate::service::clients::ClientView;
use crate::service::collective::{self, CollectiveItem, CollectiveView, InvoiceRef};
use crate::service::findings::Lang;
use crate::service::invoices::{self, InvoiceView};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(confirm).service(create);
}

/// An accepted invoice as the confirmation page lists it.
struct Chosen {
    id: crate::domain::InvoiceId,
    number: String,
    ksef_number: String,
    gross: String,
    currency: String,
}

#[derive(Template)]
#[template(path = "panel/collective_confirm.html")]
struct ConfirmPage {
    layout: Layout,
    client: ClientView,
    chosen: Vec<Chosen>,
    /// Chosen but not accepted by KSeF (no KSeF number): left out, by number.
    left_out: Vec<String>,
    description: String,
    with_payment: bool,
    /// Why the last attempt was refused, in Polish.
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "panel/collective_done.html")]
struct DonePage {
    layout: Layout,
    client: ClientView,
    created: CollectiveView,
}

/// The chosen invoices of this client (any checkbox of the list), split into accepted and not.
async fn chosen(
    st: &AppState,
    me: &PanelUser,
    client: &ClientView,
    form: &Fields,
) -> Result<(Vec<InvoiceView>, Vec<String>), PanelError> {
    // An identifier is made of invoices a person picked (at most 500), never of a whole filter.
    if form.ticked("wszystkie") {
        return Err(AppError::invalid(
            "identyfikator zbiorczy tworzy się z zaznaczonych faktur (najwyżej 500), nie ze wszystkich pasujących do filtra – odznacz „Zastosuj do wszystkich” i zaznacz faktury",
        )
        .into());
    }
    let mut ids = form.all("ids");
    ids.extend(form.all("pdf_ids"));
    if ids.is_empty() {
        return Err(AppError::invalid("zaznacz co najmniej jedną przyjętą fakturę").into());
    }
    ids.sort_unstable();
    ids.dedup();
    // The service refuses more than 500 too; refusing here spares a lookup per posted id.
    if ids.len() > ksef_client::collective::MAX_INVOICES {
        return Err(AppError::refused(
            Refusal::CollectiveTooManyInvoices,
            format!(
                "wybrano {} faktur, identyfikator zbiorczy obejmuje najwyżej {}",
                ids.len(),
                ksef_client::collective::MAX_INVOICES
            ),
        )
        .into());
    }
    let (mut accepted, mut left_out) = (Vec::new(), Vec::new());
    for id in &ids {
        let inv = invoices::get(st, &me.caller, &crate::http::id_in_path(id)?, Lang::Pl).await?;
        if inv.client_id != client.id {
            return Err(AppError::NotFound.into());
        }
        if inv.head.state == InvoiceState::Accepted && inv.head.ksef_number.is_some() {
            accepted.push(inv);
        } else {
            left_out.push(inv.head.number.unwrap_or_else(|| inv.head.id.to_string()));
        }
    }
    Ok((accepted, left_out))
}

fn page(
    me: &PanelUser,
    client: ClientView,
    (accepted, left_out): (Vec<InvoiceView>, Vec<String>),
    form: &Fields,
    error: Option<String>,
) -> ConfirmPage {
    let chosen = accepted
        .into_iter()
        .map(|inv| Chosen {
            number: inv.head.number.unwrap_or_else(|| "(bez numeru)".into()),
            ksef_number: inv.head.ksef_number.unwrap_or_default(),
            gross: inv.gross_total.unwrap_or_default(),
            currency: inv.currency.unwrap_or_default(),
            id: inv.head.id,
        })
        .collect();
    ConfirmPage {
        layout: Layout::for_user("Identyfikator zbiorczy", me),
        client,
        chosen,
        left_out,
        description: form.text("opis"),
        with_payment: form.ticked("kwoty"),
        error,
    }
}

/// `POST /klienci/{nip}/identyfikator-zbiorczy`: shows what the identifier would hold; calls nothing.
#[post("/klienci/{nip}/identyfikator-zbiorczy")]
async fn confirm(
    st: web::Data<AppState>,
    me: PanelUser,
    nip: web::Path<String>,
    form: Fields,
) -> Result<HttpResponse, PanelError> {
    let client = me.client_for_form(&st, &nip, &form).await?;
    let chosen = chosen(&st, &me, &client, &form).await?;
    ok(&page(&me, client, chosen, &form, None))
}

/// `POST /klienci/{nip}/identyfikator-zbiorczy/utworz`: creates it in KSeF and shows its number.
#[post("/klienci/{nip}/identyfikator-zbiorczy/utworz")]
async fn create(
    st: web::Data<AppState>,
    me: PanelUser,
    nip: web::Path<String>,
    form: Fields,
) -> Result<HttpResponse, PanelError> {
    let client = me.client_for_form(&st, &nip, &form).await?;
    let chosen = chosen(&st, &me, &client, &form).await?;
    let description = Some(form.text("opis")).filter(|d| !d.trim().is_empty());
    let with_payment = form.ticked("kwoty");
    let items: Vec<CollectiveItem> = chosen
        .0
        .iter()
        .map(|inv| CollectiveItem {
            invoice: InvoiceRef::Id(inv.head.id.to_string()),
            // The gross as the payment only where the invoice states both amount and currency.
            amount: inv.gross_total.clone().filter(|_| with_payment && inv.currency.is_some()),
            currency: inv.currency.clone().filter(|_| with_payment && inv.gross_total.is_some()),
            description: description.clone(),
        })
        .collect();
    // The not-accepted ones were named as left out on the confirmation page; an empty choice
    // goes to the service, which refuses it in words.
    match collective::create(&st, &me.caller, &client.nip, items).await {
        Ok(created) => ok(&DonePage {
            layout: Layout::for_user("Identyfikator zbiorczy utworzony", &me),
            client,
            created,
        }),
        Err(
            e @ (AppError::Refused { .. }
            | AppError::Invalid { .. }
            | AppError::Unavailable(_)
            | AppError::RateLimited { .. }),
        ) => {
            let why = match &e {
                AppError::RateLimited { retry_after_s } => {
                    format!("Limit zapytań KSeF dla identyfikatorów zbiorczych wyczerpany; spróbuj za {retry_after_s} s.")
                }
                AppError::Invalid { .. } => invalid_pl(&e),
                other => other.to_string(),
            };
            ok(&page(&me, client, chosen, &form, Some(why)))
        }
        Err(e) => Err(e.into()),
    }
}

/// The service's input refusals (stable field and reason) in Polish.
fn invalid_pl(e: &AppError) -> String {
    match e.field_reason() {
        Some(("description", _)) => "Opis może mieć najwyżej 512 znaków.".to_owned(),
        Some(("invoices", "duplicate")) => "Ta sama faktura jest wybrana dwa razy.".to_owned(),
        Some(("amount" | "currency", _)) => {
            "Kwota płatności: potrzebna dodatnia kwota i kod waluty (np. PLN) każdej faktury.".to_owned()
        }
        _ => "Żadna z zaznaczonych faktur nie jest przyjęta w KSeF; identyfikator obejmuje tylko faktury z numerem KSeF."
            .to_owned(),
    }
}
