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
}

#[get("/audyt")]
async fn audit_page(st: web::Data<AppState>, me: PanelUser) -> Result<HttpResponse, PanelError> {
    let clients = clients::list_visible(&st, &me.caller)
        .await?
        .into_iter()
        .filter(|c| may(c, Permission::Audit))
        .collect();
    ok(&AuditPage { layout: Layout::for_user("Dziennik audytu", &me), clients })
}

#[derive(Deserialize)]
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
    let (from, to) = days(q)?;
    let blank = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    let query = ReportQuery {
        nip: blank(&q.nip),
        user_id: blank(&q.user),
        from: from.map(crate::local_time::start_of_day_utc),
        // "To day X" includes day X: up to the midnight that ends it.
        to: to.map(|d| crate::local_time::start_of_day_utc(d.checked_add_days(Days::new(1)).unwrap_or(d))),
    };
    let format = ReportFormat::ExcelCsv;
    let plan = reports::plan(st, &me.caller, query, format, crate::pdf::Lang::Pl).await?;
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
