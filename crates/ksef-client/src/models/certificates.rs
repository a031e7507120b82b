//! Bodies of the KSeF certificate operations (`/certificates/*`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::models::common::StatusInfo;

/// A limit and what remains of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateLimit {
    /// The maximum.
    pub limit: u32,
    /// What is left.
    pub remaining: u32,
}

/// `GET /certificates/limits`: may the subject enroll, and how many enrollments and active
/// certificates it has left (a NIP: 300 enrollments, 100 active certificates).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateLimits {
    /// Whether a new enrollment is possible now.
    pub can_request: bool,
    /// Certificate enrollments.
    pub enrollment: CertificateLimit,
    /// Active certificates.
    pub certificate: CertificateLimit,
}

/// `GET /certificates/enrollments/data`: the subject DN the CSR must carry, unchanged (25003).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrollmentData {
    /// CN.
    pub common_name: String,
    /// C, ISO 3166 (e.g. `PL`).
    pub country_name: String,
    /// givenName (persons).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// surname (persons).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surname: Option<String>,
    /// serialNumber, e.g. `TINPL-…` / `PNOPL-…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    /// uniqueIdentifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_identifier: Option<String>,
    /// O.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_name: Option<String>,
    /// organizationIdentifier, e.g. `VATPL-5265877635`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_identifier: Option<String>,
}

/// What a KSeF certificate is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CertificateType {
    /// Logging in (XAdES).
    Authentication,
    /// Only signing offline invoices' KOD II.
    Offline,
}

impl CertificateType {
    /// The name KSeF uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Authentication => "Authentication",
            Self::Offline => "Offline",
        }
    }
}

/// `POST /certificates/enrollments`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrollCertificateRequest {
    /// 5–100 characters: letters (Polish included), digits, `_`, `-`, space.
    pub certificate_name: String,
    /// Authentication or Offline.
    pub certificate_type: CertificateType,
    /// PKCS#10 DER, Base64.
    pub csr: String,
    /// Start of validity (default: at issue).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<DateTime<Utc>>,
}

/// Answer of `POST /certificates/enrollments` (202).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrollmentStarted {
    /// Enrollment reference (status is kept 30 days).
    pub reference_number: String,
    /// When KSeF took it.
    pub timestamp: DateTime<Utc>,
}

/// `GET /certificates/enrollments/{ref}`: 100 in progress, 200 issued, 400 refused, 500, 550.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrollmentStatus {
    /// When the enrollment was filed.
    pub request_date: DateTime<Utc>,
    /// Status.
    pub status: StatusInfo,
    /// The issued certificate's serial (hex, 16 digits) once the status is 200.
    #[serde(default)]
    pub certificate_serial_number: Option<String>,
}

/// One certificate of `POST /certificates/retrieve`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetrievedCertificate {
    /// X.509 DER, Base64 (see [`RetrievedCertificate::der`]).
    pub certificate: String,
    /// Its name.
    pub certificate_name: String,
    /// Serial number (hex).
    pub certificate_serial_number: String,
    /// Authentication or Offline.
    pub certificate_type: CertificateType,
}

impl RetrievedCertificate {
    /// The certificate, DER.
    pub fn der(&self) -> Result<Vec<u8>, crate::KsefError> {
        crate::crypto::b64_decode(&self.certificate)
    }
}

#[derive(Deserialize)]
pub(crate) struct RetrieveResponse {
    pub certificates: Vec<RetrievedCertificate>,
}

/// A certificate's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CertificateStatus {
    /// Usable.
    Active,
    /// Being revoked.
    Blocked,
    /// Revoked.
    Revoked,
    /// Past `validTo`.
    Expired,
}

/// Filters of `POST /certificates/query` (all optional).
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateQuery {
    /// Exact serial number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_serial_number: Option<String>,
    /// Part of the name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Type.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<CertificateType>,
    /// Status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<CertificateStatus>,
    /// Only certificates expiring after this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_after: Option<DateTime<Utc>>,
}

/// The subject a certificate was issued for.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct CertificateSubjectIdentifier {
    /// `Nip`, `Pesel` or `Fingerprint`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its value.
    pub value: String,
}

/// One certificate of `POST /certificates/query`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateListItem {
    /// Serial number (hex).
    pub certificate_serial_number: String,
    /// Its name.
    pub name: String,
    /// Authentication or Offline.
    #[serde(rename = "type")]
    pub kind: CertificateType,
    /// CN of the subject.
    pub common_name: String,
    /// State.
    pub status: CertificateStatus,
    /// Subject.
    pub subject_identifier: CertificateSubjectIdentifier,
    /// Valid from.
    pub valid_from: DateTime<Utc>,
    /// Valid to.
    pub valid_to: DateTime<Utc>,
    /// Last login with it.
    #[serde(default)]
    pub last_use_date: Option<DateTime<Utc>>,
    /// When it was requested.
    pub request_date: DateTime<Utc>,
}

/// A page of `POST /certificates/query` (newest request first).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificatesPage {
    /// Certificates.
    pub certificates: Vec<CertificateListItem>,
    /// More pages exist.
    pub has_more: bool,
}

/// Why a certificate is revoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RevocationReason {
    /// No reason given.
    Unspecified,
    /// Replaced by another certificate (renewal).
    Superseded,
    /// The private key leaked.
    KeyCompromise,
}
