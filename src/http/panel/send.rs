//! Deciding to send: the client page's checkboxes lead to a confirmation page that lists
//! exactly what will be sent (number and hash of each invoice), and only its POST records the
//! decision through `decisions::decide_send`. Offline issuing has its own confirmation page
//! that explains the mode and its legal deadline and needs a ticked checkbox.

use actix_web::{post, web, HttpRequest, HttpResponse};
use askama::Template;

use chrono::NaiveDate;

use super::client::bulk_ids;
use super::forms::Fields;
use super::labels::{day, gross_pl, when};
use super::{ok, Layout, PanelError, PanelUser};
use crate::domain::InvoiceId;
use crate::error::AppError;
use crate::http::auth::client_ip_text;
use crate::offline::{OfflineIssue, OfflineMode};
use crate::service::clients::ClientView;
use crate::service::decisions::{self, Confirmed, SendRequest};
use crate::service::findings::Lang;
use crate::service::invoices::{self, BulkAction};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(confirm).service(decide);
}

/// An invoice as the confirmation page lists it.
struct Chosen {
    id: crate::domain::InvoiceId,
    number: String,
    sha256: String,
    buyer: String,
    gross: String,
    /// P_1, the date the deadlines count from.
    issued: Option<NaiveDate>,
    issued_text: String,
    /// The invoice's warnings (findings KSeF would not refuse), repeated at the decision: each
    /// invoice with any needs its own conscious confirmation.
    warnings: Vec<String>,
}

/// An offline mode with its explanation and the deadline of the chosen invoices.
struct ModeOption {
    value: &'static str,
    name: &'static str,
    rule: &'static str,
    deadline: String,
    /// Preselected: the mode that fits what Latarnia announced, else offline24.
    checked: bool,
}

/// What Latarnia announced for the client's KSeF: the mode that fits, and the day the
/// unavailability or failure ends (when it says).
struct Announced {
    mode: OfflineMode,
    end: Option<NaiveDate>,
}

fn announced(st: &AppState, client: &ClientView) -> Option<Announced> {
    st.availability.notice(&client.ksef_environment).map(|n| Announced {
        mode: n.offline_mode,
        end: n.until.map(|t| crate::local_time::warsaw_date(t.naive_utc())),
    })
}

/// The deadline of the chosen invoices in one mode: each counts from its own issue date, so
/// several invoices may end on different days (then the earliest and the latest are shown).
fn deadline_text(issue: OfflineIssue, chosen: &[Chosen]) -> String {
    let today = crate::local_time::today();
    let ends: Vec<_> = chosen
        .iter()
        .map(|c| crate::local_time::end_of_day_utc(issue.deadline(c.issued.unwrap_or(today), today)))
        .collect();
    match (ends.iter().min(), ends.iter().max()) {
        (Some(a), Some(b)) if a == b => when(*a),
        (Some(a), Some(b)) => format!("od {} do {} (zależnie od daty wystawienia)", when(*a), when(*b)),
        _ => String::new(),
    }
}

