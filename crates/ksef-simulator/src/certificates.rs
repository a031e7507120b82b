//! KSeF certificates: the subject DN KSeF puts into enrollment data, the PKCS#10 checks of
//! `POST /certificates/enrollments` (25003, 25004, 25010, 25011), and issuing by the simulator CA.

use chrono::{DateTime, Duration, Utc};
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::signature::Verifier;
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha256, Sha384, Sha512};
use x509_cert::der::{Decode, Encode, Tag, Tagged};

use crate::errors::ApiError;
use crate::xades::verify::Signer;

/// The longest validity KSeF gives a certificate.
pub const MAX_VALIDITY: Duration = Duration::days(730);

/// A subject attribute of enrollment data: its JSON name, OID, and whether the CSR must carry it
/// as UTF8String (names, which may hold Polish letters) rather than PrintableString (C, serialNumber).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DnAttr {
    pub json: &'static str,
    pub oid: &'static str,
    pub utf8: bool,
}

/// The attributes of `CertificateEnrollmentDataResponse`, in the order a CSR usually lists them.
pub const DN_ATTRS: [DnAttr; 8] = [
    DnAttr { json: "commonName", oid: "2.5.4.3", utf8: true },
    DnAttr { json: "givenName", oid: "2.5.4.42", utf8: true },
    DnAttr { json: "surname", oid: "2.5.4.4", utf8: true },
    DnAttr { json: "serialNumber", oid: "2.5.4.5", utf8: false },
    DnAttr { json: "uniqueIdentifier", oid: "2.5.4.45", utf8: true },
    DnAttr { json: "organizationName", oid: "2.5.4.10", utf8: true },
    DnAttr { json: "organizationIdentifier", oid: "2.5.4.97", utf8: true },
    DnAttr { json: "countryName", oid: "2.5.4.6", utf8: false },
];

/// The subject DN a CSR must carry, taken from the certificate the subject authenticated with.
pub type EnrollmentDn = Vec<(DnAttr, String)>;

/// Enrollment data from the signer's certificate: the attributes it has (countryName `PL` and a
/// commonName from the organisation or surname when the certificate lacks them).
pub fn enrollment_dn(signer: &Signer) -> EnrollmentDn {
    let mut dn: EnrollmentDn =
        DN_ATTRS.iter().filter_map(|a| signer.subject_attr(a.oid).map(|v| (*a, v))).collect();
    let has = |dn: &EnrollmentDn, json: &str| dn.iter().any(|(a, _)| a.json == json);
    if !has(&dn, "commonName") {
        let fallback = dn
            .iter()
            .find(|(a, _)| a.json == "organizationName" || a.json == "surname")
            .map_or_else(|| "Podmiot KSeF".to_owned(), |(_, v)| v.clone());
        dn.insert(0, (DN_ATTRS[0], fallback));
    }
    if !has(&dn, "countryName") {
        dn.push((DN_ATTRS[7], "PL".to_owned()));
    }
    dn
}

/// The `CertificateEnrollmentDataResponse` body.
pub fn enrollment_json(dn: &EnrollmentDn) -> serde_json::Value {
    serde_json::Value::Object(
        dn.iter().map(|(a, v)| (a.json.to_owned(), serde_json::Value::String(v.clone()))).collect(),
    )
}

/// A CSR that passed every check: its subject (with the string types it used) and public key.
pub struct CheckedCsr {
    /// (OID, value, UTF8String?) in CSR order.
    pub subject: Vec<(String, String, bool)>,
    pub key: CsrKey,
}

/// The CSR's public key as rcgen signs it into a certificate.
pub struct CsrKey {
    /// The subjectPublicKey bits (uncompressed EC point or PKCS#1 RSA key).
    raw: Vec<u8>,
    alg: &'static rcgen::SignatureAlgorithm,
    /// SHA-256 of the SubjectPublicKeyInfo DER: "this key was already certified by another subject".
    pub spki_hash: String,
}

