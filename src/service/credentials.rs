//! Credential health: does a client's stored KSeF credential really authenticate?

use secrecy::{ExposeSecret, SecretString};

use crate::db::models::{ids, Client, Credential};
use crate::error::AppError;
use crate::service::clients::KSEF_TOKEN;
use crate::state::AppState;
use crate::vault::{self, Sealed};

/// The outcome of one check, in words an office admin can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialHealth {
    /// KSeF accepted the credential just now.
    Ok,
    /// The client has no active credential.
    Missing,
    /// KSeF refused it or could not be asked; the reason is stored on the credential too.
    Failed(String),
}

/// The client's active KSeF token, opened from the vault. Never logged, never returned by a route.
pub async fn open_ksef_token(
    st: &AppState,
    client: &Client,
) -> Result<Option<(Credential, SecretString)>, AppError> {
    let client_id = client.id.clone();
    let Some(cred) = st.db.tx(move |c| Credential::find_active(c, &client_id, KSEF_TOKEN)).await? else {
        return Ok(None);
    };
    let sealed = Sealed {
        key_version: u32::try_from(cred.key_version).map_err(|e| AppError::Internal(e.into()))?,
        nonce: cred.nonce.clone(),
        ciphertext: cred.ciphertext.clone(),
    };
    let plain =
        vault::open(&st.keys, &client.nip, KSEF_TOKEN, &sealed).map_err(|e| AppError::Internal(e.into()))?;
    let token = String::from_utf8(plain.expose_secret().clone()).map_err(|e| AppError::Internal(e.into()))?;
    Ok(Some((cred, SecretString::from(token))))
}

/// Authenticates to the client's KSeF with its stored token and records the result.
pub async fn check(st: &AppState, client: &Client) -> Result<CredentialHealth, AppError> {
    let Some((cred, token)) = open_ksef_token(st, client).await? else {
        return Ok(CredentialHealth::Missing);
    };
    let outcome = match crate::ksef::client_for(&client.ksef_environment) {
        Ok(ksef) => ksef
            .authenticate_with_ksef_token(&ksef_client::ContextIdentifier::nip(&client.nip), &token)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let error = outcome.as_ref().err().cloned();
    let cred_id = cred.id.clone();
    st.db.tx(move |c| Credential::record_auth(c, &cred_id, ids::now(), error.as_deref())).await?;
    Ok(match outcome {
        Ok(()) => CredentialHealth::Ok,
        Err(e) => {
            tracing::warn!(client.id = %client.id, error = %e, "KSeF authentication with a stored credential failed");
            CredentialHealth::Failed(e)
        }
    })
}
