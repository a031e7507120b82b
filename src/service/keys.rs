//! `keys rotate`: a new master key, every credential, webhook secret and the vault canary
//! re-sealed under it, old keys retired.
//!
//! Servers keep running throughout: the new key is written to the key file before anything is
//! re-sealed, and a server meeting an unknown key version re-reads the file (see `Keyring`).

use crate::db::models::{CertificateEnrollment, Credential, OfficeCredential, WebhookEndpoint};
use crate::db::{AnyConn, DbError};
use crate::domain::Nip;
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
                let stored = (cred.key_version, cred.nonce.as_slice(), cred.ciphertext.as_slice());
                let row = ("credential", &cred.id);
                reseal_row(conn, &keys, row, (&nip, &cred.kind), stored, Credential::reseal)?;
                count += 1;
            }
            // The office's own credential, bound to the office's NIP and its own kinds.
            for cred in OfficeCredential::list_all(conn)? {
                let stored = (cred.key_version, cred.nonce.as_slice(), cred.ciphertext.as_slice());
                let binding = (&cred.office_nip, cred.kind.vault_kind());
                let row = ("office credential", &cred.id);
                reseal_row(conn, &keys, row, binding, stored, OfficeCredential::reseal)?;
                count += 1;
            }
            // New certificates' keys of enrollments not finished yet.
            for e in CertificateEnrollment::list_sealed(conn)? {
                let (Some(version), Some(nonce), Some(ciphertext)) =
                    (e.key_version, &e.key_nonce, &e.key_ciphertext)
                else {
                    continue;
                };
                let binding = (&e.subject_nip, crate::service::enrollment::KEY_KIND);
                let (what, write) = ("certificate enrollment", CertificateEnrollment::reseal);
                reseal_row(conn, &keys, (what, &e.id), binding, (version, nonce, ciphertext), write)?;
                count += 1;
            }
            for (endpoint, nip) in WebhookEndpoint::list_sealed_with_nip(conn)? {
                let kind = crate::webhooks::secret_kind(&endpoint.id);
                let stored = (
                    endpoint.secret_key_version,
                    endpoint.secret_nonce.as_slice(),
                    endpoint.secret_ciphertext.as_slice(),
                );
                let row = ("webhook endpoint", &endpoint.id);
                reseal_row(conn, &keys, row, (&nip, &kind), stored, WebhookEndpoint::reseal)?;
                count += 1;
            }
            crate::service::master_key::reseal_canary(conn, &keys)?;
            Ok::<_, DbError>(count)
        })
        .await?;
    let retired_versions = st.keys.retire_old_keys().map_err(|e| AppError::Internal(e.into()))?;
    Ok(RotationReport { new_version, resealed, retired_versions })
}

/// How a row type writes a re-sealed secret (its `reseal`): id, key version, nonce, ciphertext.
/// `Id` is the row's id type.
type WriteSealed<Id> = fn(&mut AnyConn, &Id, i64, &[u8], &[u8]) -> Result<(), DbError>;

/// Re-seals one row's stored secret under the current key (same NIP and kind binding) and
/// writes it back with `write`; an error names the row (`what` and id).
fn reseal_row<Id: std::fmt::Display + ?Sized>(
    conn: &mut AnyConn,
    keys: &vault::Keyring,
    (what, id): (&str, &Id),
    (nip, kind): (&Nip, &str),
    stored: (i64, &[u8], &[u8]),
    write: WriteSealed<Id>,
) -> Result<(), DbError> {
    let new = reseal(keys, nip, kind, stored).map_err(|e| DbError::Task(format!("{what} {id}: {e}")))?;
    write(conn, id, i64::from(new.key_version), &new.nonce, &new.ciphertext)
}

/// A stored secret (key version, nonce, ciphertext) opened and sealed again under the current
/// key, with the same binding.
fn reseal(
    keys: &vault::Keyring,
    nip: &Nip,
    kind: &str,
    (key_version, nonce, ciphertext): (i64, &[u8], &[u8]),
) -> Result<Sealed, vault::VaultError> {
    let old = Sealed::stored(key_version, nonce, ciphertext);
    let plain = vault::open(keys, nip, kind, &old)?;
    vault::seal(keys, nip, kind, secrecy::ExposeSecret::expose_secret(&plain))
}
