//! "Faktury zakupowe": what the clients received through KSeF. `/faktury-zakupowe` lists them
//! across every client the person may read, `/klienci/{nip}/faktury-zakupowe` for one; both
//! with filters, sorting, keyset pages with counts, a "nowe" badge for what arrived since the
//! person's last visit of that list, and "kompletne do" per client. The invoice page offers
//! its XML and PDF; the CSV export takes the same filters. Every read goes through
//! `service::purchases` (the same rules as the API).

use actix_web::{get, web, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

use super::labels::{day, money, when};
use super::list_form::{
    amount_field, check_ranges, day_field, filled, link, sort_headers, SortColumn, SortHeader,
};
use super::{may, ok, Layout, PanelError, PanelUser};
use crate::auth::Permission;
use crate::error::AppError;
use crate::http::{file, Disposition};
use crate::service::clients::{self, ClientView};
use crate::service::findings::Lang;
use crate::service::purchases::{self, PurchaseQuery, PurchaseSummary};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(export_csv)
        .service(all_clients)
        .service(one_client)
        .service(xml)
        .service(pdf)
        .service(invoice);
}

/// How many invoices one page lists.
const PAGE_SIZE: i64 = 100;

/// The orders offered, as the API spells them, with their Polish names.
const SORTS: [(&str, &str); 6] = [
    ("-issue_date", "data wystawienia – od najnowszych"),
    ("issue_date", "data wystawienia – od najstarszych"),
    ("-gross", "kwota brutto – od najwyższej"),
    ("gross", "kwota brutto – od najniższej"),
    ("seller", "sprzedawca – A–Z"),
    ("-seller", "sprzedawca – Z–A"),
];

/// The list's filters as the form sends them (all text, blank meaning "any").
#[derive(Deserialize, Default, Clone)]
struct ListForm {
    /// The client (on the page across clients).
    nip: Option<String>,
    od: Option<String>,
    #[serde(rename = "do")]
    do_: Option<String>,
    sprzedawca: Option<String>,
    szukaj: Option<String>,
    brutto_od: Option<String>,
    brutto_do: Option<String>,
    sortuj: Option<String>,
    /// The page's cursor.
    strona: Option<String>,
    /// "New since" of the visit the person started on page 1 (microseconds), carried by the
    /// page links so that paging does not count as a new visit.
    nowe_od: Option<String>,
}

impl ListForm {
    /// The filter fields (not the page or the badge), as query pairs for links.
    fn filter_pairs(&self) -> Vec<(&'static str, String)> {
        [
            ("nip", &self.nip),
            ("od", &self.od),
            ("do", &self.do_),
            ("sprzedawca", &self.sprzedawca),
            ("szukaj", &self.szukaj),
            ("brutto_od", &self.brutto_od),
            ("brutto_do", &self.brutto_do),
            ("sortuj", &self.sortuj),
        ]
        .into_iter()
        .filter_map(|(k, v)| filled(v).map(|v| (k, v)))
        .collect()
    }

    /// The query for the service, or what is wrong with the form, in Polish.
    fn query(&self, nip: Option<String>) -> Result<PurchaseQuery, String> {
        let issued_from = day_field("od", &self.od)?;
        let issued_to = day_field("do", &self.do_)?;
        let min_gross = amount_field("brutto od", &self.brutto_od)?;
        let max_gross = amount_field("brutto do", &self.brutto_do)?;
        check_ranges((issued_from, issued_to), (min_gross, max_gross))?;
        let sort = filled(&self.sortuj);
        if sort.as_deref().is_some_and(|s| !SORTS.iter().any(|(v, _)| *v == s)) {
            return Err("Nieznany porządek sortowania – wybierz jeden z listy.".into());
        }
        Ok(PurchaseQuery {
            nip: nip.or_else(|| filled(&self.nip)),
            issued_from,
            issued_to,
            seller: filled(&self.sprzedawca),
            text: filled(&self.szukaj),
            min_gross,
            max_gross,
            sort,
            cursor: filled(&self.strona),
            since: None,
            limit: Some(PAGE_SIZE),
        })
    }
}

