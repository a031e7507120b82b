//! KSeF certificates as client credentials (KSeF tokens are being retired): the certificate and
//! its private key, read from PEM, checked, and sealed in the vault as one secret.

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretBox};
use serde::{Deserialize, Serialize};
use x509_cert::der::{Decode, Encode};

use crate::error::AppError;

/// The credential kind of a KSeF certificate with its private key.
pub const KSEF_CERTIFICATE: &str = "ksef_certificate";
/// The credential kind of a KSeF certificate of type `Offline`: it signs KOD II of invoices
/// issued offline and is never used to log in (KSeF forbids mixing the two types).
pub const KSEF_OFFLINE_CERTIFICATE: &str = "ksef_offline_certificate";

/// What a stored KSeF certificate is for: logging in (XAdES, instead of a KSeF token) or signing
/// KOD II of invoices issued offline.
pub type CertificateUse = crate::domain::CertificatePurpose;

impl crate::domain::CertificatePurpose {
    /// The credential kind it is stored under.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Authentication => KSEF_CERTIFICATE,
            Self::Offline => KSEF_OFFLINE_CERTIFICATE,
        }
    }
}

/// What is sealed: the certificate and the private key, DER, Base64.
#[derive(Serialize, Deserialize)]
struct SealedCertificate {
    certificate_der: String,
    private_key_der: String,
}

/// A certificate ready to be sealed: its secret form and what may be shown about it.
pub struct ParsedCertificate {
    /// The sealed form (certificate + private key); never logged.
    pub secret: SecretBox<Vec<u8>>,
    pub certificate_der: Vec<u8>,
    pub not_after: chrono::NaiveDateTime,
}

/// The API's names of the two inputs (the panel shows its errors beside its own fields).
const CERTIFICATE_FIELD: &str = "certificate_pem";
const KEY_FIELD: &str = "private_key_pem";

fn pem_der(pem_text: &str, what: &str, tags: &[&str]) -> Result<Vec<u8>, AppError> {
    let field = if what == "certificate" { CERTIFICATE_FIELD } else { KEY_FIELD };
    let block = pem::parse(pem_text.trim())
        .map_err(|e| AppError::invalid_field(field, "not_pem", format!("{what}: not a PEM block ({e})")))?;
    if !tags.contains(&block.tag()) {
        return Err(AppError::invalid_field(
            field,
            "wrong_pem_type",
            format!("{what}: expected {}, found {}", tags.join(" or "), block.tag()),
        ));
    }
    Ok(block.into_contents())
}

/// Reads and checks a certificate and its private key (PEM). Refuses expired or not yet valid
/// certificates and keys KSeF cannot sign with.
pub fn parse(certificate_pem: &str, private_key_pem: &str) -> Result<ParsedCertificate, AppError> {
    let cert_der = pem_der(certificate_pem, "certificate", &["CERTIFICATE"])?;
    let key_der =
        pem_der(private_key_pem, "private key", &["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"])?;
    let cert = x509_cert::Certificate::from_der(&cert_der).map_err(|e| {
        AppError::invalid_field(
            CERTIFICATE_FIELD,
            "not_x509",
            format!("certificate: not an X.509 certificate ({e})"),
        )
    })?;
    let validity = &cert.tbs_certificate.validity;
    let not_before = chrono::DateTime::from_timestamp(
        i64::try_from(validity.not_before.to_unix_duration().as_secs()).unwrap_or(0),
        0,
    );
    let not_after = chrono::DateTime::from_timestamp(
        i64::try_from(validity.not_after.to_unix_duration().as_secs()).unwrap_or(0),
        0,
    )
    .ok_or_else(|| {
        AppError::invalid_field(CERTIFICATE_FIELD, "not_x509", "certificate: unreadable expiry")
    })?;
    let now = chrono::Utc::now();
    if not_before.is_some_and(|t| t > now) || not_after <= now {
        return Err(AppError::invalid_field(
            CERTIFICATE_FIELD,
            "certificate_not_valid_now",
            format!("certificate is not valid now (valid until {not_after})"),
        ));
    }
    let key = ksef_client::signing::SigningKey::from_der(&key_der)
        .map_err(|e| AppError::invalid_field(KEY_FIELD, "unusable_key", format!("private key: {e}")))?;
    if !belongs_to(&cert, &key) {
        return Err(AppError::invalid_field(
            KEY_FIELD,
            "key_mismatch",
            "private key: it does not belong to this certificate (their public keys differ)",
        ));
    }
    // Re-encode to be sure what is stored is exactly one well-formed certificate.
    let certificate_der = cert
        .to_der()
        .map_err(|e| AppError::invalid_field(CERTIFICATE_FIELD, "not_x509", format!("certificate: {e}")))?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let sealed = SealedCertificate {
        certificate_der: b64.encode(&certificate_der),
        private_key_der: b64.encode(&key_der),
    };
    let json = serde_json::to_vec(&sealed).map_err(|e| AppError::Internal(e.into()))?;
    Ok(ParsedCertificate {
        secret: SecretBox::new(Box::new(json)),
        certificate_der,
        not_after: not_after.naive_utc(),
    })
}

/// Whether `key` is the private half of the certificate's public key (compared as the public
/// key bits, so the same key in another SubjectPublicKeyInfo encoding still matches).
fn belongs_to(cert: &x509_cert::Certificate, key: &ksef_client::signing::SigningKey) -> bool {
    let Ok(der) = key.public_key_der() else { return false };
    let Ok(spki) = x509_cert::spki::SubjectPublicKeyInfoOwned::from_der(&der) else { return false };
    spki.subject_public_key.raw_bytes()
        == cert.tbs_certificate.subject_public_key_info.subject_public_key.raw_bytes()
}

/// The certificate (DER) and its signing key, from the opened secret.
fn open(opened: &SecretBox<Vec<u8>>) -> Result<(Vec<u8>, ksef_client::signing::SigningKey), AppError> {
    let sealed: SealedCertificate =
        serde_json::from_slice(opened.expose_secret()).map_err(|e| AppError::Internal(e.into()))?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let der = b64.decode(&sealed.certificate_der).map_err(|e| AppError::Internal(e.into()))?;
    let key_der = b64.decode(&sealed.private_key_der).map_err(|e| AppError::Internal(e.into()))?;
    let key =
        ksef_client::signing::SigningKey::from_der(&key_der).map_err(|e| AppError::Internal(e.into()))?;
    Ok((der, key))
}

/// The credential KSeF's XAdES login needs, from the opened secret.
pub fn to_credential(opened: &SecretBox<Vec<u8>>) -> Result<ksef_client::Credential, AppError> {
    let (der, key) = open(opened)?;
    Ok(ksef_client::Credential::Certificate { der, key })
}

/// The serial number (upper-case hex, as KOD II carries it) and the signing key of an opened
/// offline certificate.
pub fn to_offline_signer(
    opened: &SecretBox<Vec<u8>>,
) -> Result<(String, ksef_client::signing::SigningKey), AppError> {
    let (der, key) = open(opened)?;
    // The serial as KSeF knows it: without the 0x00 DER puts before a serial whose top bit is set.
    let info = ksef_client::crypto::parse_certificate(&der).map_err(|e| AppError::Internal(e.into()))?;
    Ok((info.serial_hex, key))
}
