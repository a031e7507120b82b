//! Webhook endpoints per client, managed by whoever holds the client's `credentials`
//! permission, and the events that go into their outbox.
//!
//! The signing secret is generated here (256 random bits), shown once in the answer that creates
//! or rotates it, and stored only sealed in the vault, bound to the client's NIP and the
//! endpoint. Events are written to `webhook_deliveries` in the caller's transaction, one row
//! per subscribed endpoint, so an event exists exactly when the change it reports does.

use std::collections::HashMap;

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::json;

use crate::auth::Permission;
use crate::db::models::webhook::purchase_summaries;
use crate::db::models::{
    ids, Client, Invoice, NewWebhookDelivery, NewWebhookEndpoint, WebhookDelivery, WebhookEndpoint,
};
use crate::db::{AnyConn, DbError};
use crate::domain::{
    ClientId, DeliveryStatus, EventSet, InvoiceState, Nip, PurchaseInvoiceId, WebhookDeliveryId,
    WebhookEvent, WebhookId,
};
use crate::error::AppError;
use crate::service::access::{self, Caller};
use crate::service::audit::{self, AuditEntry};
use crate::state::AppState;
use crate::vault;
use crate::webhooks::guard::UrlPolicy;
use crate::webhooks::{secret_kind, sign};

/// How many deliveries the log shows per endpoint.
pub const LOG_LIMIT: i64 = 200;

/// An endpoint as the API and the panel show it: never its secret.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EndpointView {
    #[schema(value_type = String)]
    pub id: WebhookId,
    pub url: String,
    #[schema(value_type = Vec<WebhookEvent>, inline)]
    pub events: Vec<String>,
    pub active: bool,
    #[serde(serialize_with = "crate::local_time::rfc3339")]
    pub created_at: chrono::NaiveDateTime,
}

impl From<WebhookEndpoint> for EndpointView {
    fn from(e: WebhookEndpoint) -> Self {
        Self {
            events: e.events.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
            id: e.id,
            url: e.url,
            active: e.active,
            created_at: e.created_at,
        }
    }
}

/// A delivery as the log shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    /// Also the X-KSeF-Gateway-Delivery header
    #[schema(value_type = String)]
    pub id: WebhookDeliveryId,
    /// The event's id (the same on every attempt and redelivery; deduplicate by it)
    pub event_id: String,
    #[schema(inline)]
    pub event_type: WebhookEvent,
    #[schema(inline)]
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub last_status_code: Option<i64>,
    /// Why the last attempt failed, in Polish
    pub last_error: Option<String>,
    /// When the next attempt is due (pending only).
    #[serde(serialize_with = "crate::local_time::rfc3339_opt")]
    pub next_attempt_at: Option<chrono::NaiveDateTime>,
    #[serde(serialize_with = "crate::local_time::rfc3339_opt")]
    pub delivered_at: Option<chrono::NaiveDateTime>,
    #[serde(serialize_with = "crate::local_time::rfc3339")]
    pub created_at: chrono::NaiveDateTime,
}

impl From<WebhookDelivery> for DeliveryView {
    fn from(d: WebhookDelivery) -> Self {
        Self {
            next_attempt_at: (d.status == DeliveryStatus::Pending).then_some(d.next_attempt_at),
            id: d.id,
            event_id: d.event_id,
            event_type: d.event_type,
            status: d.status,
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            delivered_at: d.delivered_at,
            created_at: d.created_at,
        }
    }
}

/// An endpoint just created (or its secret just rotated), with the secret to show once.
pub struct WithSecret {
    pub endpoint: EndpointView,
    pub secret: SecretString,
}

/// The client's row when the caller may manage its webhooks: NotFound outside what it sees,
/// Forbidden without `credentials`.
fn managed(conn: &mut AnyConn, caller: &Caller, client_id: &ClientId) -> Result<Client, AppError> {
    access::require(conn, caller, client_id, Permission::Credentials)?;
    Ok(Client::get(conn, client_id)?)
}

/// Checks that the caller may manage the client's webhooks, as every call here does first.
pub async fn require_managing(st: &AppState, caller: &Caller, client_id: &ClientId) -> Result<(), AppError> {
    let (caller, client_id) = (caller.clone(), client_id.clone());
    st.db.tx(move |conn| managed(conn, &caller, &client_id).map(|_| ())).await
}

