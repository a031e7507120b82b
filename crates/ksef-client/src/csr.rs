//! Keys and PKCS#10 requests for KSeF certificates: a fresh EC P-256 (recommended) or RSA 2048
//! key, a CSR whose subject is exactly KSeF's enrollment data, and a self-signed certificate for
//! the first XAdES login on TEST.
//!
//! String types follow the official C# client, since KSeF refused a PrintableString where it
//! expects UTF8String (25004): CN, surname, givenName, O, organizationIdentifier and
//! uniqueIdentifier are UTF8String (Polish letters survive), C and serialNumber PrintableString.

use std::time::{Duration, SystemTime};

use p256::ecdsa::signature::{SignatureEncoding, Signer};
use rand_core::OsRng;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use sha2::Sha256;
use x509_cert::der::asn1::{Any, BitString, ObjectIdentifier, SetOfVec};
use x509_cert::der::{Decode, Encode, Tag, Tagged};
use x509_cert::name::{RdnSequence, RelativeDistinguishedName};
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::error::KsefError;
use crate::models::certificates::EnrollmentData;
use crate::signing::SigningKey;

/// Key algorithm of a new KSeF certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// EC on NIST P-256, ECDSA with SHA-256 (KSeF's recommendation).
    EcP256,
    /// RSA 2048, PKCS#1 v1.5 with SHA-256.
    Rsa2048,
}

impl KeyAlgorithm {
    /// `ec-p256` or `rsa-2048`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EcP256 => "ec-p256",
            Self::Rsa2048 => "rsa-2048",
        }
    }

    /// Reads [`KeyAlgorithm::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        [Self::EcP256, Self::Rsa2048].into_iter().find(|a| a.as_str() == text)
    }
}

/// A private key for a KSeF certificate, held as PKCS#8 DER that is zeroized on drop.
/// Debug never shows it.
pub struct CertificateKey {
    algorithm: KeyAlgorithm,
    pkcs8: SecretSlice<u8>,
}

impl std::fmt::Debug for CertificateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateKey").field("algorithm", &self.algorithm).finish_non_exhaustive()
    }
}

const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");

