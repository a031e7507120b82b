//! Adding client companies together with their KSeF credential.

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::db::models::{ids, Client, Credential, NewClient, NewCredential};
use crate::domain::{KsefTarget, Nip, SendPolicy};
use crate::error::AppError;
use crate::state::AppState;
use crate::vault;

/// The credential kind of a KSeF token (certificates come as tokens are retired).
pub const KSEF_TOKEN: &str = "ksef_token";

/// What an office admin says when adding a client.
#[derive(Debug)]
pub struct NewClientInput {
    pub nip: Nip,
    pub name: String,
    pub ksef: KsefTarget,
    pub policy: SendPolicy,
}

/// Adds a client and seals its KSeF token, in one transaction: a client never exists half-made.
/// `actor` is the id of the user doing it (None for the CLI, which runs as the operator).
pub async fn add_client(
    st: &AppState,
    input: NewClientInput,
    ksef_token: SecretString,
    actor: Option<String>,
) -> Result<Client, AppError> {
    let name = input.name.trim().to_owned();
    if name.is_empty() {
        return Err(AppError::invalid("client name must not be empty"));
    }
    let token = ksef_token.expose_secret().trim();
    if token.len() < 16 {
        return Err(AppError::invalid("the KSeF token looks too short; paste the whole token"));
    }
    let sealed = vault::seal(&st.keys, input.nip.as_str(), KSEF_TOKEN, token.as_bytes())
        .map_err(|e| AppError::Internal(e.into()))?;
    let fingerprint = fingerprint(token.as_bytes());
    let client_id = ids::new_id();
    let credential_id = ids::new_id();
    st.db
        .tx(move |conn| {
            let now = ids::now();
            if Client::find_by_nip(conn, input.nip.as_str())?.is_some() {
                return Err(crate::db::DbError::Conflict(format!(
                    "client with NIP {} already exists",
                    input.nip
                )));
            }
            Client::insert(
                conn,
                &NewClient {
                    id: &client_id,
                    nip: input.nip.as_str(),
                    name: &name,
                    ksef_environment: input.ksef.as_str(),
                    send_policy: input.policy.as_str(),
                    created_at: now,
                    updated_at: now,
                },
            )?;
            Credential::insert_active(
                conn,
                &NewCredential {
                    id: &credential_id,
                    client_id: &client_id,
                    kind: KSEF_TOKEN,
                    key_version: i64::from(sealed.key_version),
                    nonce: &sealed.nonce,
                    ciphertext: &sealed.ciphertext,
                    fingerprint: &fingerprint,
                    valid_until: None,
                    active: true,
                    created_by: actor.as_deref(),
                    created_at: now,
                },
            )?;
            Client::find_by_nip(conn, input.nip.as_str())?.ok_or(crate::db::DbError::NotFound)
        })
        .await
        .map_err(AppError::from)
}

/// A short, non-reversible label that lets people tell two credentials apart without seeing
/// either: the first 8 bytes of SHA-256, hex.
pub fn fingerprint(secret: &[u8]) -> String {
    hex::encode(&Sha256::digest(secret)[..8])
}
