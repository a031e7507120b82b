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
    let other = s
        .client
        .authenticate_with_xades(
            &ContextIdentifier::nip(SELLER),
            SubjectIdentifierType::CertificateSubject,
            &cert,
            &key,
            false,
        )
        .await
        .unwrap_err();
    assert!(matches!(other, KsefError::AuthFailed(ref st) if st.code == 415), "{other:?}");
    s.sim.stop().await;
}
