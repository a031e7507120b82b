//! The JSON API under `/api/v1`: used by client systems with API keys and by scripts; the
//! panel's own pages live under `/`.

mod audit;
mod clients;
mod invoices;
mod session;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .configure(session::routes)
            .configure(invoices::routes)
            .configure(clients::routes)
            .configure(audit::routes),
    );
}

/// A query parameter date `YYYY-MM-DD` (start of that day, UTC) or a full timestamp.
pub(crate) fn parse_time(key: &str, raw: &str) -> Result<chrono::NaiveDateTime, crate::error::AppError> {
    if let Ok(d) = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default());
    }
    chrono::DateTime::parse_from_rfc3339(raw).map(|t| t.naive_utc()).map_err(|_| {
        crate::error::AppError::invalid(format!(
            "{key}: expected YYYY-MM-DD or an RFC 3339 time, got {raw:?}"
        ))
    })
}
