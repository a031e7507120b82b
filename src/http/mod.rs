//! The HTTP surface: thin handlers that extract, call a service, and map the result.

pub mod api;
pub mod auth;
pub mod client_ip;
pub mod health;
pub mod metrics;
pub mod middleware;
pub mod panel;
pub mod qr_svg;
pub mod throttle;

use actix_web::web;

/// Registers every authenticated-scope route (all but `/metrics`, see `server::configure`).
/// Used by `serve`, `demo` and the tests alike.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(health::healthz).service(health::readyz).configure(api::routes).configure(panel::routes);
}
