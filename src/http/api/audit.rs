//! `GET /api/v1/audit`: the audit report as CSV, JSON or PDF, streamed as it is written.

use actix_web::{get, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Deserialize;

use super::openapi_types::Errors;
use crate::error::{AppError, Refusal};
use crate::service::access::Caller;
use crate::service::reports::{self, ReportFormat, ReportQuery};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(export);
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default, deserialize_with = "super::blank_as_none")]
    nip: Option<String>,
    #[serde(default, deserialize_with = "super::blank_as_none")]
    user: Option<String>,
    #[serde(default, deserialize_with = "super::blank_as_none")]
    from: Option<String>,
    #[serde(default, deserialize_with = "super::blank_as_none")]
    to: Option<String>,
    #[serde(default, deserialize_with = "super::blank_as_none")]
    format: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    operation_id = "audit_export",
    summary = "Audit report with the chain's verdict (CSV, JSON or PDF), streamed",
    description = "Events the caller may read (permission audit), filtered by client, person and period, read in keyset pages and streamed as they are written. format=pdf gives a printable report (Polish, or English with Accept-Language: en): title page with scope, period, generation time (Europe/Warsaw) and who generated it, one row per event (decisions with invoice numbers and hashes, KSeF answers, logins, grants, keys, credentials), page numbers, the chain head hash and how to verify it with `ksef-gateway audit verify`. The export is itself an audit event. An empty period gives a report that says so.",
    params(
        ("nip" = Option<String>, Query, description = "Client NIP"),
        ("user" = Option<String>, Query, description = "A person: user id or e-mail address (404 when unknown)"),
        ("from" = Option<String>, Query, description = "YYYY-MM-DD; from after to is 400 invalid_range"),
        ("to" = Option<String>, Query, description = "YYYY-MM-DD; from after to is 400 invalid_range"),
        ("format" = Option<String>, Query, description = "json (default), csv or pdf; any other format is 400 unsupported_format"),
        ("Accept-Language" = Option<String>, Header, description = "en for an English PDF report; Polish otherwise"),
    ),
    responses(
        (status = 200, description = "OK", content(("application/json"), ("text/csv"), ("application/pdf"))),
        Errors<400, 401, 403, 404, 405, 422, 429>,
    ),
)]
#[get("/audit")]
async fn export(
    st: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    q: web::Query<Params>,
) -> Result<HttpResponse, AppError> {
    let q = q.into_inner();
    // A format we cannot render is refused outright: answering another one instead would
    // hand an auditor a file that is not what was asked for.
    let format = ReportFormat::parse(q.format.as_deref().unwrap_or("json"))
        .map_err(|message| AppError::Refused { refusal: Refusal::UnsupportedFormat, message })?;
    let query = ReportQuery {
        nip: q.nip,
        user_id: q.user,
        from: q.from.as_deref().map(|v| super::parse_time("from", v)).transpose()?,
        to: q.to.as_deref().map(|v| super::parse_time("to", v)).transpose()?,
    };
    let plan = reports::plan(&st, &caller, query, format, super::lang(&req)).await?;
    let body = reports::stream(st.db.clone(), plan, format).map(|chunk| chunk.map(web::Bytes::from));
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"audit.{}\"", format.extension()),
        ))
        .streaming(body))
}
