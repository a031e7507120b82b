//! `/faktury/{id}/usun`: deleting an upload that went wrong (a draft, perhaps a duplicate, or
//! an invalid invoice) behind a confirmation page; `/faktury/{id}/zastap`: a corrected file in
//! its place. The rule and the audit are in
//! `service::discard`; past a decision the page says why in Polish.

use actix_web::{get, post, web, HttpResponse};
use askama::Template;

use super::forms::Fields;
use super::{ok, see_other, Layout, PanelError, PanelUser};
use crate::error::{AppError, Refusal};
use crate::http::id_in_path;
use crate::service::findings::Lang;
use crate::service::intake::{self, Source};
use crate::service::invoices::{self, InvoiceView};
use crate::service::{clients, discard};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(confirm).service(delete).service(replace);
}

#[derive(Template)]
#[template(path = "panel/invoice_delete.html")]
struct ConfirmPage {
    layout: Layout,
    inv: InvoiceView,
    state: String,
    duplicate: bool,
}

#[get("/faktury/{id}/usun")]
async fn confirm(
    st: web::Data<AppState>,
    me: PanelUser,
    id: web::Path<String>,
) -> Result<HttpResponse, PanelError> {
    let inv = invoices::get(&st, &me.caller, &id_in_path(&id)?, Lang::Pl).await?;
    if !inv.head.state.is_undecided() {
        return Err(AppError::Refused { refusal: Refusal::InvoiceDecided, message: String::new() }.into());
    }
    ok(&ConfirmPage {
        layout: Layout::for_user("Usunięcie faktury", &me),
        state: inv.head.state.label_pl().to_owned(),
        duplicate: inv.findings.iter().any(|f| f.ksef_status == Some(ksef_fa3::KSEF_DUPLICATE)),
        inv,
    })
}

/// `POST /faktury/{id}/usun`: deleted; back to the client's invoices.
#[post("/faktury/{id}/usun")]
async fn delete(
    st: web::Data<AppState>,
    me: PanelUser,
    id: web::Path<String>,
    form: Fields,
) -> Result<HttpResponse, PanelError> {
    me.check_csrf(&st, form.csrf())?;
    let gone = discard::delete(&st, &me.caller, &id_in_path(&id)?).await?;
    let client = clients::list_visible(&st, &me.caller).await?.into_iter().find(|c| c.id == gone.client_id);
    Ok(see_other(&client.map_or_else(|| "/".to_owned(), |c| format!("/klienci/{}?usunieta=1", c.nip))))
}

/// `POST /faktury/{id}/zastap`: a corrected XML in place of this invoice (multipart, as the
/// client page's upload); the answer is the upload result of the new invoice.
#[post("/faktury/{id}/zastap")]
async fn replace(
    st: web::Data<AppState>,
    me: PanelUser,
    id: web::Path<String>,
    mp: actix_multipart::Multipart,
) -> Result<HttpResponse, PanelError> {
    let form = super::upload::read_form(&st, mp).await?;
    me.check_csrf(&st, form.csrf.as_deref())?;
    let stored = intake::replace(&st, &me.caller, &id_in_path(&id)?, form.file, Source::Panel).await?;
    let client = clients::list_visible(&st, &me.caller)
        .await?
        .into_iter()
        .find(|c| c.id == stored.invoice.client_id)
        .ok_or(AppError::NotFound)?;
    super::upload::replacement_page(&me, client, &stored, form.file_name)
}