/// Enrollment-data attributes: accessor, OID, UTF8String (else PrintableString).
type Field = (fn(&EnrollmentData) -> Option<&str>, &'static str, bool);

const FIELDS: [Field; 8] = [
    (|d| Some(d.common_name.as_str()), "2.5.4.3", true),
    (|d| d.given_name.as_deref(), "2.5.4.42", true),
    (|d| d.surname.as_deref(), "2.5.4.4", true),
    (|d| d.serial_number.as_deref(), "2.5.4.5", false),
    (|d| d.unique_identifier.as_deref(), "2.5.4.45", true),
    (|d| d.organization_name.as_deref(), "2.5.4.10", true),
    (|d| d.organization_identifier.as_deref(), "2.5.4.97", true),
    (|d| Some(d.country_name.as_str()), "2.5.4.6", false),
];

fn crypto_err(e: impl std::fmt::Display) -> KsefError {
    KsefError::Crypto(e.to_string())
}

impl CertificateKey {
    /// A fresh key (RSA 2048 takes a moment).
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Self, KsefError> {
        let der = match algorithm {
            KeyAlgorithm::EcP256 => p256::SecretKey::random(&mut OsRng).to_pkcs8_der().map_err(crypto_err)?,
            KeyAlgorithm::Rsa2048 => rsa::RsaPrivateKey::new(&mut OsRng, 2048)
                .map_err(crypto_err)?
                .to_pkcs8_der()
                .map_err(crypto_err)?,
        };
        Ok(Self { algorithm, pkcs8: SecretSlice::from(der.as_bytes().to_vec()) })
    }

    /// Reads a PKCS#8 key (DER) back, e.g. from the vault.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KsefError> {
        let algorithm = if p256::SecretKey::from_pkcs8_der(der).is_ok() {
            KeyAlgorithm::EcP256
        } else {
            let key = rsa::RsaPrivateKey::from_pkcs8_der(der)
                .map_err(|_| KsefError::InvalidInput("expected an EC P-256 or RSA key in PKCS#8".into()))?;
            if rsa::traits::PublicKeyParts::size(&key) != 256 {
                return Err(KsefError::InvalidInput("KSeF accepts RSA keys of 2048 bits only".into()));
            }
            KeyAlgorithm::Rsa2048
        };
        Ok(Self { algorithm, pkcs8: SecretSlice::from(der.to_vec()) })
    }

    /// Reads a PKCS#8 PEM key (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, KsefError> {
        let (label, doc) = rsa::pkcs8::SecretDocument::from_pem(pem)
            .map_err(|_| KsefError::InvalidInput("not a PEM document".into()))?;
        if label != "PRIVATE KEY" {
            return Err(KsefError::InvalidInput(format!("expected PRIVATE KEY, got {label}")));
        }
        Self::from_pkcs8_der(doc.as_bytes())
    }

    /// Its algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The key as PKCS#8 DER (for sealing in a vault).
    pub fn pkcs8_der(&self) -> &SecretSlice<u8> {
        &self.pkcs8
    }

    /// The key as PKCS#8 PEM (`PRIVATE KEY`).
    pub fn to_pkcs8_pem(&self) -> Result<SecretString, KsefError> {
        let doc = rsa::pkcs8::SecretDocument::try_from(self.pkcs8.expose_secret()).map_err(crypto_err)?;
        let pem = doc.to_pem("PRIVATE KEY", LineEnding::LF).map_err(crypto_err)?;
        Ok(SecretString::from(pem.as_str()))
    }

    /// The key for XAdES signing ([`crate::KsefClient::authenticate_with_xades`]).
    pub fn signing_key(&self) -> Result<SigningKey, KsefError> {
        SigningKey::from_der(self.pkcs8.expose_secret())
    }

    /// The SubjectPublicKeyInfo of the key.
    fn public_key_info(&self) -> Result<SubjectPublicKeyInfoOwned, KsefError> {
        match self.signing_key()? {
            SigningKey::EcP256(key) => {
                let point = key.verifying_key().to_encoded_point(false);
                Ok(SubjectPublicKeyInfoOwned {
                    algorithm: AlgorithmIdentifierOwned {
                        oid: OID_EC_PUBLIC_KEY,
                        parameters: Some(Any::encode_from(&OID_P256).map_err(crypto_err)?),
                    },
                    subject_public_key: BitString::from_bytes(point.as_bytes()).map_err(crypto_err)?,
                })
            }
            SigningKey::Rsa(key) => {
                let der = key.to_public_key().to_public_key_der().map_err(crypto_err)?;
                SubjectPublicKeyInfoOwned::from_der(der.as_bytes()).map_err(crypto_err)
            }
        }
    }

    /// Signs `message` as X.509 does (ECDSA DER signature or RSA PKCS#1 v1.5), SHA-256.
    fn sign_x509(&self, message: &[u8]) -> Result<(AlgorithmIdentifierOwned, BitString), KsefError> {
        let (oid, parameters, signature) = match self.signing_key()? {
            SigningKey::EcP256(key) => {
                let sig: p256::ecdsa::Signature = key.sign(message);
                (OID_ECDSA_SHA256, None, sig.to_der().to_vec())
            }
            SigningKey::Rsa(key) => {
                let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new(*key);
                (OID_RSA_SHA256, Some(Any::null()), signer.sign(message).to_vec())
            }
        };
        let bits = BitString::from_bytes(&signature).map_err(crypto_err)?;
        Ok((AlgorithmIdentifierOwned { oid, parameters }, bits))
    }

    /// The PKCS#10 request (DER) with exactly `data` as its subject; send it Base64-encoded.
    pub fn build_csr(&self, data: &EnrollmentData) -> Result<Vec<u8>, KsefError> {
        let info = x509_cert::request::CertReqInfo {
            version: x509_cert::request::Version::V1,
            subject: subject_name(data)?,
            public_key: self.public_key_info()?,
            attributes: SetOfVec::new(),
        };
        let (algorithm, signature) = self.sign_x509(&info.to_der().map_err(crypto_err)?)?;
        x509_cert::request::CertReq { info, algorithm, signature }.to_der().map_err(crypto_err)
    }

    /// A self-signed certificate (DER) for `data`, valid from an hour ago for `valid_for`: what
    /// KSeF's TEST environment accepts for a first XAdES login (production needs a qualified one).
    pub fn self_signed_certificate(
        &self,
        data: &EnrollmentData,
        valid_for: Duration,
    ) -> Result<Vec<u8>, KsefError> {
        let name = subject_name(data)?;
        let now = SystemTime::now();
        let time = |t: SystemTime| x509_cert::time::Time::try_from(t).map_err(crypto_err);
        let mut serial = [0u8; 16];
        rand_core::RngCore::fill_bytes(&mut OsRng, &mut serial);
        serial[0] &= 0x7F;
        let (signature_alg, _) = self.sign_x509(b"")?;
        let tbs = x509_cert::TbsCertificate {
            version: x509_cert::Version::V3,
            serial_number: x509_cert::serial_number::SerialNumber::new(&serial).map_err(crypto_err)?,
            signature: signature_alg.clone(),
            issuer: name.clone(),
            validity: x509_cert::time::Validity {
                not_before: time(now - Duration::from_secs(3600))?,
                not_after: time(now + valid_for)?,
            },
            subject: name,
            subject_public_key_info: self.public_key_info()?,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: None,
        };
        let (signature_algorithm, signature) = self.sign_x509(&tbs.to_der().map_err(crypto_err)?)?;
        x509_cert::Certificate { tbs_certificate: tbs, signature_algorithm, signature }
            .to_der()
            .map_err(crypto_err)
    }

    /// Whether `certificate_der` certifies this key (e.g. a retrieved certificate before storing it).
    pub fn matches_certificate(&self, certificate_der: &[u8]) -> Result<bool, KsefError> {
        let cert = x509_cert::Certificate::from_der(certificate_der).map_err(crypto_err)?;
        Ok(cert.tbs_certificate.subject_public_key_info == self.public_key_info()?)
    }
}

