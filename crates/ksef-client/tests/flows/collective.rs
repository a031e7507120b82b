//! Collective identifiers (IZ) through the typed calls: create with a payment, find by KSeF number
//! and by query, list the members; 71001 and the 403 of a missing permission and 403 as typed refusals.

use chrono::{Duration, Utc};
use ksef_client::collective::CollectiveRefusal;
use ksef_client::models::collective::{CollectiveInvoice, CollectivePayment, CollectiveQuery};
use ksef_client::{ContextIdentifier, ErrorClass, SecretString};

use crate::{fast_limits, login, setup, SELLER};

fn invoice(ksef: &str) -> CollectiveInvoice {
    CollectiveInvoice { ksef_number: ksef.to_owned(), payment: None, description: None }
}

#[tokio::test]
async fn collective_identifier_round_trip_and_refusals() {
    let s = setup(fast_limits()).await;
    let access = login(&s).await;
    let seed = |seller: &str, count| ksef_simulator::ReceivedInvoices {
        buyer_nip: Some("5213000005".to_owned()),
        seller_nip: Some(seller.to_owned()),
        count,
        ..Default::default()
    };
    let own = s.sim.add_received_invoices(&seed(SELLER, 3)).unwrap();
    let foreign = s.sim.add_received_invoices(&seed("5265877635", 1)).unwrap();

    let mut first = invoice(&own[0]);
    first.payment = Some(CollectivePayment { amount: 100.5, currency: "PLN".into() });
    let created =
        s.client.create_collective_identifier(&access, vec![first, invoice(&own[1])]).await.unwrap();
    let iz = created.collective_identifier_number;
    assert!(ksef_simulator::collective_identifier_is_valid(&iz), "{iz}");

    let of = s.client.collective_identifiers_of(&access, &own[0], 10, None).await.unwrap();
    assert_eq!(of.collective_identifiers.len(), 1);
    assert!(of.collective_identifiers[0].created_in_current_context);
    let query = CollectiveQuery {
        date_created_from: Utc::now() - Duration::days(1),
        date_created_to: Utc::now() + Duration::minutes(1),
        ..CollectiveQuery::default()
    };
    let page = s.client.query_collective_identifiers(&access, &query, 10, None).await.unwrap();
    assert_eq!(page.collective_identifiers[0].invoice_count, Some(2));
    let members = s.client.collective_identifier_invoices(&access, &[iz.as_str()], 10, None).await.unwrap();
    assert_eq!(members.invoices.len(), 2);
    assert!(members.invoices.iter().any(|m| m.payment.as_ref().is_some_and(|p| p.amount == 100.5)));

    let err = s.client.create_collective_identifier(&access, vec![invoice(&foreign[0])]).await.unwrap_err();
    assert_eq!(err.collective_refusal(), Some(CollectiveRefusal::NotAssignable), "{err}");
    assert_eq!(err.class(), ErrorClass::Permanent);
    let too_many: Vec<_> = (0..501).map(|_| invoice(&own[2])).collect();
    let err = s.client.create_collective_identifier(&access, too_many).await.unwrap_err();
    assert_eq!(err.code(), "invalid_input", "refused before any call: {err}");

    s.sim.add_token(SELLER, "manage-only", &["CredentialsManage"]);
    let manage_only = s
        .client
        .authenticate_with_ksef_token(&ContextIdentifier::nip(SELLER), &SecretString::from("manage-only"))
        .await
        .unwrap()
        .access_token
        .token;
    let err = s.client.create_collective_identifier(&manage_only, vec![invoice(&own[2])]).await.unwrap_err();
    assert_eq!(err.collective_refusal(), Some(CollectiveRefusal::MissingPermission), "{err}");
    s.sim.stop().await;
}
