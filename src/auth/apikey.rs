//! Per-client API keys: `kgw_<prefix>_<secret>`, 256 bits of randomness, shown once, stored
//! only as SHA-256. The prefix finds the row; the hash, compared in constant time, proves it.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What every key starts with, so leaked keys are recognisable by secret scanners.
pub const KEY_PREFIX: &str = "kgw_";

/// A freshly generated key: the whole key (to show once) and what is stored.
pub struct GeneratedKey {
    pub plaintext: secrecy::SecretString,
    pub prefix: String,
    pub hash: Vec<u8>,
}

/// Generates a key.
pub fn generate() -> Result<GeneratedKey, getrandom::Error> {
    let mut prefix = [0u8; 6];
    let mut secret = [0u8; 32];
    getrandom::fill(&mut prefix)?;
    getrandom::fill(&mut secret)?;
    let prefix = hex::encode(prefix);
    let plaintext = format!("{KEY_PREFIX}{prefix}_{}", hex::encode(secret));
    let hash = hash(&plaintext);
    Ok(GeneratedKey { plaintext: plaintext.into(), prefix, hash })
}

/// The stored form of a key.
pub fn hash(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

/// The lookup prefix of a presented key, if it has our shape.
pub fn prefix_of(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(KEY_PREFIX)?;
    let (prefix, secret) = rest.split_once('_')?;
    (prefix.len() == 12 && secret.len() == 64).then_some(prefix)
}

/// Constant-time check of a presented key against the stored hash.
pub fn matches(key: &str, stored_hash: &[u8]) -> bool {
    hash(key).ct_eq(stored_hash).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn generated_keys_verify() {
        let Ok(k) = generate() else { panic!("rng") };
        let key = k.plaintext.expose_secret();
        assert_eq!(prefix_of(key), Some(k.prefix.as_str()));
        assert!(matches(key, &k.hash));
        assert!(!matches(&key.replace('a', "b"), &k.hash) || !key.contains('a'));
        assert_eq!(prefix_of("kgw_short_x"), None);
        assert_eq!(prefix_of("Bearer something"), None);
    }
}