impl EnrollmentData {
    /// The DN of an organisation's seal as TEST takes it in a self-signed certificate:
    /// CN and O `name`, organizationIdentifier `VATPL-<nip>`, C `PL`.
    pub fn seal(nip: &str, name: &str) -> Self {
        Self {
            common_name: name.to_owned(),
            country_name: "PL".to_owned(),
            organization_name: Some(name.to_owned()),
            organization_identifier: Some(format!("VATPL-{nip}")),
            ..Self::default()
        }
    }
}

fn printable(text: &str) -> bool {
    text.chars().all(|c| c.is_ascii_alphanumeric() || " '()+,-./:=?".contains(c))
}

/// The X.501 name of `data`, one attribute per RDN, string types as KSeF expects.
fn subject_name(data: &EnrollmentData) -> Result<RdnSequence, KsefError> {
    let mut rdns = Vec::new();
    for (get, oid, utf8) in FIELDS {
        let Some(value) = get(data) else { continue };
        if !utf8 && !printable(value) {
            return Err(KsefError::InvalidInput(format!("{oid} must be a PrintableString: {value:?}")));
        }
        let tag = if utf8 { Tag::Utf8String } else { Tag::PrintableString };
        let atv = x509_cert::attr::AttributeTypeAndValue {
            oid: ObjectIdentifier::new(oid).map_err(crypto_err)?,
            value: Any::new(tag, value.as_bytes()).map_err(crypto_err)?,
        };
        let set = SetOfVec::try_from(vec![atv]).map_err(crypto_err)?;
        rdns.push(RelativeDistinguishedName(set));
    }
    Ok(RdnSequence(rdns))
}

/// The subject of a certificate (DER) read back as enrollment data, with whether every name
/// attribute is a UTF8String (what KSeF expects, see the module docs).
pub fn certificate_subject(certificate_der: &[u8]) -> Result<(EnrollmentData, bool), KsefError> {
    let cert = x509_cert::Certificate::from_der(certificate_der).map_err(crypto_err)?;
    let mut data = EnrollmentData::default();
    let mut utf8_names = true;
    for atv in cert.tbs_certificate.subject.0.iter().flat_map(|rdn| rdn.0.iter()) {
        let value = String::from_utf8(atv.value.value().to_vec()).map_err(crypto_err)?;
        let oid = atv.oid.to_string();
        if FIELDS.iter().any(|(_, o, utf8)| *o == oid && *utf8) && atv.value.tag() != Tag::Utf8String {
            utf8_names = false;
        }
        let slot = match oid.as_str() {
            "2.5.4.3" => {
                data.common_name = value;
                continue;
            }
            "2.5.4.6" => {
                data.country_name = value;
                continue;
            }
            "2.5.4.42" => &mut data.given_name,
            "2.5.4.4" => &mut data.surname,
            "2.5.4.5" => &mut data.serial_number,
            "2.5.4.45" => &mut data.unique_identifier,
            "2.5.4.10" => &mut data.organization_name,
            "2.5.4.97" => &mut data.organization_identifier,
            _ => continue,
        };
        *slot = Some(value);
    }
    Ok((data, utf8_names))
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "test code")]
mod tests {
    use super::*;

    #[test]
    fn csr_keeps_polish_letters_as_utf8_and_country_as_printable() {
        let key = CertificateKey::generate(KeyAlgorithm::EcP256).unwrap();
        let data = EnrollmentData::seal("5265877635", "Biuro Rachunkowe Żółć Sp. z o.o.");
        let der = key.build_csr(&data).unwrap();
        let csr = x509_cert::request::CertReq::from_der(&der).unwrap();
        let tags: Vec<(String, Tag)> = csr
            .info
            .subject
            .0
            .iter()
            .flat_map(|r| r.0.iter())
            .map(|a| (a.oid.to_string(), a.value.tag()))
            .collect();
        assert!(tags.contains(&("2.5.4.3".to_owned(), Tag::Utf8String)), "{tags:?}");
        assert!(tags.contains(&("2.5.4.6".to_owned(), Tag::PrintableString)), "{tags:?}");
        let cert = key.self_signed_certificate(&data, Duration::from_secs(3600)).unwrap();
        assert_eq!(certificate_subject(&cert).unwrap(), (data, true));
        assert!(key.matches_certificate(&cert).unwrap());
        let other = CertificateKey::generate(KeyAlgorithm::EcP256).unwrap();
        assert!(!other.matches_certificate(&cert).unwrap());
        // The PEM form reads back to the same key.
        let pem = key.to_pkcs8_pem().unwrap();
        let again = CertificateKey::from_pkcs8_pem(pem.expose_secret()).unwrap();
        assert_eq!(again.pkcs8_der().expose_secret(), key.pkcs8_der().expose_secret());
    }

    #[test]
    fn country_must_be_printable() {
        let key = CertificateKey::generate(KeyAlgorithm::EcP256).unwrap();
        let data =
            EnrollmentData { country_name: "PŁ".to_owned(), ..EnrollmentData::seal("5265877635", "Firma") };
        assert!(matches!(key.build_csr(&data), Err(KsefError::InvalidInput(_))));
    }
}
