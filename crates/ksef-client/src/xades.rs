//! XAdES-BES authentication with a KSeF (or qualified) certificate: an `AuthTokenRequest`
//! (`schemat_auth_v2-1.xsd`) with an enveloped signature, exclusive C14N, SHA-256 digests, and
//! RSA-SHA256 or ECDSA-SHA256 (`r||s`).
//!
//! Canonicalisation by construction: the document, `SignedInfo` and `SignedProperties` are written
//! directly in their exclusive-C14N form (no whitespace between elements, explicit end tags,
//! namespace declarations where exc-C14N renders them, attributes in canonical order), so the
//! digests are taken over exactly the bytes a verifier's canonicaliser produces.

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::Method;
use x509_cert::der::Decode;

use crate::client::KsefClient;
use crate::crypto;
use crate::error::KsefError;
use crate::models::auth::{AuthTokens, AuthorizationPolicy};
use crate::models::common::ContextIdentifier;
use crate::signing::SigningKey;

/// Namespace of the auth request (schema version 2.1).
pub const AUTH_NS: &str = "http://ksef.mf.gov.pl/auth/token/2.1";
const DS_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
const XADES_NS: &str = "http://uri.etsi.org/01903/v1.3.2#";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

/// How KSeF identifies the subject in the certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubjectIdentifierType {
    /// From the subject's NIP/PESEL attributes.
    CertificateSubject,
    /// From the certificate's SHA-256 fingerprint.
    CertificateFingerprint,
}

impl SubjectIdentifierType {
    fn as_str(self) -> &'static str {
        match self {
            Self::CertificateSubject => "certificateSubject",
            Self::CertificateFingerprint => "certificateFingerprint",
        }
    }
}

/// The unsigned `AuthTokenRequest`, already in exclusive-C14N form.
pub fn auth_token_request_xml(
    challenge: &str,
    context: &ContextIdentifier,
    subject: SubjectIdentifierType,
    policy: Option<&AuthorizationPolicy>,
) -> String {
    let kind = context.kind.as_str();
    let mut xml = format!(
        "<AuthTokenRequest xmlns=\"{AUTH_NS}\"><Challenge>{}</Challenge><ContextIdentifier><{kind}>{}</{kind}>\
         </ContextIdentifier><SubjectIdentifierType>{}</SubjectIdentifierType>",
        esc(challenge),
        esc(&context.value),
        subject.as_str()
    );
    if let Some(policy) = policy {
        xml.push_str("<AuthorizationPolicy><AllowedIps>");
        let ips = &policy.allowed_ips;
        for (tag, values) in
            [("Ip4Address", &ips.ip4_addresses), ("Ip4Range", &ips.ip4_ranges), ("Ip4Mask", &ips.ip4_masks)]
        {
            for value in values {
                xml.push_str(&format!("<{tag}>{}</{tag}>", esc(value)));
            }
        }
        xml.push_str("</AllowedIps></AuthorizationPolicy>");
    }
    xml.push_str("</AuthTokenRequest>");
    xml
}

