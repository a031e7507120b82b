//! Cryptographic primitives KSeF 2.0 requires from a client.
//!
//! * SHA-256 digests in standard Base64 (`invoiceHash`, `fileHash`, …) and Base64URL (QR links);
//! * AES-256-CBC with PKCS#7 padding and **no IV prefix** in the ciphertext (as both official clients do);
//! * RSA-OAEP with SHA-256 and MGF1-SHA-256 (empty label) against the public key of an MF certificate.
//!
//! Security note: the `rsa` crate carries RUSTSEC-2023-0071 (Marvin timing side channel in RSA
//! *decryption*). This crate only encrypts (OAEP) and signs (PSS) with RSA; no secret-dependent RSA
//! decryption happens on a network-observable path, so the advisory does not apply to its use here.

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use rand_core::{OsRng, RngCore};
use rsa::pkcs8::DecodePublicKey;
use rsa::{Oaep, RsaPublicKey};
use secrecy::{ExposeSecret, SecretBox};
use sha2::{Digest, Sha256};
use x509_cert::der::{Decode, Encode};
use x509_cert::Certificate;

use crate::error::KsefError;

type Aes256CbcEnc = cbc::Encryptor<aes::Aes256>;
type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;

/// Raw SHA-256 digest.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// SHA-256 as standard Base64 with padding (44 chars), the form of every KSeF hash field.
pub fn sha256_b64(data: &[u8]) -> String {
    STANDARD.encode(sha256(data))
}

/// SHA-256 as Base64URL without padding (43 chars), the form used inside QR links.
pub fn sha256_b64url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(sha256(data))
}

/// Standard Base64 (with padding).
pub fn b64(data: &[u8]) -> String {
    STANDARD.encode(data)
}

/// Decodes standard Base64.
pub fn b64_decode(text: &str) -> Result<Vec<u8>, KsefError> {
    STANDARD.decode(text.trim()).map_err(|e| KsefError::Crypto(format!("invalid Base64: {e}")))
}

/// A 256-bit AES key and 128-bit IV. The key is zeroised on drop and never Debug-printed.
pub struct SymmetricKey {
    key: SecretBox<[u8; 32]>,
    iv: [u8; 16],
}

impl std::fmt::Debug for SymmetricKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SymmetricKey").field("key", &"[REDACTED]").field("iv", &b64(&self.iv)).finish()
    }
}

impl SymmetricKey {
    /// Fresh random key and IV from the operating system's CSPRNG.
    pub fn generate() -> Self {
        let mut key = Box::new([0u8; 32]);
        let mut iv = [0u8; 16];
        OsRng.fill_bytes(key.as_mut_slice());
        OsRng.fill_bytes(&mut iv);
        Self { key: SecretBox::new(key), iv }
    }

    /// Key and IV given explicitly (for tests and for decrypting export packages).
    pub fn from_parts(key: [u8; 32], iv: [u8; 16]) -> Self {
        Self { key: SecretBox::new(Box::new(key)), iv }
    }

    /// The initialisation vector (not secret; sent in clear as `initializationVector`).
    pub fn iv(&self) -> &[u8; 16] {
        &self.iv
    }

    /// The raw key bytes, to be wrapped with [`rsa_oaep_sha256_encrypt`].
    pub fn key_bytes(&self) -> &[u8; 32] {
        self.key.expose_secret()
    }

    /// AES-256-CBC/PKCS#7 encryption; the output does not start with the IV.
    pub fn encrypt(&self, plaintext: &[u8]) -> Vec<u8> {
        aes256cbc_encrypt(self.key_bytes(), &self.iv, plaintext)
    }

    /// AES-256-CBC/PKCS#7 decryption of data produced by [`SymmetricKey::encrypt`].
    pub fn decrypt(&self, ciphertext: &[u8]) -> Result<Vec<u8>, KsefError> {
        aes256cbc_decrypt(self.key_bytes(), &self.iv, ciphertext)
    }
}

/// AES-256-CBC with PKCS#7 padding; the ciphertext is `16·⌊len/16⌋ + 16` bytes long.
pub fn aes256cbc_encrypt(key: &[u8; 32], iv: &[u8; 16], plaintext: &[u8]) -> Vec<u8> {
    Aes256CbcEnc::new(key.into(), iv.into()).encrypt_padded_vec_mut::<Pkcs7>(plaintext)
}

