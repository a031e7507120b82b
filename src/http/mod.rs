//! The HTTP surface: thin handlers that extract, call a service, and map the result.

pub mod health;
pub mod metrics;
pub mod middleware;

use actix_web::web;

/// Registers every route. Used by `serve`, `demo` and the tests alike.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(health::healthz).service(health::readyz).service(health::metrics);
}
