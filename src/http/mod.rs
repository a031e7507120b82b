//! The HTTP surface: thin handlers that extract, call a service, and map the result.

pub mod api;
pub mod auth;
pub mod authenticate;
pub mod health;
pub mod middleware;
pub mod panel;
pub mod qr_svg;
pub mod spool;

use actix_web::web;

/// Registers every authenticated-scope route (all but `/metrics`, see `server::configure`).
/// Used by `serve`, `demo` and the tests alike.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(health::healthz).service(health::readyz).configure(api::routes).configure(panel::routes);
}

/// Requests no route takes: 405 when the path is a known route asked with another method (so a
/// client learns its method is wrong, not that the route is missing), 404 otherwise; both in
/// the API's error shape.
pub async fn fallback(
    req: actix_web::HttpRequest,
) -> Result<actix_web::HttpResponse, crate::error::AppError> {
    if req.resource_map().has_resource(req.path()) {
        Err(crate::error::AppError::MethodNotAllowed)
    } else {
        Err(crate::error::AppError::NotFound)
    }
}

/// How a downloaded file is offered: shown in the browser (a PDF) or saved (XML, CSV).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    Inline,
    Attachment,
}

/// A file answer: its content type, how it is offered and its name (which the caller made safe
/// for a header).
pub fn file(
    content_type: &str,
    disposition: Disposition,
    name: &str,
    body: Vec<u8>,
) -> actix_web::HttpResponse {
    let how = match disposition {
        Disposition::Inline => "inline",
        Disposition::Attachment => "attachment",
    };
    actix_web::HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((actix_web::http::header::CONTENT_DISPOSITION, format!("{how}; filename=\"{name}\"")))
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// An id (`InvoiceId`, `ClientId`, …) named in a URL path or a form: text that is no id names
/// nothing, so it is the same 404 as an id nobody has (actix's typed `web::Path<InvoiceId>`
/// would answer 400 instead).
pub fn id_in_path<T: std::str::FromStr>(raw: &str) -> Result<T, crate::error::AppError> {
    raw.parse().map_err(|_| crate::error::AppError::NotFound)
}

/// Ids named in a request body or form, each read as [`id_in_path`] reads one: any text that
/// is no id among them is the 404 an unknown id among them gives.
pub fn ids_in_body<T: std::str::FromStr>(raw: &[String]) -> Result<Vec<T>, crate::error::AppError> {
    raw.iter().map(|id| id_in_path(id)).collect()
}

/// [`id_in_path`] for a lookup that a permission check comes before (a webhook endpoint, an API
/// key): text that is no id gets what an unknown id gets there, `check`'s refusal (403) first,
/// then the 404. `check` runs only for such text; a real id is checked by the lookup itself.
pub async fn id_in_path_checked<T: std::str::FromStr>(
    raw: &str,
    check: impl std::future::Future<Output = Result<(), crate::error::AppError>>,
) -> Result<T, crate::error::AppError> {
    match id_in_path(raw) {
        Ok(id) => Ok(id),
        Err(not_found) => {
            check.await?;
            Err(not_found)
        }
    }
}
