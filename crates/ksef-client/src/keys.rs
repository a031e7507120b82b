//! MF public-key certificates (`GET /security/public-key-certificates`): fetching, caching, choosing.
//!
//! Rule (ksef-docs, klucze-publiczne-do-szyfrowania §4.1): for the needed usage take the
//! certificates valid now and, of those, the one with the latest `validFrom`. The list is cached for
//! up to 24 hours and never past the chosen certificate's `validTo`; a 400/21470 answer (key rotated
//! or withdrawn) drops the cache and the failed operation is retried once with fresh keys.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::client::KsefClient;
use crate::crypto;
use crate::error::KsefError;

/// How long a fetched list is trusted at most.
const MAX_CACHE_AGE: Duration = Duration::from_secs(24 * 3600);

/// What an MF certificate may be used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
pub enum PublicKeyUsage {
    /// Encrypting `token|timestampMs` in KSeF-token authentication.
    KsefTokenEncryption,
    /// Wrapping the AES session key.
    SymmetricKeyEncryption,
    /// A usage this client version does not know.
    #[serde(other)]
    Unknown,
}

/// One entry of the MF certificate list.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKeyCertificate {
    /// X.509 DER, Base64.
    pub certificate: String,
    /// Base64 SHA-256 of the certificate DER.
    #[serde(default)]
    pub certificate_id: Option<String>,
    /// Base64 SHA-256 of the SubjectPublicKeyInfo; sent back as `publicKeyId`.
    #[serde(default)]
    pub public_key_id: Option<String>,
    /// Start of validity.
    pub valid_from: DateTime<Utc>,
    /// End of validity.
    pub valid_to: DateTime<Utc>,
    /// Allowed usages.
    pub usage: Vec<PublicKeyUsage>,
}

/// A chosen encryption certificate, parsed.
#[derive(Clone, Debug)]
pub struct EncryptionKey {
    /// Certificate DER.
    pub certificate_der: Vec<u8>,
    /// `publicKeyId` to send with requests encrypted under this key.
    pub public_key_id: String,
    /// End of validity.
    pub valid_to: DateTime<Utc>,
}

impl EncryptionKey {
    /// RSA-OAEP-SHA256 encryption with this key.
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>, KsefError> {
        crypto::rsa_oaep_sha256_encrypt(&self.certificate_der, plaintext)
    }
}

/// Picks the certificate for `usage` valid at `now` with the latest `validFrom`.
pub fn select(
    list: &[PublicKeyCertificate],
    usage: PublicKeyUsage,
    now: DateTime<Utc>,
) -> Result<EncryptionKey, KsefError> {
    let chosen = list
        .iter()
        .filter(|c| c.usage.contains(&usage) && c.valid_from <= now && now < c.valid_to)
        .max_by_key(|c| c.valid_from)
        .ok_or_else(|| KsefError::Crypto(format!("KSeF lists no valid certificate for {usage:?}")))?;
    let der = crypto::b64_decode(&chosen.certificate)?;
    let info = crypto::parse_certificate(&der)?;
    crypto::rsa_public_key_from_spki(&info.spki_der)?;
    Ok(EncryptionKey {
        public_key_id: chosen.public_key_id.clone().unwrap_or(info.public_key_id),
        certificate_der: der,
        valid_to: chosen.valid_to,
    })
}

#[derive(Default)]
pub(crate) struct KeyCache {
    state: Mutex<Option<Cached>>,
}

struct Cached {
    list: Arc<Vec<PublicKeyCertificate>>,
    fetched_at: DateTime<Utc>,
}

impl KsefClient {
    /// Fetches the MF public-key certificates (no cache).
    pub async fn public_key_certificates(&self) -> Result<Vec<PublicKeyCertificate>, KsefError> {
        let rb = self.request(Method::GET, "/security/public-key-certificates", None);
        self.json(rb, "public key certificates").await
    }

    /// The encryption key for `usage`, from the cache or freshly fetched.
    pub async fn encryption_key(&self, usage: PublicKeyUsage) -> Result<EncryptionKey, KsefError> {
        let now = Utc::now();
        let mut state = self.inner.keys.state.lock().await;
        if let Some(cached) = state.as_ref() {
            let fresh = (now - cached.fetched_at).to_std().is_ok_and(|age| age < MAX_CACHE_AGE);
            if fresh {
                if let Ok(key) = select(&cached.list, usage, now) {
                    return Ok(key);
                }
            }
        }
        let list = Arc::new(self.public_key_certificates().await?);
        let key = select(&list, usage, now);
        *state = Some(Cached { list, fetched_at: now });
        key
    }