struct Row {
    href: String,
    ksef_number: String,
    number: String,
    client: String,
    issue_date: String,
    seller: String,
    seller_nip: String,
    gross: String,
    xml: bool,
    new: bool,
}

impl Row {
    fn new(s: PurchaseSummary, new_since: Option<NaiveDateTime>) -> Self {
        Self {
            href: format!("/klienci/{}/faktury-zakupowe/{}", s.client_nip, s.ksef_number),
            new: new_since.is_some_and(|t| s.stored_at > t),
            gross: money(s.gross_minor, &s.currency),
            issue_date: day(s.issue_date),
            seller: s.seller_name.unwrap_or_else(|| "—".to_owned()),
            client: s.client_name,
            xml: s.xml_available,
            ksef_number: s.ksef_number,
            number: s.invoice_number,
            seller_nip: s.seller_nip,
        }
    }
}

/// The columns that sort the list.
const SORT_COLUMNS: [SortColumn; 3] = [
    ("sortuj-data", "Data wystawienia", "issue_date", true),
    ("sortuj-sprzedawca", "Sprzedawca", "seller", false),
    ("sortuj-brutto", "Brutto", "gross", true),
];

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

/// One client's completeness line.
struct Completeness {
    client: String,
    nip: crate::domain::Nip,
    text: String,
}

fn completeness_text(hwm: Option<NaiveDateTime>) -> String {
    match hwm {
        Some(t) => format!("kompletne do {}", when(t)),
        None => "pobieranie z KSeF jeszcze nie objęło całości – lista może być niepełna".to_owned(),
    }
}

#[derive(Template)]
#[template(path = "panel/purchases.html")]
struct ListPage {
    layout: Layout,
    /// The client of a per-client page.
    client: Option<ClientView>,
    /// The form's action (this page without a query).
    action: String,
    form: ListForm,
    clients: Vec<Choice>,
    sorts: Vec<Choice>,
    error: Option<String>,
    rows: Vec<Row>,
    first: i64,
    last: i64,
    total: i64,
    next: Option<String>,
    prev: Option<String>,
    csv: String,
    /// The column headers that sort: (label, link, the arrow of the current order).
    headers: Vec<SortHeader>,
    completeness: Vec<Completeness>,
    /// A client's page: where its sync stands per role, and how complete each month is.
    sync: Vec<SyncLine>,
    months: Vec<MonthLine>,
    /// A "new since" baseline exists (not the first visit).
    has_baseline: bool,
}

impl ListPage {
    fn field(v: &Option<String>) -> String {
        v.clone().unwrap_or_default()
    }
}

/// One role of one client's sync, as the per-client page shows it.
struct SyncLine {
    role: &'static str,
    complete: String,
    last_run: String,
    next_run: String,
    checked: String,
    gaps: i64,
    error: Option<String>,
}

/// One month of one role: how many invoices are stored and whether the month is complete.
struct MonthLine {
    month: String,
    role: &'static str,
    stored: usize,
    state: String,
    complete: bool,
}

/// The sync lines and the month table of one client (newest month first).
async fn sync_state(
    st: &AppState,
    me: &PanelUser,
    client: &ClientView,
) -> Result<(Vec<SyncLine>, Vec<MonthLine>), PanelError> {
    use crate::service::purchase_sync::{self, MonthState};
    let sync = purchase_sync::status(st, &me.caller, Some(&client.nip))
        .await?
        .into_iter()
        .map(|s| SyncLine {
            role: s.subject_type.label_pl(),
            complete: completeness_text(s.complete_up_to),
            last_run: super::labels::when_opt(s.last_run_at),
            next_run: when(s.next_run_at),
            checked: super::labels::when_opt(s.last_checked_at),
            gaps: s.gap_count,
            error: s.last_error,
        })
        .collect();
    let mut months: Vec<MonthLine> = purchase_sync::months(st, &me.caller, &client.id)
        .await?
        .into_iter()
        .map(|m| {
            let (state, complete) = match m.state {
                MonthState::Complete => ("kompletny".to_owned(), true),
                MonthState::CompleteUpTo { at } => (format!("kompletny do {}", when(at)), false),
                MonthState::Open => ("jeszcze niezamknięty".to_owned(), false),
            };
            MonthLine {
                month: m.month.format("%m.%Y").to_string(),
                role: m.subject_type.label_pl(),
                stored: m.stored,
                state,
                complete,
            }
        })
        .collect();
    months.reverse();
    Ok((sync, months))
}

