//! Logins ahead of turns. A client without KSeF tokens is logged in by a task of its own,
//! outside the bound on concurrent turns, and gets its turn once it holds tokens. Logins queue
//! at the per-IP limit of KSeF's public endpoints (100 of them take most of 7 s); meanwhile the
//! turns of clients already logged in (sending, polling) go on instead of waiting behind logins
//! for a turn slot.

use std::sync::Arc;

use tokio::task::JoinSet;

use super::context::{lock, Engine};
use crate::db::models::Client;

/// A login ahead of a client's turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ahead {
    Running,
    /// It did not end with tokens: the turn logs in itself and handles the refusal (a pause,
    /// a backoff), as for any login.
    Failed,
}

/// Whether the client's turn may start now; if not, a login is running for it (started here
/// when needed, on `logins`).
pub async fn ready_for_turn(engine: &Arc<Engine>, client_id: &str, logins: &mut JoinSet<()>) -> bool {
    if let Some(ctx) = engine.cached_context(client_id) {
        if ctx.logged_in().await {
            return true;
        }
    }
    {
        let mut ahead = lock(&engine.logins);
        match ahead.get(client_id) {
            Some(Ahead::Running) => return false,
            Some(Ahead::Failed) => {
                ahead.remove(client_id);
                return true;
            }
            None => {
                ahead.insert(client_id.to_owned(), Ahead::Running);
            }
        }
    }
    let (engine, id) = (engine.clone(), client_id.to_owned());
    logins.spawn(async move {
        let logged_in = log_in(&engine, &id).await;
        let mut ahead = lock(&engine.logins);
        if logged_in {
            ahead.remove(&id);
        } else {
            ahead.insert(id, Ahead::Failed);
        }
    });
    false
}

async fn log_in(engine: &Engine, client_id: &str) -> bool {
    let cid = client_id.to_owned();
    let Ok(client) = engine.st.db.run(move |c| Client::get(c, &cid)).await else { return false };
    if client.paused_reason.is_some() {
        return false;
    }
    let Ok(Some(ctx)) = engine.client_ctx(&client).await else { return false };
    ctx.access_token(&engine.limits).await.is_ok()
}
