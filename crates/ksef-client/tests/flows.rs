//! End-to-end flows over real HTTP against the in-process KSeF simulator.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::time::Duration;

use ksef_client::batch::{BatchInvoice, BatchOptions};
use ksef_client::ksef_number::KsefNumber;
use ksef_client::models::query::{DateRange, DateType, InvoiceQueryFilters, SubjectType};
use ksef_client::online::SendOptions;
use ksef_client::query::SortOrder;
use ksef_client::{
    ClientOptions, ContextIdentifier, Environment, ErrorClass, FormCode, KsefClient, KsefError, PollOptions,
    SecretString, TokenManager, TokenRenewal,
};
use ksef_simulator::{RunningSimulator, SimulatorConfig};

const SELLER: &str = "9999999999";
const TOKEN: &str = "20251010-EC-1DCE3E3000-12ECB5B36E-45|nip-9999999999|919f704466624ce29cd5ac7b65ded5e7cccc112eee314f2aaa76e02cd16df7b9";

const BUYER: &str = "1111111111";
const BUYER_TOKEN: &str = "20251010-EC-2DCE3E3000-12ECB5B36E-45|nip-1111111111|aa9f704466624ce29cd5ac7b65ded5e7cccc112eee314f2aaa76e02cd16df7b9";

fn sample(n: u32) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/examples/FA_3_Przyklad_{n}.xml", env!("CARGO_MANIFEST_DIR")))
        .unwrap()
}

struct Setup {
    sim: RunningSimulator,
    client: KsefClient,
}

async fn setup(config: SimulatorConfig) -> Setup {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let sim = ksef_simulator::start(config, listener).await.unwrap();
    sim.add_token(SELLER, TOKEN, &["InvoiceWrite", "InvoiceRead", "CredentialsManage"]);
    let options = ClientOptions {
        extra_root_certs_der: sim.root_cert_der().into_iter().collect(),
        only_extra_roots: sim.root_cert_der().is_some(),
        timeout: Duration::from_secs(20),
        poll: PollOptions {
            initial_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
            budget: Duration::from_secs(20),
        },
        ..ClientOptions::default()
    };
    let env = Environment::parse(&sim.base_url()).unwrap();
    let client = KsefClient::new(env, options).unwrap();
    Setup { sim, client }
}

fn fast_limits() -> SimulatorConfig {
    SimulatorConfig { rate_limit_scale: 1000.0, ..SimulatorConfig::default() }
}

fn token() -> SecretString {
    SecretString::from(TOKEN)
}

async fn login(s: &Setup) -> SecretString {
    let tokens =
        s.client.authenticate_with_ksef_token(&ContextIdentifier::nip(SELLER), &token()).await.unwrap();
    assert!(tokens.access_token.valid_until > chrono::Utc::now());
    tokens.access_token.token
}

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
async fn online_send_is_accepted_with_ksef_number_and_upo() {
    let s = setup(fast_limits()).await;
    let access = login(&s).await;
    let session = s.client.open_online_session(&access, &FormCode::fa3()).await.unwrap();
    let xml = sample(1);
    let sent = s.client.send_invoice(&access, &session, &xml, &SendOptions::default()).await.unwrap();
    assert_eq!(sent.invoice_hash, "X+wQflQVyRs1fImlI+xDPnWk1V37hys4O1lkx9iJbSA=");
    s.client.close_online_session(&access, &session.reference_number).await.unwrap();

    let status =
        s.client.wait_for_invoice(&access, &session.reference_number, &sent.reference_number).await.unwrap();
    assert!(status.is_success(), "{status:?}");
    assert_eq!(status.invoice_hash, sent.invoice_hash);
    let number = KsefNumber::parse(status.ksef_number.as_deref().unwrap()).unwrap();
    assert_eq!(number.seller_nip(), SELLER);

    // UPO three ways: API by invoice reference, API by KSeF number, pre-signed link (hash header checked).
    let upo = s.client.invoice_upo(&access, &session.reference_number, &sent.reference_number).await.unwrap();
    assert!(String::from_utf8_lossy(&upo.bytes).contains(number.as_str()));
    let by_number = s
        .client
        .invoice_upo_by_ksef_number(&access, &session.reference_number, number.as_str())
        .await
        .unwrap();
    assert_eq!(by_number.sha256, upo.sha256);
    let presigned = s.client.download_presigned(status.upo_download_url.as_deref().unwrap()).await.unwrap();
    assert!(presigned.hash_verified, "pre-signed UPO must carry x-ms-meta-hash");
    assert_eq!(presigned.sha256, upo.sha256);

    let session_status = s.client.wait_for_session(&access, &session.reference_number).await.unwrap();
    assert_eq!(session_status.status.code, 200, "{session_status:?}");
    let listed = s.client.all_session_invoices(&access, &session.reference_number).await.unwrap();
    assert_eq!(listed.len(), 1);

    // The same invoice again is a duplicate (440, permanent).
    let again = s.client.open_online_session(&access, &FormCode::fa3()).await.unwrap();
    let dup = s.client.send_invoice(&access, &again, &xml, &SendOptions::default()).await.unwrap();
    let dup =
        s.client.wait_for_invoice(&access, &again.reference_number, &dup.reference_number).await.unwrap();
    assert_eq!(dup.status.code, 440);
    assert_eq!(dup.failure_class(), Some(ErrorClass::Permanent));
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
        KsefClient::new(env, ClientOptions { only_extra_roots: true, ..ClientOptions::default() }).unwrap();
    let err = untrusting.auth_challenge().await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Transient, "{err:?}");
    s.sim.stop().await;
}

