//! Deciding to send: the client page's checkboxes lead to a confirmation page that lists
//! exactly what will be sent (number and hash of each invoice), and only its POST records the
//! decision through `decisions::decide_send`. Offline issuing has its own confirmation page
//! that explains the mode and its legal deadline and needs a ticked checkbox.

use actix_web::{post, web, HttpRequest, HttpResponse};
use askama::Template;

use super::forms::Fields;
use super::{ok, Layout, PanelError, PanelUser};
use crate::error::AppError;
use crate::http::auth::client_ip_text;
use crate::offline::{self, OfflineMode};
use crate::service::clients::ClientView;
use crate::service::decisions::{self, SendRequest};
use crate::service::findings::Lang;
use crate::service::intake::today_in_poland;
use crate::service::invoices;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(confirm).service(decide);
}

/// An invoice as the confirmation page lists it.
struct Chosen {
    id: String,
    number: String,
    sha256: String,
    buyer: String,
    gross: String,
}

/// An offline mode with its explanation and the deadline if issued today.
struct ModeOption {
    value: &'static str,
    name: &'static str,
    rule: &'static str,
    deadline: String,
    /// Preselected: the mode that fits what Latarnia announced, else offline24.
    checked: bool,
}

fn mode_options(suggested: Option<&str>) -> Vec<ModeOption> {
    let today = today_in_poland();
    let suggested = suggested.unwrap_or(OfflineMode::Offline24.as_str());
    let opt = |mode: OfflineMode, name, rule| ModeOption {
        value: mode.as_str(),
        name,
        rule,
        deadline: offline::deadline(mode, today).format("%Y-%m-%d").to_string(),
        checked: mode.as_str() == suggested,
    };
    vec![
        opt(
            OfflineMode::Offline24,
            "offline24",
            "z dowolnej przyczyny; fakturę trzeba przesłać do KSeF najpóźniej następnego dnia roboczego po dniu jej wystawienia",
        ),
        opt(
            OfflineMode::Unavailability,
            "niedostępność KSeF",
            "ogłoszona przez Ministerstwo Finansów; przesłanie najpóźniej następnego dnia roboczego po jej zakończeniu",
        ),
        opt(
            OfflineMode::Emergency,
            "awaria KSeF",
            "ogłoszona przez Ministerstwo Finansów; przesłanie w ciągu 7 dni roboczych od jej zakończenia",
        ),
    ]
}

#[derive(Template)]
#[template(path = "panel/send_confirm.html")]
struct ConfirmPage {
    layout: Layout,
    client: ClientView,
    chosen: Vec<Chosen>,
    offline: bool,
    modes: Vec<ModeOption>,
    /// KSeF is down or not answering: explained, with the offline mode offered instead.
    notice: Option<super::notice::KsefNotice>,
}

/// The chosen invoices of this client, read through the caller's scope.
async fn chosen(
    st: &AppState,
    me: &PanelUser,
    client: &ClientView,
    ids: &[String],
) -> Result<Vec<Chosen>, PanelError> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let inv = invoices::get(st, &me.caller, id, Lang::Pl).await?;
        if inv.client_id != client.id {
            return Err(AppError::NotFound.into());
        }
        out.push(Chosen {
            number: inv.number.unwrap_or_else(|| "(bez numeru)".into()),
            sha256: inv.sha256,
            buyer: inv.buyer_name.unwrap_or_default(),
            gross: inv
                .gross_total
                .map(|g| format!("{g} {}", inv.currency.unwrap_or_default()))
                .unwrap_or_default(),
            id: inv.id,
        });
    }
    Ok(out)
}

fn ids_of(form: &Fields) -> Result<Vec<String>, PanelError> {
    let ids = form.all("ids");
    if ids.is_empty() {
        return Err(AppError::invalid("zaznacz co najmniej jedną fakturę").into());
    }
    Ok(ids)
}

/// `POST /klienci/{nip}/wyslij`: shows what would be sent; records nothing.
#[post("/klienci/{nip}/wyslij")]
async fn confirm(
    st: web::Data<AppState>,
    me: PanelUser,
    nip: web::Path<String>,
    form: Fields,
) -> Result<HttpResponse, PanelError> {
    let client = me.client_for_form(&st, &nip, &form).await?;
    let ids = ids_of(&form)?;
    let offline = form.get("tryb") == Some("offline");
    let chosen = chosen(&st, &me, &client, &ids).await?;
    let title = if offline { "Wystawienie w trybie offline" } else { "Potwierdzenie wysyłki do KSeF" };
    let notice = super::notice::for_environment(&st, &client.ksef_environment);
    let modes = mode_options(notice.as_ref().map(|n| n.offline_mode));
    ok(&ConfirmPage { layout: Layout::for_user(title, &me), client, chosen, offline, modes, notice })
}

struct Decided {
    count: usize,
    state: &'static str,
    deadline: Option<String>,
}

#[derive(Template)]
#[template(path = "panel/send_done.html")]
struct DonePage {
    layout: Layout,
    client: ClientView,
    decided: Decided,
}

/// `POST /klienci/{nip}/wyslij/potwierdz`: records the decision (online, or offline with the
/// conscious confirmation ticked).
#[post("/klienci/{nip}/wyslij/potwierdz")]
async fn decide(
    st: web::Data<AppState>,
    req: HttpRequest,
    me: PanelUser,
    nip: web::Path<String>,
    form: Fields,
) -> Result<HttpResponse, PanelError> {
    let client = me.client_for_form(&st, &nip, &form).await?;
    let ids = ids_of(&form)?;
    let offline = match form.get("tryb") {
        Some("offline") => {
            if !form.ticked("swiadomie") {
                return Err(AppError::invalid(
                    "wystawienie w trybie offline wymaga zaznaczenia potwierdzenia, że znasz zasady tego trybu",
                )
                .into());
            }
            Some(
                OfflineMode::parse(form.get("tryb_offline").unwrap_or("offline24"))
                    .map_err(AppError::invalid)?,
            )
        }
        _ => None,
    };
    // The decision covers only this client's invoices, as the confirmation page showed them.
    chosen(&st, &me, &client, &ids).await?;
    let request = SendRequest { invoice_ids: ids, offline, source_ip: client_ip_text(&req, &st) };
    let outcomes = decisions::decide_send(&st, &me.caller, request).await?;
    let count = outcomes.iter().map(|d| d.invoice_ids.len()).sum();
    let decided = Decided {
        count,
        state: if offline.is_some() { "wystawione offline (W)" } else { "w kolejce do wysyłki (W)" },
        deadline: offline.map(|m| offline::deadline(m, today_in_poland()).format("%Y-%m-%d").to_string()),
    };
    ok(&DonePage { layout: Layout::for_user("Decyzja zapisana", &me), client, decided })
}
