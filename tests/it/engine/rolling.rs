//! A rolling restart under load (#17): two real `serve` processes on one PostgreSQL database
//! share a send; replica A gets SIGTERM mid-send and is started again, then replica B. Every
//! invoice must be received and accepted by KSeF exactly once (the simulator, which outlives
//! every process, counts), and the audit chain must verify.
//!
//! 2 000 invoices over 20 clients, the size: about 22 s in a debug build on a loaded
//! 2-core machine, so CI runs it as it is.

use std::time::{Duration, Instant};

use ksef_gateway::service::audit::{self, ChainVerdict};
use ksef_simulator::SimulatorConfig;

use super::kill::{sigterm, spawn, tail, wait_started, write_config};
use super::rig::Rig;
use crate::common::Backend;

/// Seconds the drain may take after SIGTERM (`server.shutdown_timeout_s`).
const DRAIN_S: u64 = 2;

pub async fn engine_rolling_restart_of_two_replicas_sends_each_invoice_once(b: Backend) {
    rolling_restart(b, 20, 100).await;
}

async fn rolling_restart(b: Backend, clients: u32, each: usize) {
    if b == Backend::Sqlite {
        eprintln!("skipped: SQLite is a one-process database");
        return;
    }
    // Turns of 20 invoices and a KSeF that takes 400 ms per batch stretch the send over
    // enough turns for both restarts to land while invoices are in flight.
    let sim = SimulatorConfig { processing_delay: Duration::from_millis(400), ..SimulatorConfig::default() };
    let Some(rig) = Rig::with(b, sim, |mut s| {
        s.sender.max_invoices_per_turn = 20;
        s.server.shutdown_timeout_s = DRAIN_S;
        s
    })
    .await
    else {
        return;
    };
    let all = rig.clients_with_invoices(90, clients, each, "roll").await;
    let total = i64::from(clients) * each as i64;
    let dir = rig.db.dir.path();
    let replicas =
        ["a", "b"].map(|name| (write_config(&rig.st.settings, dir, name), dir.join(format!("{name}.log"))));
    let mut running: Vec<_> = replicas.iter().map(|(config, log)| spawn(config, log)).collect();
    for (_, log) in &replicas {
        wait_started(log, 1).await;
    }
    let started = Instant::now();
    for (client, ids) in &all {
        rig.decide(client, ids, false).await;
    }
    // A restarts once a fifth is accepted, B once three fifths are.
    let mut restarts = Vec::new();
    for (i, threshold) in [(0, total / 5), (1, total * 3 / 5)] {
        wait_accepted(&rig, threshold, &replicas).await;
        let before = rig.count_state("accepted").await;
        let drained = sigterm(&mut running[i], &replicas[i].1).await;
        let after = rig.count_state("accepted").await;
        assert!(after < total, "the send was over before replica {i} was restarted: {after} of {total}");
        running[i] = spawn(&replicas[i].0, &replicas[i].1);
        wait_started(&replicas[i].1, 2).await;
        restarts.push((started.elapsed(), before, drained));
    }
    wait_accepted(&rig, total, &replicas).await;
    let elapsed = started.elapsed();
    for g in &mut running {
        g.kill().unwrap();
        g.wait().unwrap();
    }
    eprintln!(
        "rolling restart: {total} invoices over {clients} clients accepted in {elapsed:?}; \
         restarts (at, accepted before SIGTERM, drain took): {restarts:?}"
    );
    let counters = rig.sim.counters();
    for (client, ids) in &all {
        let c = counters.per_nip[client.nip.as_str()].clone();
        let n = ids.len() as u64;
        assert_eq!((c.received, c.accepted, c.duplicates), (n, n, 0), "{}: {c:?}", client.nip);
        assert!(c.rejected.is_empty(), "{c:?}");
    }
    assert_eq!(rig.distinct_ksef_numbers().await, total as usize, "one KSeF number per invoice");
    // The restarted A took work over again (B's drain released B's clients to it).
    let a = std::fs::read_to_string(&replicas[0].1).unwrap();
    let (before, after) = a.rsplit_once("Sending engine started").unwrap();
    assert!(before.contains("Uploading a batch"), "A worked before its restart:\n{}", tail(&replicas[0].1));
    assert!(after.contains("Uploading a batch"), "A worked after its restart:\n{}", tail(&replicas[0].1));
    let b = std::fs::read_to_string(&replicas[1].1).unwrap();
    assert!(b.contains("Uploading a batch"), "B did part of the work:\n{}", tail(&replicas[1].1));
    let chain = rig.st.db.run(audit::verify).await.unwrap();
    assert!(matches!(chain, ChainVerdict::Intact { .. }), "the audit chain survives the restarts: {chain:?}");
    rig.sim.stop().await;
}

/// Waits until at least `n` invoices are accepted (at most 3 minutes).
async fn wait_accepted(rig: &Rig, n: i64, replicas: &[(std::path::PathBuf, std::path::PathBuf); 2]) {
    let start = Instant::now();
    while rig.count_state("accepted").await < n {
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "not {n} accepted; logs:\n{}\n{}",
            tail(&replicas[0].1),
            tail(&replicas[1].1)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
