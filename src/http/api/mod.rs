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
            .service(openapi)
            .configure(session::routes)
            .configure(invoices::routes)
            .configure(clients::routes)
            .configure(audit::routes)
            .default_service(web::to(not_found)),
    );
}

/// The API's own description (kept in `docs/openapi.json`; a test checks it matches the routes).
#[actix_web::get("/openapi.json")]
async fn openapi() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("application/json")
        .body(include_str!("../../../docs/openapi.json"))
}

/// Unknown API routes answer in the API's error shape.
async fn not_found() -> Result<actix_web::HttpResponse, crate::error::AppError> {
    Err(crate::error::AppError::NotFound)
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
