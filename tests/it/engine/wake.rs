//! The supervisor does not wait for its tick when it knows when to look: a committed decision,
//! the end of a turn or of a login ahead, and a client's poll falling due wake it. With a tick
//! of an hour, invoices still reach A within seconds.

use std::time::Duration;

use diesel::prelude::*;
use ksef_gateway::config::Settings;
use ksef_gateway::db::schema::sender_leases;
use ksef_gateway::db::DbError;
use ksef_gateway::domain::ClientId;
use ksef_gateway::engine;
use ksef_simulator::{CloseFault, SimulatorConfig};

use super::rig::Rig;
use super::LIMIT;
use crate::common::Backend;

pub async fn engine_does_not_wait_for_its_tick(b: Backend) {
    // KSeF takes a while with each batch, so each one needs polls after its close.
    let sim = SimulatorConfig { processing_delay: Duration::from_millis(300), ..SimulatorConfig::default() };
    // No purchase sync either: its schedule would find each new client before its decision.
    let an_hour = |mut s: Settings| {
        s.sender.tick_ms = 3_600_000;
        s.purchase.enabled = false;
        s
    };
    let Some(rig) = Rig::with(b, sim, an_hour).await else { return };
    let engine = engine::start(rig.st.clone());

    // One client alone: its turn logs in itself while it packs the batch.
    let (alone, ids) = rig.clients_with_invoices(80, 1, 12, "alone").await.remove(0);
    rig.decide(&alone, &ids, false).await;
    rig.wait_for(&ids, "accepted", LIMIT).await;

    // Three clients in one decision: logged in ahead of their turns, each login's end starts
    // its client's turn.
    let three = rig.clients_with_invoices(81, 3, 7, "three").await;
    let all: Vec<_> = three.iter().flat_map(|(_, ids)| ids.iter().cloned()).collect();
    rig.decide(&three[0].0, &all, false).await;
    rig.wait_for(&all, "accepted", LIMIT).await;

    engine.stop().await;
    let c = rig.sim.counters();
    assert_eq!(c.total.authentications, 4, "one login per client");
    rig.sim.stop().await;
}

/// A decision for a client that is logging in ahead (its purchase sync fell due when the engine
/// started): its turn starts at once and packs the batch while the login ends, under the lease
/// the login took. That lease must stay the client's until the turn ends too, though the login
/// gives its share back first; and the turn sends with the login's tokens, not a second login.
pub async fn engine_decision_during_a_login_ahead_sends_under_its_lease(b: Backend) {
    // KSeF finishes an authentication a second after it began: the decision lands in the login.
    let sim = SimulatorConfig { processing_delay: Duration::from_secs(1), ..SimulatorConfig::default() };
    let Some(rig) = Rig::new(b, sim).await else { return };
    let (client, ids) = rig.clients_with_invoices(83, 1, 12, "ahead").await.remove(0);
    // The batch's close answers (504) 3 s after KSeF closed it: the turn holds its lease so long.
    rig.sim.faults().fail_next_closes(CloseFault::Timeout, 1, Duration::from_secs(3));
    let engine = engine::start(rig.st.clone());

    let login_took = wait_for_lease(&rig, &client.id).await;
    assert_eq!(rig.sim.counters().total.authentications, 0, "the login ahead is still running");
    rig.decide(&client, &ids, false).await;
    let start = std::time::Instant::now();
    while rig.count_state("sending").await < 12 {
        assert!(start.elapsed() < LIMIT, "the batch never went out");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Uploaded, the close hanging: the login ended a while ago.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(rig.sim.counters().total.authentications, 1);
    assert_eq!(
        lease_taken_at(&rig, &client.id).await,
        Some(login_took),
        "the turn works under the lease its login ahead took, still held after the login's end"
    );

    rig.wait_for(&ids, "accepted", LIMIT).await;
    engine.stop().await;
    rig.assert_accepted(&ids).await;
    let c = rig.sim.counters();
    assert_eq!((c.total.authentications, c.total.accepted), (1, 12), "one login, each invoice once");
    rig.sim.stop().await;
}

/// The engine stops while a client logs in ahead: the login is cancelled, and the client's lease
/// goes back at once, not when it expires (another replica would wait for it that long).
pub async fn engine_stopping_during_a_login_ahead_gives_the_lease_back(b: Backend) {
    let sim = SimulatorConfig { processing_delay: Duration::from_secs(2), ..SimulatorConfig::default() };
    let Some(rig) = Rig::with(b, sim, |mut s| {
        s.sender.lease_ttl_s = 60;
        s
    })
    .await
    else {
        return;
    };
    let client = rig.client(&super::rig::nip(84), true).await;
    let engine = engine::start(rig.st.clone());
    wait_for_lease(&rig, &client.id).await;
    engine.stop().await;
    let start = std::time::Instant::now();
    while lease_taken_at(&rig, &client.id).await.is_some() {
        assert!(start.elapsed() < Duration::from_secs(5), "the cancelled login kept the client's lease");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(rig.sim.counters().total.authentications, 0, "the login was cancelled before its end");
    rig.sim.stop().await;
}

/// When the client's lease was taken, once a process holds it.
async fn wait_for_lease(rig: &Rig, client_id: &ClientId) -> chrono::NaiveDateTime {
    let start = std::time::Instant::now();
    loop {
        if let Some(at) = lease_taken_at(rig, client_id).await {
            return at;
        }
        assert!(start.elapsed() < LIMIT, "no process took the client's lease");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn lease_taken_at(rig: &Rig, client_id: &ClientId) -> Option<chrono::NaiveDateTime> {
    let id = client_id.clone();
    rig.st
        .db
        .run(move |c| {
            sender_leases::table
                .filter(sender_leases::client_id.eq(id))
                .select(sender_leases::acquired_at)
                .first(c)
                .optional()
                .map_err(DbError::from)
        })
        .await
        .unwrap_or_else(|e| panic!("reading the lease: {e}"))
}
