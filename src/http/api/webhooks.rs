//! Webhook endpoints of a client and their delivery log (`credentials` permission). The signing
//! secret is in the answer that creates or rotates it, and in no other answer, ever.

use actix_web::{delete, get, post, web, HttpResponse};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::openapi_types::Errors;
use crate::domain::{EventSet, WebhookDeliveryId, WebhookId};
use crate::error::AppError;
use crate::http::id_in_path_checked;
use crate::service::access::Caller;
use crate::service::clients::{self as client_svc, ClientView};
use crate::service::webhooks::{self, DeliveryView, EndpointView, WithSecret};
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
    client_svc::find_visible(st, caller, &crate::http::id_in_path(nip)?).await
}

/// The endpoint named in the path (text that is no id: what an unknown endpoint gets).
async fn endpoint_id(
    st: &AppState,
    caller: &Caller,
    client: &ClientView,
    raw: &str,
) -> Result<WebhookId, AppError> {
    id_in_path_checked(raw, webhooks::require_managing(st, caller, &client.id)).await
}

/// The client's endpoints.
#[derive(Serialize, utoipa::ToSchema)]
struct WebhookList {
    #[schema(inline)]
    webhooks: Vec<EndpointView>,
}

/// An endpoint in the answer that creates it or rotates its secret: the one place the secret
/// is shown.
#[derive(Serialize, utoipa::ToSchema)]
struct WebhookWithSecret {
    #[serde(flatten)]
    #[schema(inline)]
    endpoint: EndpointView,
    /// whsec_… (256 random bits). The HMAC key of the signatures; shown in this answer only,
    /// never again.
    secret: String,
}

impl From<WithSecret> for WebhookWithSecret {
    fn from(created: WithSecret) -> Self {
        Self { secret: created.secret.expose_secret().to_owned(), endpoint: created.endpoint }
    }
}

/// An endpoint and its latest deliveries.
#[derive(Serialize, utoipa::ToSchema)]
struct DeliveryLog {
    #[schema(inline)]
    webhook: EndpointView,
    #[schema(inline)]
    deliveries: Vec<DeliveryView>,
}

/// The delivery queued again.
#[derive(Serialize, utoipa::ToSchema)]
struct Redelivery {
    #[schema(inline)]
    delivery: DeliveryView,
}

/// `GET /api/v1/clients/{nip}/webhooks`.
#[utoipa::path(
    get,
    path = "/api/v1/clients/{nip}/webhooks",
    tag = "webhooks",
    operation_id = "webhooks_list",
    summary = "The client's webhook endpoints (never their secrets)",
    description = "Needs the `credentials` permission on the client (an office admin, the client's board member, or an accountant it was delegated to); API keys never hold it. A visible client without it: 403 forbidden; any other client: 404.",
    params(
        ("nip" = String, Path, description = "Client NIP"),
    ),
    responses(
        (status = 200, description = "OK", body = inline(WebhookList), content_type = "application/json"),
        Errors<401, 403, 404, 405, 429>,
    ),
)]
#[get("/clients/{nip}/webhooks")]
async fn list(
    st: web::Data<AppState>,
    caller: Caller,
    nip: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let client = client(&st, &caller, &nip).await?;
    let endpoints = webhooks::list(&st, &caller, &client.id).await?;
    Ok(HttpResponse::Ok().json(WebhookList { webhooks: endpoints }))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct CreateBody {
    url: String,
    #[schema(schema_with = super::openapi_types::webhook_events)]
    events: Vec<String>,
}

/// `POST /api/v1/clients/{nip}/webhooks`: 201 with the secret, shown this once.
#[utoipa::path(
    post,
    path = "/api/v1/clients/{nip}/webhooks",
    tag = "webhooks",
    operation_id = "webhooks_create",
    summary = "Create a webhook endpoint; its signing secret is in this answer only",
    description = "Needs the `credentials` permission on the client (an office admin, the client's board member, or an accountant it was delegated to); API keys never hold it. A visible client without it: 403 forbidden; any other client: 404. The URL must be https:// (http:// only to hosts in `webhooks.allow_http_hosts`), carry no credentials, and its host must not resolve to a loopback, private or link-local address unless `webhooks.allow_private` allows that network: otherwise 422 invalid_input with details [{\"field\": \"url\", \"reason\": url_malformed | url_scheme | url_http_not_allowed | url_credentials | url_unresolvable | url_private_address}] and nothing is stored. An unknown event: reason unknown_event. Each event is POSTed as JSON `{\"id\", \"type\", \"created_at\" (RFC 3339 with offset), \"client\": {\"nip\"}, \"data\"}` with headers `X-KSeF-Gateway-Event` (the type), `X-KSeF-Gateway-Delivery` (the delivery id) and `X-KSeF-Gateway-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` computed over the bytes `<t>.<raw body>` with the endpoint's secret (the whole `whsec_…` text as the key). A receiver recomputes it, compares in constant time, and refuses a `t` more than 5 minutes away from its clock (the replay window). Any 2xx is success; anything else, a timeout or a refused connection is retried with capped exponential backoff and jitter up to `webhooks.max_attempts` times, then the delivery is `failed` (redeliverable). Delivery is at least once: deduplicate by the event `id`. Redirects are never followed. `invoice.state_changed` data: invoice_id, number, old_state, new_state, old_status_letter, status_letter (W/O/A or null), ksef_number. `purchase_invoice.received` data: purchase_invoice_id, ksef_number, number, issue_date, seller {nip, name}, gross_amount_minor, currency.",
    params(
        ("nip" = String, Path, description = "Client NIP"),
    ),
    request_body(content = inline(CreateBody), content_type = "application/json"),
    responses(
        (status = 201, description = "OK", body = inline(WebhookWithSecret), content_type = "application/json"),
        Errors<401, 403, 404, 405, 413, 422, 429>,
    ),
)]
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
    Ok(HttpResponse::Created().json(WebhookWithSecret::from(created)))
}

