//! `GET /klienci/{nip}`: one client's invoices (searched, filtered by states, issue dates and
//! amounts, sorted by any column, keyset pages with counts), the upload form, and the bulk form
//! (send, PDF zip) with its checkboxes: this page's rows, or every invoice matching the filter.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::forms::Fields;
use super::labels::{day, gross_pl, state_options};
use super::list_form::{
    amount_field, check_ranges, day_field, filled, link, sort_headers, SortColumn, SortHeader,
};
use super::{may, ok, see_other, Layout, PanelError, PanelUser};
use crate::auth::Permission;
use crate::domain::{grouped, InvoiceId, SendPolicy};
use crate::service::clients::{self, ClientView};
use crate::service::findings::Lang;
use crate::service::invoices::{self, BulkAction, InvoiceSummary, ListQuery};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(client_page).service(refresh_statuses).service(pdf_zip);
}

/// How many invoices one page lists; the rest are a "next page" away.
const PAGE_SIZE: i64 = 50;

/// The most invoices one "all matching" decision to send covers (a PDF zip: its own bound).
pub(super) const MAX_SEND_ALL: i64 = 5_000;

/// Where the list is: "51–100 z 2 013", and the links to the pages around it.
struct Paging {
    /// 1-based position of the first row shown, and of the last, and the total, as Polish
    /// pages group digits.
    first: String,
    last: String,
    total: String,
    /// More invoices match than this page shows: "all matching" is offered.
    beyond_page: bool,
    next: Option<String>,
    prev: Option<String>,
}

/// The sortable columns, by the API's names of the orders.
const SORT_COLUMNS: [SortColumn; 6] = [
    ("sortuj-numer", "Numer", "number", false),
    ("sortuj-data", "Data wystawienia", "issue_date", true),
    ("sortuj-stan", "Stan", "state", false),
    ("sortuj-nabywca", "Nabywca", "buyer", false),
    ("sortuj-brutto", "Brutto", "gross", true),
    ("sortuj-wplynela", "Wpłynęła", "received", true),
];

/// The client page's list filters as the form sends them (text; blank meaning "any"); several
/// `stan` may be ticked.
#[derive(Debug, Clone, Default)]
pub(super) struct SalesListForm {
    szukaj: Option<String>,
    stan: Vec<String>,
    od: Option<String>,
    do_: Option<String>,
    brutto_od: Option<String>,
    brutto_do: Option<String>,
    sortuj: Option<String>,
}

impl SalesListForm {
    /// The form from query pairs (other names ignored: a page's address carries more).
    pub(super) fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut f = Self::default();
        for (k, v) in pairs {
            let v = Some(v.to_owned());
            match k {
                "szukaj" => f.szukaj = v,
                "stan" => f.stan.extend(filled(&v)),
                "od" => f.od = v,
                "do" => f.do_ = v,
                "brutto_od" => f.brutto_od = v,
                "brutto_do" => f.brutto_do = v,
                "sortuj" => f.sortuj = v,
                _ => {}
            }
        }
        f
    }

    /// The form from a query string (the page's own, or a bulk form's `filtr`).
    pub(super) fn from_query_string(raw: &str) -> Self {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(raw.as_bytes()).into_owned().collect();
        Self::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// The filter and order fields (not the page), as query pairs for links.
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out: Vec<(&'static str, String)> =
            filled(&self.szukaj).map(|v| ("szukaj", v)).into_iter().collect();
        out.extend(self.stan.iter().map(|s| ("stan", s.clone())));
        let rest = [
            ("od", &self.od),
            ("do", &self.do_),
            ("brutto_od", &self.brutto_od),
            ("brutto_do", &self.brutto_do),
            ("sortuj", &self.sortuj),
        ];
        out.extend(rest.into_iter().filter_map(|(k, v)| filled(v).map(|v| (k, v))));
        out
    }

    /// The query for the service (one client's list), or what is wrong with the form, in Polish.
    pub(super) fn query(&self, nip: &str) -> Result<ListQuery, String> {
        let issued_from = day_field("wystawiona od", &self.od)?;
        let issued_to = day_field("wystawiona do", &self.do_)?;
        let min_gross = amount_field("brutto od", &self.brutto_od)?;
        let max_gross = amount_field("brutto do", &self.brutto_do)?;
        check_ranges((issued_from, issued_to), (min_gross, max_gross))?;
        invoices::parse_states(&self.stan)
            .map_err(|_| "Nieznany stan faktury – wybierz stany z listy.".to_owned())?;
        let sort = filled(&self.sortuj);
        if sort.as_deref().is_some_and(|s| invoices::parse_sort(s).is_none()) {
            return Err("Nieznany porządek sortowania – wybierz kolumnę w nagłówku tabeli.".into());
        }
        Ok(ListQuery {
            nip: Some(nip.to_owned()),
            states: self.stan.clone(),
            issued_from,
            issued_to,
            min_gross,
            max_gross,
            text: filled(&self.szukaj),
            sort,
            limit: Some(PAGE_SIZE),
            ..ListQuery::default()
        })
    }
}