impl rcgen::PublicKeyData for CsrKey {
    fn der_bytes(&self) -> &[u8] {
        &self.raw
    }

    fn algorithm(&self) -> &rcgen::SignatureAlgorithm {
        self.alg
    }
}

fn csr_error(detail: impl Into<String>) -> ApiError {
    ApiError::exception_with(25004, "Niepoprawny format CSR lub niepoprawny podpis CSR.", vec![detail.into()])
}

const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const P256: &str = "1.2.840.10045.3.1.7";
const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";

#[derive(Clone, Copy)]
enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => Sha256::digest(data).to_vec(),
            Self::Sha384 => Sha384::digest(data).to_vec(),
            Self::Sha512 => Sha512::digest(data).to_vec(),
        }
    }
}

/// Signature algorithms of a CSR the simulator verifies.
enum SigAlg {
    Ecdsa(Hash),
    RsaPkcs1(Hash),
    RsaPss,
}

fn sig_alg(oid: &str) -> Result<SigAlg, ApiError> {
    Ok(match oid {
        "1.2.840.10045.4.3.2" => SigAlg::Ecdsa(Hash::Sha256),
        "1.2.840.10045.4.3.3" => SigAlg::Ecdsa(Hash::Sha384),
        "1.2.840.10045.4.3.4" => SigAlg::Ecdsa(Hash::Sha512),
        "1.2.840.113549.1.1.11" => SigAlg::RsaPkcs1(Hash::Sha256),
        "1.2.840.113549.1.1.12" => SigAlg::RsaPkcs1(Hash::Sha384),
        "1.2.840.113549.1.1.13" => SigAlg::RsaPkcs1(Hash::Sha512),
        "1.2.840.113549.1.1.10" => SigAlg::RsaPss,
        // KSeF also takes SHA-1; the simulator does not verify it (a client should not send it).
        other => {
            return Err(ApiError::exception_with(
                25011,
                "Nieprawidłowy algorytm podpisu CSR.",
                vec![format!("Algorytm {other} nie jest obsługiwany.")],
            ))
        }
    })
}

fn key_error(detail: &str) -> ApiError {
    ApiError::exception_with(25010, "Nieprawidłowy typ lub długość klucza.", vec![detail.to_owned()])
}

