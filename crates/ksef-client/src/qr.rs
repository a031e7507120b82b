//! Verification links printed as QR codes on invoices.
//!
//! * KOD I (every invoice): `{qr}/invoice/{sellerNip}/{DD-MM-YYYY}/{Base64URL(SHA-256(xml))}`.
//! * KOD II (offline invoices): `{qr}/certificate/{ctxType}/{ctxValue}/{sellerNip}/{certSerial}/{hash}/{signature}`
//!   where the signature covers the link without `https://` and without the last segment, signed with
//!   the key of a KSeF certificate of type `Offline`: RSASSA-PSS (SHA-256, MGF1-SHA-256, salt 32) for
//!   RSA keys, ECDSA P-256/SHA-256 in IEEE-P1363 `r||s` form for EC keys.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use chrono::NaiveDate;
use p256::ecdsa::signature::Verifier;
use sha2::Sha256;
use url::Url;

use crate::crypto;
use crate::error::KsefError;
use crate::models::common::ContextIdentifier;

/// KOD I link for the exact invoice bytes.
pub fn invoice_link(qr_base: &Url, seller_nip: &str, issue_date: NaiveDate, invoice_xml: &[u8]) -> String {
    invoice_link_for_hash(qr_base, seller_nip, issue_date, &crypto::sha256_b64url(invoice_xml))
}

/// KOD I link from an already computed hash, given in Base64 or Base64URL (padding optional).
pub fn invoice_link_for_hash(qr_base: &Url, seller_nip: &str, issue_date: NaiveDate, hash: &str) -> String {
    format!("{}/invoice/{}/{}/{}", base(qr_base), seller_nip, issue_date.format("%d-%m-%Y"), to_b64url(hash))
}

/// Private key of a KSeF certificate of type `Offline` used to sign KOD II links.
pub use crate::signing::SigningKey as OfflineSigningKey;

/// The parts of a KOD II link.
#[derive(Clone, Debug)]
pub struct CertificateLink<'a> {
    /// Context the invoice was issued in.
    pub context: &'a ContextIdentifier,
    /// Seller NIP from the invoice.
    pub seller_nip: &'a str,
    /// Serial number (hex) of the Offline KSeF certificate.
    pub certificate_serial: &'a str,
    /// Invoice hash in Base64 or Base64URL.
    pub invoice_hash: &'a str,
}

impl CertificateLink<'_> {
    /// The string that is signed: the link without scheme and without the signature segment.
    pub fn signed_string(&self, qr_base: &Url) -> String {
        let full = format!(
            "{}/certificate/{}/{}/{}/{}/{}",
            base(qr_base),
            self.context.kind.as_str(),
            self.context.value,
            self.seller_nip,
            self.certificate_serial,
            to_b64url(self.invoice_hash)
        );
        full.split_once("://").map_or(full.clone(), |(_, rest)| rest.to_owned())
    }

    /// The full KOD II link signed with `key`.
    pub fn sign(&self, qr_base: &Url, key: &OfflineSigningKey) -> String {
        let signed = self.signed_string(qr_base);
        let signature = URL_SAFE_NO_PAD.encode(key.sign_pss_or_ecdsa(signed.as_bytes()));
        format!("{}://{signed}/{signature}", qr_base.scheme())
    }
}

/// Verifies a KOD II signature (Base64URL) over `signed_string` with the certificate's public key.
pub fn verify_certificate_link_signature(
    signed_string: &str,
    signature_b64url: &str,
    certificate_der: &[u8],
) -> Result<(), KsefError> {
    let bad = |why: &str| KsefError::Crypto(format!("KOD II signature invalid: {why}"));
    let sig =
        URL_SAFE_NO_PAD.decode(signature_b64url.trim_end_matches('=')).map_err(|_| bad("not Base64URL"))?;
    let info = crypto::parse_certificate(certificate_der)?;
    if let Ok(public) = crypto::rsa_public_key_from_spki(&info.spki_der) {
        let verifier = rsa::pss::VerifyingKey::<Sha256>::new(public);
        let sig =
            rsa::pss::Signature::try_from(sig.as_slice()).map_err(|_| bad("malformed RSA signature"))?;
        return verifier.verify(signed_string.as_bytes(), &sig).map_err(|_| bad("RSA-PSS mismatch"));
    }
    let key =
        <p256::ecdsa::VerifyingKey as p256::pkcs8::DecodePublicKey>::from_public_key_der(&info.spki_der)
            .map_err(|_| bad("certificate key is neither RSA nor P-256"))?;
    let sig = p256::ecdsa::Signature::from_slice(&sig)
        .or_else(|_| p256::ecdsa::Signature::from_der(&sig))
        .map_err(|_| bad("malformed ECDSA signature"))?;
    key.verify(signed_string.as_bytes(), &sig).map_err(|_| bad("ECDSA mismatch"))
}

fn base(qr_base: &Url) -> &str {
    qr_base.as_str().trim_end_matches('/')
}

/// Normalises a Base64 or Base64URL hash to Base64URL without padding.
fn to_b64url(hash: &str) -> String {
    match STANDARD.decode(hash) {
        Ok(bytes) => URL_SAFE_NO_PAD.encode(bytes),
        Err(_) => hash.trim_end_matches('=').replace('+', "-").replace('/', "_"),
    }
}
