//! Webhook endpoints of a client and their delivery log (`credentials` permission). The signing
//! secret is in the answer that creates or rotates it, and in no other answer, ever.

use actix_web::{delete, get, post, web, HttpResponse};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;

use crate::domain::EventSet;
use crate::error::AppError;
use crate::service::access::Caller;
use crate::service::clients::{self as client_svc, ClientView};
use crate::service::webhooks::{self, WithSecret};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(remove)
        .service(activate)
        .service(deactivate)
        .service(rotate_secret)
        .service(deliveries)
        .service(redeliver);
}

async fn client(st: &AppState, caller: &Caller, nip: &str) -> Result<ClientView, AppError> {
    client_svc::find_visible(st, caller, nip).await
}

fn with_secret(created: &WithSecret) -> serde_json::Value {
    let mut v = json!(created.endpoint);
    v["secret"] = json!(created.secret.expose_secret());
    v
}

/// `GET /api/v1/clients/{nip}/webhooks`.
#[get("/clients/{nip}/webhooks")]
async fn list(
    st: web::Data<AppState>,
    caller: Caller,
    nip: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let client = client(&st, &caller, &nip).await?;
    let endpoints = webhooks::list(&st, &caller, &client.id).await?;
    Ok(HttpResponse::Ok().json(json!({"webhooks": endpoints})))
}

#[derive(Deserialize)]
struct CreateBody {
    url: String,
    events: Vec<String>,
}

/// `POST /api/v1/clients/{nip}/webhooks`: 201 with the secret, shown this once.
#[post("/clients/{nip}/webhooks")]
async fn create(
    st: web::Data<AppState>,
    caller: Caller,
    nip: web::Path<String>,
    body: web::Json<CreateBody>,
) -> Result<HttpResponse, AppError> {
    let client = client(&st, &caller, &nip).await?;
    let events =
        EventSet::parse(&body.events).map_err(|e| AppError::invalid_field("events", "unknown_event", e))?;
    let created = webhooks::create(&st, &caller, &client.id, &body.url, events).await?;
    Ok(HttpResponse::Created().json(with_secret(&created)))
}

/// `DELETE /api/v1/clients/{nip}/webhooks/{id}`.
#[delete("/clients/{nip}/webhooks/{id}")]
async fn remove(
    st: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (nip, id) = path.into_inner();
    let client = client(&st, &caller, &nip).await?;
    webhooks::delete(&st, &caller, &client.id, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn switch(
    st: &AppState,
    caller: &Caller,
    path: (String, String),
    on: bool,
) -> Result<HttpResponse, AppError> {
    let (nip, id) = path;
    let client = client(st, caller, &nip).await?;
    let endpoint = webhooks::set_active(st, caller, &client.id, &id, on).await?;
    Ok(HttpResponse::Ok().json(endpoint))
}

/// `POST /api/v1/clients/{nip}/webhooks/{id}/activate`.
#[post("/clients/{nip}/webhooks/{id}/activate")]
async fn activate(
    st: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    switch(&st, &caller, path.into_inner(), true).await
}

/// `POST /api/v1/clients/{nip}/webhooks/{id}/deactivate`: nothing is sent to it until activated;
/// its waiting deliveries wait.
#[post("/clients/{nip}/webhooks/{id}/deactivate")]
async fn deactivate(
    st: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    switch(&st, &caller, path.into_inner(), false).await
}

/// `POST /api/v1/clients/{nip}/webhooks/{id}/rotate-secret`: a new secret, shown this once.
#[post("/clients/{nip}/webhooks/{id}/rotate-secret")]
async fn rotate_secret(
    st: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (nip, id) = path.into_inner();
    let client = client(&st, &caller, &nip).await?;
    let rotated = webhooks::rotate_secret(&st, &caller, &client.id, &id).await?;
    Ok(HttpResponse::Ok().json(with_secret(&rotated)))
}

/// `GET /api/v1/clients/{nip}/webhooks/{id}/deliveries`: the latest deliveries, newest first.
#[get("/clients/{nip}/webhooks/{id}/deliveries")]
async fn deliveries(
    st: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (nip, id) = path.into_inner();
    let client = client(&st, &caller, &nip).await?;
    let (endpoint, rows) = webhooks::deliveries(&st, &caller, &client.id, &id).await?;
    Ok(HttpResponse::Ok().json(json!({"webhook": endpoint, "deliveries": rows})))
}

/// `POST /api/v1/clients/{nip}/webhooks/{id}/deliveries/{delivery_id}/redeliver`: 202, the
/// worker attempts it on its next round.
#[post("/clients/{nip}/webhooks/{id}/deliveries/{delivery_id}/redeliver")]
async fn redeliver(
    st: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, AppError> {
    let (nip, id, delivery_id) = path.into_inner();
    let client = client(&st, &caller, &nip).await?;
    let delivery = webhooks::redeliver(&st, &caller, &client.id, &id, &delivery_id).await?;
    Ok(HttpResponse::Accepted().json(json!({"delivery": delivery})))
}