#[tokio::test]
async fn batch_of_twelve_then_metadata_query_and_download() {
    let s = setup(fast_limits()).await;
    let access = login(&s).await;
    // Eleven samples with distinct (type, P_2) plus sample 4 renumbered: 12 non-duplicates.
    let mut invoices: Vec<BatchInvoice> = [1, 2, 5, 6, 8, 10, 11, 12, 14, 15, 18]
        .iter()
        .map(|n| BatchInvoice { file_name: format!("FA_3_Przyklad_{n}.xml"), xml: sample(*n) })
        .collect();
    let renumbered =
        String::from_utf8(sample(4)).unwrap().replace("<P_2>FV2026/02/150</P_2>", "<P_2>FV2026/02/151</P_2>");
    invoices.push(BatchInvoice { file_name: "FV2026-02-151.xml".into(), xml: renumbered.into_bytes() });
    let options = BatchOptions { part_size: 8_000, ..BatchOptions::default() };
    let started = chrono::Utc::now() - chrono::Duration::minutes(1);
    let submission = s.client.send_batch(&access, invoices, &options).await.unwrap();
    assert!(submission.part_count >= 2, "parts: {}", submission.part_count);
    let status = s.client.wait_for_session(&access, &submission.reference_number).await.unwrap();
    assert_eq!(status.status.code, 200, "{status:?}");
    let listed = s.client.all_session_invoices(&access, &submission.reference_number).await.unwrap();
    assert_eq!(listed.len(), 12);
    for hash in &submission.invoice_hashes {
        let inv = listed.iter().find(|i| i.invoice_hash == hash.invoice_hash).unwrap();
        assert!(inv.is_success(), "{inv:?}");
        assert!(KsefNumber::is_valid(inv.ksef_number.as_deref().unwrap()));
    }

    // The buyer (1111111111) sees the 12 invoices as Subject2 and downloads one byte-for-byte.
    s.sim.add_token(BUYER, BUYER_TOKEN, &["InvoiceRead"]);
    let buyer = s
        .client
        .authenticate_with_ksef_token(&ContextIdentifier::nip(BUYER), &SecretString::from(BUYER_TOKEN))
        .await
        .unwrap()
        .access_token
        .token;
    let filters = InvoiceQueryFilters::new(
        SubjectType::Subject2,
        DateRange {
            date_type: DateType::Invoicing,
            from: started,
            to: None,
            restrict_to_permanent_storage_hwm_date: None,
        },
    );
    let page = s.client.query_metadata(&buyer, &filters, 0, 100, SortOrder::Asc).await.unwrap();
    assert_eq!(page.invoices.len(), 12, "{page:?}");
    assert!(!page.has_more);
    let first = &page.invoices[0];
    assert_eq!(first.seller.nip, SELLER);
    let doc = s.client.download_invoice(&buyer, &first.ksef_number).await.unwrap();
    assert_eq!(Some(doc.sha256.clone()), first.invoice_hash);
    assert!(submission.invoice_hashes.iter().any(|h| h.invoice_hash == doc.sha256));
    s.sim.stop().await;
}
