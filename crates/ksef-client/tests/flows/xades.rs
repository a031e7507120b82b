//! XAdES authentication over HTTP with the MF test seal (VATPL-5265877635, RSA) from the KOD II vectors.

use ksef_client::models::session::{SessionQuery, SessionType};
use ksef_client::signing::SigningKey;
use ksef_client::xades::SubjectIdentifierType;
use ksef_client::ExposeSecret;

use crate::*;

const SEAL_NIP: &str = "5265877635";

fn seal() -> (Vec<u8>, SigningKey) {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.decode(s.trim()).unwrap();
    let cert = b64(include_str!("../fixtures/kod2-test-cert.der.b64"));
    let key = SigningKey::from_der(&b64(include_str!("../fixtures/kod2-test-key.pkcs1.der.b64"))).unwrap();
    (cert, key)
}

/// XAdES login with the MF test seal into `context`.
async fn seal_login(
    s: &Setup,
    context: &str,
    subject: SubjectIdentifierType,
) -> Result<ksef_client::AuthTokens, KsefError> {
    let (cert, key) = seal();
    s.client.authenticate_with_xades(&ContextIdentifier::nip(context), subject, &cert, &key, false).await
}

#[tokio::test]
async fn xades_seal_authenticates_as_owner_of_its_nip() {
    let s = setup(fast_limits()).await;
    let (cert, key) = seal();
    let ctx = ContextIdentifier::nip(SEAL_NIP);
    let tokens = s
        .client
        .authenticate_with_xades(&ctx, SubjectIdentifierType::CertificateSubject, &cert, &key, false)
        .await
        .unwrap();
    assert!(tokens.access_token.valid_until > chrono::Utc::now());
    // The access token works in its context: the owner may read sessions (none yet) and refresh.
    let access = tokens.access_token.token;
    let listed = s.client.all_sessions(&access, &SessionQuery::of(SessionType::Online)).await.unwrap();
    assert!(listed.is_empty(), "{listed:?}");
    let refreshed = s.client.refresh_access_token(&tokens.refresh_token.token).await.unwrap();
    assert_ne!(refreshed.token.expose_secret(), access.expose_secret());

    // By fingerprint the signer is not the NIP owner and holds no grant: 415, a credential problem.
    let err = s
        .client
        .authenticate_with_xades(&ctx, SubjectIdentifierType::CertificateFingerprint, &cert, &key, false)
        .await
        .unwrap_err();
    match &err {
        KsefError::AuthFailed(status) => assert_eq!(status.code, 415, "{status:?}"),
        other => panic!("expected AuthFailed(415), got {other:?}"),
    }
    assert_eq!(err.class(), ErrorClass::Credential);

    // Another NIP's context without a grant: refused as well.
    let other = seal_login(&s, SELLER, SubjectIdentifierType::CertificateSubject).await.unwrap_err();
    assert!(matches!(other, KsefError::AuthFailed(ref st) if st.code == 415), "{other:?}");
    s.sim.stop().await;
}

/// The office's certificate carries no permissions: it logs into a client's context only where that
/// context granted the office's NIP permissions, and KSeF reports exactly those there.
#[tokio::test]
async fn office_certificate_logs_in_where_the_client_granted_permissions() {
    use ksef_client::models::manage::{PersonalPermissionsQuery, TypedIdentifier};
    use ksef_client::Credential;

    let s = setup(fast_limits()).await;
    let (cert, key) = seal();
    let office = TypedIdentifier::nip(SEAL_NIP);
    let client_ctx = ContextIdentifier::nip(SELLER);
    s.client
        .testdata_grant_permissions(&client_ctx, &office, &["InvoiceWrite", "InvoiceRead"])
        .await
        .unwrap();

    let tokens = seal_login(&s, SELLER, SubjectIdentifierType::CertificateSubject).await.unwrap();
    let page = s
        .client
        .query_personal_permissions(&tokens.access_token.token, &PersonalPermissionsQuery::default(), 0, 10)
        .await
        .unwrap();
    let mut scopes: Vec<&str> = page.permissions.iter().map(|p| p.permission_scope.as_str()).collect();
    scopes.sort_unstable();
    assert_eq!(scopes, ["InvoiceRead", "InvoiceWrite"]);
    for p in &page.permissions {
        assert_eq!(p.authorized_identifier.as_ref(), Some(&office), "{p:?}");
        assert_eq!(p.context_identifier.as_ref().and_then(|c| c.value.as_deref()), Some(SELLER));
    }

    // A client that granted nothing refuses the same certificate: 415, a credential problem.
    let err = seal_login(&s, BUYER, SubjectIdentifierType::CertificateSubject).await.unwrap_err();
    assert!(matches!(err, KsefError::AuthFailed(ref st) if st.code == 415), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Credential);

    // The token manager logs in with the certificate by itself.
    let manager = TokenManager::with_credential(
        s.client.clone(),
        client_ctx.clone(),
        Credential::Certificate { der: cert, key },
    );
    assert_eq!(manager.access_token_with_renewal().await.unwrap().1, TokenRenewal::Authenticated);

    // Once the client withdraws the grant, the refresh token stops working and logins are refused.
    s.client.testdata_revoke_permissions(&client_ctx, &office).await.unwrap();
    let refused = s.client.refresh_access_token(&tokens.refresh_token.token).await.unwrap_err();
    assert!(refused.api().is_some_and(|e| e.has_code(21301)), "{refused:?}");
    let again = seal_login(&s, SELLER, SubjectIdentifierType::CertificateSubject).await.unwrap_err();
    assert!(matches!(again, KsefError::AuthFailed(ref st) if st.code == 415), "{again:?}");
    s.sim.stop().await;
}
