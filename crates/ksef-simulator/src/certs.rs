//! Key material: the two "MF" encryption certificates and the TLS certificate for `localhost`.

use std::sync::OnceLock;

use chrono::{DateTime, Datelike, Duration, Utc};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey};
use rsa::RsaPrivateKey;

use crate::crypto::{b64, sha256_b64};

/// One entry of `GET /security/public-key-certificates`.
#[derive(Clone, Debug)]
pub struct PublicCert {
    /// X.509 DER.
    pub der: Vec<u8>,
    /// Base64 SHA-256 of the certificate DER.
    pub certificate_id: String,
    /// Base64 SHA-256 of the SubjectPublicKeyInfo DER.
    pub public_key_id: String,
    pub valid_from: DateTime<Utc>,
    pub valid_to: DateTime<Utc>,
    /// `KsefTokenEncryption` or `SymmetricKeyEncryption`.
    pub usage: &'static str,
}

impl PublicCert {
    /// The JSON object of the official `PublicKeyCertificate` schema.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "certificate": b64(&self.der),
            "certificateId": self.certificate_id,
            "publicKeyId": self.public_key_id,
            "validFrom": crate::time::fmt(self.valid_from),
            "validTo": crate::time::fmt(self.valid_to),
            "usage": [self.usage],
        })
    }
}

/// A private key with its certificate.
pub struct KeyWithCert {
    pub key: RsaPrivateKey,
    pub cert: PublicCert,
}

/// The simulator's encryption keys (RSA-2048: fast enough in debug builds; real KSeF uses RSA-4096,
/// clients must not hard-code key sizes).
pub struct KeyMaterial {
    pub token: KeyWithCert,
    pub symmetric: KeyWithCert,
}

/// RSA key generation is slow in debug builds, so the two keys are generated once per process and
/// shared by every simulator started in it (tests start many); certificates are fresh per start.
fn process_keys() -> anyhow::Result<&'static (RsaPrivateKey, RsaPrivateKey)> {
    static KEYS: OnceLock<(RsaPrivateKey, RsaPrivateKey)> = OnceLock::new();
    if let Some(keys) = KEYS.get() {
        return Ok(keys);
    }
    let mut rng = rand::rngs::OsRng;
    let a = RsaPrivateKey::new(&mut rng, 2048)?;
    let b = RsaPrivateKey::new(&mut rng, 2048)?;
    Ok(KEYS.get_or_init(|| (a, b)))
}

impl KeyMaterial {
    /// Creates the certificates (valid from yesterday for two years) for both usages.
    pub fn generate() -> anyhow::Result<Self> {
        let (token_key, sym_key) = process_keys()?;
        Ok(Self {
            token: KeyWithCert {
                cert: self_signed(token_key, "KsefTokenEncryption")?,
                key: token_key.clone(),
            },
            symmetric: KeyWithCert {
                cert: self_signed(sym_key, "SymmetricKeyEncryption")?,
                key: sym_key.clone(),
            },
        })
    }
}

fn self_signed(key: &RsaPrivateKey, usage: &'static str) -> anyhow::Result<PublicCert> {
    let pkcs8 = key.to_pkcs8_der()?;
    let der = rustls::pki_types::PrivatePkcs8KeyDer::from(pkcs8.as_bytes().to_vec());
    let key_pair = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, &rcgen::PKCS_RSA_SHA256)?;
    let from = Utc::now() - Duration::days(1);
    let to = from + Duration::days(730);
    let mut params = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, format!("KSeF simulator {usage}"));
    dn.push(rcgen::DnType::OrganizationName, "ksef-simulator");
    dn.push(rcgen::DnType::CountryName, "PL");
    params.distinguished_name = dn;
    params.not_before = rcgen::date_time_ymd(from.year(), from.month() as u8, from.day() as u8);
    params.not_after = rcgen::date_time_ymd(to.year(), to.month() as u8, to.day() as u8);
    params.key_usages =
        vec![rcgen::KeyUsagePurpose::KeyEncipherment, rcgen::KeyUsagePurpose::DataEncipherment];
    let cert = params.self_signed(&key_pair)?;
    let der = cert.der().to_vec();
    let spki = key.to_public_key().to_public_key_der()?;
    Ok(PublicCert {
        certificate_id: sha256_b64(&der),
        public_key_id: sha256_b64(spki.as_bytes()),
        der,
        // Day granularity: the certificate itself carries dates, not times.
        valid_from: day_start(from),
        valid_to: day_start(to),
        usage,
    })
}

fn day_start(t: DateTime<Utc>) -> DateTime<Utc> {
    t.date_naive().and_hms_opt(0, 0, 0).map_or(t, |d| d.and_utc())
}

/// A self-signed TLS certificate for `localhost`/127.0.0.1 (ECDSA P-256) and its PKCS#8 key.
pub struct TlsMaterial {
    pub cert_der: Vec<u8>,
    pub key_der: Vec<u8>,
}

impl TlsMaterial {
    pub fn generate() -> anyhow::Result<Self> {
        let certified =
            rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
        Ok(Self { cert_der: certified.cert.der().to_vec(), key_der: certified.key_pair.serialize_der() })
    }

    /// A rustls server configuration (ring provider) serving this certificate.
    pub fn server_config(&self) -> anyhow::Result<rustls::ServerConfig> {
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(self.key_der.clone().into());
        Ok(rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(vec![self.cert_der.clone().into()], key)?)
    }
}
