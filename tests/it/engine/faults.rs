//! The fault suite: invoices of three clients decided in rounds while KSeF misbehaves in every
//! way the hardening issue (#20) lists, in an order drawn from a seed: 5 % random 5xx all along,
//! a burst of the front proxy's HTML 503 pages, a 429 storm with Retry-After, a slow KSeF
//! (1.5 s per call), a restart (every access token forgotten) and a restart with memory lost
//! (every token, session and invoice forgotten, with a second of outage). Every invoice must end
//! accepted with its UPO, and KSeF must never hold one twice.
//!
//! 100 invoices run in CI; `engine_fault_suite_1000_*` (ignored) is the full variant:
//! `cargo test -p ksef-gateway --test it -- --ignored engine_fault_suite_1000`.
//! `KSEF_GW_FAULT_SEED=<n>` replays a run.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use ksef_gateway::domain::InvoiceId;
use ksef_gateway::engine;
use ksef_simulator::{OutageScope, SimulatorConfig};

use super::kill::SplitMix;
use super::rig::{nip, Rig};
use crate::common::Backend;

#[derive(Debug, Clone, Copy)]
enum Fault {
    Html503Burst,
    RateLimitStorm,
    SlowKsef,
    Restart,
    RestartMemoryLost,
}

pub async fn engine_fault_suite(b: Backend) {
    fault_suite(b, 100, Duration::from_secs(120)).await;
}

#[actix_web::test]
#[ignore = "the full 1 000-invoice variant takes minutes"]
async fn engine_fault_suite_1000_sqlite() {
    fault_suite(Backend::Sqlite, 1_000, Duration::from_secs(900)).await;
}

#[actix_web::test]
#[ignore = "the full 1 000-invoice variant takes minutes"]
async fn engine_fault_suite_1000_postgres() {
    if crate::common::pg_admin_url().is_none() {
        eprintln!("skipped: KSEF_GW_TEST_PG=off");
        return;
    }
    fault_suite(Backend::Pg, 1_000, Duration::from_secs(900)).await;
}

async fn fault_suite(b: Backend, n: usize, limit: Duration) {
    let seed = std::env::var("KSEF_GW_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| getrandom::u64().unwrap_or(7));
    eprintln!("fault suite: {n} invoices, seed {seed} (KSEF_GW_FAULT_SEED={seed} replays it)");
    let mut rng = SplitMix(seed);
    let sim = SimulatorConfig {
        processing_delay: Duration::from_millis(200),
        fault_rate: 0.05,
        rate_limit_scale: 10.0,
        ..SimulatorConfig::default()
    };
    let Some(rig) = Rig::with(b, sim, |mut s| {
        s.sender.rate_limit_scale = 10.0;
        s.sender.online_max = 10;
        s
    })
    .await
    else {
        return;
    };
    let clients = [
        rig.client(&nip(70), true).await,
        rig.client(&nip(71), true).await,
        rig.client(&nip(72), true).await,
    ];
    let mut faults = vec![
        Fault::Html503Burst,
        Fault::RateLimitStorm,
        Fault::SlowKsef,
        Fault::Restart,
        Fault::RestartMemoryLost,
    ];
    // Seeded shuffle: the faults land at different points of the send in each run.
    for i in (1..faults.len()).rev() {
        faults.swap(i, (rng.next() % (i as u64 + 1)) as usize);
    }
    // Where each fault lands, in decided invoices (up to a third beyond the end: in flight only).
    let mut at: Vec<usize> = faults.iter().map(|_| (rng.next() % (n as u64 * 4 / 3)) as usize).collect();
    at.sort_unstable_by(|a, b| b.cmp(a));
    let started = Instant::now();
    let engine = engine::start(rig.st.clone());
    let mut all: Vec<Vec<InvoiceId>> = vec![Vec::new(); clients.len()];
    let mut decided = 0;
    let mut round = 0;
    while decided < n || !faults.is_empty() {
        if decided < n {
            let c = (rng.next() % clients.len() as u64) as usize;
            // Small rounds go online, big ones in a batch session.
            let size = if rng.next().is_multiple_of(3) { 30 + rng.next() % 60 } else { 1 + rng.next() % 10 }
                as usize;
            let size = size.min(n - decided);
            let ids = rig.invoices(&clients[c], size, &format!("f{round}")).await;
            rig.decide(&clients[c], &ids, false).await;
            all[c].extend(ids);
            decided += size;
            round += 1;
        }
        // Each fault lands at a drawn share of the decisions, or after the last of them.
        while faults.last().is_some_and(|_| decided >= at[faults.len() - 1] || decided >= n) {
            if let Some(fault) = faults.pop() {
                eprintln!("fault suite: {fault:?} at {:?}, {decided} decided", started.elapsed());
                inject(&rig, fault).await;
                if decided >= n {
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200 + rng.next() % 600)).await;
    }
    for ids in &all {
        rig.wait_for(ids, "accepted", limit).await;
    }
    let elapsed = started.elapsed();
    engine.stop().await;
    let counters = rig.sim.counters();
    eprintln!("fault suite: {n} invoices accepted in {elapsed:?} (seed {seed}); KSeF counters: {counters:?}");
    for (client, ids) in clients.iter().zip(&all) {
        rig.assert_accepted(ids).await;
        let held = rig.sim.accepted_hashes(&client.nip);
        let distinct: HashSet<&String> = held.iter().collect();
        assert_eq!(distinct.len(), held.len(), "KSeF holds an invoice of {} twice", client.nip);
        let mut ours = HashSet::new();
        for id in ids {
            ours.insert(rig.invoice(id).await.sha256);
        }
        assert!(held.iter().all(|h| ours.contains(h)), "KSeF holds only our invoices");
        let c = counters.per_nip.get(client.nip.as_str()).cloned().unwrap_or_default();
        assert_eq!(c.duplicates, 0, "nothing KSeF had was sent again: {c:?}");
        assert_eq!(c.received - c.forgotten, held.len() as u64, "{c:?}");
    }
    assert_eq!(rig.distinct_ksef_numbers().await, n, "one KSeF number per invoice");
    assert_eq!(rig.count_audit("send.client_paused").await, 0, "no client was paused");
    assert!(counters.faults_injected > 0);
    rig.sim.stop().await;
}

async fn inject(rig: &Rig, fault: Fault) {
    let f = rig.sim.faults();
    match fault {
        Fault::Html503Burst => f.html_503_burst(10),
        Fault::RateLimitStorm => f.rate_limit_storm(10, Duration::from_secs(1)),
        Fault::SlowKsef => {
            f.set_latency(Duration::from_millis(1_500));
            tokio::time::sleep(Duration::from_secs(4)).await;
            f.set_latency(Duration::ZERO);
        }
        Fault::Restart => {
            f.forget_tokens();
            f.outage(OutageScope::All, Duration::ZERO, Duration::from_millis(500));
        }
        Fault::RestartMemoryLost => {
            f.forget_everything();
            f.outage(OutageScope::All, Duration::ZERO, Duration::from_secs(1));
        }
    }
}
