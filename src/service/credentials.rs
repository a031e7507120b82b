//! Credential health: does a client's stored KSeF credential really authenticate?

use secrecy::{ExposeSecret, SecretBox, SecretString};

use crate::db::models::{ids, Client, Credential};
use crate::error::AppError;
use crate::service::certificates::{self, KSEF_CERTIFICATE};
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

/// Opens a stored credential's secret from the vault. Never logged, never returned by a route.
pub(crate) fn open_sealed(
    st: &AppState,
    client: &Client,
    cred: &Credential,
) -> Result<SecretBox<Vec<u8>>, AppError> {
    let sealed = Sealed {
        key_version: u32::try_from(cred.key_version).map_err(|e| AppError::Internal(e.into()))?,
        nonce: cred.nonce.clone(),
        ciphertext: cred.ciphertext.clone(),
    };
    vault::open(&st.keys, &client.nip, &cred.kind, &sealed).map_err(|e| AppError::Internal(e.into()))
}

impl CredentialHealth {
    /// In words for an API answer.
    pub fn describe(&self) -> String {
        match self {
            Self::Ok => "ok: KSeF accepted the credential".to_owned(),
            Self::Missing => "missing: no credential stored".to_owned(),
            Self::Failed(why) => format!("failed: {why}"),
        }
    }
}

/// The client's active KSeF token, opened from the vault.
pub async fn open_ksef_token(
    st: &AppState,
    client: &Client,
) -> Result<Option<(Credential, SecretString)>, AppError> {
    let client_id = client.id.clone();
    let Some(cred) = st.db.tx(move |c| Credential::find_active(c, &client_id, KSEF_TOKEN)).await? else {
        return Ok(None);
    };
    let token = token_of(&open_sealed(st, client, &cred)?)?;
    Ok(Some((cred, token)))
}

/// A KSeF token from its opened secret.
pub(crate) fn token_of(plain: &SecretBox<Vec<u8>>) -> Result<SecretString, AppError> {
    let token = String::from_utf8(plain.expose_secret().clone()).map_err(|e| AppError::Internal(e.into()))?;
    Ok(SecretString::from(token))
}

/// The credential the client authenticates with: its KSeF certificate when it has one (tokens
/// are being retired), else its KSeF token.
pub async fn open_credential(
    st: &AppState,
    client: &Client,
) -> Result<Option<(Credential, ksef_client::Credential)>, AppError> {
    let client_id = client.id.clone();
    let Some(cred) = st.db.tx(move |c| Credential::find_preferred(c, &client_id)).await? else {
        return Ok(None);
    };
    let plain = open_sealed(st, client, &cred)?;
    let credential = if cred.kind == KSEF_CERTIFICATE {
        certificates::to_credential(&plain)?
    } else {
        ksef_client::Credential::KsefToken(token_of(&plain)?)
    };
    Ok(Some((cred, credential)))
}

/// Authenticates to the client's KSeF with its stored token and records the result, with the
/// permissions KSeF reports for the credential in the client's context.
pub async fn check(st: &AppState, client: &Client) -> Result<CredentialHealth, AppError> {
    let Some((cred, credential)) = open_credential(st, client).await? else {
        return Ok(CredentialHealth::Missing);
    };
    let (outcome, permissions) = match probe(client, credential).await {
        Ok(permissions) => (Ok(()), permissions),
        Err(e) => (Err(e), None),
    };
    let error = outcome.as_ref().err().cloned();
    let cred_id = cred.id.clone();
    st.db
        .tx(move |c| {
            Credential::record_auth(c, &cred_id, ids::now(), error.as_deref())?;
            match permissions {
                Some(p) => Credential::record_permissions(c, &cred_id, &p),
                None => Ok(()),
            }
        })
        .await?;
    Ok(match outcome {
        Ok(()) => CredentialHealth::Ok,
        Err(e) => {
            tracing::warn!(client.id = %client.id, error = %e, "KSeF authentication with a stored credential failed");
            CredentialHealth::Failed(e)
        }
    })
}

/// Logs in to the client's KSeF with `credential` (stored or not yet): Ok with the permissions
/// KSeF reports for it in the client's context, or why it failed (never the secret itself).
pub(crate) async fn probe(
    client: &Client,
    credential: ksef_client::Credential,
) -> Result<Option<String>, String> {
    let context = ksef_client::ContextIdentifier::nip(&client.nip);
    let ksef = crate::ksef::client_for(&client.ksef_environment).map_err(|e| e.to_string())?;
    let login = ksef_client::TokenManager::with_credential(ksef.clone(), context, credential);
    let access = login.access_token().await.map_err(|e| e.to_string())?;
    Ok(reported_permissions(&ksef, &access, &client.nip).await)
}

/// What KSeF says the credential may do in the client's context (`InvoiceWrite,InvoiceRead…`);
/// None when KSeF would not say (the check itself still counts as a successful login).
async fn reported_permissions(
    ksef: &ksef_client::KsefClient,
    access: &SecretString,
    nip: &str,
) -> Option<String> {
    use ksef_client::models::manage::{PersonalPermissionsQuery, TypedIdentifier};
    let query = PersonalPermissionsQuery {
        context_identifier: Some(TypedIdentifier { kind: "Nip".into(), value: Some(nip.to_owned()) }),
        permission_types: None,
        permission_state: Some("Active".into()),
    };
    let page = ksef.query_personal_permissions(access, &query, 0, 100).await.ok()?;
    let mut scopes: Vec<String> = page.permissions.into_iter().map(|p| p.permission_scope).collect();
    scopes.sort();
    scopes.dedup();
    Some(scopes.join(","))
}
