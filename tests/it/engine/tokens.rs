//! KSeF tokens across turns: a client logs in once and its access and refresh tokens serve every
//! later turn; an access token KSeF no longer takes is replaced through the refresh token, and a
//! full login follows only when KSeF refuses the refresh token too. Counted on the simulator.

use ksef_gateway::engine;
use ksef_simulator::SimulatorConfig;

use super::rig::{nip, Rig};
use super::LIMIT;
use crate::common::Backend;

/// KSeF's count of full logins and refreshes in the context of `nip`.
fn logins_and_refreshes(rig: &Rig, nip: &str) -> (u64, u64) {
    let c = rig.sim.counters().per_nip.get(nip).cloned().unwrap_or_default();
    (c.authentications, c.refreshes)
}

/// Three clients, two decisions each in separate turns (the second after the first is all in
/// A, so sending and polling took several turns): each client logged in exactly once.
pub async fn engine_tokens_are_reused_across_turns(b: Backend) {
    let Some(rig) = Rig::new(b, SimulatorConfig::default()).await else { return };
    let engine = engine::start(rig.st.clone());
    let clients = rig.clients_with_invoices(70, 3, 2, "first").await;
    for (client, ids) in &clients {
        rig.decide(client, ids, false).await;
    }
    for (_, ids) in &clients {
        rig.wait_for(ids, "accepted", LIMIT).await;
    }
    for (client, _) in &clients {
        let later = rig.invoices(client, 7, "second").await;
        rig.decide(client, &later, false).await;
        rig.wait_for(&later, "accepted", LIMIT).await;
    }
    engine.stop().await;
    for (client, _) in &clients {
        assert_eq!(logins_and_refreshes(&rig, &client.nip), (1, 0), "client {}", client.nip);
    }
    rig.sim.stop().await;
}

/// The access token expires early (KSeF refuses it with 401): the sender refreshes it, without
/// a login. Then KSeF revokes the authentication session as well: the refresh is refused and
/// the sender logs in afresh. Nothing is paused, every invoice accepted once.
pub async fn engine_expired_token_is_refreshed_and_a_revoked_session_logs_in_afresh(b: Backend) {
    let Some(rig) = Rig::new(b, SimulatorConfig::default()).await else { return };
    let client = rig.client(&nip(75), true).await;
    let engine = engine::start(rig.st.clone());
    let mut all = Vec::new();
    let round = |tag: &'static str| {
        let (rig, client) = (&rig, &client);
        async move {
            let ids = rig.invoices(client, 2, tag).await;
            rig.decide(client, &ids, false).await;
            rig.wait_for(&ids, "accepted", LIMIT).await;
            ids
        }
    };
    all.extend(round("first").await);
    assert_eq!(logins_and_refreshes(&rig, &client.nip), (1, 0));

    rig.sim.faults().expire_access_tokens();
    all.extend(round("expired").await);
    assert_eq!(logins_and_refreshes(&rig, &client.nip), (1, 1), "refreshed, not logged in again");

    rig.sim.faults().revoke_auth_sessions(&client.nip);
    rig.sim.faults().expire_access_tokens();
    all.extend(round("revoked").await);
    assert_eq!(logins_and_refreshes(&rig, &client.nip), (2, 1), "refresh refused, so one fresh login");

    engine.stop().await;
    assert_eq!(rig.count_audit("send.client_paused").await, 0);
    rig.assert_accepted(&all).await;
    super::restart::assert_accepted_once_by_ksef(&rig, &client, &all).await;
    rig.sim.stop().await;
}
