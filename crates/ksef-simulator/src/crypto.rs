//! The cryptography KSeF clients use: SHA-256 in Base64, RSA-OAEP-SHA256 unwrapping, AES-256-CBC.

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rsa::{Oaep, RsaPrivateKey};
use sha2::{Digest, Sha256};

/// Standard padded Base64 of SHA-256 (the `Sha256HashBase64` shape, 44 characters).
pub fn sha256_b64(data: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(data))
}

/// Base64 (standard alphabet, padded) decoding; `None` for invalid input.
pub fn b64_decode(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text.trim()).ok()
}

/// Standard padded Base64.
pub fn b64(data: &[u8]) -> String {
    STANDARD.encode(data)
}

/// Base64URL without padding (used in signed download links).
pub fn b64url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// RSA-OAEP with SHA-256 and MGF1-SHA-256, empty label, as the official clients encrypt.
pub fn rsa_oaep_decrypt(key: &RsaPrivateKey, ciphertext: &[u8]) -> Option<Vec<u8>> {
    key.decrypt(Oaep::new::<Sha256>(), ciphertext).ok()
}

/// AES-256-CBC with PKCS#7 padding; the IV is the session IV (the ciphertext carries no IV prefix).
pub fn aes256cbc_decrypt(key: &[u8; 32], iv: &[u8; 16], ciphertext: &[u8]) -> Option<Vec<u8>> {
    cbc::Decryptor::<aes::Aes256>::new(key.into(), iv.into()).decrypt_padded_vec_mut::<Pkcs7>(ciphertext).ok()
}

/// AES-256-CBC with PKCS#7 padding (export packages are encrypted with the caller's key and IV).
pub fn aes256cbc_encrypt(key: &[u8; 32], iv: &[u8; 16], plain: &[u8]) -> Vec<u8> {
    cbc::Encryptor::<aes::Aes256>::new(key.into(), iv.into()).encrypt_padded_vec_mut::<Pkcs7>(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decrypts_the_official_aes_vector() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/");
        let cipher = std::fs::read(format!("{dir}FA_3_Przyklad_1.aes256cbc.bin")).unwrap_or_default();
        assert_eq!(sha256_b64(&cipher), "EWB5+Jp1PzZKVE5lLS5w5DyQ/77SZZ7qPCGPboOwz3k=");
        let key: [u8; 32] = std::array::from_fn(|i| i as u8);
        let iv: [u8; 16] = std::array::from_fn(|i| i as u8);
        let plain = aes256cbc_decrypt(&key, &iv, &cipher).unwrap_or_default();
        assert_eq!(plain.len(), 3387);
        assert_eq!(sha256_b64(&plain), "X+wQflQVyRs1fImlI+xDPnWk1V37hys4O1lkx9iJbSA=");
        assert!(aes256cbc_decrypt(&[7; 32], &iv, &cipher).is_none_or(|p| p != plain));
    }
}
