//! "Statusy w KSeF": a person asks for fresh statuses of a client's invoices now. The request is
//! left here (shared through the application state) and the supervisor of this process is woken
//! to take it: the client's poll is due at once, and a backoff after failures is cut short,
//! since a person is waiting. KSeF's limits still apply.
//!
//! A recorded send decision wakes the supervisor the same way, so its invoices leave without
//! waiting for the next tick (250 ms by default) to find them.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::domain::ClientId;

#[derive(Debug, Default)]
pub struct StatusRequests {
    clients: Mutex<HashSet<ClientId>>,
    /// A supervisor runs in this process and takes the requests.
    served: AtomicBool,
    /// Wakes the supervisor before its tick; a wake while it works is kept for its next wait.
    wake: tokio::sync::Notify,
}

impl StatusRequests {
    /// Asks for the client's statuses; false when no sender runs in this process (another
    /// replica's senders poll on their own schedule).
    pub fn request(&self, client_id: &ClientId) -> bool {
        self.clients().insert(client_id.clone());
        self.wake.notify_one();
        self.served.load(Ordering::Relaxed)
    }

    /// New work is due (a send decision was committed): the supervisor looks for it now.
    pub fn work_arrived(&self) {
        self.wake.notify_one();
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
        std::mem::take(&mut *self.clients())
    }

    // A poisoned set is still a set of client ids: go on with it.
    fn clients(&self) -> MutexGuard<'_, HashSet<ClientId>> {
        self.clients.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
