//! Exactly once across crashes: the real `ksef-gateway serve` binary sends 2 000 invoices of one
//! decision and is killed with SIGKILL at random moments, then restarted; the simulator (which
//! outlives every gateway process) must count each invoice received and accepted exactly once.
//!
//! The kill points are drawn from a seed printed at the start; `KSEF_GW_KILL_SEED=<n>` replays a
//! failing run.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ksef_gateway::config::Settings;
use ksef_gateway::service::audit::{self, ChainVerdict};
use ksef_simulator::SimulatorConfig;

use super::rig::{nip, Rig};
use crate::common::Backend;

const INVOICES: usize = 2_000;
const KILLS: usize = 6;
const LEASE_TTL_S: u64 = 3;

pub async fn engine_kill_9_at_random_points_never_sends_twice(b: Backend) {
    // Batches of 250 and a KSeF that takes 300 ms per batch stretch the send over several
    // seconds of sessions opened, uploaded, processed and accepted, for the kills to land in.
    let sim = SimulatorConfig { processing_delay: Duration::from_millis(300), ..SimulatorConfig::default() };
    let Some(rig) = Rig::with(b, sim, |mut s| {
        // A dead process's lease must expire quickly for the next one to take over.
        s.sender.lease_ttl_s = LEASE_TTL_S;
        s.sender.max_invoices_per_turn = 250;
        s
    })
    .await
    else {
        return;
    };
    let client = rig.client(&nip(40), true).await;
    let ids = rig.invoices(&client, INVOICES, "kill").await;
    rig.decide(&client, &ids, false).await;
    let config = write_config(&rig.st.settings, rig.db.dir.path(), "gateway");
    let log = rig.db.dir.path().join("gateway.log");

    let seed = std::env::var("KSEF_GW_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| getrandom::u64().unwrap_or(1));
    eprintln!("kill -9 test: seed {seed} (KSEF_GW_KILL_SEED={seed} replays it)");
    let mut rng = SplitMix(seed);
    let mut killed_at = Vec::new();
    for round in 0..KILLS {
        if rig.count_state("accepted").await == INVOICES as i64 {
            break;
        }
        let mut gateway = spawn(&config, &log);
        // After a kill the dead process's lease must expire before the next one starts work,
        // so the kill point is drawn from the time it actually works.
        let lease_wait = if round == 0 { 0 } else { LEASE_TTL_S * 1_000 };
        let after = Duration::from_millis(lease_wait + 100 + rng.next() % 2_500);
        tokio::time::sleep(after).await;
        assert!(gateway.try_wait().unwrap().is_none(), "the gateway died by itself; log:\n{}", tail(&log));
        gateway.kill().unwrap();
        gateway.wait().unwrap();
        let accepted = rig.count_state("accepted").await;
        killed_at.push((after, accepted));
    }
    eprintln!("killed after (time, invoices accepted so far): {killed_at:?}");

    let mut gateway = spawn(&config, &log);
    let start = Instant::now();
    while rig.count_state("accepted").await < INVOICES as i64 {
        if start.elapsed() > Duration::from_secs(240) || gateway.try_wait().unwrap().is_some() {
            let _ = gateway.kill();
            panic!(
                "not all accepted after the restarts (seed {seed}): {} accepted, {} rejected; log:\n{}",
                rig.count_state("accepted").await,
                rig.count_state("rejected").await,
                tail(&log)
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    gateway.kill().unwrap();
    gateway.wait().unwrap();

    let c = rig.sim.counters().per_nip[client.nip.as_str()].clone();
    let n = INVOICES as u64;
    assert_eq!((c.received, c.accepted, c.duplicates), (n, n, 0), "seed {seed}: {c:?}");
    assert!(c.rejected.is_empty(), "seed {seed}: {c:?}");
    rig.assert_accepted(&ids).await;
    let numbers = rig.distinct_ksef_numbers().await;
    assert_eq!(numbers, INVOICES, "one KSeF number per invoice");
    let chain = rig.st.db.run(audit::verify).await.unwrap();
    assert!(matches!(chain, ChainVerdict::Intact { .. }), "the audit chain survives the kills: {chain:?}");
    rig.sim.stop().await;
}

/// The test's settings as a child's configuration file `<name>.toml` (same database, data dir,
/// master key; a port of its own).
pub(super) fn write_config(settings: &Settings, dir: &Path, name: &str) -> PathBuf {
    let mut s = settings.clone();
    s.server.listen = free_port();
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, toml::to_string(&s).unwrap()).unwrap();
    path
}

fn free_port() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

pub(super) fn spawn(config: &Path, log: &Path) -> Child {
    let out = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
    Command::new(env!("CARGO_BIN_EXE_ksef-gateway"))
        .arg("--config")
        .arg(config)
        .arg("serve")
        .env("RUST_LOG", "warn,ksef_gateway::engine=info")
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .stdin(Stdio::null())
        .spawn()
        .unwrap()
}

pub(super) fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

/// Sends SIGTERM and waits for the process to exit 0 (at most 15 s); returns how long it took.
pub(super) async fn sigterm(gateway: &mut Child, log: &Path) -> Duration {
    let signalled = Instant::now();
    assert!(Command::new("kill").args(["-TERM", &gateway.id().to_string()]).status().unwrap().success());
    let status = loop {
        if let Some(status) = gateway.try_wait().unwrap() {
            break status;
        }
        if signalled.elapsed() > Duration::from_secs(15) {
            let _ = gateway.kill();
            panic!("still running 15 s after SIGTERM; log:\n{}", tail(log));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.code(), Some(0), "log:\n{}", tail(log));
    signalled.elapsed()
}

/// Waits until `log` says the sending engine started `times` times (a restarted process
/// appends to the same log).
pub(super) async fn wait_started(log: &Path, times: usize) {
    let start = Instant::now();
    while std::fs::read_to_string(log).unwrap_or_default().matches("Sending engine started").count() < times {
        assert!(start.elapsed() < Duration::from_secs(60), "the gateway did not start; log:\n{}", tail(log));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A tiny deterministic generator so a seed replays the same kill points.
pub(super) struct SplitMix(pub(super) u64);

impl SplitMix {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Two `serve` processes on one PostgreSQL database share six clients' work (each may run one
/// sender at a time, so neither can take everything): every invoice accepted exactly once,
/// and both processes uploaded. SQLite is a one-process database, so only PostgreSQL runs it.
pub async fn engine_two_serve_processes_share_one_database(b: Backend) {
    const CLIENTS: u32 = 6;
    const EACH: usize = 150;
    if b == Backend::Sqlite {
        eprintln!("skipped: SQLite is a one-process database");
        return;
    }
    let Some(rig) = Rig::with(b, SimulatorConfig::default(), |mut s| {
        s.sender.max_concurrent = 1;
        s
    })
    .await
    else {
        return;
    };
    let all = rig.clients_with_invoices(50, CLIENTS, EACH, "two").await;
    let dir = rig.db.dir.path();
    let logs = [dir.join("first.log"), dir.join("second.log")];
    let mut gateways = Vec::new();
    for (name, log) in ["first", "second"].into_iter().zip(&logs) {
        gateways.push(spawn(&write_config(&rig.st.settings, dir, name), log));
    }
    // Both senders are up before there is any work.
    for log in &logs {
        wait_started(log, 1).await;
    }
    for (client, ids) in &all {
        rig.decide(client, ids, false).await;
    }
    let total = (CLIENTS as usize * EACH) as i64;
    let start = Instant::now();
    while rig.count_state("accepted").await < total {
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "not all accepted; logs:\n{}\n{}",
            tail(&logs[0]),
            tail(&logs[1])
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for g in &mut gateways {
        g.kill().unwrap();
        g.wait().unwrap();
    }
    let counters = rig.sim.counters();
    for (client, ids) in &all {
        let c = counters.per_nip[client.nip.as_str()].clone();
        let n = ids.len() as u64;
        assert_eq!((c.received, c.accepted, c.duplicates), (n, n, 0), "{}: {c:?}", client.nip);
    }
    for log in &logs {
        let text = std::fs::read_to_string(log).unwrap();
        assert!(text.contains("Uploading a batch"), "each process did part of the work:\n{text}");
    }
    rig.sim.stop().await;
}

/// SIGTERM while a turn waits on a slow KSeF: the process must not wait for KSeF (the turn's
/// request could last the client's whole 30 s timeout) but exit 0 within
/// `server.shutdown_timeout_s`; the abandoned turn's lease simply expires.
pub async fn engine_sigterm_exits_within_the_bound_while_a_turn_waits_on_ksef(b: Backend) {
    const BOUND_S: u64 = 2;
    let Some(rig) = Rig::with(b, SimulatorConfig::default(), |mut s| {
        s.server.shutdown_timeout_s = BOUND_S;
        s
    })
    .await
    else {
        return;
    };
    let client = rig.client(&nip(41), true).await;
    let config = write_config(&rig.st.settings, rig.db.dir.path(), "gateway");
    let log = rig.db.dir.path().join("gateway.log");
    let mut gateway = spawn(&config, &log);
    // A first invoice while KSeF is quick: the process logs in (ahead of the turn) and holds
    // its tokens, so the next turn starts at once and waits on KSeF itself.
    let first = rig.invoices(&client, 1, "warm").await;
    rig.decide(&client, &first, false).await;
    let start = Instant::now();
    while rig.count_state("accepted").await < 1 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the first invoice was not sent; log:\n{}",
            tail(&log)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    rig.sim.faults().set_latency(Duration::from_secs(25));
    let ids = rig.invoices(&client, 3, "drain").await;
    rig.decide(&client, &ids, false).await;

    // The turn is under way once it holds the client's lease; then it waits on KSeF.
    let start = Instant::now();
    loop {
        let db = rig.st.db.clone();
        let leases = tokio::task::spawn_blocking(move || ksef_gateway::db::transfer::row_counts(&db))
            .await
            .unwrap()
            .unwrap();
        if leases.iter().any(|(t, n)| *t == "sender_leases" && *n > 0) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no turn started; log:\n{}", tail(&log));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let took = sigterm(&mut gateway, &log).await;
    assert!(took < Duration::from_secs(BOUND_S + 2), "exited after {took:?}; log:\n{}", tail(&log));
    assert!(tail(&log).contains("abandoned"), "the abandoned turn is logged:\n{}", tail(&log));
    rig.sim.faults().set_latency(Duration::ZERO);
    rig.sim.stop().await;
}