fn record(
    conn: &mut AnyConn,
    caller: &Caller,
    client_id: &ClientId,
    action: &str,
    id: &str,
    payload: serde_json::Value,
) -> Result<(), AppError> {
    audit::record(
        conn,
        AuditEntry {
            actor: &caller.audit_actor(),
            client_id: Some(client_id),
            action,
            subject: Some(id),
            payload,
        },
    )?;
    Ok(())
}

fn new_secret(
    keys: &vault::Keyring,
    nip: &Nip,
    endpoint_id: &WebhookId,
) -> Result<(SecretString, vault::Sealed), AppError> {
    let secret = sign::generate_secret().map_err(|e| AppError::Internal(anyhow::anyhow!("random: {e}")))?;
    let sealed = vault::seal(keys, nip, &secret_kind(endpoint_id), secret.expose_secret().as_bytes())
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok((secret, sealed))
}

/// Creates an endpoint. The URL is checked (form, and where its host resolves) before anything
/// is stored; a refused URL stores nothing.
pub async fn create(
    st: &AppState,
    caller: &Caller,
    client_id: &ClientId,
    url: &str,
    events: EventSet,
) -> Result<WithSecret, AppError> {
    require_managing(st, caller, client_id).await?;
    let url = UrlPolicy::new(&st.settings.webhooks).check(url).await?.to_string();
    let (caller, client_id, keys) = (caller.clone(), client_id.clone(), st.keys.clone());
    st.db
        .tx(move |conn| {
            let client = managed(conn, &caller, &client_id)?;
            let id = WebhookId::new();
            let (secret, sealed) = new_secret(&keys, &client.nip, &id)?;
            let now = ids::now();
            let events_text = events.to_string();
            WebhookEndpoint::insert(
                conn,
                &NewWebhookEndpoint {
                    id: &id,
                    client_id: &client.id,
                    url: &url,
                    events: &events_text,
                    active: true,
                    secret_key_version: i64::from(sealed.key_version),
                    secret_nonce: &sealed.nonce,
                    secret_ciphertext: &sealed.ciphertext,
                    created_by: Some(&caller.actor()),
                    created_at: now,
                    updated_at: now,
                },
            )?;
            record(
                conn,
                &caller,
                &client.id,
                "webhook.created",
                &id,
                json!({"url": audit_url(&url), "events": events_text}),
            )?;
            let endpoint = WebhookEndpoint::get(conn, &client.id, &id)?.into();
            Ok(WithSecret { endpoint, secret })
        })
        .await
}

/// The client's endpoints.
pub async fn list(
    st: &AppState,
    caller: &Caller,
    client_id: &ClientId,
) -> Result<Vec<EndpointView>, AppError> {
    let (caller, client_id) = (caller.clone(), client_id.clone());
    st.db
        .tx(move |conn| {
            managed(conn, &caller, &client_id)?;
            Ok(WebhookEndpoint::list_for_client(conn, &client_id)?.into_iter().map(Into::into).collect())
        })
        .await
}

/// Switches an endpoint on or off. Off: its deliveries wait (nothing new is queued for it).
pub async fn set_active(
    st: &AppState,
    caller: &Caller,
    client_id: &ClientId,
    endpoint_id: &WebhookId,
    active: bool,
) -> Result<EndpointView, AppError> {
    let (caller, client_id, endpoint_id) = (caller.clone(), client_id.clone(), endpoint_id.clone());
    st.db
        .tx(move |conn| {
            managed(conn, &caller, &client_id)?;
            let endpoint = WebhookEndpoint::get(conn, &client_id, &endpoint_id)?;
            WebhookEndpoint::set_active(conn, &endpoint.id, active, ids::now())?;
            let action = if active { "webhook.activated" } else { "webhook.deactivated" };
            record(
                conn,
                &caller,
                &client_id,
                action,
                &endpoint.id,
                json!({"url": audit_url(&endpoint.url)}),
            )?;
            Ok(WebhookEndpoint::get(conn, &client_id, &endpoint_id)?.into())
        })
        .await
}

