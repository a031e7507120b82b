//! Latarnia, KSeF's public status service, polled in the background; what it says is kept in
//! the shared [`Availability`](crate::service::availability::Availability).

use std::time::Duration;

use tokio::sync::watch;

use crate::db::models::Client;
use crate::state::AppState;

/// Polls Latarnia for every environment the clients use, every `every`, until `stop`.
pub async fn watch_latarnia(st: AppState, every: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        check_latarnia(&st).await;
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// Asks Latarnia once for every environment the clients use and remembers the answers.
pub async fn check_latarnia(st: &AppState) {
    let environments = match st.db.run(Client::environments).await {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "Could not list KSeF environments for the Latarnia check");
            return;
        }
    };
    for environment in environments {
        let Ok(ksef) = crate::ksef::client_for(&environment, st.ksef_limits.clone()) else { continue };
        match ksef.lighthouse_status().await {
            Ok(status) => st.availability.record_latarnia(&environment, status),
            // No Latarnia for this environment (DEMO), or it does not answer: the senders'
            // experience still speaks.
            Err(e) => {
                tracing::debug!(environment = %environment, error = %e, "Latarnia not consulted");
                st.availability.forget_latarnia(&environment);
            }
        }
    }
}
