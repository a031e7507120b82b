//! KSeF certificates: limits, enrollment data, enrollment (PKCS#10 from [`crate::csr`]), status
//! polling, retrieval, listing and revocation. Enrollment and revocation need a XAdES login
//! (a KSeF token gets 25001/25002, or 403 `auth-method-not-allowed` for revocation).

use chrono::{DateTime, Utc};
use reqwest::Method;
use secrecy::SecretString;

use crate::client::KsefClient;
use crate::error::KsefError;
use crate::models::certificates::{
    CertificateLimits, CertificateQuery, CertificatesPage, EnrollCertificateRequest, EnrollmentData,
    EnrollmentStarted, EnrollmentStatus, RetrieveResponse, RetrievedCertificate, RevocationReason,
};
use crate::poll::poll;

/// Enrollment status: accepted, still in progress.
const ENROLLMENT_IN_PROGRESS: i32 = 100;
/// Enrollment status: certificate issued.
const ENROLLMENT_DONE: i32 = 200;

impl KsefClient {
    /// `GET /certificates/limits`.
    pub async fn certificate_limits(
        &self,
        access_token: &SecretString,
    ) -> Result<CertificateLimits, KsefError> {
        let rb = self.request(Method::GET, "/certificates/limits", Some(access_token));
        self.json(rb, "certificate limits").await
    }

    /// `GET /certificates/enrollments/data`: the DN the CSR must carry (XAdES login only: 25001).
    pub async fn certificate_enrollment_data(
        &self,
        access_token: &SecretString,
    ) -> Result<EnrollmentData, KsefError> {
        let rb = self.request(Method::GET, "/certificates/enrollments/data", Some(access_token));
        self.json(rb, "certificate enrollment data").await
    }

    /// `POST /certificates/enrollments` (202).
    pub async fn enroll_certificate(
        &self,
        access_token: &SecretString,
        request: &EnrollCertificateRequest,
    ) -> Result<EnrollmentStarted, KsefError> {
        let rb = self.request(Method::POST, "/certificates/enrollments", Some(access_token)).json(request);
        self.json(rb, "certificate enrollment").await
    }

    /// `GET /certificates/enrollments/{ref}`.
    pub async fn certificate_enrollment_status(
        &self,
        access_token: &SecretString,
        reference: &str,
    ) -> Result<EnrollmentStatus, KsefError> {
        let path = format!("/certificates/enrollments/{reference}");
        self.json(self.request(Method::GET, &path, Some(access_token)), "certificate enrollment status").await
    }

    /// Polls an enrollment until it leaves status 100; returns the issued certificate's serial
    /// number, or [`KsefError::EnrollmentFailed`] (400 refused, 500, 550).
    pub async fn wait_for_enrollment(
        &self,
        access_token: &SecretString,
        reference: &str,
    ) -> Result<String, KsefError> {
        let status = poll(
            &self.options().poll,
            "certificate enrollment",
            || self.certificate_enrollment_status(access_token, reference),
            |s: &EnrollmentStatus| (s.status.code == ENROLLMENT_IN_PROGRESS).then_some(s.status.code),
        )
        .await?;
        match status.certificate_serial_number {
            Some(serial) if status.status.code == ENROLLMENT_DONE => Ok(serial),
            _ => Err(KsefError::EnrollmentFailed(status.status)),
        }
    }

    /// `POST /certificates/retrieve` for up to 10 serial numbers.
    pub async fn retrieve_certificates(
        &self,
        access_token: &SecretString,
        serial_numbers: &[&str],
    ) -> Result<Vec<RetrievedCertificate>, KsefError> {
        if serial_numbers.is_empty() || serial_numbers.len() > 10 {
            return Err(KsefError::InvalidInput("retrieve 1 to 10 certificates at a time".into()));
        }
        let body = serde_json::json!({"certificateSerialNumbers": serial_numbers});
        let rb = self.request(Method::POST, "/certificates/retrieve", Some(access_token)).json(&body);
        let resp: RetrieveResponse = self.json(rb, "retrieve certificates").await?;
        Ok(resp.certificates)
    }

    /// One page of `POST /certificates/query` (`page_size` 10–50).
    pub async fn query_certificates(
        &self,
        access_token: &SecretString,
        query: &CertificateQuery,
        page_offset: u32,
        page_size: u32,
    ) -> Result<CertificatesPage, KsefError> {
        let rb = self
            .request(Method::POST, "/certificates/query", Some(access_token))
            .query(&[("pageOffset", page_offset), ("pageSize", page_size.clamp(10, 50))])
            .json(query);
        self.json(rb, "query certificates").await
    }

    /// `POST /certificates/{serial}/revoke` (XAdES login only).
    pub async fn revoke_certificate(
        &self,
        access_token: &SecretString,
        serial_number: &str,
        reason: RevocationReason,
    ) -> Result<(), KsefError> {
        let path = format!("/certificates/{serial_number}/revoke");
        let body = serde_json::json!({"revocationReason": reason});
        let rb = self.request(Method::POST, &path, Some(access_token)).json(&body);
        self.no_content(rb, "revoke certificate").await
    }

    /// `PUT /testdata/certificates/{serial}`: moves `validTo` earlier, to test expiry (TEST only).
    pub async fn testdata_shorten_certificate(
        &self,
        access_token: &SecretString,
        serial_number: &str,
        valid_to: DateTime<Utc>,
    ) -> Result<(), KsefError> {
        let path = format!("/testdata/certificates/{serial_number}");
        let body = serde_json::json!({"validTo": valid_to});
        let rb = self.request(Method::PUT, &path, Some(access_token)).json(&body);
        self.no_content(rb, "test data: certificate validity").await
    }
}
