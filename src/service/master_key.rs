//! Whether the master key in use opens what the database holds (#20).
//!
//! A start with a lost key file used to generate a new key silently, and a start with a wrong
//! one reported ready while every sender failed to decrypt. The database now keeps a canary
//! sealed with the master key; `server::bootstrap` refuses to start when the key does not open
//! it (or, for a database from before the canary, a stored credential), and `/readyz` reports
//! not ready when it stops opening.

use chrono::Utc;

use crate::db::models::{Credential, VaultCanary};
use crate::db::{AnyConn, Db, DbError};
use crate::error::AppError;
use crate::state::AppState;
use crate::vault::{self, Keyring, Sealed};

/// What the canary seals, bound like a credential (to no NIP, see [`vault::seal_canary`]) and its
/// own kind.
const CANARY_KIND: &str = "vault_canary";
const CANARY_TEXT: &[u8] = b"ksef-gateway master key canary v1";

/// Why the master key was refused.
#[derive(Debug, thiserror::Error)]
pub enum KeyCheckError {
    #[error(transparent)]
    Db(#[from] DbError),
    /// The key does not open the database's sealed data; the text says which.
    #[error("{0}")]
    WrongKey(String),
}

/// Whether the database holds anything sealed with a master key (the canary or a credential),
/// i.e. whether generating a new key would make stored data unreadable.
pub fn sealed_data_exists(db: &Db) -> Result<bool, DbError> {
    db.blocking(VaultCanary::sealed_data_exists)
}

/// At start: the key must open the canary. A database without one (new, or from before the
/// canary) must have its first credential open instead; then the canary is written.
pub fn verify_at_start(db: &Db, keys: &Keyring) -> Result<(), KeyCheckError> {
    if let Some(canary) = db.blocking(VaultCanary::find)? {
        return open_canary(keys, &canary);
    }
    if let Some((cred, nip)) = db.blocking(Credential::first_with_nip)? {
        let sealed = Sealed {
            key_version: u32::try_from(cred.key_version).unwrap_or(u32::MAX),
            nonce: cred.nonce,
            ciphertext: cred.ciphertext,
        };
        vault::open(keys, &nip, &cred.kind, &sealed)
            .map_err(|e| KeyCheckError::WrongKey(format!("it does not open the stored credentials ({e})")))?;
    }
    db.blocking_tx(|conn| reseal_canary(conn, keys))?;
    Ok(())
}

/// For `/readyz`: the key still opens the canary (a missing canary is not an error here:
/// bootstrap writes it before serving).
pub async fn verify(st: &AppState) -> Result<(), AppError> {
    let canary = st.db.run(VaultCanary::find).await?;
    match canary {
        Some(canary) => {
            open_canary(&st.keys, &canary).map_err(|e| AppError::Unavailable(format!("vault: {e}")))
        }
        None => Ok(()),
    }
}

/// Seals a fresh canary under the current key (first start, and after a key rotation, in the
/// rotation's transaction).
pub fn reseal_canary(conn: &mut AnyConn, keys: &Keyring) -> Result<(), DbError> {
    let sealed = vault::seal_canary(keys, CANARY_KIND, CANARY_TEXT)
        .map_err(|e| DbError::Task(format!("sealing the vault canary: {e}")))?;
    VaultCanary::store(
        conn,
        i64::from(sealed.key_version),
        &sealed.nonce,
        &sealed.ciphertext,
        Utc::now().naive_utc(),
    )
}

fn open_canary(keys: &Keyring, canary: &VaultCanary) -> Result<(), KeyCheckError> {
    let sealed = Sealed {
        key_version: u32::try_from(canary.key_version).unwrap_or(u32::MAX),
        nonce: canary.nonce.clone(),
        ciphertext: canary.ciphertext.clone(),
    };
    let plain = vault::open_canary(keys, CANARY_KIND, &sealed).map_err(|e| {
        KeyCheckError::WrongKey(format!("it does not open the data sealed in the database ({e})"))
    })?;
    if secrecy::ExposeSecret::expose_secret(&plain).as_slice() != CANARY_TEXT {
        return Err(KeyCheckError::WrongKey("the database's canary holds unexpected data".into()));
    }
    Ok(())
}
