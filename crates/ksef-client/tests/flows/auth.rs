//! Authentication, rate limits, credential errors, TLS.

use crate::*;

#[tokio::test]
async fn token_auth_refresh_and_token_manager() {
    let s = setup(fast_limits()).await;
    let ctx = ContextIdentifier::nip(SELLER);
    let tokens = s.client.authenticate_with_ksef_token(&ctx, &token()).await.unwrap();
    let refreshed = s.client.refresh_access_token(&tokens.refresh_token.token).await.unwrap();
    assert!(refreshed.valid_until > chrono::Utc::now());
    assert!(!format!("{tokens:?}").contains("eyJ"), "tokens must not be Debug-printed");

    let manager = TokenManager::new(s.client.clone(), ctx, token());
    let (_, how) = manager.access_token_with_renewal().await.unwrap();
    assert_eq!(how, TokenRenewal::Authenticated);
    let (_, how) = manager.access_token_with_renewal().await.unwrap();
    assert_eq!(how, TokenRenewal::Cached);
    manager.invalidate_access().await;
    let (access, how) = manager.access_token_with_renewal().await.unwrap();
    assert_eq!(how, TokenRenewal::Refreshed);
    s.client.rate_limits(&access).await.unwrap();
    s.sim.stop().await;
}

#[tokio::test]
async fn rate_limit_gives_retry_after() {
    // Scale 0.05: the public group allows 3 requests per second.
    let s = setup(SimulatorConfig { rate_limit_scale: 0.05, ..SimulatorConfig::default() }).await;
    let mut limited = None;
    for _ in 0..10 {
        if let Err(err) = s.client.auth_challenge().await {
            limited = Some(err);
            break;
        }
    }
    let err = limited.expect("no 429 within 10 challenges");
    assert_eq!(err.http_status(), Some(429));
    match err.class() {
        ErrorClass::RateLimited { retry_after } => assert!(retry_after >= Duration::from_secs(1)),
        other => panic!("expected RateLimited, got {other:?}"),
    }
    s.sim.stop().await;
}

/// Counts what a [`ksef_client::PublicPacer`] is asked and told, without holding anything back.
#[derive(Default)]
struct Recording {
    paced: std::sync::atomic::AtomicU32,
    refused: std::sync::Mutex<Vec<Duration>>,
}

impl ksef_client::PublicPacer for Recording {
    fn pace(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        self.paced.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(std::future::ready(()))
    }

    fn refused(&self, retry_after: Duration) {
        self.refused.lock().unwrap().push(retry_after);
    }
}

#[tokio::test]
async fn a_pacer_is_asked_before_every_public_call_and_told_of_their_429s() {
    // Scale 0.1: the public group allows 6 requests a second, one login's worth and a bit.
    let s = setup(SimulatorConfig { rate_limit_scale: 0.1, ..SimulatorConfig::default() }).await;
    let pacer = std::sync::Arc::new(Recording::default());
    let client = s.client.with_public_pacer(pacer.clone());
    let paced = || pacer.paced.load(std::sync::atomic::Ordering::SeqCst);

    // A login: the MF keys, challenge, token, status and redeem are public calls.
    let tokens =
        client.authenticate_with_ksef_token(&ContextIdentifier::nip(SELLER), &token()).await.unwrap();
    let login_calls = paced();
    assert!(login_calls >= TokenRenewal::Authenticated.public_calls(), "asked {login_calls} times");
    // A call in the context's own limits (with an access token) is not the pacer's business.
    client.rate_limits(&tokens.access_token.token).await.unwrap();
    assert_eq!(paced(), login_calls);
    // A clone without the pacer shares the connections but is not paced.
    s.client.auth_challenge().await.unwrap();
    assert_eq!(paced(), login_calls);

    // Over the per-IP window: the 429 reaches the pacer with its Retry-After.
    let mut limited = None;
    for _ in 0..10 {
        if let Err(err) = client.auth_challenge().await {
            limited = Some(err);
            break;
        }
    }
    assert_eq!(limited.expect("no 429 within 10 challenges").http_status(), Some(429));
    let refused = pacer.refused.lock().unwrap().clone();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0] >= Duration::from_secs(1));
    s.sim.stop().await;
}

#[tokio::test]
async fn unknown_and_revoked_tokens_are_credential_errors() {
    let s = setup(fast_limits()).await;
    let ctx = ContextIdentifier::nip(SELLER);
    let bogus = SecretString::from("20251010-EC-0000000000-0000000000-00|nip-9999999999|00");
    let err = s.client.authenticate_with_ksef_token(&ctx, &bogus).await.unwrap_err();
    assert!(matches!(&err, KsefError::AuthFailed(st) if st.code == 450), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Credential);

    let access = login(&s).await;
    let generated = s.client.generate_token(&access, &["InvoiceRead"], "flow test token").await.unwrap();
    assert!(!format!("{generated:?}").contains(secrecy::ExposeSecret::expose_secret(&generated.token)));
    s.client.revoke_token(&access, &generated.reference_number).await.unwrap();
    let info = s.client.get_token(&access, &generated.reference_number).await.unwrap();
    assert!(matches!(info.status.as_str(), "Revoking" | "Revoked"), "{info:?}");
    let err = s.client.authenticate_with_ksef_token(&ctx, &generated.token).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Credential, "{err:?}");
    s.sim.stop().await;
}

#[tokio::test]
async fn tls_mode_trusts_the_simulator_root() {
    let s = setup(SimulatorConfig { tls: true, ..fast_limits() }).await;
    assert!(s.sim.base_url().starts_with("https://"));
    let certs = s.client.public_key_certificates().await.unwrap();
    assert!(certs.len() >= 2);
    login(&s).await;
    // Without the extra root the handshake must fail.
    let env = Environment::parse(&s.sim.base_url()).unwrap();
    let untrusting =
        KsefClient::new(env.clone(), ClientOptions { only_extra_roots: true, ..ClientOptions::default() })
            .unwrap();
    let err = untrusting.auth_challenge().await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Transient, "{err:?}");
    // System roots plus the extra root (the production set-up) trust it too.
    let merged = ClientOptions {
        extra_root_certs_der: s.sim.root_cert_der().into_iter().collect(),
        ..ClientOptions::default()
    };
    KsefClient::new(env, merged).unwrap().auth_challenge().await.unwrap();
    s.sim.stop().await;
}
