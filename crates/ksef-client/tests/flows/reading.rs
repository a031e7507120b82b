//! Reading, management, failures, collective UPO, outages, credential loss.

use std::time::Duration;

use chrono::Utc;
use ksef_client::models::manage::PersonalPermissionsQuery;
use ksef_client::models::query::SubjectType;
use ksef_client::online::SendOptions;
use ksef_client::{ContextIdentifier, ErrorClass, FormCode, KsefError, SecretString, TokenManager};
use ksef_simulator::OutageScope;

use crate::{fast_limits, login, sample, setup, BUYER, BUYER_TOKEN, SELLER};

#[tokio::test]
async fn management_limits_and_lighthouse() {
    let s = setup(fast_limits()).await;
    let access = login(&s).await;
    let limits = s.client.rate_limits(&access).await.unwrap();
    assert!(limits["invoiceSend"].per_hour > 0, "{limits:?}");
    let context = s.client.context_limits(&access).await.unwrap();
    assert!(context.online_session.max_invoices > 0);
    let perms = s
        .client
        .query_personal_permissions(&access, &PersonalPermissionsQuery::default(), 0, 10)
        .await
        .unwrap();
    assert!(perms.permissions.iter().any(|p| p.permission_scope == "InvoiceWrite"), "{perms:?}");
    let tokens = s.client.list_tokens(&access, &["Active"], 10, None).await.unwrap();
    assert!(!tokens.tokens.is_empty());

    assert_eq!(s.client.lighthouse_status().await.unwrap().status, "AVAILABLE");
    s.sim.faults().outage(OutageScope::All, Duration::ZERO, Duration::from_secs(60));
    let status = s.client.lighthouse_status().await.unwrap();
    assert_eq!(status.status, "TOTAL_FAILURE");
    assert_eq!(status.messages[0].category.as_deref(), Some("TOTAL_FAILURE"));
    let err = s.client.rate_limits(&access).await.unwrap_err();
    assert_eq!((err.http_status(), err.class()), (Some(503), ErrorClass::Transient));
    let messages = s.client.lighthouse_messages().await.unwrap();
    assert_eq!(messages[0].kind.as_deref(), Some("FAILURE_START"));
    s.sim.faults().end_outage();
    assert_eq!(s.client.lighthouse_status().await.unwrap().status, "AVAILABLE");
    s.sim.stop().await;
}

#[tokio::test]
async fn rejected_invoice_is_listed_as_failed_and_session_upo_downloads() {
    let s = setup(fast_limits()).await;
    let access = login(&s).await;
    let session = s.client.open_online_session(&access, &FormCode::fa3()).await.unwrap();
    let broken = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Faktura><P_2>X</P_2></Faktura>";
    let bad = s.client.send_invoice(&access, &session, broken, &SendOptions::default()).await.unwrap();
    let good = s.client.send_invoice(&access, &session, &sample(1), &SendOptions::default()).await.unwrap();
    s.client.close_online_session(&access, &session.reference_number).await.unwrap();

    let bad =
        s.client.wait_for_invoice(&access, &session.reference_number, &bad.reference_number).await.unwrap();
    assert_eq!(bad.failure_class(), Some(ErrorClass::Permanent), "{bad:?}");
    let failed = s.client.failed_invoices(&access, &session.reference_number, 10, None).await.unwrap();
    assert_eq!(failed.invoices.len(), 1);
    assert_eq!(failed.invoices[0].reference_number, bad.reference_number);
    let good =
        s.client.wait_for_invoice(&access, &session.reference_number, &good.reference_number).await.unwrap();
    assert!(good.is_success());

    let status = s.client.wait_for_session(&access, &session.reference_number).await.unwrap();
    assert_eq!(status.status.code, 200, "{status:?}");
    assert_eq!((status.successful_invoice_count, status.failed_invoice_count), (Some(1), Some(1)));
    let pages = status.upo.unwrap().pages;
    assert!(!pages.is_empty());
    let via_api =
        s.client.session_upo(&access, &session.reference_number, &pages[0].reference_number).await.unwrap();
    let presigned = s.client.download_presigned(&pages[0].download_url).await.unwrap();
    assert!(presigned.hash_verified);
    assert_eq!(presigned.sha256, via_api.sha256);
    assert!(String::from_utf8_lossy(&presigned.bytes).contains(good.ksef_number.as_deref().unwrap()));
    s.sim.stop().await;
}

#[tokio::test]
async fn incremental_sync_finds_purchase_invoice() {
    let s = setup(fast_limits()).await;
    let from = Utc::now() - chrono::Duration::minutes(5);
    let access = login(&s).await;
    let session = s.client.open_online_session(&access, &FormCode::fa3()).await.unwrap();
    let sent = s.client.send_invoice(&access, &session, &sample(1), &SendOptions::default()).await.unwrap();
    let done =
        s.client.wait_for_invoice(&access, &session.reference_number, &sent.reference_number).await.unwrap();
    assert!(done.is_success());

    s.sim.add_token(BUYER, BUYER_TOKEN, &["InvoiceRead"]);
    let ctx = ContextIdentifier::nip(BUYER);
    let buyer = s.client.authenticate_with_ksef_token(&ctx, &SecretString::from(BUYER_TOKEN)).await.unwrap();
    let synced =
        s.client.sync_invoices(&buyer.access_token.token, SubjectType::Subject2, from, 10).await.unwrap();
    assert_eq!(synced.invoices.len(), 1, "{synced:?}");
    assert_eq!(synced.invoices[0].ksef_number, done.ksef_number.unwrap());
    assert!(synced.next_from > from);
    s.sim.stop().await;
}

#[tokio::test]
async fn token_manager_reports_credential_loss_after_revocation() {
    let s = setup(fast_limits()).await;
    let admin = login(&s).await;
    let generated = s.client.generate_token(&admin, &["InvoiceWrite"], "manager test token").await.unwrap();
    let manager =
        TokenManager::new(s.client.clone(), ContextIdentifier::nip(SELLER), generated.token.clone());
    manager.access_token().await.unwrap();
    s.client.revoke_token(&admin, &generated.reference_number).await.unwrap();
    manager.invalidate_access().await;
    // Refresh is refused (token revoked), so the manager re-authenticates, which fails with 450.
    let err = manager.access_token().await.unwrap_err();
    assert!(matches!(&err, KsefError::AuthFailed(st) if st.code == 450), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Credential);
    s.sim.stop().await;
}
