//! `GET /klienci/{nip}`: one client's invoices (filterable by state), the upload form, and the
//! send form with its checkboxes.

use actix_web::{get, post, web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::forms::Fields;
use super::labels::{state_options, state_pl};
use super::{may, ok, see_other, Layout, PanelError, PanelUser};
use crate::auth::Permission;
use crate::domain::SendPolicy;
use crate::service::clients::{self, ClientView};
use crate::service::findings::Lang;
use crate::service::invoices::{self, InvoiceSummary, ListQuery};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(client_page).service(refresh_statuses).service(pdf_zip);
}

/// How many invoices one page lists (newest first); the rest are a "next page" away.
const PAGE_SIZE: i64 = 200;

/// Where the list is: "201–400 z 2000", and the links to the pages around it.
struct Paging {
    /// 1-based position of the first row shown, and of the last.
    first: i64,
    last: i64,
    total: i64,
    next: Option<String>,
    prev: Option<String>,
}

/// The client page's URL for a cursor, keeping the state filter.
fn page_link(nip: &str, filter: Option<&str>, cursor: &str) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    if let Some(f) = filter {
        q.append_pair("stan", f);
    }
    q.append_pair("strona", cursor);
    format!("/klienci/{nip}?{}", q.finish())
}

pub struct InvoiceRow {
    id: String,
    number: String,
    state: String,
    letter: &'static str,
    buyer: String,
    gross: String,
    ksef_number: String,
    problems: String,
    /// A decision to send may be taken (draft or approved).
    decidable: bool,
    /// A four-eyes draft: someone else must approve it on its page first.
    awaits_approval: bool,
    /// On its way to KSeF: the row follows its state live (`static/live.js`).
    live: bool,
}

impl InvoiceRow {
    fn new(s: InvoiceSummary, policy: SendPolicy) -> Self {
        let state = s.state;
        let problems = match (s.errors, s.warnings) {
            (0, 0) => String::new(),
            (e, 0) => format!("błędy: {e}"),
            (0, w) => format!("ostrzeżenia: {w}"),
            (e, w) => format!("błędy: {e}, ostrzeżenia: {w}"),
        };
        Self {
            decidable: state.can_decide(policy),
            awaits_approval: state.awaits_approval(policy),
            live: state.is_on_its_way(),
            state: state.label_pl().to_owned(),
            letter: s.status_letter.unwrap_or(""),
            number: s.number.unwrap_or_else(|| "(bez numeru)".into()),
            buyer: s.buyer_name.unwrap_or_default(),
            gross: match (s.gross_total, s.currency) {
                (Some(g), Some(c)) => format!("{g} {c}"),
                (Some(g), None) => g,
                _ => String::new(),
            },
            ksef_number: s.ksef_number.unwrap_or_default(),
            problems,
            id: s.id,
        }
    }
}

