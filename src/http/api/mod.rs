//! The JSON API under `/api/v1`: used by client systems with API keys and by scripts; the
//! panel's own pages live under `/`.

mod audit;
mod certificates;
mod clients;
mod collective;
mod doc;
mod invoices;
mod office;
mod openapi_types;
mod purchases;
mod session;
mod webhooks;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .service(openapi)
            .configure(session::routes)
            .configure(invoices::routes)
            .configure(purchases::routes)
            .configure(clients::routes)
            .configure(collective::routes)
            .configure(office::routes)
            .configure(certificates::routes)
            .configure(audit::routes)
            .configure(webhooks::routes)
            .default_service(web::to(crate::http::fallback))
            .wrap(actix_web::middleware::from_fn(crate::http::middleware::json_errors)),
    );
}

/// The API's own description, generated from the handlers (see [`doc`]).
#[actix_web::get("/openapi.json")]
async fn openapi() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().content_type("application/json").body(openapi_json())
}

/// The OpenAPI document as JSON text, built once.
pub fn openapi_json() -> &'static str {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DOC.get_or_init(doc::json)
}

/// The language an answer is written in (PDFs, findings): English for `Accept-Language: en`,
/// Polish otherwise.
pub(crate) fn lang(req: &actix_web::HttpRequest) -> crate::domain::Lang {
    crate::domain::Lang::from_accept_language(
        req.headers().get(actix_web::http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()),
    )
}

/// An optional query parameter: absent and empty (`?from=`) both mean "not given" (forms and
/// scripts send empty fields); anything else must parse as `T`, or the request is refused.
pub(crate) fn blank_as_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let raw: Option<String> = serde::Deserialize::deserialize(d)?;
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|e| serde::de::Error::custom(format!("{v:?}: {e}"))),
    }
}

/// An amount parameter (`2051`, `2051.50`) in minor units; anything else is 400.
pub(crate) fn amount(key: &str, raw: Option<String>) -> Result<Option<i64>, crate::error::AppError> {
    raw.map(|r| {
        crate::domain::parse_amount(&r).ok_or_else(|| {
            crate::error::AppError::bad_query(format!(
                "{key}: expected an amount like 2051 or 2051.50, got {r:?}"
            ))
        })
    })
    .transpose()
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