/// Signs `AuthTokenRequest` (enveloped XAdES-BES) with `key`, embedding `certificate_der`.
pub fn sign_auth_token_request(
    unsigned_xml: &str,
    certificate_der: &[u8],
    key: &SigningKey,
    signing_time: DateTime<Utc>,
) -> Result<String, KsefError> {
    let closing = "</AuthTokenRequest>";
    let body = unsigned_xml
        .strip_suffix(closing)
        .filter(|_| unsigned_xml.starts_with("<AuthTokenRequest xmlns="))
        .ok_or_else(|| KsefError::InvalidInput("expected output of auth_token_request_xml".into()))?;
    let cert = x509_cert::Certificate::from_der(certificate_der)
        .map_err(|e| KsefError::Crypto(format!("invalid X.509 certificate: {e}")))?;
    let issuer = cert.tbs_certificate.issuer.to_string();
    let serial = decimal(cert.tbs_certificate.serial_number.as_bytes());
    let time = signing_time.to_rfc3339_opts(SecondsFormat::Secs, true);

    let signed_properties = format!(
        "<xades:SignedProperties xmlns:xades=\"{XADES_NS}\" Id=\"SignedProperties\"><xades:SignedSignatureProperties>\
         <xades:SigningTime>{time}</xades:SigningTime><xades:SigningCertificate><xades:Cert><xades:CertDigest>\
         <ds:DigestMethod xmlns:ds=\"{DS_NS}\" Algorithm=\"{SHA256}\"></ds:DigestMethod>\
         <ds:DigestValue xmlns:ds=\"{DS_NS}\">{}</ds:DigestValue></xades:CertDigest><xades:IssuerSerial>\
         <ds:X509IssuerName xmlns:ds=\"{DS_NS}\">{}</ds:X509IssuerName>\
         <ds:X509SerialNumber xmlns:ds=\"{DS_NS}\">{serial}</ds:X509SerialNumber></xades:IssuerSerial></xades:Cert>\
         </xades:SigningCertificate></xades:SignedSignatureProperties></xades:SignedProperties>",
        crypto::sha256_b64(certificate_der),
        esc(&issuer),
    );
    let algorithm = key.xmldsig_algorithm();
    let signed_info = format!(
        "<ds:SignedInfo xmlns:ds=\"{DS_NS}\"><ds:CanonicalizationMethod Algorithm=\"{EXC_C14N}\"></ds:CanonicalizationMethod>\
         <ds:SignatureMethod Algorithm=\"{algorithm}\"></ds:SignatureMethod><ds:Reference URI=\"\"><ds:Transforms>\
         <ds:Transform Algorithm=\"{ENVELOPED}\"></ds:Transform><ds:Transform Algorithm=\"{EXC_C14N}\"></ds:Transform>\
         </ds:Transforms><ds:DigestMethod Algorithm=\"{SHA256}\"></ds:DigestMethod><ds:DigestValue>{}</ds:DigestValue>\
         </ds:Reference><ds:Reference Type=\"http://uri.etsi.org/01903#SignedProperties\" URI=\"#SignedProperties\">\
         <ds:Transforms><ds:Transform Algorithm=\"{EXC_C14N}\"></ds:Transform></ds:Transforms>\
         <ds:DigestMethod Algorithm=\"{SHA256}\"></ds:DigestMethod><ds:DigestValue>{}</ds:DigestValue></ds:Reference>\
         </ds:SignedInfo>",
        crypto::sha256_b64(unsigned_xml.as_bytes()),
        crypto::sha256_b64(signed_properties.as_bytes()),
    );
    let signature = key.sign_xmldsig(signed_info.as_bytes());
    Ok(format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>{body}<ds:Signature xmlns:ds=\"{DS_NS}\" Id=\"Signature\">{signed_info}\
         <ds:SignatureValue>{}</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate>\
         </ds:X509Data></ds:KeyInfo><ds:Object><xades:QualifyingProperties xmlns:xades=\"{XADES_NS}\" \
         Target=\"#Signature\">{signed_properties}</xades:QualifyingProperties></ds:Object></ds:Signature>{closing}",
        crypto::b64(&signature),
        crypto::b64(certificate_der),
    ))
}

impl KsefClient {
    /// Full XAdES authentication in `context` with a certificate and its private key.
    ///
    /// `verify_certificate_chain = false` is what TEST needs for self-signed certificates.
    pub async fn authenticate_with_xades(
        &self,
        context: &ContextIdentifier,
        subject: SubjectIdentifierType,
        certificate_der: &[u8],
        key: &SigningKey,
        verify_certificate_chain: bool,
    ) -> Result<AuthTokens, KsefError> {
        let challenge = self.auth_challenge().await?;
        let unsigned = auth_token_request_xml(&challenge.challenge, context, subject, None);
        let signed = sign_auth_token_request(&unsigned, certificate_der, key, Utc::now())?;
        let rb = self
            .request(Method::POST, "/auth/xades-signature", None)
            .query(&[("verifyCertificateChain", verify_certificate_chain)])
            .header(reqwest::header::CONTENT_TYPE, "application/xml")
            .body(signed);
        let init = self.json(rb, "auth xades-signature").await?;
        self.finish_auth(&init).await
    }
}

/// Escapes text content as C14N does (`&`, `<`, `>`, CR); all attribute values here are constants.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('\r', "&#xD;")
}

/// Big-endian unsigned bytes as a decimal string (certificate serial numbers are up to 20 bytes).
fn decimal(bytes: &[u8]) -> String {
    let mut digits: Vec<u8> = vec![0];
    for byte in bytes {
        let mut carry = u32::from(*byte);
        for d in digits.iter_mut() {
            let v = u32::from(*d) * 256 + carry;
            *d = (v % 10) as u8;
            carry = v / 10;
        }
        while carry > 0 {
            digits.push((carry % 10) as u8);
            carry /= 10;
        }
    }
    while digits.len() > 1 && digits.last() == Some(&0) {
        digits.pop();
    }
    digits.iter().rev().map(|d| char::from(b'0' + d)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_serials() {
        assert_eq!(decimal(&[0x01, 0xF2, 0x0A, 0x5D, 0x35, 0x2A, 0xE5, 0x90]), "140185933842146704");
        assert_eq!(decimal(&[0x00, 0xFF]), "255");
        assert_eq!(decimal(&[]), "0");
        assert_eq!(decimal(&[0xFF; 20]), "1461501637330902918203684832716283019655932542975");
    }

    #[test]
    fn escaping_follows_c14n() {
        assert_eq!(esc("a&b<c>\"d\r"), "a&amp;b&lt;c&gt;\"d&#xD;");
    }
}
