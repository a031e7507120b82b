//! The sending engine: per-NIP senders that deliver decided invoices to KSeF exactly once and
//! bring back honest statuses (W → O → A, or rejected with a reason).
//!
//! * [`supervisor`] finds clients with due or in-flight work and runs one turn per client at a
//!   time under a global bound; a turn takes a bounded slice of work and yields (fairness).
//! * [`login`] logs clients without tokens in ahead of their turns, outside the turn bound.
//! * [`turn`] holds the client's lease in the database for the turn (several replicas, one sender
//!   per NIP), reconciles what is in flight ([`sync`]) before sending anything new ([`online`],
//!   [`batch`]).
//! * [`record`] writes every change with its timeline entry and audit event in one transaction.
//! * [`purchase`] fetches the client's purchase invoices in the same turn, after sending.
//! * [`limits`] keeps each NIP inside KSeF's published rate limits; 429s put the NIP in a penalty
//!   box for Retry-After.

pub mod backoff;
mod batch;
pub mod collective;
mod context;
mod lease;
pub mod limits;
mod login;
mod online;
pub mod purchase;
mod record;
mod supervisor;
mod sync;
mod turn;

use std::sync::Arc;

use ksef_client::KsefError;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use limits::{EndpointClass, Limits};

use crate::db::DbError;
use crate::state::AppState;

/// Why a turn ended early. Kept apart from `AppError` because the engine branches on the KSeF
/// error class (retry, pause, penalty box), which an HTTP error would erase.
#[derive(Debug, thiserror::Error)]
enum TurnError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Ksef(#[from] KsefError),
    #[error("{0}")]
    Setup(String),
    #[error("the sender lease was lost")]
    LeaseLost,
}

/// The running engine. Dropping it leaves the supervisor running; call [`EngineHandle::stop`].
pub struct EngineHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl EngineHandle {
    /// Asks the supervisor to stop, waits for running turns to finish (they stop before their
    /// next upload) and closes open online sessions.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "Sending engine task ended abnormally");
        }
    }
}

/// Starts the supervisor on the current tokio runtime.
pub fn start(state: AppState) -> EngineHandle {
    let (stop, stopped) = watch::channel(false);
    let engine = Arc::new(context::Engine::new(state, stopped));
    let task = tokio::spawn(supervisor::run(engine));
    EngineHandle { stop, task }
}
