//! Sealing and opening one secret with AES-256-GCM.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use secrecy::SecretBox;

use super::{Keyring, KeyringError};
use crate::domain::Nip;

/// A sealed secret as stored: which key, which nonce, and the ciphertext with its tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_version: u32,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl Sealed {
    /// As a row stores it; a key version that does not fit names no key and fails to open.
    pub fn stored(key_version: i64, nonce: &[u8], ciphertext: &[u8]) -> Self {
        Self {
            key_version: u32::try_from(key_version).unwrap_or(u32::MAX),
            nonce: nonce.to_vec(),
            ciphertext: ciphertext.to_vec(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(transparent)]
    Keyring(#[from] KeyringError),
    /// Wrong key, changed bytes, or a ciphertext that belongs to another client or kind.
    #[error("credential cannot be decrypted: wrong master key, or the stored data was altered or moved")]
    Tampered,
}

/// What a ciphertext is bound to: the NIP of the client (or the office) it belongs to and the
/// credential kind, under a label that versions this format.
fn associated_data(owner: &str, kind: &str) -> Vec<u8> {
    format!("ksef-gateway/credential/v1|{owner}|{kind}").into_bytes()
}

/// Where the vault's canary stands in the binding for a NIP: text no NIP can be, so the canary
/// never opens as anyone's secret nor anyone's secret as the canary.
const CANARY_OWNER: &str = "-";

/// Seals `plaintext` for the client (or office) `nip` under the current master key.
pub fn seal(keys: &Keyring, nip: &Nip, kind: &str, plaintext: &[u8]) -> Result<Sealed, VaultError> {
    seal_bound(keys, nip, kind, plaintext)
}

/// Opens a sealed secret of client (or office) `nip`; anything but the exact original binding
/// fails.
pub fn open(
    keys: &Keyring,
    nip: &Nip,
    kind: &str,
    sealed: &Sealed,
) -> Result<SecretBox<Vec<u8>>, VaultError> {
    open_bound(keys, nip, kind, sealed)
}

/// Seals the master key's canary (bound to no NIP, under its own kind).
pub fn seal_canary(keys: &Keyring, kind: &str, plaintext: &[u8]) -> Result<Sealed, VaultError> {
    seal_bound(keys, CANARY_OWNER, kind, plaintext)
}

/// Opens the master key's canary.
pub fn open_canary(keys: &Keyring, kind: &str, sealed: &Sealed) -> Result<SecretBox<Vec<u8>>, VaultError> {
    open_bound(keys, CANARY_OWNER, kind, sealed)
}

fn seal_bound(keys: &Keyring, owner: &str, kind: &str, plaintext: &[u8]) -> Result<Sealed, VaultError> {
    let version = keys.current_version();
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut nonce).map_err(|_| KeyringError::Rng)?;
    let aad = associated_data(owner, kind);
    let ciphertext = keys
        .with_key(version, |k| {
            Aes256Gcm::new(k.into()).encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: &aad })
        })?
        .map_err(|_| VaultError::Tampered)?;
    Ok(Sealed { key_version: version, nonce: nonce.to_vec(), ciphertext })
}

fn open_bound(
    keys: &Keyring,
    owner: &str,
    kind: &str,
    sealed: &Sealed,
) -> Result<SecretBox<Vec<u8>>, VaultError> {
    if sealed.nonce.len() != 12 {
        return Err(VaultError::Tampered);
    }
    let aad = associated_data(owner, kind);
    let plain = keys
        .with_key(sealed.key_version, |k| {
            Aes256Gcm::new(k.into())
                .decrypt(Nonce::from_slice(&sealed.nonce), Payload { msg: &sealed.ciphertext, aad: &aad })
        })?
        .map_err(|_| VaultError::Tampered)?;
    Ok(SecretBox::new(Box::new(plain)))
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn nip(text: &str) -> Nip {
        Nip::exact(text).unwrap()
    }

    const TOKEN: &[u8] = b"20251001-EC-0123456789-ABCDEF0123-45|nip-5260250274|secretpart";

    #[test]
    fn roundtrip_and_binding() {
        let keys = Keyring::ephemeral().unwrap();
        let sealed = seal(&keys, &nip("5260250274"), "ksef_token", TOKEN).unwrap();
        assert!(!sealed.ciphertext.windows(10).any(|w| TOKEN.windows(10).any(|t| t == w)));
        assert_eq!(
            open(&keys, &nip("5260250274"), "ksef_token", &sealed).unwrap().expose_secret().as_slice(),
            TOKEN
        );
        // Swapped to another client, or relabelled as another kind: refused.
        assert!(matches!(open(&keys, &nip("7740001454"), "ksef_token", &sealed), Err(VaultError::Tampered)));
        assert!(matches!(open(&keys, &nip("5260250274"), "certificate", &sealed), Err(VaultError::Tampered)));
    }

    #[test]
    fn tampering_and_wrong_key_are_refused() {
        let keys = Keyring::ephemeral().unwrap();
        let mut sealed = seal(&keys, &nip("5260250274"), "ksef_token", TOKEN).unwrap();
        let other = Keyring::ephemeral().unwrap();
        assert!(matches!(open(&other, &nip("5260250274"), "ksef_token", &sealed), Err(VaultError::Tampered)));
        sealed.ciphertext[3] ^= 1;
        assert!(matches!(open(&keys, &nip("5260250274"), "ksef_token", &sealed), Err(VaultError::Tampered)));
        sealed.key_version = 9;
        assert!(matches!(
            open(&keys, &nip("5260250274"), "ksef_token", &sealed),
            Err(VaultError::Keyring(KeyringError::UnknownVersion(9)))
        ));
    }

    #[test]
    fn key_file_rotation_is_seen_by_another_process() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        assert!(matches!(Keyring::load(&path, None), Err(KeyringError::Missing(_))));
        let server = Keyring::create(&path).unwrap();
        let old = seal(&server, &nip("5260250274"), "ksef_token", TOKEN).unwrap();
        // `keys rotate` in another process adds version 2 and re-seals.
        let rotator = Keyring::load(&path, None).unwrap();
        assert_eq!(rotator.add_new_key().unwrap(), 2);
        let resealed = seal(&rotator, &nip("5260250274"), "ksef_token", TOKEN).unwrap();
        assert_eq!(resealed.key_version, 2);
        // The running server opens both without a restart.
        assert_eq!(
            open(&server, &nip("5260250274"), "ksef_token", &resealed).unwrap().expose_secret().as_slice(),
            TOKEN
        );
        assert_eq!(
            open(&server, &nip("5260250274"), "ksef_token", &old).unwrap().expose_secret().as_slice(),
            TOKEN
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().filter(|l| !l.starts_with('#')).count(), 2);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn malformed_key_file_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        std::fs::write(&path, "# keys\n1:zz\n").unwrap();
        let err = Keyring::load(&path, None).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
        assert!(!err.contains("zz"), "{err}");
    }
}
