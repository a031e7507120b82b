//! KSeF restarts and forgets: access tokens it no longer knows, sessions it no longer knows or
//! has paused (21184).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use ksef_gateway::db::models::Client;
use ksef_gateway::domain::InvoiceId;
use ksef_gateway::engine;
use ksef_simulator::SimulatorConfig;

use super::rig::{nip, Rig};
use super::LIMIT;
use crate::common::Backend;

/// Waits until at least `n` of `ids` have left `queued`/`sending` (KSeF took them).
pub async fn wait_until_some_taken(rig: &Rig, ids: &[InvoiceId], n: usize) {
    let start = Instant::now();
    loop {
        let mut taken = 0;
        for id in ids {
            if matches!(rig.invoice(id).await.state.as_str(), "registered" | "accepted") {
                taken += 1;
            }
        }
        if taken >= n {
            return;
        }
        assert!(start.elapsed() < LIMIT, "only {taken} of {} taken", ids.len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// KSeF holds each of the client's invoices exactly once as accepted, and nothing else.
pub async fn assert_accepted_once_by_ksef(rig: &Rig, client: &Client, ids: &[InvoiceId]) {
    let held = rig.sim.accepted_hashes(&client.nip);
    let distinct: HashSet<&String> = held.iter().collect();
    assert_eq!(distinct.len(), held.len(), "KSeF holds an invoice twice");
    let mut ours = HashSet::new();
    for id in ids {
        ours.insert(rig.invoice(id).await.sha256);
    }
    let held: HashSet<String> = held.into_iter().collect();
    assert_eq!(held, ours, "KSeF holds exactly our invoices");
}

async fn paused_reason(rig: &Rig, client: &Client) -> Option<String> {
    let cid = client.id.clone();
    rig.st.db.run(move |c| Client::get(c, &cid)).await.unwrap().paused_reason
}

/// KSeF restarts twice while 30 invoices go out one by one: every access token it issued is
/// refused with 401. The sender logs in afresh each time and keeps sending; nothing is paused,
/// nothing sent twice.
pub async fn engine_ksef_forgetting_access_tokens_does_not_pause_the_client(b: Backend) {
    let sim = SimulatorConfig {
        latency: Duration::from_millis(15),
        processing_delay: Duration::from_millis(200),
        rate_limit_scale: 10.0,
        ..SimulatorConfig::default()
    };
    // KSeF's per-NIP send limit would pace 30 online uploads to minutes; ten times it here.
    let Some(rig) = Rig::with(b, sim, |mut s| {
        s.sender.online_max = 50;
        s.sender.rate_limit_scale = 10.0;
        s
    })
    .await
    else {
        return;
    };
    let client = rig.client(&nip(60), true).await;
    let ids = rig.invoices(&client, 30, "restart").await;
    rig.decide(&client, &ids, false).await;
    let engine = engine::start(rig.st.clone());
    wait_until_some_taken(&rig, &ids, 5).await;
    rig.sim.faults().forget_tokens();
    wait_until_some_taken(&rig, &ids, 15).await;
    rig.sim.faults().forget_tokens();
    rig.wait_for(&ids, "accepted", LIMIT).await;
    engine.stop().await;
    assert_eq!(paused_reason(&rig, &client).await, None);
    assert_eq!(rig.count_audit("send.client_paused").await, 0);
    rig.assert_accepted(&ids).await;
    assert_accepted_once_by_ksef(&rig, &client, &ids).await;
    rig.sim.stop().await;
}

/// KSeF restarts and the client's KSeF token was revoked meanwhile: the fresh login is refused,
/// and only then is the sender paused, with KSeF's reason in the words the panel shows.
pub async fn engine_refused_fresh_login_after_a_restart_pauses_with_the_reason(b: Backend) {
    let Some(rig) = Rig::new(b, SimulatorConfig::default()).await else { return };
    let client = rig.client(&nip(61), true).await;
    let first = rig.invoices(&client, 2, "before").await;
    rig.decide(&client, &first, false).await;
    let engine = engine::start(rig.st.clone());
    rig.wait_for(&first, "accepted", LIMIT).await;
    rig.sim.revoke_token(&format!("20261201-EC-{0}-TESTTOKEN-01|nip-{0}|0123456789abcdef", client.nip));
    rig.sim.faults().forget_tokens();
    let later = rig.invoices(&client, 2, "after").await;
    rig.decide(&client, &later, false).await;
    let start = Instant::now();
    let reason = loop {
        if let Some(r) = paused_reason(&rig, &client).await {
            break r;
        }
        assert!(start.elapsed() < LIMIT, "client not paused");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    engine.stop().await;
    assert!(reason.contains("450") && reason.contains("błędnego tokenu"), "{reason}");
    assert!(!reason.contains("0123456789abcdef"), "the reason never repeats the token");
    for id in &later {
        assert_eq!(
            rig.invoice(id).await.state,
            ksef_gateway::domain::InvoiceState::Queued,
            "waits for a new token"
        );
    }
    // The credential's last error, shown next to it on the dashboard and the access page.
    let cid = client.id.clone();
    let cred = rig
        .st
        .db
        .run(move |c| ksef_gateway::db::models::Credential::find_preferred(c, &cid))
        .await
        .unwrap()
        .unwrap();
    assert!(cred.last_auth_error.as_deref().is_some_and(|e| e.contains("450")), "{:?}", cred.last_auth_error);
    rig.sim.stop().await;
}

/// 300 invoices in one batch session KSeF is processing; KSeF then forgets the session (21173
/// for it from now on). The sender finds that KSeF's session list does not have it either, sends
/// the invoices once more in a new session, and KSeF ends up holding each exactly once.
pub async fn engine_batch_session_ksef_forgot_is_resent_exactly_once(b: Backend) {
    let Some(rig) = Rig::new(b, SimulatorConfig::default()).await else { return };
    rig.sim.faults().hold_invoices(true);
    let client = rig.client(&nip(62), true).await;
    let ids = rig.invoices(&client, 300, "forgot").await;
    rig.decide(&client, &ids, false).await;
    let engine = engine::start(rig.st.clone());
    rig.wait_for(&ids, "registered", LIMIT).await;
    let first = rig.invoice(&ids[0]).await.session_reference.unwrap();
    assert_eq!(rig.sim.faults().forget_session(&first), 300);
    rig.sim.faults().hold_invoices(false);
    rig.wait_for(&ids, "accepted", LIMIT).await;
    engine.stop().await;
    rig.assert_accepted(&ids).await;
    assert_accepted_once_by_ksef(&rig, &client, &ids).await;
    assert_ne!(rig.invoice(&ids[0]).await.session_reference.as_deref(), Some(first.as_str()));
    assert_eq!(rig.count_audit("send.invoice_requeued").await, 300);
    let c = rig.sim.counters().per_nip[client.nip.as_str()].clone();
    assert_eq!((c.received, c.forgotten, c.duplicates), (600, 300, 0), "{c:?}");
    let f = first.clone();
    let row = rig
        .st
        .db
        .run(move |c| ksef_gateway::db::models::ksef_session::KsefSession::find_by_reference(c, &f))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.state, ksef_gateway::domain::SessionState::Abandoned);
    rig.sim.stop().await;
}

/// Invoices left in `sending` in an online session (uploads whose answers were lost) when KSeF
/// forgets that session: each is sent again once and accepted once.
pub async fn engine_online_session_ksef_forgot_is_resent_exactly_once(b: Backend) {
    let sim = SimulatorConfig { processing_delay: Duration::from_millis(300), ..SimulatorConfig::default() };
    let Some(rig) = Rig::new(b, sim).await else { return };
    let client = rig.client(&nip(63), true).await;
    let ids = rig.invoices(&client, 4, "online-forgot").await;
    rig.decide(&client, &ids, false).await;
    let engine = engine::start(rig.st.clone());
    wait_until_some_taken(&rig, &ids, 1).await;
    let first = rig.invoice(&ids[0]).await.session_reference.unwrap();
    rig.sim.faults().forget_session(&first);
    rig.wait_for(&ids, "accepted", LIMIT).await;
    engine.stop().await;
    rig.assert_accepted(&ids).await;
    assert_accepted_once_by_ksef(&rig, &client, &ids).await;
    rig.sim.stop().await;
}

/// KSeF 2.8 pauses an online session mid-way (21184 "Sesja tymczasowo niedostępna"): what it
/// acknowledged there stays, what is still pending goes to a new session, each invoice once.
pub async fn engine_online_session_paused_21184_moves_pending_to_a_new_session(b: Backend) {
    let sim = SimulatorConfig { latency: Duration::from_millis(100), ..SimulatorConfig::default() };
    let Some(rig) = Rig::new(b, sim).await else { return };
    let client = rig.client(&nip(64), true).await;
    let ids = rig.invoices(&client, 4, "paused").await;
    rig.decide(&client, &ids, false).await;
    let engine = engine::start(rig.st.clone());
    wait_until_some_taken(&rig, &ids, 1).await;
    rig.sim.faults().pause_next_online_sessions(1);
    rig.wait_for(&ids, "accepted", LIMIT).await;
    engine.stop().await;
    rig.assert_accepted(&ids).await;
    assert_accepted_once_by_ksef(&rig, &client, &ids).await;
    let mut sessions = HashSet::new();
    for id in &ids {
        sessions.insert(rig.invoice(id).await.session_reference.unwrap());
    }
    assert!(sessions.len() >= 2, "the pending invoices went to a new session: {sessions:?}");
    let c = rig.sim.counters().per_nip[client.nip.as_str()].clone();
    assert_eq!((c.received, c.duplicates), (4, 0));
    rig.sim.stop().await;
}
