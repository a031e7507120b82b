//! Collective identifiers (IZ, #14) against the simulator over HTTP: 500 accepted invoices of one
//! client make one IZ that KSeF holds too and the invoice view shows; 501 are refused before any
//! call (KSeF down meanwhile, nothing stored); an invoice of another client or not accepted yet is
//! refused; a credential without the permission gets the Polish explanation of what to grant.

use diesel::prelude::*;
use ksef_gateway::db::models::Client;
use ksef_gateway::db::schema::{collective_identifier_invoices, collective_identifiers};
use ksef_gateway::db::DbError;
use ksef_gateway::domain::InvoiceId;
use ksef_gateway::error::AppError;
use ksef_gateway::service::access::Caller;
use ksef_gateway::service::collective::{self, CollectiveItem, InvoiceRef};
use ksef_gateway::service::findings::Lang;
use ksef_gateway::service::invoices as invoice_views;
use ksef_gateway::state::AppState;
use ksef_simulator::{OutageScope, SimulatorConfig};

use super::rig::{nip, store_invoice, Rig};
use crate::both_backends;
use crate::common::Backend;

both_backends!(
    collective_identifier_over_500_accepted_invoices_and_refused_at_501,
    collective_identifier_refuses_foreign_and_unaccepted_invoices,
    collective_identifier_without_permission_is_explained_in_polish,
    collective_identifier_through_the_api_with_a_send_key,
    collective_identifier_refusal_is_explained_on_the_panel_page,
);

/// `n` invoices of `client` that KSeF accepted: known to the simulator as the client's (seller)
/// and stored in the gateway as accepted with their KSeF numbers. Returns (id, KSeF number).
pub async fn store_accepted(
    st: &AppState,
    sim: &ksef_simulator::RunningSimulator,
    client: &Client,
    n: usize,
) -> Vec<(InvoiceId, String)> {
    let numbers = sim
        .add_received_invoices(&ksef_simulator::ReceivedInvoices {
            seller_nip: Some(client.nip.to_string()),
            buyer_nip: Some("5213000005".to_owned()),
            count: n,
            ..Default::default()
        })
        .unwrap();
    let mut out = Vec::new();
    for (i, ksef) in numbers.into_iter().enumerate() {
        let number = format!("FV/IZ/{i}");
        let xml = format!("<Faktura><P_2>{number}</P_2></Faktura>").into_bytes();
        out.push((store_invoice(st, client, &number, xml, Some(&ksef)).await, ksef));
    }
    out
}

fn by_id(chosen: &[(InvoiceId, String)]) -> Vec<CollectiveItem> {
    chosen
        .iter()
        .map(|(id, _)| CollectiveItem {
            invoice: InvoiceRef::Id(id.to_string()),
            amount: None,
            currency: None,
            description: None,
        })
        .collect()
}

async fn stored_count(st: &AppState) -> (i64, i64) {
    st.db
        .run(|c| {
            let a = collective_identifiers::table.count().get_result::<i64>(c).map_err(DbError::from)?;
            let b =
                collective_identifier_invoices::table.count().get_result::<i64>(c).map_err(DbError::from)?;
            Ok::<_, DbError>((a, b))
        })
        .await
        .unwrap()
}

