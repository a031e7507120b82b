//! `/klienci/{nip}/webhooki`: the client's webhook endpoints (create with the secret shown once,
//! switch off and on, new secret, delete) and each endpoint's delivery log with "Wyślij
//! ponownie". The services decide who may (the `credentials` permission); refused URLs come
//! back beside the field, in Polish.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use askama::Template;
use secrecy::ExposeSecret;

use super::error::FieldError;
use super::forms::Fields;
use super::labels::{when, when_opt};
use super::{html, ok, see_other, Layout, PanelError, PanelUser};
use crate::domain::{DeliveryStatus, EventSet, WebhookDeliveryId, WebhookEvent};
use crate::error::AppError;
use crate::http::id_in_path_checked;
use crate::service::clients::{self, ClientView};
use crate::service::webhooks::{self, DeliveryView, EndpointView, WithSecret};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_page).service(create).service(log).service(act).service(redeliver);
}

fn event_pl(e: WebhookEvent) -> &'static str {
    match e {
        WebhookEvent::InvoiceStateChanged => "zmiana stanu faktury (W → O → A, odrzucenie)",
        WebhookEvent::PurchaseInvoiceReceived => "nowa faktura zakupowa",
    }
}

fn events_pl(names: &[String]) -> String {
    names.iter().filter_map(|n| WebhookEvent::parse(n).ok()).map(event_pl).collect::<Vec<_>>().join(", ")
}

fn status_pl(s: DeliveryStatus) -> &'static str {
    match s {
        DeliveryStatus::Pending => "czeka na wysłanie",
        DeliveryStatus::Delivered => "dostarczone",
        DeliveryStatus::Failed => "nieudane (wyczerpano próby)",
        DeliveryStatus::Cancelled => "anulowane (punkt usunięty)",
    }
}

struct EndpointRow {
    view: EndpointView,
    events: String,
    created: String,
}

#[derive(Template)]
#[template(path = "panel/webhooks.html")]
struct WebhooksPage {
    layout: Layout,
    client: ClientView,
    endpoints: Vec<EndpointRow>,
    events: Vec<(&'static str, &'static str)>,
    error: Option<FieldError>,
    typed_url: String,
    typed_events: Vec<String>,
}

impl WebhooksPage {
    fn error_at(&self, field: &str) -> Option<String> {
        FieldError::at(&self.error, field)
    }
}

async fn render(
    st: &AppState,
    me: &PanelUser,
    client: ClientView,
    error: Option<FieldError>,
    typed: (String, Vec<String>),
) -> Result<HttpResponse, PanelError> {
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let endpoints = webhooks::list(st, &me.caller, &client.id).await?;
    let view = WebhooksPage {
        layout: Layout::for_user(format!("{} – webhooki", client.name), me),
        endpoints: endpoints
            .into_iter()
            .map(|e| EndpointRow { events: events_pl(&e.events), created: when(e.created_at), view: e })
            .collect(),
        events: WebhookEvent::ALL.iter().map(|e| (e.as_str(), event_pl(*e))).collect(),
        error,
        typed_url: typed.0,
        typed_events: typed.1,
        client,
    };
    html(status, &view)
}

#[get("/klienci/{nip}/webhooki")]
async fn list_page(
    st: web::Data<AppState>,
    me: PanelUser,
    nip: web::Path<String>,
) -> Result<HttpResponse, PanelError> {
    let client = clients::find_visible(&st, &me.caller, &crate::http::id_in_path(&nip)?).await?;
    render(&st, &me, client, None, (String::new(), Vec::new())).await
}

#[derive(Template)]
#[template(path = "panel/webhook_secret.html")]
struct SecretPage {
    layout: Layout,
    client: ClientView,
    url: String,
    secret: String,
}

fn secret_page(me: &PanelUser, client: ClientView, shown: &WithSecret) -> Result<HttpResponse, PanelError> {
    ok(&SecretPage {
        layout: Layout::for_user("Sekret webhooka", me),
        url: shown.endpoint.url.clone(),
        secret: shown.secret.expose_secret().to_owned(),
        client,
    })
}

/// `POST /klienci/{nip}/webhooki`: a new endpoint; its secret is shown on this answer once.
#[post("/klienci/{nip}/webhooki")]
async fn create(
    st: web::Data<AppState>,
    me: PanelUser,
    nip: web::Path<String>,
    form: Fields,
) -> Result<HttpResponse, PanelError> {
    let client = me.client_for_form(&st, &nip, &form).await?;
    let (url, ticked) = (form.text("url"), form.all("zdarzenia"));
    let created = match EventSet::parse(&ticked) {
        Ok(events) => webhooks::create(&st, &me.caller, &client.id, &url, events).await,
        Err(e) => Err(AppError::invalid_field("events", "unknown_event", e)),
    };
    match created {
        Ok(shown) => secret_page(&me, client, &shown),
        Err(e) => match FieldError::of(&e, "url") {
            Some(error) => render(&st, &me, client, Some(error), (url, ticked)).await,
            None => Err(e.into()),
        },
    }
}

