//! A stored credential is checked against a real (simulated) KSeF over HTTP, and the outcome is
//! recorded; a token KSeF does not know is reported, not hidden.

use secrecy::SecretString;

use ksef_gateway::db::models::Credential;
use ksef_gateway::domain::{KsefTarget, Nip, SendPolicy};
use ksef_gateway::service::clients::{add_client, NewClientInput, KSEF_TOKEN};
use ksef_gateway::service::credentials::{check, CredentialHealth};

use crate::both_backends;
use crate::common::{Backend, TestDb};

both_backends!(stored_token_authenticates_against_the_simulator);

async fn stored_token_authenticates_against_the_simulator(b: Backend) {
    let Some(t) = TestDb::new(b) else { return };
    let st = t.state();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let sim = ksef_simulator::start(ksef_simulator::SimulatorConfig::default(), listener).await.unwrap();
    let target = KsefTarget::parse(&sim.base_url()).unwrap();
    let good = "20261121-EC-AAAAAAAAAA-BBBBBBBBBB-01|nip-5260250274|f00dfeed";
    sim.add_token("5260250274", good, &["InvoiceWrite", "InvoiceRead"]);
    let mk = |nip: &str| NewClientInput {
        nip: Nip::parse(nip).unwrap(),
        name: format!("Client {nip}"),
        ksef: target.clone(),
        policy: SendPolicy::Manual,
    };
    let known = add_client(&st, mk("5260250274"), SecretString::from(good), None).await.unwrap();
    let unknown = add_client(
        &st,
        mk("7740001454"),
        SecretString::from("20261121-EC-CCCCCCCCCC-DDDDDDDDDD-02|nip-7740001454|deadbeef"),
        None,
    )
    .await
    .unwrap();

    assert_eq!(check(&st, &known).await.unwrap(), CredentialHealth::Ok);
    let CredentialHealth::Failed(why) = check(&st, &unknown).await.unwrap() else {
        panic!("a token KSeF does not know must fail");
    };
    assert!(!why.contains("deadbeef"), "the reason never repeats the token: {why}");

    let (k, u) = (known.id.clone(), unknown.id.clone());
    let (known_cred, unknown_cred) = st
        .db
        .tx(move |c| {
            Ok::<_, ksef_gateway::db::DbError>((
                Credential::find_active(c, &k, KSEF_TOKEN)?.unwrap(),
                Credential::find_active(c, &u, KSEF_TOKEN)?.unwrap(),
            ))
        })
        .await
        .unwrap();
    assert!(known_cred.last_auth_ok_at.is_some() && known_cred.last_auth_error.is_none());
    assert_eq!(known_cred.ksef_permissions.as_deref(), Some("InvoiceRead,InvoiceWrite"), "what KSeF reports");
    assert!(unknown_cred.last_auth_ok_at.is_none() && unknown_cred.last_auth_error.is_some());

    // KSeF limits its authentication endpoints per IP, whoever in the process logs in: while a
    // 429 of the senders holds those calls back, a credential check waits its turn too.
    let hold = std::time::Duration::from_millis(1500);
    st.ksef_limits.penalize_public(hold);
    let started = std::time::Instant::now();
    assert_eq!(check(&st, &known).await.unwrap(), CredentialHealth::Ok);
    assert!(started.elapsed() >= hold - std::time::Duration::from_millis(100), "{:?}", started.elapsed());
    sim.stop().await;
}
