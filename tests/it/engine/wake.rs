//! The supervisor does not wait for its tick when it knows when to look: a committed decision,
//! the end of a turn or of a login ahead, and a client's poll falling due wake it. With a tick
//! of an hour, invoices still reach A within seconds.

use std::time::Duration;

use ksef_gateway::config::Settings;
use ksef_gateway::engine;
use ksef_simulator::SimulatorConfig;

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