    /// Forgets cached MF keys; the next encryption fetches the list again.
    pub async fn invalidate_public_keys(&self) {
        *self.inner.keys.state.lock().await = None;
    }

    /// Runs `op`; if KSeF rejects the public key id (21470), drops the key cache and runs it once more.
    pub(crate) async fn with_key_refresh<T, F, Fut>(&self, mut op: F) -> Result<T, KsefError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, KsefError>>,
    {
        match op().await {
            Err(err) if err.is_public_key_rejected() => {
                tracing::info!("KSeF rejected the public key id (21470); refreshing MF certificates");
                self.invalidate_public_keys().await;
                op().await
            }
            other => other,
        }
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "test code")]
mod tests {
    use super::*;

    const CERT_B64: &str = include_str!("../tests/fixtures/kod2-test-cert.der.b64");

    fn entry(from: &str, to: &str, usage: PublicKeyUsage, id: &str) -> PublicKeyCertificate {
        PublicKeyCertificate {
            certificate: CERT_B64.trim().to_owned(),
            certificate_id: None,
            public_key_id: Some(id.to_owned()),
            valid_from: from.parse().unwrap(),
            valid_to: to.parse().unwrap(),
            usage: vec![usage],
        }
    }

    #[test]
    fn picks_valid_key_with_latest_valid_from() {
        use PublicKeyUsage::*;
        let list = vec![
            entry("2025-01-01T00:00:00Z", "2027-01-01T00:00:00Z", SymmetricKeyEncryption, "old"),
            entry("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z", SymmetricKeyEncryption, "new"),
            entry("2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z", SymmetricKeyEncryption, "future"),
            entry("2026-06-01T00:00:00Z", "2027-01-01T00:00:00Z", KsefTokenEncryption, "token"),
            entry("2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z", KsefTokenEncryption, "expired"),
        ];
        let now: DateTime<Utc> = "2026-11-21T00:00:00Z".parse().unwrap();
        assert_eq!(select(&list, SymmetricKeyEncryption, now).unwrap().public_key_id, "new");
        assert_eq!(select(&list, KsefTokenEncryption, now).unwrap().public_key_id, "token");
        let later: DateTime<Utc> = "2027-02-01T00:00:00Z".parse().unwrap();
        assert!(select(&list, KsefTokenEncryption, later).is_err());
    }

    #[tokio::test]
    async fn key_rejection_drops_cache_and_retries_once() {
        use crate::error::{ApiError, ExceptionDetail};
        let client = KsefClient::new(crate::Environment::Test, crate::ClientOptions::default()).unwrap();
        let rejected = || {
            KsefError::from(ApiError {
                status: 400,
                exceptions: vec![ExceptionDetail {
                    code: 21470,
                    description: String::new(),
                    details: vec![],
                }],
                ..ApiError::default()
            })
        };
        *client.inner.keys.state.lock().await =
            Some(Cached { list: Arc::new(vec![]), fetched_at: Utc::now() });
        let calls = std::sync::atomic::AtomicU32::new(0);
        let result = client
            .with_key_refresh(|| async {
                let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if n == 0 {
                    Err(rejected())
                } else {
                    Ok(n)
                }
            })
            .await;
        assert_eq!(result.unwrap(), 1);
        assert!(client.inner.keys.state.lock().await.is_none(), "cache must be dropped");
        // A second rejection is returned to the caller (no endless loop).
        let err = client.with_key_refresh(|| async { Err::<(), _>(rejected()) }).await.unwrap_err();
        assert!(err.is_public_key_rejected());
    }

    #[test]
    fn parses_list_ignoring_unknown_fields_and_usages() {
        let json = format!(
            r#"[{{"certificate":"{}","certificateId":"x","publicKeyId":"y","validFrom":"2025-07-29T09:28:37+00:00",
            "validTo":"2027-07-29T09:28:37+00:00","usage":["KsefTokenEncryption","SomethingNew"],"extra":1}}]"#,
            CERT_B64.trim()
        );
        let list: Vec<PublicKeyCertificate> = serde_json::from_str(&json).unwrap();
        assert_eq!(list[0].usage, [PublicKeyUsage::KsefTokenEncryption, PublicKeyUsage::Unknown]);
    }
}
