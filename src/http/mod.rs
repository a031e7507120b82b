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
