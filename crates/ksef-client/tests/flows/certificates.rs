//! KSeF certificates over HTTP: an office enrolls its own certificate (first login with a
//! self-signed seal, as on TEST), logs into a granting client with it, revokes it.

use std::time::Duration;

use ksef_client::csr::{certificate_subject, CertificateKey, KeyAlgorithm};
use ksef_client::models::certificates::{
    CertificateQuery, CertificateStatus, CertificateType, EnrollCertificateRequest, EnrollmentData,
    RevocationReason,
};
use ksef_client::models::manage::TypedIdentifier;
use ksef_client::xades::SubjectIdentifierType;
use ksef_client::{AuthTokens, ExposeSecret};

use crate::*;

const OFFICE: &str = "5265877635";
const OFFICE_NAME: &str = "Biuro Rachunkowe Żółć Sp. z o.o.";

async fn xades_login(
    s: &Setup,
    context: &str,
    cert: &[u8],
    key: &CertificateKey,
) -> Result<AuthTokens, KsefError> {
    let signing = key.signing_key().unwrap();
    s.client
        .authenticate_with_xades(
            &ContextIdentifier::nip(context),
            SubjectIdentifierType::CertificateSubject,
            cert,
            &signing,
            false,
        )
        .await
}

fn auth_code(err: &KsefError) -> i32 {
    match err {
        KsefError::AuthFailed(status) => status.code,
        other => panic!("expected a failed authentication, got {other:?}"),
    }
}

fn api_code(err: &KsefError) -> Option<i32> {
    err.api().and_then(|a| a.codes().next())
}

/// Enrolls an Authentication certificate with a fresh EC key; returns it (DER), its serial and key.
async fn enroll(s: &Setup, access: &SecretString, name: &str) -> (Vec<u8>, String, CertificateKey) {
    let data = s.client.certificate_enrollment_data(access).await.unwrap();
    let key = CertificateKey::generate(KeyAlgorithm::EcP256).unwrap();
    let csr = key.build_csr(&data).unwrap();
    let request = EnrollCertificateRequest {
        certificate_name: name.to_owned(),
        certificate_type: CertificateType::Authentication,
        csr: ksef_client::crypto::b64(&csr),
        valid_from: None,
    };
    let started = s.client.enroll_certificate(access, &request).await.unwrap();
    let serial = s.client.wait_for_enrollment(access, &started.reference_number).await.unwrap();
    let retrieved = s.client.retrieve_certificates(access, &[&serial]).await.unwrap();
    assert_eq!(retrieved.len(), 1);
    assert_eq!(retrieved[0].certificate_serial_number, serial);
    (retrieved[0].der().unwrap(), serial, key)
}