fn mode_options(announced: Option<&Announced>, chosen: &[Chosen]) -> Vec<ModeOption> {
    let suggested = announced.map_or(OfflineMode::Offline24, |a| a.mode);
    let opt = |mode: OfflineMode, name, rule| {
        let end = announced.filter(|a| a.mode == mode).and_then(|a| a.end);
        ModeOption {
            value: mode.as_str(),
            name,
            rule,
            deadline: deadline_text(OfflineIssue { mode, period_end: end }, chosen),
            checked: mode == suggested,
        }
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
    /// Latarnia announced a failure: the failure (awaria) mode needs no extra confirmation.
    failure_announced: bool,
    /// The announced end of the unavailability or failure, for the form's date field.
    period_end: String,
    /// KSeF is down or not answering: explained, with the offline mode offered instead.
    notice: Option<super::notice::KsefNotice>,
    /// The person chose every invoice matching the list's filter: the decision applies the
    /// filter again and must find this many.
    all_matching: Option<AllMatching>,
}

struct AllMatching {
    /// The list's filter as a query string.
    filter: String,
    count: usize,
    /// [`match_digest`] of what the filter matched, so the decision covers exactly these.
    digest: String,
}

/// A digest of a set of invoice ids (in any order): the decision re-applies the filter and must
/// find the very invoices the confirmation showed, not merely as many.
fn match_digest(ids: &[InvoiceId]) -> String {
    use sha2::{Digest, Sha256};
    let mut sorted: Vec<&str> = ids.iter().map(InvoiceId::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    hex::encode(Sha256::digest(sorted.join("\n").as_bytes()))
}

/// The chosen invoices of this client, read through the caller's scope.
async fn chosen(
    st: &AppState,
    me: &PanelUser,
    client: &ClientView,
    ids: &[InvoiceId],
) -> Result<Vec<Chosen>, PanelError> {
    let views = invoices::get_many(st, &me.caller, ids, Lang::Pl).await?;
    if views.iter().any(|inv| inv.client_id != client.id) {
        return Err(AppError::NotFound.into());
    }
    Ok(views
        .into_iter()
        .map(|inv| Chosen {
            number: inv.head.number.unwrap_or_else(|| "(bez numeru)".into()),
            sha256: inv.head.sha256,
            buyer: inv.buyer_name.unwrap_or_default(),
            gross: gross_pl(inv.gross_minor, inv.gross_total, inv.currency),
            issued_text: inv.issue_date.map(day).unwrap_or_else(|| "—".into()),
            warnings: inv
                .findings
                .iter()
                .filter(|f| f.severity == "warning")
                .map(|f| f.message.clone())
                .collect(),
            issued: inv.issue_date,
            id: inv.head.id,
        })
        .collect())
}

/// The invoices a send form chose (ticked, or all matching the filter) and the filter when
/// that was used; none is an error.
async fn ids_of(
    st: &AppState,
    me: &PanelUser,
    client: &ClientView,
    form: &Fields,
) -> Result<(Vec<InvoiceId>, Option<String>), PanelError> {
    let (ids, filter) = bulk_ids(st, me, client, form, BulkAction::Send).await?;
    if ids.is_empty() {
        let why = if filter.is_some() {
            "żadna faktura pasująca do filtra nie może być wysłana (wysłać można szkice i zatwierdzone)"
        } else {
            "zaznacz co najmniej jedną fakturę"
        };
        return Err(AppError::invalid(why).into());
    }
    Ok((ids, filter))
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
    let (ids, filter) = ids_of(&st, &me, &client, &form).await?;
    let offline = form.get("tryb") == Some("offline");
    let chosen = chosen(&st, &me, &client, &ids).await?;
    let title = if offline { "Wystawienie w trybie offline" } else { "Potwierdzenie wysyłki do KSeF" };
    let notice = super::notice::for_environment(&st, &client.ksef_environment);
    let announced = announced(&st, &client);
    let modes = mode_options(announced.as_ref(), &chosen);
    let page = ConfirmPage {
        layout: Layout::for_user(title, &me),
        failure_announced: announced.as_ref().is_some_and(|a| a.mode == OfflineMode::Emergency),
        period_end: announced.and_then(|a| a.end).map(|d| d.to_string()).unwrap_or_default(),
        all_matching: filter.map(|f| AllMatching { filter: f, count: ids.len(), digest: match_digest(&ids) }),
        client,
        chosen,
        offline,
        modes,
        notice,
    };
    ok(&page)
}

struct Decided {
    count: usize,
    state: &'static str,
    deadline: Option<String>,
}

/// The offline mode the confirmation form chose, with the end of the announced period when the
/// person gave one (`koniec`, a date field).
fn offline_choice(form: &Fields) -> Result<OfflineIssue, PanelError> {
    let mode = form
        .get("tryb_offline")
        .map_or(Ok(OfflineMode::Offline24), OfflineMode::from_input)
        .map_err(|_| AppError::invalid("wybierz jeden z trybów offline"))?;
    let period_end = match form.text("koniec") {
        raw if raw.is_empty() => None,
        raw => Some(NaiveDate::parse_from_str(&raw, "%Y-%m-%d").map_err(|_| {
            AppError::invalid("dzień zakończenia niedostępności lub awarii: podaj datę (dd.mm.rrrr)")
        })?),
    };
    Ok(OfflineIssue { mode, period_end })
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
    let (ids, filter) = ids_of(&st, &me, &client, &form).await?;
    if filter.is_some() {
        // The filter is applied again now: what it matches must be what the person confirmed.
        let confirmed = form.get("liczba").and_then(|n| n.parse::<usize>().ok());
        if confirmed != Some(ids.len()) || form.get("dopasowanie") != Some(match_digest(&ids).as_str()) {
            return Err(AppError::invalid(format!(
                "lista faktur pasujących do filtra zmieniła się (potwierdzono {}, teraz pasuje {}) – wróć do listy i potwierdź ponownie",
                confirmed.map_or_else(|| "—".to_owned(), |n| n.to_string()),
                ids.len()
            ))
            .into());
        }
    }
    let offline = match form.get("tryb") {
        Some("offline") => {
            if !form.ticked("swiadomie") {
                return Err(AppError::invalid(
                    "wystawienie w trybie offline wymaga zaznaczenia potwierdzenia, że znasz zasady tego trybu",
                )
                .into());
            }
            Some(offline_choice(&form)?)
        }
        _ => None,
    };
    let request = SendRequest {
        invoice_ids: ids,
        offline,
        failure_confirmed: form.ticked("awaria_potwierdzona"),
        source_ip: client_ip_text(&req, &st),
    };
    // The decision covers only this client's invoices, as the confirmation page showed them.
    // A ticked text that is no id confirms nothing, as an unknown id does.
    let warnings = form.all("ostrzezenia_ok").iter().filter_map(|id| InvoiceId::parse(id).ok()).collect();
    let confirmed = Confirmed { client_id: client.id.clone(), warnings };
    let outcomes = decisions::decide_send_confirming_warnings(&st, &me.caller, request, confirmed).await?;
    let count = outcomes.iter().map(|d| d.invoice_ids.len()).sum();
    let decided = Decided {
        count,
        state: if offline.is_some() { "wystawione offline (W)" } else { "w kolejce do wysyłki (W)" },
        deadline: outcomes.iter().filter_map(|d| d.offline_deadline).min().map(when),
    };
    ok(&DonePage { layout: Layout::for_user("Decyzja zapisana", &me), client, decided })
}
