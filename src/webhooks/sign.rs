//! Webhook secrets and signatures.
//!
//! The signature header is `t=<unix seconds>,v1=<hex HMAC-SHA256>` over `"<t>.<body>"`, keyed
//! with the endpoint's secret (its text, `whsec_…`, as shown at creation). A receiver recomputes
//! it over the raw body, compares in constant time, and refuses a `t` more than 5 minutes from
//! its clock, so a captured request cannot be replayed later.

use hmac::{Hmac, Mac};
use secrecy::SecretString;
use sha2::Sha256;

/// What every secret starts with, so leaked ones are recognisable.
pub const SECRET_PREFIX: &str = "whsec_";

/// The replay window receivers are told to apply, in seconds.
pub const REPLAY_WINDOW_S: i64 = 300;

/// A fresh secret: 256 random bits, hex-encoded after the prefix.
pub fn generate_secret() -> Result<SecretString, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(SecretString::from(format!("{SECRET_PREFIX}{}", hex::encode(bytes))))
}

/// The `X-KSeF-Gateway-Signature` value for `body` sent at unix time `t`.
pub fn signature(secret: &[u8], t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", hex::encode(keyed(secret, t, body).finalize().into_bytes()))
}

/// The HMAC over `"<t>.<body>"`, before it is finalised or verified.
fn keyed(secret: &[u8], t: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length; new_from_slice cannot fail for it.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC key of any size"));
    m.update(t.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m
}

/// What a receiver does: true when `header` signs `body` with `secret` and its time is within
/// the replay window of `now`. (Used by the tests' receiver; documented for integrators.)
pub fn verify(secret: &[u8], header: &str, body: &[u8], now: i64) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else { return false };
    if (now - t).abs() > REPLAY_WINDOW_S {
        return false;
    }
    keyed(secret, t, body).verify_slice(&v1).is_ok()
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn signatures_verify_and_expire() {
        let Ok(secret) = generate_secret() else { panic!("rng") };
        let key = secret.expose_secret().as_bytes();
        assert_eq!(secret.expose_secret().len(), SECRET_PREFIX.len() + 64);
        let body = br#"{"id":"e1"}"#;
        let header = signature(key, 1_700_000_000, body);
        assert!(verify(key, &header, body, 1_700_000_100));
        assert!(!verify(key, &header, body, 1_700_000_000 + REPLAY_WINDOW_S + 1));
        assert!(!verify(key, &header, br#"{"id":"e2"}"#, 1_700_000_000));
        assert!(!verify(b"whsec_other", &header, body, 1_700_000_000));
    }
}
