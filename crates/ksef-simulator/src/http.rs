//! The actix-web application: routes, fault injection, rate limits, error rendering.

use std::sync::Arc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use rand::Rng;

use crate::app::{client_ip, AppState};
use crate::errors::ApiError;
use crate::faults::{Burst, FaultHandle, OutageScope};
use crate::jwt::bearer;
use crate::limits::group_of;
use crate::routes;

/// Registers every route on `cfg`.
pub fn configure(state: Arc<AppState>) -> impl Fn(&mut web::ServiceConfig) + Clone {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::from(state.clone()))
            .app_data(web::JsonConfig::default().limit(16 * 1024 * 1024).error_handler(|err, _req| {
                actix_web::Error::from(ApiError::validation(format!("Nieprawidłowe żądanie JSON: {err}")))
            }))
            .app_data(web::QueryConfig::default().error_handler(|err, _req| {
                actix_web::Error::from(ApiError::validation(format!("Nieprawidłowe parametry: {err}")))
            }))
            .app_data(web::PayloadConfig::new(200 * 1024 * 1024))
            .service(
                web::scope("/v2")
                    .wrap(actix_web::middleware::from_fn(gate))
                    .configure(routes::security::configure)
                    .configure(routes::auth_sessions::configure)
                    .configure(routes::xades::configure)
                    .configure(routes::auth::configure)
                    .configure(routes::online::configure)
                    .configure(routes::status::configure)
                    .configure(routes::batch::configure)
                    .configure(routes::invoices::configure)
                    .configure(routes::exports::configure)
                    .configure(routes::tokens::configure)
                    .configure(routes::misc::configure)
                    .configure(routes::testdata::configure)
                    .configure(routes::certificates::configure)
                    .configure(routes::collective::configure)
                    .default_service(web::to(not_found)),
            )
            .configure(routes::storage::configure)
            .configure(routes::admin::configure)
            .configure(routes::latarnia::configure);
    }
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("Nie znaleziono zasobu.".to_owned()))
}

fn wants_problem(req: &ServiceRequest) -> bool {
    req.headers()
        .get("X-Error-Format")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("problem-details"))
}

fn early(req: ServiceRequest, err: &ApiError, problem: bool) -> ServiceResponse<BoxBody> {
    let path = req.path().to_owned();
    req.into_response(err.render(problem, &path))
}

/// Faults, rate limits, then the route; re-renders errors as problem details on request.
async fn gate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().map(|d| d.clone().into_inner()) else {
        return Err(actix_web::error::ErrorInternalServerError("no state"));
    };
    let problem = wants_problem(&req);
    let faults = state.faults.read().clone();
    if faults.latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(faults.latency_ms)).await;
    }
    let sub_path = req.path().strip_prefix("/v2").unwrap_or(req.path()).to_owned();
    match faults.outage_at(chrono::Utc::now()) {
        Some(OutageScope::All) => return Ok(unavailable(&state, req, problem)),
        Some(OutageScope::Auth) if sub_path.starts_with("/auth") => {
            return Ok(unavailable(&state, req, problem))
        }
        _ => {}
    }
    let group = group_of(req.method().as_str(), &sub_path);
    if faults.html_503_next > 0 || faults.rate_limit_next > 0 {
        match (FaultHandle { state: state.clone() }).take_burst(group) {
            Some(Burst::Html(status)) => {
                state.counters.fault();
                return Ok(req.into_response(proxy_page(status)));
            }
            Some(Burst::TooManyRequests(retry_after_secs)) => {
                state.counters.fault();
                let detail = format!("Przekroczono limit żądań. Spróbuj ponownie za {retry_after_secs} s.");
                return Ok(early(req, &ApiError::TooManyRequests { retry_after_secs, detail }, problem));
            }
            None => {}
        }
    }
    if faults.error_rate > 0.0 && rand::thread_rng().gen_bool(faults.error_rate.clamp(0.0, 1.0)) {
        state.counters.fault();
        let status = [500, 502, 503][rand::thread_rng().gen_range(0..3)];
        return Ok(early(req, &ApiError::Server { status, detail: "Injected fault.".to_owned() }, problem));
    }
    let ip = client_ip(req.request());
    let key = if group == "public" {
        Some(format!("ip:{ip}"))
    } else {
        bearer(req.request()).and_then(|t| state.jwt.context_of(t)).map(|nip| format!("{nip}|{ip}"))
    };
    if let Some(key) = key {
        if let Err(retry_after_secs) = state.limiter.check(&key, group) {
            let who = key.split('|').next().unwrap_or_default().to_owned();
            state.counters.rate_limited(&who);
            let detail = format!(
                "Przekroczono limit żądań dla grupy {group}. Spróbuj ponownie za {retry_after_secs} s."
            );
            return Ok(early(req, &ApiError::TooManyRequests { retry_after_secs, detail }, problem));
        }
    }
    let res = next.call(req).await?.map_into_boxed_body();
    if !problem {
        return Ok(res);
    }
    let api_err = res.response().error().and_then(|e| e.as_error::<ApiError>()).cloned();
    match api_err {
        Some(err) => {
            let (req, _) = res.into_parts();
            let path = req.path().to_owned();
            Ok(ServiceResponse::new(req, err.render(true, &path)))
        }
        None => Ok(res),
    }
}

/// What KSeF's front proxy answers when the service behind it is down: an HTML page.
fn proxy_page(status: u16) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::SERVICE_UNAVAILABLE);
    let reason = status.canonical_reason().unwrap_or("Service Unavailable");
    let code = status.as_u16();
    HttpResponse::build(status).content_type("text/html; charset=utf-8").body(format!(
        "<!DOCTYPE html><html><head><title>{code} {reason}</title></head>\
         <body><h1>{reason}</h1><p>The server is temporarily unable to service your request.</p></body></html>"
    ))
}

fn unavailable(state: &AppState, req: ServiceRequest, problem: bool) -> ServiceResponse<BoxBody> {
    state.counters.fault();
    early(
        req,
        &ApiError::Server {
            status: 503,
            detail: "Usługa chwilowo niedostępna (symulowana awaria).".to_owned(),
        },
        problem,
    )
}