/// The invoices a bulk form acts on: those ticked (`ids`, and for the PDF zip `pdf_ids`), or,
/// with "wszystkie" ticked, every invoice of the client matching the list's filter (`filtr`)
/// that the person may act on. The second value is the filter when it was used.
pub(super) async fn bulk_ids(
    st: &AppState,
    me: &PanelUser,
    client: &ClientView,
    form: &Fields,
    action: BulkAction,
) -> Result<(Vec<InvoiceId>, Option<String>), PanelError> {
    if !form.ticked("wszystkie") {
        let mut ids = form.all("ids");
        let ids = match action {
            BulkAction::Send => crate::http::ids_in_body(&ids)?,
            BulkAction::Pdf => {
                ids.extend(form.all("pdf_ids"));
                crate::service::invoice_pdf::chosen(&ids)?
            }
        };
        return Ok((ids, None));
    }
    let raw = form.text("filtr");
    let query =
        SalesListForm::from_query_string(&raw).query(&client.nip).map_err(crate::error::AppError::invalid)?;
    let cap = match action {
        BulkAction::Send => MAX_SEND_ALL,
        BulkAction::Pdf => i64::try_from(crate::service::invoice_pdf::MAX_BULK).unwrap_or(i64::MAX),
    };
    let ids = invoices::matching_ids(st, &me.caller, query, action, cap).await?;
    Ok((ids, Some(raw)))
}

pub struct InvoiceRow {
    id: InvoiceId,
    number: String,
    state: String,
    letter: &'static str,
    buyer: String,
    /// P_1 as Polish pages show days.
    issued: String,
    gross: String,
    /// When the gateway received it.
    received: String,
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
        let state = s.head.state;
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
            letter: s.head.status_letter.unwrap_or(""),
            number: s.head.number.unwrap_or_else(|| "(bez numeru)".into()),
            buyer: s.buyer_name.unwrap_or_default(),
            issued: s.issue_date.map(day).unwrap_or_default(),
            received: super::labels::when(s.created_at),
            gross: gross_pl(s.gross_minor, s.gross_total, s.currency),
            ksef_number: s.head.ksef_number.unwrap_or_default(),
            problems,
            id: s.head.id,
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
    /// The list's filter and order as a query string (the bulk form's "all matching" acts on it).
    filter: String,
    /// Some filter is set (the empty list says "matching the filter").
    filtered: bool,
    form_text: String,
    form_from: String,
    form_to: String,
    form_min: String,
    form_max: String,
    sort: String,
    headers: Vec<SortHeader>,
    /// What is wrong with the filter form, shown beside it.
    error: Option<String>,
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

#[derive(Deserialize, Default)]
struct Marks {
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

/// `POST /klienci/{nip}/pdf` ("Pobierz PDF (zip)"): the checked invoices' visualisations (or
/// those of every invoice matching the filter) as one zip, through the same form (and CSRF
/// token) as the send buttons.
#[post("/klienci/{nip}/pdf")]
async fn pdf_zip(
    st: web::Data<AppState>,
    me: PanelUser,
    nip: web::Path<String>,
    form: Fields,
) -> Result<HttpResponse, PanelError> {
    let client = me.client_for_form(&st, &nip, &form).await?;
    let (ids, _) = bulk_ids(&st, &me, &client, &form, BulkAction::Pdf).await?;
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
    req: HttpRequest,
) -> Result<HttpResponse, PanelError> {
    let client = clients::find_visible(&st, &me.caller, &crate::http::id_in_path(&nip)?).await?;
    let form = SalesListForm::from_query_string(req.query_string());
    let marks =
        web::Query::<Marks>::from_query(req.query_string()).map(web::Query::into_inner).unwrap_or_default();
    let refresh = marks.statusy.map(|n| refresh_note(n, marks.od_razu.unwrap_or(false)));
    let policy = client.send_policy;
    // Someone who manages access without reading invoices sees the page without its list.
    let (page, error) = match form.query(&client.nip) {
        Ok(mut q) if may(&client, Permission::Read) => {
            q.cursor = marks.strona.clone();
            (invoices::list(&st, &me.caller, q).await?, None)
        }
        Ok(_) => (invoices::InvoicePage::default(), None),
        Err(why) => (invoices::InvoicePage::default(), Some(why)),
    };
    let pairs = form.pairs();
    let action = format!("/klienci/{}", client.nip);
    let page_link = |c: &String| {
        let mut p = pairs.clone();
        p.push(("strona", c.clone()));
        link(&action, &p)
    };
    let shown = i64::try_from(page.invoices.len()).unwrap_or(i64::MAX);
    let paging = Paging {
        first: grouped(if shown == 0 { 0 } else { page.offset + 1 }, ' '),
        last: grouped(page.offset + shown, ' '),
        total: grouped(page.total, ' '),
        beyond_page: page.total > shown,
        next: page.next_cursor.as_ref().map(page_link),
        prev: page.prev_cursor.as_ref().map(page_link),
    };
    let chosen_sort = filled(&form.sortuj).unwrap_or_else(|| invoices::sort_text(invoices::DEFAULT_ORDER));
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
        headers: sort_headers(&action, &pairs, &chosen_sort, &SORT_COLUMNS),
        filtered: pairs.iter().any(|(k, _)| *k != "sortuj"),
        filter: link("", &pairs).trim_start_matches('?').to_owned(),
        form_text: filled(&form.szukaj).unwrap_or_default(),
        form_from: filled(&form.od).unwrap_or_default(),
        form_to: filled(&form.do_).unwrap_or_default(),
        form_min: filled(&form.brutto_od).unwrap_or_default(),
        form_max: filled(&form.brutto_do).unwrap_or_default(),
        sort: chosen_sort,
        error,
        states: state_options()
            .into_iter()
            .map(|(value, label)| StateOption {
                value,
                label,
                selected: form.stan.iter().any(|s| s == value),
            })
            .collect(),
        client,
        rows,
        paging,
    };
    ok(&page)
}
