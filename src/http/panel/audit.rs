//! `GET /audyt`: the audit export form. The report itself comes from the API
//! (`/api/v1/audit`), which checks the caller's `audit` permission and records the export;
//! `/audyt/pobierz` only turns the form's fields into that API's query: blank fields are left
//! out, and "to day X" includes day X (the API's `to` is exclusive); days are Warsaw days. The
//! CSV for Polish Excel is the panel's own download (the API's CSV contract stays as it is).

use actix_web::{get, web, HttpResponse};
use askama::Template;
use chrono::{Days, NaiveDate};
use futures_util::StreamExt;
use serde::Deserialize;

use super::{may, ok, see_other, Layout, PanelError, PanelUser};
use crate::auth::Permission;
use crate::error::AppError;
use crate::service::audit::ChainVerdict;
use crate::service::audit_screen;
use crate::service::clients::{self, ClientView};
use crate::service::reports::{self, ReportFormat, ReportQuery};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(audit_page).service(download);
}

#[derive(Template)]
#[template(path = "panel/audit.html")]
struct AuditPage {
    layout: Layout,
    clients: Vec<ClientView>,
    /// The filters as chosen (they fill the form again).
    q: ExportForm,
    /// None when the person may read no client's trail.
    screen: Option<Screen>,
}

struct Screen {
    rows: Vec<Row>,
    /// The link to the next (older) page, keeping the filters.
    older: Option<String>,
    /// The page is not the first one.
    paged: bool,
    intact: bool,
    verdict: String,
}

struct Row {
    seq: i64,
    at: String,
    who: String,
    nip: String,
    action: String,
    details: String,
}

/// `GET /audyt?nip=&user=&from=&to=&przed=`: the events matching the filters, newest first,
/// 50 per page (`przed` = the keyset cursor), with the chain's verdict; and the export form.
#[get("/audyt")]
async fn audit_page(
    st: web::Data<AppState>,
    me: PanelUser,
    q: web::Query<ExportForm>,
) -> Result<HttpResponse, PanelError> {
    let q = q.into_inner();
    let clients: Vec<ClientView> = clients::list_visible(&st, &me.caller)
        .await?
        .into_iter()
        .filter(|c| may(c, Permission::Audit))
        .collect();
    let screen = if clients.is_empty() { None } else { Some(screen(&st, &me, &q).await?) };
    ok(&AuditPage { layout: Layout::for_user("Dziennik audytu", &me), clients, q, screen })
}

async fn screen(st: &AppState, me: &PanelUser, q: &ExportForm) -> Result<Screen, PanelError> {
    let before = match q.przed.trim() {
        "" => None,
        raw => Some(raw.parse::<i64>().map_err(|_| {
            AppError::invalid_field("przed", "bad_cursor", "przed: a page cursor from this screen")
        })?),
    };
    let page = audit_screen::page(st, &me.caller, query(q)?, before).await?;
    let older = page.older.map(|seq| {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        url.extend_pairs([
            ("nip", q.nip.trim()),
            ("user", q.user.trim()),
            ("from", q.from.trim()),
            ("to", q.to.trim()),
        ]);
        url.append_pair("przed", &seq.to_string());
        format!("/audyt?{}", url.finish())
    });
    let (intact, verdict) = match page.verdict {
        ChainVerdict::Intact { events } => {
            (true, format!("nienaruszony ({events} zdarzeń w całym dzienniku)"))
        }
        ChainVerdict::Broken { seq, reason } => {
            (false, format!("NARUSZONY przy zdarzeniu nr {seq}: {reason}"))
        }
    };
    let rows = page
        .events
        .into_iter()
        .map(|e| Row {
            seq: e.seq,
            at: crate::local_time::display(e.at),
            who: e.who,
            nip: e.client_nip,
            action: e.action,
            details: e.details,
        })
        .collect();
    Ok(Screen { rows, older, paged: before.is_some(), intact, verdict })
}

/// The filters as a report query: blank fields left out, days as Warsaw days, "to day X"
/// including day X (up to the midnight that ends it).
fn query(q: &ExportForm) -> Result<ReportQuery, AppError> {
    let (from, to) = days(q)?;
    let blank = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    Ok(ReportQuery {
        nip: blank(&q.nip),
        user_id: blank(&q.user),
        from: from.map(crate::local_time::start_of_day_utc),
        to: to.map(|d| crate::local_time::start_of_day_utc(d.checked_add_days(Days::new(1)).unwrap_or(d))),
    })
}

#[derive(Deserialize, Default)]
struct ExportForm {
    #[serde(default)]
    nip: String,
    /// A person's e-mail address (or user id).
    #[serde(default)]
    user: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    format: String,
    /// The audit screen's keyset cursor: show events older than this `seq`.
    #[serde(default)]
    przed: String,
}

fn day(field: &str, raw: &str) -> Result<Option<NaiveDate>, AppError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| AppError::invalid(format!("{field}: podaj datę (dd.mm.rrrr)")))
}

/// The form's days, checked (a start after the end is refused here, on a Polish page).
fn days(q: &ExportForm) -> Result<(Option<NaiveDate>, Option<NaiveDate>), AppError> {
    let (from, to) = (day("od dnia", &q.from)?, day("do dnia", &q.to)?);
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).unwrap_or_default();
    crate::service::validate::range(from.map(midnight), to.map(midnight))?;
    Ok((from, to))
}

/// The CSV for Polish Excel, streamed straight from the panel (the API's CSV keeps its own
/// contract): the same report plan, access check and recorded export as the API's.
async fn excel(st: &AppState, me: &PanelUser, q: &ExportForm) -> Result<HttpResponse, PanelError> {
    let format = ReportFormat::ExcelCsv;
    let plan = reports::plan(st, &me.caller, query(q)?, format, crate::pdf::Lang::Pl).await?;
    let body = reports::stream(st.db.clone(), plan, format).map(|chunk| chunk.map(web::Bytes::from));
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header(("Content-Disposition", "attachment; filename=\"dziennik-audytu.csv\""))
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .streaming(body))
}

/// `GET /audyt/pobierz`: redirects to the API's report with the form's non-empty fields; the
/// CSV for Excel (`format=excel`) comes from the panel itself.
#[get("/audyt/pobierz")]
async fn download(
    st: web::Data<AppState>,
    me: PanelUser,
    q: web::Query<ExportForm>,
) -> Result<HttpResponse, PanelError> {
    let q = q.into_inner();
    if q.format == "excel" {
        return excel(&st, &me, &q).await;
    }
    let mut url = url::form_urlencoded::Serializer::new(String::new());
    if !q.nip.trim().is_empty() {
        url.append_pair("nip", q.nip.trim());
    }
    if !q.user.trim().is_empty() {
        url.append_pair("user", q.user.trim());
    }
    let (from, to) = days(&q)?;
    // The days are Warsaw days, as everywhere in the panel; the API gets their bounds with offset.
    if let Some(from) = from {
        url.append_pair("from", &crate::local_time::start_of_day_rfc3339(from));
    }
    if let Some(to) = to {
        let next = to.checked_add_days(Days::new(1)).unwrap_or(to);
        url.append_pair("to", &crate::local_time::start_of_day_rfc3339(next));
    }
    let format = match q.format.as_str() {
        "json" => "json",
        "pdf" => "pdf",
        _ => "csv",
    };
    url.append_pair("format", format);
    Ok(see_other(&format!("/api/v1/audit?{}", url.finish())))
}