/// `DELETE /api/v1/clients/{nip}/webhooks/{id}`.
#[utoipa::path(
    delete,
    path = "/api/v1/clients/{nip}/webhooks/{id}",
    tag = "webhooks",
    operation_id = "webhooks_remove",
    summary = "Delete a webhook endpoint; its waiting deliveries are cancelled",
    description = "Needs the `credentials` permission on the client (an office admin, the client's board member, or an accountant it was delegated to); API keys never hold it. A visible client without it: 403 forbidden; any other client: 404.",
    params(
        ("nip" = String, Path, description = "Client NIP"),
        ("id" = String, Path, description = "Webhook endpoint id"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        Errors<401, 403, 404, 405, 429>,
    ),
)]
#[delete("/clients/{nip}/webhooks/{id}")]
async fn remove(
    st: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (nip, id) = path.into_inner();
    let client = client(&st, &caller, &nip).await?;
    let id = endpoint_id(&st, &caller, &client, &id).await?;
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
    let id = endpoint_id(st, caller, &client, &id).await?;
    let endpoint = webhooks::set_active(st, caller, &client.id, &id, on).await?;
    Ok(HttpResponse::Ok().json(endpoint))
}

/// `POST /api/v1/clients/{nip}/webhooks/{id}/activate`.
#[utoipa::path(
    post,
    path = "/api/v1/clients/{nip}/webhooks/{id}/activate",
    tag = "webhooks",
    operation_id = "webhooks_activate",
    summary = "Switch a webhook endpoint on",
    description = "Needs the `credentials` permission on the client (an office admin, the client's board member, or an accountant it was delegated to); API keys never hold it. A visible client without it: 403 forbidden; any other client: 404.",
    params(
        ("nip" = String, Path, description = "Client NIP"),
        ("id" = String, Path, description = "Webhook endpoint id"),
    ),
    responses(
        (status = 200, description = "OK", body = inline(EndpointView), content_type = "application/json"),
        Errors<401, 403, 404, 405, 429>,
    ),
)]
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
#[utoipa::path(
    post,
    path = "/api/v1/clients/{nip}/webhooks/{id}/deactivate",
    tag = "webhooks",
    operation_id = "webhooks_deactivate",
    summary = "Switch a webhook endpoint off: no new events are queued for it and its waiting deliveries wait",
    description = "Needs the `credentials` permission on the client (an office admin, the client's board member, or an accountant it was delegated to); API keys never hold it. A visible client without it: 403 forbidden; any other client: 404.",
    params(
        ("nip" = String, Path, description = "Client NIP"),
        ("id" = String, Path, description = "Webhook endpoint id"),
    ),
    responses(
        (status = 200, description = "OK", body = inline(EndpointView), content_type = "application/json"),
        Errors<401, 403, 404, 405, 429>,
    ),
)]
#[post("/clients/{nip}/webhooks/{id}/deactivate")]
async fn deactivate(
    st: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    switch(&st, &caller, path.into_inner(), false).await
}