fn refusal(r: Result<collective::CollectiveView, AppError>) -> (&'static str, String) {
    match r {
        Err(AppError::Refused { refusal, message }) => (refusal.code(), message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn collective_identifier_over_500_accepted_invoices_and_refused_at_501(b: Backend) {
    let Some(rig) = Rig::new(b, SimulatorConfig::default()).await else { return };
    let client = rig.client(&nip(61), true).await;
    let chosen = store_accepted(&rig.st, &rig.sim, &client, 501).await;

    // 501: refused with KSeF down meanwhile: had the gateway called KSeF, it would have said so.
    rig.sim.faults().outage(OutageScope::All, std::time::Duration::ZERO, std::time::Duration::from_secs(60));
    let (code, message) =
        refusal(collective::create(&rig.st, &Caller::Operator, &client.nip, by_id(&chosen)).await);
    assert_eq!(code, "collective_too_many_invoices");
    assert!(message.contains("najwyżej 500") && message.contains("501"), "{message}");
    rig.sim.faults().end_outage();
    assert_eq!(stored_count(&rig.st).await, (0, 0), "nothing stored");
    assert!(rig.sim.collective_identifiers(&client.nip).is_empty(), "nothing in KSeF");

    // 500 works, in KSeF and in the gateway, with an amount and a description on one invoice.
    let mut items = by_id(&chosen[..500]);
    items[0].amount = Some("123,00".into());
    items[0].currency = Some("PLN".into());
    items[0].description = Some("Płatność zbiorcza – grudzień".into());
    let created = collective::create(&rig.st, &Caller::Operator, &client.nip, items).await.unwrap();
    assert!(ksef_simulator::collective_identifier_is_valid(&created.number), "{}", created.number);
    assert_eq!(created.invoice_count, 500);
    let in_ksef = rig.sim.collective_identifiers(&client.nip);
    assert_eq!(in_ksef.len(), 1);
    assert_eq!(in_ksef[0].0, created.number);
    let mut expected: Vec<String> = chosen[..500].iter().map(|(_, k)| k.clone()).collect();
    let mut got = in_ksef[0].1.clone();
    expected.sort();
    got.sort();
    assert_eq!(got, expected, "exactly the 500 chosen");
    assert_eq!(stored_count(&rig.st).await, (1, 500));
    assert_eq!(rig.count_audit("collective_identifier.create").await, 1);

    // The invoice view (API and panel) lists it; the 501st is in none.
    let view = invoice_views::get(&rig.st, &Caller::Operator, &chosen[7].0, Lang::Pl).await.unwrap();
    assert_eq!(view.collective_identifiers.len(), 1);
    assert_eq!(view.collective_identifiers[0].number, created.number);
    let last = invoice_views::get(&rig.st, &Caller::Operator, &chosen[500].0, Lang::Pl).await.unwrap();
    assert!(last.collective_identifiers.is_empty());
    let listed = collective::list(&rig.st, &Caller::Operator, &client.nip).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].ksef_numbers.len(), 500);
}

async fn collective_identifier_refuses_foreign_and_unaccepted_invoices(b: Backend) {
    let Some(rig) = Rig::new(b, SimulatorConfig::default()).await else { return };
    let client = rig.client(&nip(62), true).await;
    let other = rig.client(&nip(63), true).await;
    let mine = store_accepted(&rig.st, &rig.sim, &client, 2).await;
    let foreign = store_accepted(&rig.st, &rig.sim, &other, 1).await;

    let mut items = by_id(&mine);
    items.extend(by_id(&foreign));
    let (code, message) = refusal(collective::create(&rig.st, &Caller::Operator, &client.nip, items).await);
    assert_eq!(code, "collective_invoice_not_of_client");
    assert!(message.contains(foreign[0].0.as_str()), "names the invoice: {message}");
    // By KSeF number too: another client's number is not this client's invoice.
    let by_number = vec![CollectiveItem {
        invoice: InvoiceRef::KsefNumber(foreign[0].1.clone()),
        amount: None,
        currency: None,
        description: None,
    }];
    let (code, _) = refusal(collective::create(&rig.st, &Caller::Operator, &client.nip, by_number).await);
    assert_eq!(code, "collective_invoice_not_of_client");

    let draft = rig.invoices(&client, 1, "iz-draft").await;
    let mut items = by_id(&mine);
    items.push(CollectiveItem {
        invoice: InvoiceRef::Id(draft[0].to_string()),
        amount: None,
        currency: None,
        description: None,
    });
    let (code, message) = refusal(collective::create(&rig.st, &Caller::Operator, &client.nip, items).await);
    assert_eq!(code, "collective_invoice_not_accepted");
    assert!(message.contains("tylko faktury przyjęte w KSeF"), "{message}");
    assert_eq!(stored_count(&rig.st).await, (0, 0));
    assert!(rig.sim.collective_identifiers(&client.nip).is_empty());
}

async fn collective_identifier_without_permission_is_explained_in_polish(b: Backend) {
    let Some(rig) = Rig::new(b, SimulatorConfig::default()).await else { return };
    let client = rig.client(&nip(64), false).await;
    // The client's stored token logs in but holds none of the permissions IZ needs.
    let token = format!("20261201-EC-{0}-TESTTOKEN-01|nip-{0}|0123456789abcdef", client.nip);
    rig.sim.add_token(&client.nip, &token, &["CredentialsManage"]);
    let chosen = store_accepted(&rig.st, &rig.sim, &client, 1).await;
    let (code, message) =
        refusal(collective::create(&rig.st, &Caller::Operator, &client.nip, by_id(&chosen)).await);
    assert_eq!(code, "ksef_collective_permission_missing");
    assert!(
        message.contains("CollectiveIdentifierManage") && message.contains(client.nip.as_str()),
        "{message}"
    );
    assert!(message.contains("Klient musi nadać w KSeF"), "{message}");
    assert_eq!(stored_count(&rig.st).await, (0, 0));
}

async fn collective_identifier_through_the_api_with_a_send_key(b: Backend) {
    use actix_web::http::StatusCode;
    use actix_web::test::TestRequest;
    use ksef_gateway::auth::ScopeSet;
    use ksef_gateway::service::apikeys;
    use secrecy::ExposeSecret;
    use serde_json::json;

    use crate::office::{app, call, Who};
    let Some(rig) = Rig::new(b, SimulatorConfig::default()).await else { return };
    let client = rig.client(&nip(65), true).await;
    let chosen = store_accepted(&rig.st, &rig.sim, &client, 3).await;
    let key = |scopes: &'static str| {
        let (st, nip) = (rig.st.clone(), client.nip.clone());
        async move {
            let k =
                apikeys::create(&st, &Caller::Operator, &nip, "ERP", ScopeSet::parse(scopes).unwrap(), None)
                    .await
                    .unwrap();
            Who::Key(k.plaintext.expose_secret().to_owned())
        }
    };
    let (sender, reader) = (key("read,send").await, key("submit,read").await);
    let app = app(&rig.st).await;
    let body = json!({
        "ksef_numbers": [chosen[0].1, chosen[1].1],
        "invoices": [{"id": chosen[2].0, "amount": "10.50", "currency": "EUR", "description": "Zaliczka"}],
    });
    let post = || TestRequest::post().uri("/api/v1/collective-identifiers").set_json(body.clone());
    let denied = call(&app, reader.apply(post())).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "submit,read may not create: {}", denied.text());
    let created = call(&app, sender.apply(post())).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let number = created.json()["number"].as_str().unwrap().to_owned();
    assert!(ksef_simulator::collective_identifier_is_valid(&number), "{number}");
    assert_eq!(created.json()["invoice_count"], 3);

    let listed = call(&app, sender.apply(TestRequest::get().uri("/api/v1/collective-identifiers"))).await;
    assert_eq!(listed.json()["collective_identifiers"][0]["number"], number.as_str(), "{}", listed.text());
    let uri = format!("/api/v1/invoices/{}", chosen[2].0);
    let inv = call(&app, sender.apply(TestRequest::get().uri(&uri))).await;
    assert_eq!(inv.json()["collective_identifiers"][0]["number"], number.as_str(), "{}", inv.text());
    let stored: Vec<(Option<String>, Option<String>)> = rig
        .st
        .db
        .run(|c| {
            collective_identifier_invoices::table
                .filter(collective_identifier_invoices::payment_amount.is_not_null())
                .select((
                    collective_identifier_invoices::payment_amount,
                    collective_identifier_invoices::payment_currency,
                ))
                .load(c)
                .map_err(DbError::from)
        })
        .await
        .unwrap();
    assert_eq!(stored, vec![(Some("10.50".to_owned()), Some("EUR".to_owned()))]);
}

