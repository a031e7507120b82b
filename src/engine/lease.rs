//! The lease a sender holds on its client for one turn (several replicas, one sender per NIP);
//! taken and renewed by `turn`, checked by the senders before each upload.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::TurnError;

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