/// `POST /api/v1/clients/{nip}/webhooks/{id}/rotate-secret`: a new secret, shown this once.
#[utoipa::path(
    post,
    path = "/api/v1/clients/{nip}/webhooks/{id}/rotate-secret",
    tag = "webhooks",
    operation_id = "webhooks_rotate_secret",
    summary = "A new signing secret, in this answer only; the old one stops signing at once",
    description = "Needs the `credentials` permission on the client (an office admin, the client's board member, or an accountant it was delegated to); API keys never hold it. A visible client without it: 403 forbidden; any other client: 404.",
    params(
        ("nip" = String, Path, description = "Client NIP"),
        ("id" = String, Path, description = "Webhook endpoint id"),
    ),
    responses(
        (status = 200, description = "OK", body = inline(WebhookWithSecret), content_type = "application/json"),
        Errors<401, 403, 404, 405, 429>,
    ),
)]
#[post("/clients/{nip}/webhooks/{id}/rotate-secret")]
async fn rotate_secret(
    st: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (nip, id) = path.into_inner();
    let client = client(&st, &caller, &nip).await?;
    let id = endpoint_id(&st, &caller, &client, &id).await?;
    let rotated = webhooks::rotate_secret(&st, &caller, &client.id, &id).await?;
    Ok(HttpResponse::Ok().json(WebhookWithSecret::from(rotated)))
}

/// `GET /api/v1/clients/{nip}/webhooks/{id}/deliveries`: the latest deliveries, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/clients/{nip}/webhooks/{id}/deliveries",
    tag = "webhooks",
    operation_id = "webhooks_deliveries",
    summary = "The endpoint's delivery log (latest 200, newest first)",
    description = "Needs the `credentials` permission on the client (an office admin, the client's board member, or an accountant it was delegated to); API keys never hold it. A visible client without it: 403 forbidden; any other client: 404.",
    params(
        ("nip" = String, Path, description = "Client NIP"),
        ("id" = String, Path, description = "Webhook endpoint id"),
    ),
    responses(
        (status = 200, description = "OK", body = inline(DeliveryLog), content_type = "application/json"),
        Errors<401, 403, 404, 405, 429>,
    ),
)]
#[get("/clients/{nip}/webhooks/{id}/deliveries")]
async fn deliveries(
    st: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (nip, id) = path.into_inner();
    let client = client(&st, &caller, &nip).await?;
    let id = endpoint_id(&st, &caller, &client, &id).await?;
    let (endpoint, rows) = webhooks::deliveries(&st, &caller, &client.id, &id).await?;
    Ok(HttpResponse::Ok().json(DeliveryLog { webhook: endpoint, deliveries: rows }))
}

/// `POST /api/v1/clients/{nip}/webhooks/{id}/deliveries/{delivery_id}/redeliver`: 202, the
/// worker attempts it on its next round.
#[utoipa::path(
    post,
    path = "/api/v1/clients/{nip}/webhooks/{id}/deliveries/{delivery_id}/redeliver",
    tag = "webhooks",
    operation_id = "webhooks_redeliver",
    summary = "Send a delivery again now (any status but cancelled)",
    description = "Needs the `credentials` permission on the client (an office admin, the client's board member, or an accountant it was delegated to); API keys never hold it. A visible client without it: 403 forbidden; any other client: 404.",
    params(
        ("nip" = String, Path, description = "Client NIP"),
        ("id" = String, Path, description = "Webhook endpoint id"),
        ("delivery_id" = String, Path, description = "Delivery id"),
    ),
    responses(
        (status = 202, description = "Queued for the worker's next round", body = inline(Redelivery), content_type = "application/json"),
        Errors<401, 403, 404, 405, 429>,
    ),
)]
#[post("/clients/{nip}/webhooks/{id}/deliveries/{delivery_id}/redeliver")]
async fn redeliver(
    st: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, AppError> {
    let (nip, id, delivery_id) = path.into_inner();
    let client = client(&st, &caller, &nip).await?;
    let id = endpoint_id(&st, &caller, &client, &id).await?;
    let delivery_id: WebhookDeliveryId =
        id_in_path_checked(&delivery_id, webhooks::require_managing(&st, &caller, &client.id)).await?;
    let delivery = webhooks::redeliver(&st, &caller, &client.id, &id, &delivery_id).await?;
    Ok(HttpResponse::Accepted().json(Redelivery { delivery }))
}