/// AES-256-CBC decryption; fails on a length that is not a block multiple or on bad padding.
pub fn aes256cbc_decrypt(key: &[u8; 32], iv: &[u8; 16], ciphertext: &[u8]) -> Result<Vec<u8>, KsefError> {
    Aes256CbcDec::new(key.into(), iv.into())
        .decrypt_padded_vec_mut::<Pkcs7>(ciphertext)
        .map_err(|_| KsefError::Crypto("AES-256-CBC decryption failed (bad key, IV or padding)".into()))
}

/// What this crate needs from an X.509 certificate.
#[derive(Clone, Debug)]
pub struct CertificateInfo {
    /// DER of the SubjectPublicKeyInfo.
    pub spki_der: Vec<u8>,
    /// Serial number as uppercase hex without leading zero bytes (the KOD II `certSerial`).
    pub serial_hex: String,
    /// Base64 SHA-256 of the whole certificate DER (`certificateId`).
    pub certificate_id: String,
    /// Base64 SHA-256 of the SPKI DER (`publicKeyId`).
    pub public_key_id: String,
}

/// Parses an X.509 certificate (DER) and extracts its public key, serial and KSeF identifiers.
pub fn parse_certificate(der: &[u8]) -> Result<CertificateInfo, KsefError> {
    let cert = Certificate::from_der(der)
        .map_err(|e| KsefError::Crypto(format!("invalid X.509 certificate: {e}")))?;
    let spki_der = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| KsefError::Crypto(format!("cannot encode SubjectPublicKeyInfo: {e}")))?;
    let serial = cert.tbs_certificate.serial_number.as_bytes();
    let first_nonzero = serial.iter().position(|b| *b != 0).unwrap_or(serial.len());
    let serial_hex =
        serial.get(first_nonzero..).unwrap_or_default().iter().map(|b| format!("{b:02X}")).collect();
    Ok(CertificateInfo {
        certificate_id: sha256_b64(der),
        public_key_id: sha256_b64(&spki_der),
        spki_der,
        serial_hex,
    })
}

/// RSA public key taken from a certificate's SubjectPublicKeyInfo.
pub fn rsa_public_key_from_spki(spki_der: &[u8]) -> Result<RsaPublicKey, KsefError> {
    RsaPublicKey::from_public_key_der(spki_der)
        .map_err(|e| KsefError::Crypto(format!("certificate does not hold an RSA key: {e}")))
}

/// RSA-OAEP (SHA-256, MGF1-SHA-256, empty label) encryption with the key of an X.509 certificate (DER).
///
/// The ciphertext is as long as the key's modulus (512 bytes for the RSA-4096 MF keys).
pub fn rsa_oaep_sha256_encrypt(certificate_der: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, KsefError> {
    let info = parse_certificate(certificate_der)?;
    let key = rsa_public_key_from_spki(&info.spki_der)?;
    key.encrypt(&mut OsRng, Oaep::new::<Sha256>(), plaintext)
        .map_err(|e| KsefError::Crypto(format!("RSA-OAEP encryption failed: {e}")))
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "test code")]
mod tests {
    use super::*;

    #[test]
    fn sha256_base64_forms_match_official_kod1_inputs() {
        assert_eq!(sha256_b64(b"<root>test</root>"), "qrs2gCLXnTUy6++AHwHuDxFuCj0BYUGRGtBuGnJwN+c=");
        assert_eq!(sha256_b64url(b"<root>test</root>"), "qrs2gCLXnTUy6--AHwHuDxFuCj0BYUGRGtBuGnJwN-c");
        assert_eq!(
            sha256_b64(b"<data>special & chars /?</data>"),
            "2bEg3cUOcJxR38JekXJxuJphnkn+NUdSP+uyOc0hB6I="
        );
    }

    #[test]
    fn aes_round_trip_and_padding_sizes() {
        let key = SymmetricKey::generate();
        for len in [0usize, 1, 15, 16, 17, 6480] {
            let plain = vec![0x5au8; len];
            let ct = key.encrypt(&plain);
            assert_eq!(ct.len(), 16 * (len / 16) + 16);
            assert_eq!(key.decrypt(&ct).unwrap(), plain);
        }
        let other = SymmetricKey::generate();
        let ct = key.encrypt(b"secret invoice");
        assert_ne!(other.decrypt(&ct).ok().as_deref(), Some(&b"secret invoice"[..]));
        assert!(key.decrypt(&ct[..ct.len() - 1]).is_err());
    }

    #[test]
    fn symmetric_key_debug_redacts_key() {
        let key = SymmetricKey::from_parts([7u8; 32], [1u8; 16]);
        let dbg = format!("{key:?}");
        assert!(dbg.contains("REDACTED"));
        assert!(!dbg.contains(&b64(&[7u8; 32])));
    }
}
