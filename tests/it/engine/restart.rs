//! KSeF restarts and forgets: access tokens it no longer knows, sessions it no longer knows.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use ksef_gateway::db::models::Client;
use ksef_gateway::engine;
use ksef_simulator::SimulatorConfig;

use super::rig::{nip, Rig};
use super::LIMIT;
use crate::common::Backend;

/// Waits until at least `n` of `ids` have left `queued`/`sending` (KSeF took them).
pub async fn wait_until_some_taken(rig: &Rig, ids: &[String], n: usize) {
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
pub async fn assert_accepted_once_by_ksef(rig: &Rig, client: &Client, ids: &[String]) {
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
        assert_eq!(rig.invoice(id).await.state, "queued", "waits for a new token");
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