/// Parses and verifies a PKCS#10 CSR (DER) and checks its subject against `expected`.
pub fn check_csr(der: &[u8], expected: &EnrollmentDn) -> Result<CheckedCsr, ApiError> {
    let csr = x509_cert::request::CertReq::from_der(der).map_err(|e| csr_error(format!("PKCS#10: {e}")))?;
    let spki = &csr.info.public_key;
    let raw = spki.subject_public_key.raw_bytes().to_vec();
    let key_oid = spki.algorithm.oid.to_string();
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<x509_cert::der::asn1::ObjectIdentifier>().ok());
    let alg = match key_oid.as_str() {
        EC_PUBLIC_KEY if curve.map(|c| c.to_string()).as_deref() == Some(P256) => {
            &rcgen::PKCS_ECDSA_P256_SHA256
        }
        EC_PUBLIC_KEY => return Err(key_error("Dozwolona jest tylko krzywa P-256.")),
        RSA_ENCRYPTION => {
            let key =
                rsa::RsaPublicKey::from_pkcs1_der(&raw).map_err(|_| key_error("Nieczytelny klucz RSA."))?;
            if key.size() * 8 != 2048 {
                return Err(key_error("Klucz RSA musi mieć 2048 bitów."));
            }
            &rcgen::PKCS_RSA_SHA256
        }
        _ => return Err(key_error("Dozwolone są klucze RSA 2048 i EC P-256.")),
    };
    let info = csr.info.to_der().map_err(|e| csr_error(e.to_string()))?;
    let signature = csr.signature.raw_bytes();
    let verified = match sig_alg(&csr.algorithm.oid.to_string())? {
        SigAlg::Ecdsa(_) if alg != &rcgen::PKCS_ECDSA_P256_SHA256 => false,
        SigAlg::Ecdsa(hash) => {
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&raw)
                .map_err(|_| key_error("Nieczytelny klucz EC."))?;
            p256::ecdsa::Signature::from_der(signature)
                .is_ok_and(|sig| key.verify_prehash(&hash.digest(&info), &sig).is_ok())
        }
        SigAlg::RsaPkcs1(_) | SigAlg::RsaPss if alg != &rcgen::PKCS_RSA_SHA256 => false,
        SigAlg::RsaPkcs1(hash) => verify_rsa_pkcs1(&raw, hash, &info, signature),
        SigAlg::RsaPss => rsa::RsaPublicKey::from_pkcs1_der(&raw).is_ok_and(|key| {
            rsa::pss::Signature::try_from(signature)
                .is_ok_and(|sig| rsa::pss::VerifyingKey::<Sha256>::new(key).verify(&info, &sig).is_ok())
        }),
    };
    if !verified {
        return Err(csr_error("Podpis CSR nie zgadza się z kluczem publicznym."));
    }
    let mut subject = Vec::new();
    for atv in csr.info.subject.0.iter().flat_map(|rdn| rdn.0.iter()) {
        let oid = atv.oid.to_string();
        let tag = atv.value.tag();
        let value = String::from_utf8(atv.value.value().to_vec())
            .map_err(|_| csr_error("Atrybut DN nie jest tekstem."))?;
        let attr = DN_ATTRS.iter().find(|a| a.oid == oid);
        if attr.is_some_and(|a| a.utf8) && tag != Tag::Utf8String {
            return Err(csr_error(format!(
                "Atrybut {} musi być zakodowany jako UTF8String (jest {tag}).",
                attr.map_or("", |a| a.json)
            )));
        }
        subject.push((oid, value, tag == Tag::Utf8String));
    }
    let mut got: Vec<(&str, &str)> = subject.iter().map(|(o, v, _)| (o.as_str(), v.as_str())).collect();
    let mut want: Vec<(&str, &str)> = expected.iter().map(|(a, v)| (a.oid, v.as_str())).collect();
    got.sort_unstable();
    want.sort_unstable();
    if got != want {
        return Err(ApiError::exception(
            25003,
            "Dane w CSR nie zgadzają się z danymi w użytym wektorze uwierzytelniającym.",
        ));
    }
    let spki_der = spki.to_der().map_err(|e| csr_error(e.to_string()))?;
    Ok(CheckedCsr { subject, key: CsrKey { raw, alg, spki_hash: crate::crypto::sha256_b64(&spki_der) } })
}

fn verify_rsa_pkcs1(raw: &[u8], hash: Hash, info: &[u8], signature: &[u8]) -> bool {
    let Ok(key) = rsa::RsaPublicKey::from_pkcs1_der(raw) else { return false };
    let scheme = match hash {
        Hash::Sha256 => rsa::Pkcs1v15Sign::new::<Sha256>(),
        Hash::Sha384 => rsa::Pkcs1v15Sign::new::<Sha384>(),
        Hash::Sha512 => rsa::Pkcs1v15Sign::new::<Sha512>(),
    };
    key.verify(scheme, &hash.digest(info), signature).is_ok()
}

/// The simulator's certification authority (EC P-256, fresh per start).
pub struct SimulatorCa {
    cert: rcgen::Certificate,
    key: rcgen::KeyPair,
}

impl SimulatorCa {
    pub fn generate() -> anyhow::Result<Self> {
        let key = rcgen::KeyPair::generate()?;
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(rcgen::DnType::CommonName, "KSeF simulator CA");
        params.distinguished_name.push(rcgen::DnType::OrganizationName, "ksef-simulator");
        params.distinguished_name.push(rcgen::DnType::CountryName, "PL");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.not_before = rcgen::date_time_ymd(2025, 1, 1);
        params.not_after = rcgen::date_time_ymd(2035, 1, 1);
        let cert = params.self_signed(&key)?;
        Ok(Self { cert, key })
    }

