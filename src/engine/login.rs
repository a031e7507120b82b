//! Logins ahead of turns. A client without KSeF tokens is logged in by a task of its own,
//! outside the bound on concurrent turns, and gets its turn once it holds tokens. Logins queue
//! at the per-IP limit of KSeF's public endpoints (100 of them take most of 7 s); meanwhile the
//! turns of clients already logged in (sending, polling) go on instead of waiting behind logins
//! for a turn slot. One client alone to log in with invoices to send, while no other login runs
//! and a turn slot is free, is not logged in ahead: its turn logs in while it reads and packs its
//! invoices (the supervisor decides); one that gets invoices to send while it is the only one
//! logging in gets its turn at once, which packs them under the login's lease.

use std::sync::Arc;

use tokio::task::JoinSet;

use super::context::{lock, Ahead, Engine};
use crate::db::models::Client;
use crate::domain::ClientId;

/// Where a client with work stands with its KSeF tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// It holds tokens, or a login ahead of it ended without them (the turn logs in itself and
    /// handles the refusal): its turn may start.
    Ready,
    /// A login ahead of its turn is running.
    LoggingIn,
    /// No tokens and no login running: log it in ahead ([`log_in_ahead`]), or let its turn
    /// log in itself.
    NeedsLogin,
}

/// Where the client stands with its tokens.
pub async fn readiness(engine: &Engine, client_id: &ClientId) -> Readiness {
    // A running login holds the client's token lock through its wait at the per-IP window:
    // look at the logins first, so the supervisor's loop never waits behind one.
    if lock(&engine.logins).get(client_id) == Some(&Ahead::Running) {
        return Readiness::LoggingIn;
    }
    if let Some(ctx) = engine.cached_context(client_id) {
        if ctx.logged_in().await {
            return Readiness::Ready;
        }
    }
    let mut ahead = lock(&engine.logins);
    match ahead.get(client_id) {
        Some(Ahead::Running) => Readiness::LoggingIn,
        Some(Ahead::Failed) => {
            ahead.remove(client_id);
            Readiness::Ready
        }
        None => Readiness::NeedsLogin,
    }
}

/// Whether a login ahead of some client's turn is running.
pub fn any_running(engine: &Engine) -> bool {
    lock(&engine.logins).values().any(|a| *a == Ahead::Running)
}

/// Whether the client's login ahead is the only one running.
pub fn alone(engine: &Engine, client_id: &ClientId) -> bool {
    let logins = lock(&engine.logins);
    logins.get(client_id) == Some(&Ahead::Running)
        && logins.values().filter(|a| **a == Ahead::Running).count() == 1
}

/// Starts the client's login ahead of its turn on `logins`; its turn starts once it holds
/// tokens (the end of the login wakes the supervisor).
pub fn log_in_ahead(engine: &Arc<Engine>, client_id: &ClientId, logins: &mut JoinSet<()>) {
    match lock(&engine.logins).entry(client_id.clone()) {
        std::collections::hash_map::Entry::Occupied(_) => return,
        std::collections::hash_map::Entry::Vacant(v) => {
            v.insert(Ahead::Running);
        }
    }
    let settle = Settle { engine: engine.clone(), client_id: Some(client_id.clone()) };
    let client_id = client_id.clone();
    logins.spawn(async move {
        if log_in(&settle.engine, &client_id).await {
            settle.logged_in();
        }
    });
}

/// Ends a login ahead however its task ends: with tokens the entry goes; otherwise (a refusal,
/// a panic, the task cancelled at shutdown) the turn is left to log in itself, so a client is
/// never left waiting for a login that no longer runs.
struct Settle {
    engine: Arc<Engine>,
    /// Taken once the login ended with tokens.
    client_id: Option<ClientId>,
}

impl Settle {
    fn logged_in(mut self) {
        if let Some(id) = self.client_id.take() {
            lock(&self.engine.logins).remove(&id);
        }
    }
}

impl Drop for Settle {
    fn drop(&mut self) {
        if let Some(id) = self.client_id.take() {
            lock(&self.engine.logins).insert(id, Ahead::Failed);
        }
    }
}

/// Logs the client in under its lease, as a turn would: with several replicas only the one
/// holding the lease logs in, so a client is not logged in once per replica. A login cancelled
/// when the engine stops gives its share of the lease back as it is dropped.
#[tracing::instrument(level = "debug", name = "sender.login_ahead", skip_all)]
async fn log_in(engine: &Engine, client_id: &ClientId) -> bool {
    let Some(lease) = super::lease::take_lease(engine, client_id).await else { return false };
    let logged_in = log_in_holding_lease(engine, client_id).await;
    lease.give_back().await;
    logged_in
}

async fn log_in_holding_lease(engine: &Engine, client_id: &ClientId) -> bool {
    let cid = client_id.clone();
    let Ok(client) = engine.st.db.run(move |c| Client::get(c, &cid)).await else { return false };
    if client.paused_reason.is_some() {
        return false;
    }
    let Ok(Some(ctx)) = engine.client_ctx(&client).await else { return false };
    ctx.access_token(&engine.limits).await.is_ok()
}
