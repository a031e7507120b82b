//! Clients added and renamed by an office admin in the panel, through its real forms: a KSeF
//! token the simulator accepts adds the client (its credential's first login recorded, audited);
//! one it refuses adds nothing at all; bad input comes back beside its field in Polish; nobody
//! but an office admin may.

use actix_web::http::StatusCode;

use ksef_gateway::db::models::audit::AuditEvent;
use ksef_gateway::db::models::{Client, Credential};
use ksef_gateway::domain::{CredentialMode, KsefTarget, Nip};
use ksef_gateway::service::access::Caller;
use ksef_gateway::service::office::{self, OfficeCredentialInput, OfficeSecret};

use crate::both_backends;
use crate::common::Backend;
use crate::office::{app, call, login, office, ACC_FULL, ADMIN, NIP_A};
use crate::panel_people::{form, page};

/// A valid NIP (checksum) that the test office does not have yet.
const NEW_NIP: &str = "1111111111";
/// Another one, added to log in with the office's credential; and the office's own NIP.
const OFFICE_CLIENT: &str = "2222222222";
const OFFICE_NIP: &str = "1070002878";

both_backends!(panel_client_added_only_with_a_token_ksef_accepts);

async fn panel_client_added_only_with_a_token_ksef_accepts(b: Backend) {
    let Some((_t, o)) = office(b).await else { return };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let sim = ksef_simulator::start(ksef_simulator::SimulatorConfig::default(), listener).await.unwrap();
    let app = app(&o.st).await;
    let admin = login(&app, ADMIN).await;
    let ksef = sim.base_url();
    let new = |token: &str| {
        vec![
            ("nip", NEW_NIP.to_owned()),
            ("nazwa", "Nowa Firma sp. z o.o.".to_owned()),
            ("ksef", ksef.clone()),
            ("polityka", "four-eyes".to_owned()),
            ("poswiadczenie", "own".to_owned()),
            ("token", token.to_owned()),
        ]
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        form(&admin, "/nowy-klient", &fields)
    };
    let stored = |nip: &'static str| {
        let st = o.st.clone();
        async move { st.db.run(move |c| Client::find_by_nip(c, &crate::common::typed_nip(nip))).await.unwrap() }
    };
    assert_eq!(call(&app, page(&admin, "/nowy-klient")).await.status, StatusCode::OK);

    // A token KSeF refuses: nothing stored, the reason beside the token, what was typed kept.
    let wrong = "20261202-EC-NIEZNANY-TOKEN-01|nip-1111111111|0123456789abcdef";
    let r = call(&app, post(new(wrong))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("id=\"blad-token\"") && r.text().contains("KSeF nie przyjął"), "{}", r.text());
    assert!(r.text().contains("value=\"Nowa Firma sp. z o.o.\"") && !r.text().contains("0123456789abcdef"));
    assert!(stored(NEW_NIP).await.is_none(), "a refused token adds no client");

    // Bad NIP checksum, an existing NIP, a too short token: each beside its field, nothing asked of KSeF.
    let mut bad = new("x".repeat(40).as_str());
    bad[0].1 = "1111111112".into();
    let r = call(&app, post(bad)).await;
    assert!(r.text().contains("id=\"blad-nip\"") && r.text().contains("poprawny NIP"), "{}", r.text());
    let mut taken = new("x".repeat(40).as_str());
    taken[0].1 = NIP_A.into();
    assert!(call(&app, post(taken)).await.text().contains("jest już w bramce"));
    let r = call(&app, post(new("krotki"))).await;
    assert!(r.text().contains("id=\"blad-token\"") && r.text().contains("za krótki"));
    // A KSeF URL that does not answer as KSeF (the simulator without /v2): said so beside it.
    let mut not_ksef = new(wrong);
    not_ksef[2].1 = ksef.trim_end_matches("/v2").to_owned();
    let r = call(&app, post(not_ksef)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("id=\"blad-ksef\"") && r.text().contains("nie odpowiada KSeF"), "{}", r.text());
    assert!(stored(NEW_NIP).await.is_none());

    // Not an office admin: refused, even with every permission on a client.
    let acc = login(&app, ACC_FULL).await;
    assert_eq!(call(&app, page(&acc, "/nowy-klient")).await.status, StatusCode::FORBIDDEN);
    let token = format!("20261202-EC-{NEW_NIP}-TOKEN-01|nip-{NEW_NIP}|fedcba9876543210");
    sim.add_token(NEW_NIP, &token, &["InvoiceWrite", "InvoiceRead"]);
    let fields: Vec<(&str, String)> = new(&token);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(call(&app, form(&acc, "/nowy-klient", &fields)).await.status, StatusCode::FORBIDDEN);
    assert!(stored(NEW_NIP).await.is_none());

    // A token the simulator knows: the client is added with its policy, its credential checked.
    let r = call(&app, post(new(&token))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let client = stored(NEW_NIP).await.unwrap();
    assert_eq!((client.name.as_str(), client.send_policy.as_str()), ("Nowa Firma sp. z o.o.", "four-eyes"));
    let cid = client.id.clone();
    let cred = o.st.db.run(move |c| Credential::find_preferred(c, &cid)).await.unwrap().unwrap();
    assert!(cred.last_auth_ok_at.is_some(), "the check before storing counts as its first login");
    let access = call(&app, page(&admin, &format!("/klienci/{NEW_NIP}/dostepy"))).await;
    assert_eq!(access.status, StatusCode::OK);
    assert!(!access.text().contains("fedcba9876543210"), "the token is never shown");

    // Renamed, audited with both names; a blank name is refused beside the field.
    let uri = format!("/klienci/{NEW_NIP}/nazwa");
    assert!(call(&app, page(&admin, &uri)).await.text().contains("value=\"Nowa Firma sp. z o.o.\""));
    let blank = call(&app, form(&admin, &uri, &[("nazwa", "  ")])).await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(blank.text().contains("id=\"blad-nazwa\""));
    let renamed = call(&app, form(&admin, &uri, &[("nazwa", "Nowa Firma S.A.")])).await;
    assert_eq!(renamed.status, StatusCode::SEE_OTHER);
    assert_eq!(stored(NEW_NIP).await.unwrap().name, "Nowa Firma S.A.");
    let acc_rename = call(&app, form(&acc, &format!("/klienci/{NIP_A}/nazwa"), &[("nazwa", "Inna")])).await;
    assert_eq!(acc_rename.status, StatusCode::FORBIDDEN);

    let events = o.st.db.run(|c| AuditEvent::page(c, 0, 10_000)).await.unwrap();
    let of_client: Vec<&str> = events
        .iter()
        .filter(|e| e.client_id.as_deref() == Some(client.id.as_str()))
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(of_client, ["client.added", "client.renamed"], "{of_client:?}");
    assert!(!format!("{events:?}").contains("fedcba9876543210"), "no token in the audit trail");

    // With the office's credential (the form's default): refused beside the choice while the
    // office has none; once it has one, added without a secret of its own, and its access page
    // says what the client must grant the office in KSeF.
    let by_office = |nip: &str| {
        vec![
            ("nip", nip.to_owned()),
            ("nazwa", "Klient Biura sp. z o.o.".to_owned()),
            ("ksef", ksef.clone()),
            ("polityka", "manual".to_owned()),
            ("poswiadczenie", "office".to_owned()),
            ("token", String::new()),
        ]
    };
    let r = call(&app, post(by_office(OFFICE_CLIENT))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(
        r.text().contains("id=\"blad-poswiadczenie\"") && r.text().contains("Poświadczenie biura"),
        "{}",
        r.text()
    );
    assert!(stored(OFFICE_CLIENT).await.is_none());
    let office_token = format!("20261202-EC-{OFFICE_NIP}-TOKEN-01|nip-{OFFICE_NIP}|abcdef0123456789");
    sim.add_token(OFFICE_NIP, &office_token, &["InvoiceWrite", "InvoiceRead"]);
    let office_input = OfficeCredentialInput {
        nip: Nip::parse(OFFICE_NIP).unwrap(),
        ksef: Some(KsefTarget::parse(&ksef).unwrap()),
        secret: OfficeSecret::Token(office_token.clone().into()),
    };
    office::store(&o.st, &Caller::Operator, office_input).await.unwrap();
    // Never the office's identity to another KSeF than the one it was checked against.
    let mut elsewhere = by_office(OFFICE_CLIENT);
    elsewhere[2].1 = "test".into();
    let r = call(&app, post(elsewhere)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("innego środowiska KSeF"), "{}", r.text());
    assert!(stored(OFFICE_CLIENT).await.is_none());
    let r = call(&app, post(by_office(OFFICE_CLIENT))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let added = stored(OFFICE_CLIENT).await.unwrap();
    assert_eq!(added.credential_mode, CredentialMode::Office);
    let cid = added.id.clone();
    assert!(
        o.st.db.run(move |c| Credential::find_preferred(c, &cid)).await.unwrap().is_none(),
        "no secret of its own"
    );
    let access = call(&app, page(&admin, &format!("/klienci/{OFFICE_CLIENT}/dostepy"))).await.text();
    assert!(access.contains("nie nadał biuru"), "{access}");
    assert!(!access.contains("abcdef0123456789"), "the office's token is never shown");
    sim.stop().await;
}
