//! Liveness, readiness and metrics endpoints for orchestrators and monitoring.

use actix_web::{get, web, HttpResponse};
use serde_json::json;

use crate::error::AppError;
use crate::state::AppState;

/// The process is up and serving.
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The process can do its work: the database answers a query.
#[get("/readyz")]
pub async fn readyz(st: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let backend = st.db.backend();
    st.db.ping().await.map_err(|e| AppError::Unavailable(format!("database not ready: {e}")))?;
    Ok(HttpResponse::Ok().json(json!({"status": "ready", "database": format!("{backend:?}").to_lowercase()})))
}

/// Prometheus text exposition.
#[get("/metrics")]
pub async fn metrics(st: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(st.metrics.render())
}