/// Renders a list page (across clients when `client` is None).
async fn list_page(
    st: &AppState,
    me: &PanelUser,
    client: Option<ClientView>,
    form: ListForm,
) -> Result<HttpResponse, PanelError> {
    let (action, list_key) = match &client {
        Some(c) => (format!("/klienci/{}/faktury-zakupowe", c.nip), format!("purchases:{}", c.id)),
        None => ("/faktury-zakupowe".to_owned(), "purchases".to_owned()),
    };
    let previous = crate::service::panel_views::visit_list(st, &me.user, list_key).await?;
    let carried = filled(&form.nowe_od)
        .and_then(|v| v.parse::<i64>().ok())
        .and_then(chrono::DateTime::from_timestamp_micros)
        .map(|t| t.naive_utc());
    let new_since = carried.or(previous);
    let readable: Vec<ClientView> = clients::list_visible(st, &me.caller)
        .await?
        .into_iter()
        .filter(|c| may(c, Permission::Read))
        .collect();
    let marks = purchases::completeness(st, &me.caller).await?;
    let completeness = readable
        .iter()
        .filter(|c| client.as_ref().is_none_or(|only| only.id == c.id))
        .map(|c| Completeness {
            client: c.name.clone(),
            nip: c.nip.clone(),
            text: completeness_text(marks.iter().find(|(id, _)| *id == c.id).and_then(|(_, h)| *h)),
        })
        .collect();
    let (sync, months) = match &client {
        Some(c) => sync_state(st, me, c).await?,
        None => (Vec::new(), Vec::new()),
    };
    let (page, error) = match form.query(client.as_ref().map(|c| c.nip.to_string())) {
        Ok(q) => (purchases::list(st, &me.caller, q).await?, None),
        Err(why) => (Default::default(), Some(why)),
    };
    let mut pairs = form.filter_pairs();
    if client.is_some() {
        pairs.retain(|(k, _)| *k != "nip");
    }
    let mut export_pairs = pairs.clone();
    if let Some(c) = &client {
        export_pairs.push(("nip", c.nip.to_string()));
    }
    if let Some(t) = new_since {
        pairs.push(("nowe_od", t.and_utc().timestamp_micros().to_string()));
    }
    let page_link = |cursor: &String| {
        let mut p = pairs.clone();
        p.push(("strona", cursor.clone()));
        link(&action, &p)
    };
    let shown = i64::try_from(page.invoices.len()).unwrap_or(i64::MAX);
    let chosen_sort = filled(&form.sortuj).unwrap_or_else(|| "-issue_date".to_owned());
    let title = match &client {
        Some(c) => format!("{} – faktury zakupowe", c.name),
        None => "Faktury zakupowe".to_owned(),
    };
    let chosen_nip = filled(&form.nip);
    let page = ListPage {
        layout: Layout::for_user(title, me),
        clients: readable
            .iter()
            .map(|c| Choice {
                value: c.nip.to_string(),
                label: format!("{} – {}", c.nip, c.name),
                selected: chosen_nip.as_deref() == Some(c.nip.as_str()),
            })
            .collect(),
        sorts: SORTS
            .iter()
            .map(|(v, l)| Choice {
                value: (*v).to_owned(),
                label: (*l).to_owned(),
                selected: *v == chosen_sort,
            })
            .collect(),
        first: if shown == 0 { 0 } else { page.offset + 1 },
        last: page.offset + shown,
        total: page.total,
        next: page.next_cursor.as_ref().map(page_link),
        prev: page.prev_cursor.as_ref().map(page_link),
        rows: page.invoices.into_iter().map(|s| Row::new(s, new_since)).collect(),
        csv: link("/faktury-zakupowe/eksport.csv", &export_pairs),
        headers: sort_headers(&action, &pairs, &chosen_sort, &SORT_COLUMNS),
        has_baseline: new_since.is_some(),
        completeness,
        sync,
        months,
        error,
        client,
        action,
        form,
    };
    ok(&page)
}