struct DeliveryRow {
    view: DeliveryView,
    event: &'static str,
    status: &'static str,
    created: String,
    next: String,
    redeliverable: bool,
}

#[derive(Template)]
#[template(path = "panel/webhook_log.html")]
struct LogPage {
    layout: Layout,
    client: ClientView,
    endpoint: EndpointView,
    rows: Vec<DeliveryRow>,
}

/// `GET /klienci/{nip}/webhooki/{id}`: the endpoint's delivery log.
#[get("/klienci/{nip}/webhooki/{id}")]
async fn log(
    st: web::Data<AppState>,
    me: PanelUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PanelError> {
    let (nip, id) = path.into_inner();
    let client = clients::find_visible(&st, &me.caller, &crate::http::id_in_path(&nip)?).await?;
    let id = id_in_path_checked(&id, webhooks::require_managing(&st, &me.caller, &client.id)).await?;
    let (endpoint, deliveries) = webhooks::deliveries(&st, &me.caller, &client.id, &id).await?;
    let rows = deliveries
        .into_iter()
        .map(|d| DeliveryRow {
            event: event_pl(d.event_type),
            status: status_pl(d.status),
            created: when(d.created_at),
            next: when_opt(d.next_attempt_at),
            redeliverable: d.status != DeliveryStatus::Cancelled,
            view: d,
        })
        .collect();
    ok(&LogPage {
        layout: Layout::for_user(format!("{} – dziennik webhooka", client.name), &me),
        client,
        endpoint,
        rows,
    })
}

/// `POST /klienci/{nip}/webhooki/{id}/{akcja}`: `wlacz`, `wylacz`, `usun`, or `sekret` (a new
/// secret, shown on this answer once).
#[post("/klienci/{nip}/webhooki/{id}/{akcja}")]
async fn act(
    st: web::Data<AppState>,
    me: PanelUser,
    path: web::Path<(String, String, String)>,
    form: Fields,
) -> Result<HttpResponse, PanelError> {
    let (nip, id, action) = path.into_inner();
    let client = me.client_for_form(&st, &nip, &form).await?;
    // Another action is a 404 whatever the id names, as the match below answers it.
    if !["wlacz", "wylacz", "usun", "sekret"].contains(&action.as_str()) {
        return Err(AppError::NotFound.into());
    }
    let id = id_in_path_checked(&id, webhooks::require_managing(&st, &me.caller, &client.id)).await?;
    match action.as_str() {
        "wlacz" => webhooks::set_active(&st, &me.caller, &client.id, &id, true).await.map(drop)?,
        "wylacz" => webhooks::set_active(&st, &me.caller, &client.id, &id, false).await.map(drop)?,
        "usun" => webhooks::delete(&st, &me.caller, &client.id, &id).await?,
        "sekret" => {
            let shown = webhooks::rotate_secret(&st, &me.caller, &client.id, &id).await?;
            return secret_page(&me, client, &shown);
        }
        _ => return Err(AppError::NotFound.into()),
    }
    Ok(see_other(&format!("/klienci/{}/webhooki", client.nip)))
}

/// `POST /klienci/{nip}/webhooki/{id}/dostawy/{delivery}/ponow` ("Wyślij ponownie").
#[post("/klienci/{nip}/webhooki/{id}/dostawy/{delivery}/ponow")]
async fn redeliver(
    st: web::Data<AppState>,
    me: PanelUser,
    path: web::Path<(String, String, String)>,
    form: Fields,
) -> Result<HttpResponse, PanelError> {
    let (nip, id, delivery) = path.into_inner();
    let client = me.client_for_form(&st, &nip, &form).await?;
    let id = id_in_path_checked(&id, webhooks::require_managing(&st, &me.caller, &client.id)).await?;
    let delivery: WebhookDeliveryId =
        id_in_path_checked(&delivery, webhooks::require_managing(&st, &me.caller, &client.id)).await?;
    webhooks::redeliver(&st, &me.caller, &client.id, &id, &delivery).await?;
    Ok(see_other(&format!("/klienci/{}/webhooki/{id}", client.nip)))
}