/// A new secret for an endpoint, shown once; the old one stops signing at once.
pub async fn rotate_secret(
    st: &AppState,
    caller: &Caller,
    client_id: &ClientId,
    endpoint_id: &WebhookId,
) -> Result<WithSecret, AppError> {
    let (caller, client_id, endpoint_id, keys) =
        (caller.clone(), client_id.clone(), endpoint_id.clone(), st.keys.clone());
    st.db
        .tx(move |conn| {
            let client = managed(conn, &caller, &client_id)?;
            let endpoint = WebhookEndpoint::get(conn, &client_id, &endpoint_id)?;
            let (secret, sealed) = new_secret(&keys, &client.nip, &endpoint.id)?;
            WebhookEndpoint::reseal(
                conn,
                &endpoint.id,
                i64::from(sealed.key_version),
                &sealed.nonce,
                &sealed.ciphertext,
            )?;
            record(
                conn,
                &caller,
                &client_id,
                "webhook.secret_rotated",
                &endpoint.id,
                json!({"url": audit_url(&endpoint.url)}),
            )?;
            Ok(WithSecret { endpoint: endpoint.into(), secret })
        })
        .await
}

/// Deletes an endpoint: nothing more is delivered to it, waiting deliveries are cancelled.
pub async fn delete(
    st: &AppState,
    caller: &Caller,
    client_id: &ClientId,
    endpoint_id: &WebhookId,
) -> Result<(), AppError> {
    let (caller, client_id, endpoint_id) = (caller.clone(), client_id.clone(), endpoint_id.clone());
    st.db
        .tx(move |conn| {
            managed(conn, &caller, &client_id)?;
            let endpoint = WebhookEndpoint::get(conn, &client_id, &endpoint_id)?;
            WebhookEndpoint::delete(conn, &endpoint.id, ids::now())?;
            record(
                conn,
                &caller,
                &client_id,
                "webhook.deleted",
                &endpoint.id,
                json!({"url": audit_url(&endpoint.url)}),
            )
        })
        .await
}

/// An endpoint's latest deliveries, newest first.
pub async fn deliveries(
    st: &AppState,
    caller: &Caller,
    client_id: &ClientId,
    endpoint_id: &WebhookId,
) -> Result<(EndpointView, Vec<DeliveryView>), AppError> {
    let (caller, client_id, endpoint_id) = (caller.clone(), client_id.clone(), endpoint_id.clone());
    st.db
        .tx(move |conn| {
            managed(conn, &caller, &client_id)?;
            let endpoint = WebhookEndpoint::get(conn, &client_id, &endpoint_id)?;
            let rows = WebhookDelivery::list_for_endpoint(conn, &endpoint.id, LOG_LIMIT)?;
            Ok((endpoint.into(), rows.into_iter().map(Into::into).collect()))
        })
        .await
}

/// "Wyślij ponownie": one more attempt now, whatever the delivery's status (the endpoint must
/// still exist: a deleted one is NotFound, there is nowhere to send it).
pub async fn redeliver(
    st: &AppState,
    caller: &Caller,
    client_id: &ClientId,
    endpoint_id: &WebhookId,
    delivery_id: &WebhookDeliveryId,
) -> Result<DeliveryView, AppError> {
    let (caller, client_id) = (caller.clone(), client_id.clone());
    let (endpoint_id, delivery_id) = (endpoint_id.clone(), delivery_id.clone());
    st.db
        .tx(move |conn| {
            managed(conn, &caller, &client_id)?;
            let endpoint = WebhookEndpoint::get(conn, &client_id, &endpoint_id)?;
            let delivery = WebhookDelivery::get(conn, &client_id, &delivery_id)?;
            if delivery.endpoint_id != endpoint.id {
                return Err(AppError::NotFound);
            }
            WebhookDelivery::redeliver(conn, &delivery.id, ids::now())?;
            let payload = json!({"endpoint_id": endpoint.id, "event_id": delivery.event_id});
            record(conn, &caller, &client_id, "webhook.redelivery_requested", &delivery.id, payload)?;
            Ok(WebhookDelivery::get(conn, &client_id, &delivery_id)?.into())
        })
        .await
}

/// One invoice's state change, as the senders record it.
pub struct StateChange<'a> {
    pub invoice: &'a Invoice,
    pub old_state: InvoiceState,
    pub new_state: InvoiceState,
    pub ksef_number: Option<&'a str>,
}

