//! `keys rotate`: a new master key, every credential, webhook secret and the vault canary
//! re-sealed under it, old keys retired.
//!
//! Servers keep running throughout: the new key is written to the key file before anything is
//! re-sealed, and a server meeting an unknown key version re-reads the file (see `Keyring`).

use crate::db::models::{CertificateEnrollment, Credential, OfficeCredential, WebhookEndpoint};
use crate::db::DbError;
use crate::error::AppError;
use crate::state::AppState;
use crate::vault::{self, Sealed};

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationReport {
    pub new_version: u32,
    pub resealed: usize,
    pub retired_versions: Vec<u32>,
}

/// Rotates the master key. Re-sealing happens in one transaction: either every credential moves
/// to the new key or none does, and the old keys are only dropped after that commit.
pub async fn rotate(st: &AppState) -> Result<RotationReport, AppError> {
    let new_version = st.keys.add_new_key().map_err(|e| AppError::Internal(e.into()))?;
    let keys = st.keys.clone();
    let resealed = st
        .db
        .tx(move |conn| {
            let rows = Credential::list_all_with_nip(conn)?;
            let mut count = 0;
            for (cred, nip) in rows {
                let new = reseal(&keys, &nip, &cred.kind, (cred.key_version, &cred.nonce, &cred.ciphertext))
                    .map_err(|e| DbError::Task(format!("credential {}: {e}", cred.id)))?;
                Credential::reseal(conn, &cred.id, i64::from(new.key_version), &new.nonce, &new.ciphertext)?;
                count += 1;
            }
            // The office's own credential, bound to the office's NIP and its own kinds.
            for cred in OfficeCredential::list_all(conn)? {
                let stored = (cred.key_version, cred.nonce.as_slice(), cred.ciphertext.as_slice());
                let new = reseal(&keys, &cred.office_nip, cred.kind.vault_kind(), stored)
                    .map_err(|e| DbError::Task(format!("office credential {}: {e}", cred.id)))?;
                OfficeCredential::reseal(
                    conn,
                    &cred.id,
                    i64::from(new.key_version),
                    &new.nonce,
                    &new.ciphertext,
                )?;
                count += 1;
            }
            // New certificates' keys of enrollments not finished yet.
            for e in CertificateEnrollment::list_sealed(conn)? {
                let (Some(version), Some(nonce), Some(ciphertext)) =
                    (e.key_version, &e.key_nonce, &e.key_ciphertext)
                else {
                    continue;
                };
                let kind = crate::service::enrollment::KEY_KIND;
                let new = reseal(&keys, &e.subject_nip, kind, (version, nonce, ciphertext))
                    .map_err(|err| DbError::Task(format!("certificate enrollment {}: {err}", e.id)))?;
                CertificateEnrollment::reseal(
                    conn,
                    &e.id,
                    i64::from(new.key_version),
                    &new.nonce,
                    &new.ciphertext,
                )?;
                count += 1;
            }
            for (endpoint, nip) in WebhookEndpoint::list_sealed_with_nip(conn)? {
                let kind = crate::webhooks::secret_kind(&endpoint.id);
                let stored = (
                    endpoint.secret_key_version,
                    endpoint.secret_nonce.as_slice(),
                    endpoint.secret_ciphertext.as_slice(),
                );
                let new = reseal(&keys, &nip, &kind, stored)
                    .map_err(|e| DbError::Task(format!("webhook endpoint {}: {e}", endpoint.id)))?;
                WebhookEndpoint::reseal(
                    conn,
                    &endpoint.id,
                    i64::from(new.key_version),
                    &new.nonce,
                    &new.ciphertext,
                )?;
                count += 1;
            }
            crate::service::master_key::reseal_canary(conn, &keys)?;
            Ok::<_, DbError>(count)
        })
        .await?;
    let retired_versions = st.keys.retire_old_keys().map_err(|e| AppError::Internal(e.into()))?;
    Ok(RotationReport { new_version, resealed, retired_versions })
}

/// A stored secret (key version, nonce, ciphertext) opened and sealed again under the current
/// key, with the same binding.
fn reseal(
    keys: &vault::Keyring,
    nip: &str,
    kind: &str,
    (key_version, nonce, ciphertext): (i64, &[u8], &[u8]),
) -> Result<Sealed, vault::VaultError> {
    let old = Sealed::stored(key_version, nonce, ciphertext);
    let plain = vault::open(keys, nip, kind, &old)?;
    vault::seal(keys, nip, kind, secrecy::ExposeSecret::expose_secret(&plain))
}
