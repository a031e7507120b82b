//! Four-eyes in the panel: the dashboard's "Czeka na Twoje zatwierdzenie", the invoice's
//! content for the approver to read (from the FA(3) visualisation model), and the approver's
//! answers other than approving: return to the preparer or reject, each with a comment.

use actix_web::{post, web, HttpResponse};

use super::forms::Fields;
use super::labels::day;
use super::{see_other, PanelError, PanelUser};
use crate::service::approvals::{self, Answer};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(answer);
}

/// One draft in the inbox.
pub struct InboxRow {
    pub id: crate::domain::InvoiceId,
    pub nip: crate::domain::Nip,
    pub number: String,
    pub buyer: String,
    pub gross: String,
    pub issued: String,
}

/// The dashboard's inbox.
pub struct InboxView {
    pub rows: Vec<InboxRow>,
    pub per_client: Vec<(crate::domain::Nip, usize)>,
    pub more: bool,
}

/// What waits for the person's approval.
pub async fn inbox(st: &AppState, me: &PanelUser) -> Result<InboxView, PanelError> {
    let inbox = approvals::inbox(st, &me.caller).await?;
    let rows = inbox
        .items
        .into_iter()
        .map(|i| {
            let inv = i.invoice;
            InboxRow {
                number: inv.number.unwrap_or_else(|| "(bez numeru)".into()),
                buyer: inv.buyer_name.unwrap_or_default(),
                gross: super::labels::gross_pl(inv.gross_minor, inv.gross_total, inv.currency),
                issued: inv.issue_date.map_or_else(|| "—".to_owned(), day),
                id: inv.id,
                nip: i.nip,
            }
        })
        .collect();
    Ok(InboxView { rows, per_client: inbox.per_client, more: inbox.more })
}

/// The invoice's content as the approver reads it on the invoice page.
pub struct ContentView {
    pub v: ksef_fa3::InvoiceVisual,
    pub payment: Vec<(&'static str, String)>,
}

fn payment_pl(f: ksef_fa3::PaymentField) -> &'static str {
    use ksef_fa3::PaymentField as P;
    match f {
        P::PaidOn => "zapłacono",
        P::DueDate => "termin płatności",
        P::Form => "forma płatności (kod)",
        P::BankAccount => "rachunek bankowy",
    }
}

/// The content of an invoice the caller may read; None when its file cannot be shown.
pub async fn content(
    st: &AppState,
    me: &PanelUser,
    id: &crate::domain::InvoiceId,
) -> Result<Option<ContentView>, PanelError> {
    Ok(crate::service::invoice_pdf::content(st, &me.caller, id).await?.map(|v| ContentView {
        payment: v.payment.iter().map(|(f, s)| (payment_pl(*f), s.clone())).collect(),
        v,
    }))
}

/// `POST /faktury/{id}/odpowiedz`: the approver returns the draft to its preparer or rejects
/// it, with a comment (`odpowiedz` = return|reject, `komentarz`).
#[post("/faktury/{id}/odpowiedz")]
async fn answer(
    st: web::Data<AppState>,
    me: PanelUser,
    id: web::Path<String>,
    form: Fields,
) -> Result<HttpResponse, PanelError> {
    me.check_csrf(&st, form.csrf())?;
    let answer = Answer::from_input(form.get("odpowiedz").unwrap_or(""))?;
    let comment = approvals::ApproverComment::parse(&form.text("komentarz"))?;
    let inv = approvals::answer(&st, &me.caller, &crate::http::id_in_path(&id)?, answer, comment).await?;
    Ok(see_other(&format!("/faktury/{}", inv.id)))
}