#[get("/faktury-zakupowe")]
async fn all_clients(
    st: web::Data<AppState>,
    me: PanelUser,
    q: web::Query<ListForm>,
) -> Result<HttpResponse, PanelError> {
    list_page(&st, &me, None, q.into_inner()).await
}

#[get("/klienci/{nip}/faktury-zakupowe")]
async fn one_client(
    st: web::Data<AppState>,
    me: PanelUser,
    nip: web::Path<String>,
    q: web::Query<ListForm>,
) -> Result<HttpResponse, PanelError> {
    let client = clients::find_visible(&st, &me.caller, &crate::http::id_in_path(&nip)?).await?;
    if !may(&client, Permission::Read) {
        return Err(AppError::Forbidden.into());
    }
    list_page(&st, &me, Some(client), q.into_inner()).await
}

/// `GET /faktury-zakupowe/eksport.csv?…`: the filtered list (all pages) for a spreadsheet.
#[get("/faktury-zakupowe/eksport.csv")]
async fn export_csv(
    st: web::Data<AppState>,
    me: PanelUser,
    q: web::Query<ListForm>,
) -> Result<HttpResponse, PanelError> {
    let mut query = q.query(None).map_err(AppError::invalid)?;
    query.cursor = None;
    let bytes = crate::service::purchase_export::csv(&st, &me.caller, query).await?;
    Ok(file("text/csv; charset=utf-8", Disposition::Attachment, "faktury-zakupowe.csv", bytes))
}

#[derive(Template)]
#[template(path = "panel/purchase.html")]
struct InvoicePage {
    layout: Layout,
    inv: purchases::PurchaseView,
    issue_date: String,
    net: String,
    vat: String,
    gross: String,
    acquired: String,
    stored: String,
    fetched: String,
    role: &'static str,
    completeness: String,
    base: String,
}

fn role_pl(role: &str) -> &'static str {
    crate::domain::PurchaseRole::parse(role).map_or("—", crate::domain::PurchaseRole::label_pl)
}

#[get("/klienci/{nip}/faktury-zakupowe/{ksef_number}")]
async fn invoice(
    st: web::Data<AppState>,
    me: PanelUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PanelError> {
    let (nip, ksef_number) = path.into_inner();
    let inv = purchases::get(&st, &me.caller, &ksef_number, Some(nip)).await?;
    let s = &inv.summary;
    let page = InvoicePage {
        layout: Layout::for_user(format!("Faktura zakupowa {}", s.invoice_number), &me),
        issue_date: day(s.issue_date),
        net: money(s.net_minor, &s.currency),
        vat: money(s.vat_minor, &s.currency),
        gross: money(s.gross_minor, &s.currency),
        acquired: when(s.acquisition_date),
        stored: when(s.stored_at),
        fetched: super::labels::when_opt(inv.xml_fetched_at),
        role: role_pl(&inv.client_role),
        completeness: completeness_text(inv.complete_up_to),
        base: format!("/klienci/{}/faktury-zakupowe/{}", s.client_nip, s.ksef_number),
        inv,
    };
    ok(&page)
}

#[get("/klienci/{nip}/faktury-zakupowe/{ksef_number}/xml")]
async fn xml(
    st: web::Data<AppState>,
    me: PanelUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PanelError> {
    let (nip, ksef_number) = path.into_inner();
    let (inv, _, bytes) = purchases::xml(&st, &me.caller, &ksef_number, Some(nip)).await?;
    let name = purchases::download_name(&inv.ksef_number, "xml");
    Ok(file("application/xml", Disposition::Attachment, &name, bytes))
}

#[get("/klienci/{nip}/faktury-zakupowe/{ksef_number}/pdf")]
async fn pdf(
    st: web::Data<AppState>,
    me: PanelUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PanelError> {
    let (nip, ksef_number) = path.into_inner();
    let (inv, bytes) =
        crate::service::invoice_pdf::render_purchase(&st, &me.caller, &ksef_number, Some(nip), Lang::Pl)
            .await?;
    let name = purchases::download_name(&inv.ksef_number, "pdf");
    Ok(file("application/pdf", Disposition::Inline, &name, bytes))
}