/// The panel's "Utwórz identyfikator zbiorczy" with a client token KSeF gives no IZ permission:
/// the same page comes back with the Polish explanation beside the form, the description kept.
async fn collective_identifier_refusal_is_explained_on_the_panel_page(b: Backend) {
    use actix_web::{test, App};

    use crate::panel::{body, open_session_as, post_form, seed_at, EMAIL, PASSWORD, SELLER_NIP};
    let Some(rig) = Rig::new(b, SimulatorConfig::default()).await else { return };
    seed_at(&rig.st, &rig.sim.base_url()).await;
    rig.sim.add_token(SELLER_NIP, "20261201-EC-TESTTOKEN-0000000001|nip|abc", &["CredentialsManage"]);
    let client = crate::common::client_by_nip(&rig.st, SELLER_NIP).await;
    let chosen = store_accepted(&rig.st, &rig.sim, &client, 1).await;
    let app = test::init_service(App::new().configure(ksef_gateway::configure(rig.st.clone()))).await;
    let s = open_session_as(&app, EMAIL, PASSWORD).await;
    let uri = format!("/klienci/{SELLER_NIP}/identyfikator-zbiorczy/utworz");
    let fields = [("csrf", s.csrf.as_str()), ("ids", chosen[0].0.as_str()), ("opis", "Za grudzień")];
    let page = test::call_service(&app, post_form(&s.cookie, &uri, &fields)).await;
    assert_eq!(page.status(), 200);
    let html = body(page).await;
    assert!(html.contains("id=\"blad-iz\""), "{html}");
    assert!(html.contains("KSeF odmówił: brak uprawnienia do identyfikatorów zbiorczych"), "{html}");
    assert!(html.contains("CollectiveIdentifierManage"), "{html}");
    assert!(html.contains("value=\"Za grudzień\""), "the form comes back filled in");
    assert_eq!(stored_count(&rig.st).await, (0, 0));
}