#[tokio::test]
async fn office_enrolls_its_certificate_uses_it_for_a_client_and_revokes_it() {
    let s = setup(fast_limits()).await;
    let dn = EnrollmentData::seal(OFFICE, OFFICE_NAME);
    let first_key = CertificateKey::generate(KeyAlgorithm::EcP256).unwrap();
    let self_signed = first_key.self_signed_certificate(&dn, Duration::from_secs(3600)).unwrap();
    let first = xades_login(&s, OFFICE, &self_signed, &first_key).await.unwrap();
    let access = first.access_token.token;

    let limits = s.client.certificate_limits(&access).await.unwrap();
    assert!(limits.can_request);
    assert_eq!((limits.certificate.limit, limits.enrollment.limit), (100, 300));
    // The DN KSeF hands out is the login certificate's, Polish letters intact.
    assert_eq!(s.client.certificate_enrollment_data(&access).await.unwrap(), dn);

    let (cert, serial, key) = enroll(&s, &access, "Biuro Żółć logowanie").await;
    assert_eq!(certificate_subject(&cert).unwrap(), (dn.clone(), true));
    assert!(key.matches_certificate(&cert).unwrap());
    let limits = s.client.certificate_limits(&access).await.unwrap();
    assert_eq!((limits.certificate.remaining, limits.enrollment.remaining), (99, 299));

    // The enrolled certificate logs into a client that granted the office, not into one that did not.
    s.client
        .testdata_grant_permissions(
            &ContextIdentifier::nip(SELLER),
            &TypedIdentifier::nip(OFFICE),
            &["InvoiceWrite"],
        )
        .await
        .unwrap();
    xades_login(&s, SELLER, &cert, &key).await.unwrap();
    assert_eq!(auth_code(&xades_login(&s, BUYER, &cert, &key).await.unwrap_err()), 415);

    let listed = s.client.query_certificates(&access, &CertificateQuery::default(), 0, 10).await.unwrap();
    assert_eq!(listed.certificates.len(), 1, "{listed:?}");
    let item = &listed.certificates[0];
    assert_eq!(
        (item.certificate_serial_number.as_str(), item.status),
        (serial.as_str(), CertificateStatus::Active)
    );
    assert_eq!(
        (item.subject_identifier.kind.as_str(), item.subject_identifier.value.as_str()),
        ("Nip", OFFICE)
    );
    assert!(item.last_use_date.is_some() && item.valid_to <= item.valid_from + chrono::Duration::days(731));

    // Revoked: logins with it are refused (460), a second revocation is 25009.
    s.client.revoke_certificate(&access, &serial, RevocationReason::Superseded).await.unwrap();
    assert_eq!(auth_code(&xades_login(&s, SELLER, &cert, &key).await.unwrap_err()), 460);
    let again =
        s.client.revoke_certificate(&access, &serial, RevocationReason::Unspecified).await.unwrap_err();
    assert_eq!(api_code(&again), Some(25009));
    let query = CertificateQuery { status: Some(CertificateStatus::Revoked), ..CertificateQuery::default() };
    assert_eq!(s.client.query_certificates(&access, &query, 0, 10).await.unwrap().certificates.len(), 1);

    // Expired (validTo moved into the past on TEST): refused as well.
    let (cert, serial, key) = enroll(&s, &access, "Biuro odnowienie").await;
    xades_login(&s, OFFICE, &cert, &key).await.unwrap();
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    s.client.testdata_shorten_certificate(&access, &serial, past).await.unwrap();
    assert_eq!(auth_code(&xades_login(&s, OFFICE, &cert, &key).await.unwrap_err()), 460);
    s.sim.stop().await;
}

#[tokio::test]
async fn enrollment_needs_a_signature_login_and_the_exact_dn() {
    let s = setup(fast_limits()).await;
    // A KSeF token cannot enroll or revoke.
    let token_access = login(&s).await;
    let err = s.client.certificate_enrollment_data(&token_access).await.unwrap_err();
    assert_eq!(api_code(&err), Some(25001));
    let key = CertificateKey::generate(KeyAlgorithm::EcP256).unwrap();
    let dn = EnrollmentData::seal(SELLER, "Sprzedawca");
    let request = |csr: &[u8]| EnrollCertificateRequest {
        certificate_name: "Certyfikat testowy".to_owned(),
        certificate_type: CertificateType::Authentication,
        csr: ksef_client::crypto::b64(csr),
        valid_from: None,
    };
    let err =
        s.client.enroll_certificate(&token_access, &request(&key.build_csr(&dn).unwrap())).await.unwrap_err();
    assert_eq!(api_code(&err), Some(25002));
    let err = s
        .client
        .revoke_certificate(&token_access, "1000000000000000", RevocationReason::Unspecified)
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), Some(403));

    // Signed in with a seal: a CSR whose DN differs from the enrollment data is 25003.
    let cert = key.self_signed_certificate(&dn, Duration::from_secs(3600)).unwrap();
    let access = xades_login(&s, SELLER, &cert, &key).await.unwrap().access_token.token;
    let changed = EnrollmentData { common_name: "Inna nazwa".to_owned(), ..dn.clone() };
    let err =
        s.client.enroll_certificate(&access, &request(&key.build_csr(&changed).unwrap())).await.unwrap_err();
    assert_eq!(api_code(&err), Some(25003));
    // An RSA 2048 key is accepted as well.
    let rsa = CertificateKey::generate(KeyAlgorithm::Rsa2048).unwrap();
    let started = s.client.enroll_certificate(&access, &request(&rsa.build_csr(&dn).unwrap())).await.unwrap();
    let serial = s.client.wait_for_enrollment(&access, &started.reference_number).await.unwrap();
    assert_eq!(serial.len(), 16);
    assert!(!access.expose_secret().is_empty());
    s.sim.stop().await;
}
