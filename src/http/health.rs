//! Liveness, readiness and metrics endpoints for orchestrators and monitoring.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::error::AppError;
use crate::state::AppState;
use crate::telemetry::metrics::token_accepted;

/// The process is up and serving.
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The process can do its work: the database answers a query and the master key opens the
/// vault (a key file replaced under a running server makes every credential unreadable).
#[get("/readyz")]
pub async fn readyz(st: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let backend = st.db.backend();
    st.db.ping().await.map_err(|e| AppError::Unavailable(format!("database not ready: {e}")))?;
    crate::service::master_key::verify(&st).await?;
    Ok(HttpResponse::Ok().json(json!({"status": "ready", "database": format!("{backend:?}").to_lowercase()})))
}

/// Prometheus text exposition; with `metrics.token_sha256` set, only for its bearer token.
///
/// Registered outside the authentication middleware (see `server::configure`), which would
/// take the bearer token for an API key.
#[get("/metrics")]
pub async fn metrics(req: HttpRequest, st: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if !token_accepted(&st.settings.metrics.token_sha256, presented) {
        return Err(AppError::Unauthenticated);
    }
    // Credential lifetimes change with the clock, not with events: counted at each scrape.
    for (warning, n) in crate::service::lifetime::warning_counts(&st).await? {
        st.metrics.set_expiring(warning.as_str(), n);
    }
    Ok(HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(st.metrics.render()))
}
