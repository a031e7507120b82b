//! The lease a sender holds on its client for one turn (several replicas, one sender per NIP);
//! taken here (kept renewed) and given back for a turn or a login ahead, checked by the senders
//! before each upload. Within the process the lease is shared: a turn that starts while its
//! client's login ahead runs (`supervisor.rs`) works under the lease the login took, which goes
//! back to the database when the last of the two gives it back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::context::{lock, Engine, HeldLease};
use super::TurnError;
use crate::db::models::{ids, lease};
use crate::db::Db;
use crate::domain::ClientId;

/// The process's entry for one client's lease (`Engine::leases`).
type Entry = Arc<tokio::sync::Mutex<Option<HeldLease>>>;

/// One task's share of the client's lease; a background task renews the lease and notices when
/// it is lost. Given back with [`Lease::give_back`], or when dropped: a task cancelled when the
/// engine stops (a login ahead) or panicking would otherwise keep the lease in the database until
/// it expires, shared or not, and another replica would wait that long.
pub struct Lease {
    lost: Arc<AtomicBool>,
    /// Taken when the share is given back.
    owner: Option<Owner>,
}

/// What giving a share back needs, owned, so that a dropped share can be given back by a task of
/// its own.
struct Owner {
    entry: Entry,
    db: Db,
    client_id: ClientId,
    holder: String,
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

    /// Gives this task's share back; the last one gives the lease back to the database (it
    /// expires by itself if that fails).
    pub async fn give_back(mut self) {
        if let Some(owner) = self.owner.take() {
            owner.give_back().await;
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let (Some(owner), Ok(runtime)) = (self.owner.take(), tokio::runtime::Handle::try_current()) else {
            return;
        };
        runtime.spawn(owner.give_back());
    }
}

impl Owner {
    async fn give_back(self) {
        let mut held = self.entry.lock().await;
        match held.as_mut() {
            Some(h) if h.users > 1 => {
                h.users -= 1;
                return;
            }
            Some(_) => {}
            None => return,
        }
        if let Some(h) = held.take() {
            h.renewer.abort();
        }
        let Self { db, client_id, holder, .. } = self;
        let cid = client_id.clone();
        if let Err(e) = db.tx(move |c| lease::release(c, &cid, &holder)).await {
            tracing::warn!(client.id = %client_id, error = %e, "Could not release a sender lease; it expires by itself");
        }
    }
}

/// The client's entry in the process's leases; its async lock orders the takes and gives back
/// of one client (the first take and the last give back talk to the database under it).
fn entry(engine: &Engine, client_id: &ClientId) -> Entry {
    lock(&engine.leases).entry(client_id.clone()).or_default().clone()
}

/// A share of `entry`'s lease for the task that holds `lost`.
fn share(engine: &Engine, client_id: &ClientId, entry: &Entry, lost: Arc<AtomicBool>) -> Lease {
    let owner = Owner {
        entry: entry.clone(),
        db: engine.st.db.clone(),
        client_id: client_id.clone(),
        holder: engine.holder.clone(),
    };
    Lease { lost, owner: Some(owner) }
}

/// A share of the client's lease: the one this process holds already, else the lease taken
/// from the database and kept renewed until its last share is given back; None while another
/// replica holds it.
#[tracing::instrument(level = "debug", name = "sender.lease", skip_all)]
pub(super) async fn take_lease(engine: &Engine, client_id: &ClientId) -> Option<Lease> {
    let entry = entry(engine, client_id);
    let mut held = entry.lock().await;
    if let Some(h) = held.as_mut() {
        // A lease lost to another process stays lost: its holders stop before their uploads.
        if h.lost.load(Ordering::SeqCst) {
            return None;
        }
        h.users += 1;
        return Some(share(engine, client_id, &entry, h.lost.clone()));
    }
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
    *held = Some(HeldLease { users: 1, lost: lost.clone(), renewer });
    Some(share(engine, client_id, &entry, lost))
}
