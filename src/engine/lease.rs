//! The lease a sender holds on its client for one turn (several replicas, one sender per NIP);
//! taken here (kept renewed) and given back for a turn or a login ahead, checked by the senders
//! before each upload.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::context::Engine;
use super::TurnError;
use crate::db::models::{ids, lease};
use crate::domain::ClientId;

/// The lease held for the turn; a background task renews it and notices when it is lost.
pub struct Lease {
    pub(super) lost: Arc<AtomicBool>,
    pub(super) renewer: tokio::task::JoinHandle<()>,
}

impl Lease {
    /// Err(LeaseLost) when another process has taken the client over: stop before uploading.
    pub fn check(&self) -> Result<(), TurnError> {
        if self.lost.load(Ordering::SeqCst) {
            Err(TurnError::LeaseLost)
        } else {
            Ok(())
        }
    }
}

/// Gives the client's lease back (it expires by itself if that fails).
pub(super) async fn give_back(engine: &Engine, client_id: &ClientId, lease: Lease) {
    lease.renewer.abort();
    let (cid, holder) = (client_id.clone(), engine.holder.clone());
    if let Err(e) = engine.st.db.tx(move |c| lease::release(c, &cid, &holder)).await {
        tracing::warn!(client.id = %client_id, error = %e, "Could not release a sender lease; it expires by itself");
    }
}

/// Takes the client's lease, kept renewed until given back; None while another replica holds it.
#[tracing::instrument(level = "debug", name = "sender.lease", skip_all)]
pub(super) async fn take_lease(engine: &Engine, client_id: &ClientId) -> Option<Lease> {
    let ttl = Duration::from_secs(engine.cfg.lease_ttl_s);
    let (cid, holder) = (client_id.clone(), engine.holder.clone());
    let ttl_chrono = chrono::Duration::from_std(ttl).unwrap_or_default();
    let got = engine
        .st
        .db
        .tx(move |c| {
            let now = ids::now();
            lease::acquire(c, &cid, &holder, now, now + ttl_chrono)
        })
        .await;
    match got {
        Ok(true) => {}
        Ok(false) => return None,
        Err(e) => {
            tracing::warn!(client.id = %client_id, error = %e, "Could not take a sender lease");
            return None;
        }
    }
    let lost = Arc::new(AtomicBool::new(false));
    let (db, cid, holder, flag) =
        (engine.st.db.clone(), client_id.clone(), engine.holder.clone(), lost.clone());
    let renewer = tokio::spawn(async move {
        loop {
            tokio::time::sleep(ttl / 3).await;
            let (cid, holder) = (cid.clone(), holder.clone());
            let renewed = db.tx(move |c| lease::renew(c, &cid, &holder, ids::now() + ttl_chrono)).await;
            if !matches!(renewed, Ok(true)) {
                flag.store(true, Ordering::SeqCst);
                return;
            }
        }
    });
    Some(Lease { lost, renewer })
}