/// Queues `invoice.state_changed` for every endpoint subscribed to it, in the caller's
/// transaction. Endpoints are looked up once per client, so a batch of thousands costs one
/// lookup and multi-row inserts.
pub fn enqueue_state_changes(conn: &mut AnyConn, changes: &[StateChange<'_>]) -> Result<(), DbError> {
    let mut by_client: HashMap<&ClientId, Vec<&StateChange<'_>>> = HashMap::new();
    for ch in changes {
        by_client.entry(&ch.invoice.client_id).or_default().push(ch);
    }
    for (client_id, changes) in by_client {
        let datas = changes.iter().map(|ch| {
            json!({
                "invoice_id": ch.invoice.id,
                "number": ch.invoice.number,
                "old_state": ch.old_state,
                "new_state": ch.new_state.as_str(),
                "old_status_letter": ch.old_state.status_letter(),
                "status_letter": ch.new_state.status_letter(),
                "ksef_number": ch.ksef_number.or(ch.invoice.ksef_number.as_deref()),
            })
        });
        enqueue(conn, client_id, WebhookEvent::InvoiceStateChanged, datas.collect())?;
    }
    Ok(())
}

/// Queues `purchase_invoice.received` for the client's purchase invoices with these ids (as
/// `PurchaseInvoice::insert_new` returns them), in the caller's transaction: the sync calls it
/// in the transaction that stores the invoices.
pub fn enqueue_purchase_received(
    conn: &mut AnyConn,
    client_id: &ClientId,
    purchase_ids: &[PurchaseInvoiceId],
) -> Result<(), DbError> {
    if purchase_ids.is_empty() {
        return Ok(());
    }
    let rows = purchase_summaries(conn, client_id, purchase_ids)?;
    let datas = rows
        .into_iter()
        .map(|p| {
            json!({
                "purchase_invoice_id": p.id, "ksef_number": p.ksef_number, "number": p.invoice_number,
                "issue_date": p.issue_date, "seller": {"nip": p.seller_nip, "name": p.seller_name},
                "gross_amount_minor": p.gross_amount, "currency": p.currency,
            })
        })
        .collect();
    enqueue(conn, client_id, WebhookEvent::PurchaseInvoiceReceived, datas)
}

/// One event per item of `datas`, one delivery row per subscribed endpoint and event.
fn enqueue(
    conn: &mut AnyConn,
    client_id: &ClientId,
    event: WebhookEvent,
    datas: Vec<serde_json::Value>,
) -> Result<(), DbError> {
    let endpoints = WebhookEndpoint::subscribed(conn, client_id, event)?;
    if endpoints.is_empty() || datas.is_empty() {
        return Ok(());
    }
    let nip = Client::get(conn, client_id)?.nip;
    let now = ids::now();
    let created_at = now.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Millis, false);
    let events: Vec<(String, String)> = datas
        .into_iter()
        .map(|data| {
            let id = ids::new_id();
            let body = json!({"id": id, "type": event.as_str(), "created_at": created_at, "client": {"nip": nip}, "data": data});
            (id, body.to_string())
        })
        .collect();
    let rows: Vec<NewWebhookDelivery<'_>> = events
        .iter()
        .flat_map(|(event_id, payload)| {
            endpoints.iter().map(move |e| NewWebhookDelivery {
                id: WebhookDeliveryId::new(),
                endpoint_id: &e.id,
                client_id,
                event_id,
                event_type: event.as_str(),
                payload,
                status: DeliveryStatus::Pending.as_str(),
                attempts: 0,
                next_attempt_at: now,
                created_at: now,
                updated_at: now,
            })
        })
        .collect();
    WebhookDelivery::insert_many(conn, &rows)
}

/// How an endpoint's URL is written into the audit trail: scheme, host and port only. The path
/// and query may carry the receiver's token, and the trail is permanent and readable with the
/// `audit` permission alone.
fn audit_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(host), Some(port)) => format!("{}://{host}:{port}/…", u.scheme()),
            (Some(host), None) => format!("{}://{host}/…", u.scheme()),
            _ => "…".to_owned(),
        },
        Err(_) => "…".to_owned(),
    }
}