struct StateOption {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

#[derive(Template)]
#[template(path = "panel/client.html")]
struct ClientPage {
    layout: Layout,
    client: ClientView,
    policy: &'static str,
    rows: Vec<InvoiceRow>,
    paging: Paging,
    /// Some listed invoice may be chosen for sending (else the send buttons are left out).
    has_decidable: bool,
    filter: String,
    states: Vec<StateOption>,
    can_upload: bool,
    /// Reads the client's invoices (and so its purchase invoices).
    can_read: bool,
    can_send: bool,
    /// "Statusy w KSeF" sets the senders going: for those who upload or send.
    can_refresh: bool,
    can_manage: bool,
    /// Webhooks are managed with the `credentials` permission.
    can_webhooks: bool,
    /// KSeF is down or not answering for this client's environment.
    notice: Option<super::notice::KsefNotice>,
    /// What a "Statusy w KSeF" click just did.
    refresh_note: Option<String>,
}

#[derive(Deserialize)]
struct Filter {
    stan: Option<String>,
    /// Set by the redirect after "Statusy w KSeF": invoices in flight, and whether a sender
    /// of this process took the request at once.
    statusy: Option<i64>,
    od_razu: Option<bool>,
    /// The page's cursor (from a "next"/"previous" link).
    strona: Option<String>,
}

fn refresh_note(in_flight: i64, immediate: bool) -> String {
    match (in_flight, immediate) {
        (0, _) => "Żadna faktura tego klienta nie czeka na status z KSeF.".to_owned(),
        (n, true) => format!("Bramka pyta właśnie KSeF o statusy faktur w drodze ({n}); odśwież stronę za kilka sekund."),
        (n, false) => format!(
            "Faktur w drodze: {n}. Wysyłka działa w innej instancji bramki, która pyta KSeF o statusy sama, co kilka sekund."
        ),
    }
}

/// `POST /klienci/{nip}/statusy` ("Statusy w KSeF"): the senders poll KSeF for this client now.
#[post("/klienci/{nip}/statusy")]
async fn refresh_statuses(
    st: web::Data<AppState>,
    me: PanelUser,
    nip: web::Path<String>,
    form: Fields,
) -> Result<HttpResponse, PanelError> {
    let client = me.client_for_form(&st, &nip, &form).await?;
    let r = invoices::refresh_statuses(&st, &me.caller, &client.id).await?;
    Ok(see_other(&format!("/klienci/{}?statusy={}&od_razu={}", client.nip, r.in_flight, r.immediate)))
}

/// `POST /klienci/{nip}/pdf` ("Pobierz PDF (zip)"): the checked invoices' visualisations as one
/// zip, through the same form (and CSRF token) as the send buttons.
#[post("/klienci/{nip}/pdf")]
async fn pdf_zip(
    st: web::Data<AppState>,
    me: PanelUser,
    nip: web::Path<String>,
    form: Fields,
) -> Result<HttpResponse, PanelError> {
    let client = me.client_for_form(&st, &nip, &form).await?;
    // Rows that may be sent carry `ids` (the send buttons' field), the others `pdf_ids`.
    let mut ids = form.all("ids");
    ids.extend(form.all("pdf_ids"));
    let zip =
        crate::service::invoice_pdf::render_zip(&st, &me.caller, &ids, Some(&client.id), Lang::Pl).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"faktury-{}.zip\"", client.nip),
        ))
        .body(zip))
}

#[get("/klienci/{nip}")]
async fn client_page(
    st: web::Data<AppState>,
    me: PanelUser,
    nip: web::Path<String>,
    q: web::Query<Filter>,
) -> Result<HttpResponse, PanelError> {
    let client = clients::find_visible(&st, &me.caller, &nip).await?;
    let q = q.into_inner();
    let refresh = q.statusy.map(|n| refresh_note(n, q.od_razu.unwrap_or(false)));
    let filter = q.stan.filter(|s| !s.is_empty());
    let query = ListQuery {
        nip: Some(client.nip.clone()),
        state: filter.clone(),
        limit: Some(PAGE_SIZE),
        cursor: q.strona,
        ..ListQuery::default()
    };
    let policy = client.send_policy;
    // Someone who manages access without reading invoices sees the page without its list.
    let page = if may(&client, Permission::Read) {
        invoices::list(&st, &me.caller, query).await?
    } else {
        invoices::InvoicePage::default()
    };
    let shown = i64::try_from(page.invoices.len()).unwrap_or(i64::MAX);
    let link = |c: &String| page_link(&client.nip, filter.as_deref(), c);
    let paging = Paging {
        first: if shown == 0 { 0 } else { page.offset + 1 },
        last: page.offset + shown,
        total: page.total,
        next: page.next_cursor.as_ref().map(link),
        prev: page.prev_cursor.as_ref().map(link),
    };
    let rows: Vec<InvoiceRow> = page.invoices.into_iter().map(|s| InvoiceRow::new(s, policy)).collect();
    let page = ClientPage {
        layout: Layout::for_user(format!("{} – faktury", client.name), &me),
        policy: client.send_policy.label_pl(),
        can_upload: may(&client, Permission::Upload),
        can_read: may(&client, Permission::Read),
        can_send: may(&client, Permission::Send),
        can_refresh: may(&client, Permission::Upload) || may(&client, Permission::Send),
        can_manage: may(&client, Permission::Users) || may(&client, Permission::Credentials),
        can_webhooks: may(&client, Permission::Credentials),
        has_decidable: rows.iter().any(|r| r.decidable),
        notice: super::notice::for_environment(&st, &client.ksef_environment),
        refresh_note: refresh,
        client,
        rows,
        paging,
        states: state_options()
            .into_iter()
            .map(|(value, label)| StateOption { value, label, selected: filter.as_deref() == Some(value) })
            .collect(),
        filter: filter.as_deref().map(state_pl).unwrap_or_default(),
    };
    ok(&page)
}
