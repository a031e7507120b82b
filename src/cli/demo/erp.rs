//! The demo clients' "ERP": a small HTTP receiver on 127.0.0.1 that takes the gateway's webhook
//! events (and answers 204), so the demo's delivery logs fill with real, delivered events. Each
//! demo client has one endpoint pointing here, subscribed to both events; on a later start the
//! receiver has another port and the endpoint is replaced.

use std::net::{SocketAddr, TcpListener};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

use crate::db::models::WebhookEndpoint;
use crate::domain::{EventSet, Nip, WebhookEvent};
use crate::error::AppError;
use crate::service::access::Caller;
use crate::service::webhooks;
use crate::state::AppState;

/// Starts the receiver on the current actix system; returns its webhook URL.
pub fn start() -> std::io::Result<String> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    let url = format!("http://{}/erp/ksef-webhook", listener.local_addr()?);
    let server = HttpServer::new(|| App::new().route("/erp/ksef-webhook", web::post().to(receive)))
        .workers(1)
        .disable_signals()
        .listen(listener)?
        .run();
    actix_web::rt::spawn(server);
    Ok(url)
}

async fn receive(req: HttpRequest) -> HttpResponse {
    let event = req.headers().get("x-ksef-gateway-event").and_then(|v| v.to_str().ok()).unwrap_or("?");
    tracing::info!(event, "Demo ERP received a webhook event");
    HttpResponse::NoContent().finish()
}

/// Gives each demo client one endpoint at `url` (replacing one left by an earlier run).
pub async fn seed(
    st: &AppState,
    client_ids: &[(crate::domain::ClientId, Nip)],
    url: &str,
) -> Result<(), AppError> {
    let op = Caller::Operator;
    let all: Vec<&str> = WebhookEvent::ALL.iter().map(|e| e.as_str()).collect();
    for (client_id, _) in client_ids {
        let id = client_id.clone();
        let existing = st.db.tx(move |c| WebhookEndpoint::list_for_client(c, &id)).await?;
        if existing.iter().any(|e| e.url == url) {
            continue;
        }
        for old in existing {
            webhooks::delete(st, &op, client_id, &old.id).await?;
        }
        let events = EventSet::parse(&all).map_err(AppError::invalid)?;
        webhooks::create(st, &op, client_id, url, events).await?;
    }
    Ok(())
}
