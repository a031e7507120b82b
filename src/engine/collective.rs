//! A collective identifier created in KSeF for one client, asked by a person or a client system
//! rather than by a sender turn: a login with the client's credential (its own or the office's)
//! and one call, both under this process's per-NIP limits, which the senders share.

use std::sync::Arc;
use std::time::Duration;

use ksef_client::models::collective::CollectiveInvoice;
use ksef_client::{ContextIdentifier, Credential, ErrorClass, KsefError, TokenManager};

use super::limits::{EndpointClass, Limits};
use crate::db::models::Client;

/// Longest a request waits for room under the `collectiveIdentifier` limits (someone is waiting).
const MAX_WAIT: Duration = Duration::from_secs(20);

/// Why the call did not go out or did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum CollectiveCallError {
    /// The client's limits leave no room soon: try again after this.
    #[error("KSeF limits: retry after {0:?}")]
    Limited(Duration),
    #[error(transparent)]
    Ksef(#[from] KsefError),
}

/// Creates the collective identifier in the client's context; returns its number.
pub async fn create_in_ksef(
    limits: &Arc<Limits>,
    client: &Client,
    credential: Credential,
    invoices: Vec<CollectiveInvoice>,
) -> Result<String, CollectiveCallError> {
    let ksef = crate::ksef::client_for(&client.ksef_environment, limits.clone())?;
    let login =
        TokenManager::with_credential(ksef.clone(), ContextIdentifier::nip(client.nip.as_str()), credential);
    let (access, _) = login.access_token_in_slot(|| limits.login_slot()).await?;
    if !limits.acquire_within(&client.nip, EndpointClass::CollectiveIdentifier, MAX_WAIT).await {
        return Err(CollectiveCallError::Limited(limits.penalty(&client.nip).unwrap_or(MAX_WAIT)));
    }
    match ksef.create_collective_identifier(&access, invoices).await {
        Ok(created) => Ok(created.collective_identifier_number),
        Err(e) => {
            if let ErrorClass::RateLimited { retry_after } = e.class() {
                limits.penalize(&client.nip, retry_after);
            }
            Err(e.into())
        }
    }
}
