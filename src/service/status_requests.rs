//! "Statusy w KSeF": a person asks for fresh statuses of a client's invoices now. The request is
//! left here (shared through the application state) and the supervisor of this process is woken
//! to take it: the client's poll is due at once, and a backoff after failures is cut short,
//! since a person is waiting. KSeF's limits still apply.
//!
//! A recorded send decision wakes the supervisor the same way, so its invoices leave without
//! waiting for the next tick (250 ms by default) to find them, and it tells a purchase sync
//! step running for that client to yield, so they need not wait for the step's end either.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::domain::ClientId;
use crate::locks::lock;

#[derive(Debug, Default)]
pub struct StatusRequests {
    clients: Mutex<HashSet<ClientId>>,
    /// Clients with a send decision committed since their sender last read its due invoices.
    decided: Mutex<HashSet<ClientId>>,
    /// A supervisor runs in this process and takes the requests.
    served: AtomicBool,
    /// Wakes the supervisor before its tick; a wake while it works is kept for its next wait.
    wake: tokio::sync::Notify,
    /// Wakes purchase sync steps that wait (for an export KSeF is packing) when a send is decided.
    decided_wake: tokio::sync::Notify,
}

impl StatusRequests {
    /// Asks for the client's statuses; false when no sender runs in this process (another
    /// replica's senders poll on their own schedule).
    pub fn request(&self, client_id: &ClientId) -> bool {
        lock(&self.clients).insert(client_id.clone());
        self.wake.notify_one();
        self.served.load(Ordering::Relaxed)
    }

    /// A send decision for the client was committed: the supervisor looks for its invoices
    /// now, and a purchase sync step of the client yields its turn to them.
    pub fn work_arrived(&self, client_id: &ClientId) {
        // Only a sender turn of this process clears the mark: without one, nothing to mark.
        if self.served.load(Ordering::Relaxed) {
            lock(&self.decided).insert(client_id.clone());
        }
        self.wake.notify_one();
        self.decided_wake.notify_waiters();
    }

    /// For the purchase sync: completes at the next send decided for any client (the waiter
    /// then looks at [`StatusRequests::sends_waiting`] for its own). Enable it before that
    /// look, so a decision between the two is not missed.
    pub(crate) fn next_decision(&self) -> tokio::sync::futures::Notified<'_> {
        self.decided_wake.notified()
    }

    /// For the purchase sync: sends were decided for the client since its turn read what was due.
    pub(crate) fn sends_waiting(&self, client_id: &ClientId) -> bool {
        lock(&self.decided).contains(client_id)
    }

    /// For a sender turn, just before it reads the client's due invoices: what was decided
    /// until now, it is about to find.
    pub(crate) fn sends_taken(&self, client_id: &ClientId) {
        lock(&self.decided).remove(client_id);
    }

    /// For the engine's supervisor: returns once a request or new work arrived.
    pub(crate) async fn woken(&self) {
        self.wake.notified().await;
    }

    /// For the engine's supervisor: it runs in this process and serves the requests (or stops).
    pub(crate) fn serve(&self, on: bool) {
        self.served.store(on, Ordering::Relaxed);
    }

    /// For the engine's supervisor: the clients asked for since the last tick.
    pub(crate) fn take(&self) -> HashSet<ClientId> {
        std::mem::take(&mut *lock(&self.clients))
    }
}