    /// Issues a certificate for a checked CSR: its subject as the CSR encoded it, the serial given.
    pub fn issue(
        &self,
        csr: &CheckedCsr,
        serial: &[u8],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<u8>, ApiError> {
        let server = |e: &dyn std::fmt::Display| ApiError::Server { status: 500, detail: e.to_string() };
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        for (oid, value, utf8) in &csr.subject {
            let arcs: Vec<u64> = oid.split('.').filter_map(|a| a.parse().ok()).collect();
            let value = if *utf8 {
                rcgen::DnValue::Utf8String(value.clone())
            } else {
                rcgen::DnValue::PrintableString(
                    rcgen::PrintableString::try_from(value.as_str()).map_err(|e| csr_error(e.to_string()))?,
                )
            };
            params.distinguished_name.push(rcgen::DnType::CustomDnType(arcs), value);
        }
        params.serial_number = Some(rcgen::SerialNumber::from_slice(serial));
        params.not_before = offset(from).map_err(|e| server(&e))?;
        params.not_after = offset(to).map_err(|e| server(&e))?;
        params.key_usages =
            vec![rcgen::KeyUsagePurpose::DigitalSignature, rcgen::KeyUsagePurpose::ContentCommitment];
        let cert = params.signed_by(&csr.key, &self.cert, &self.key).map_err(|e| server(&e))?;
        Ok(cert.der().to_vec())
    }
}

fn offset(t: DateTime<Utc>) -> Result<::time::OffsetDateTime, ::time::error::ComponentRange> {
    ::time::OffsetDateTime::from_unix_timestamp(t.timestamp())
}

/// `Authentication` or `Offline`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
pub enum CertificateType {
    Authentication,
    Offline,
}

impl CertificateType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Authentication => "Authentication",
            Self::Offline => "Offline",
        }
    }
}

/// A certificate the simulator CA issued.
pub struct IssuedCert {
    pub serial: String,
    pub der: Vec<u8>,
    pub name: String,
    pub kind: CertificateType,
    /// The subject it was issued for (the authenticated identity that enrolled).
    pub owner: crate::state::Subject,
    pub common_name: String,
    pub valid_from: DateTime<Utc>,
    /// Shortened by `PUT /testdata/certificates/{serial}`.
    pub valid_to: DateTime<Utc>,
    pub requested: DateTime<Utc>,
    pub revoked: Option<String>,
    pub last_use: Option<DateTime<Utc>>,
}

impl IssuedCert {
    /// `Active`, `Revoked` or `Expired` at `now`.
    pub fn status(&self, now: DateTime<Utc>) -> &'static str {
        if self.revoked.is_some() {
            "Revoked"
        } else if now > self.valid_to {
            "Expired"
        } else {
            "Active"
        }
    }

    /// Why it may not authenticate at `now`, if it may not.
    pub fn login_refusal(&self, now: DateTime<Utc>) -> Option<&'static str> {
        match (self.status(now), self.kind) {
            ("Revoked", _) => Some("Certyfikat unieważniony."),
            ("Expired", _) => Some("Certyfikat wygasł."),
            (_, CertificateType::Offline) => Some("Certyfikat typu Offline nie służy do uwierzytelnienia."),
            _ => None,
        }
    }
}

/// A certificate enrollment: the issued certificate's serial, or the reason it was refused.
pub struct Enrollment {
    pub owner: crate::state::Subject,
    pub requested: DateTime<Utc>,
    pub ready_at: DateTime<Utc>,
    pub outcome: Result<String, &'static str>,
}

/// A fresh 8-byte serial (positive, 16 hex digits).
pub fn new_serial() -> (Vec<u8>, String) {
    let mut bytes = [0u8; 8];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    bytes[0] = (bytes[0] & 0x7F).max(0x10);
    (bytes.to_vec(), bytes.iter().map(|b| format!("{b:02X}")).collect())
}
