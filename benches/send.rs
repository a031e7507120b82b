//! Decision → all invoices in A, against the embedded simulator over real HTTP. Not a timed test:
//! prints figures. `cargo bench -p ksef-gateway --bench send` (release); environment:
//! `BENCH_BACKEND=sqlite|pg` (default sqlite), `BENCH_LATENCY_MS` (simulator latency per request,
//! default 0), `BENCH_BIG=1` to add 10 000 invoices for one NIP.
#![expect(clippy::unwrap_used, reason = "a benchmark states its expectations with unwrap")]

// The test rig is reused as is, so the benchmark sets things up exactly as the tests do.
#[path = "../tests/it/common.rs"]
#[expect(dead_code, reason = "the benchmark uses part of the test support")]
mod common;
#[path = "../tests/it/engine/rig.rs"]
#[expect(dead_code, reason = "the benchmark uses part of the test rig")]
mod rig;

use std::time::{Duration, Instant};

use ksef_simulator::SimulatorConfig;

use common::Backend;
use rig::{nip, Rig};

fn main() {
    let backend = match std::env::var("BENCH_BACKEND").as_deref() {
        Ok("pg") => Backend::Pg,
        _ => Backend::Sqlite,
    };
    let latency = Duration::from_millis(
        std::env::var("BENCH_LATENCY_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(0),
    );
    let mut runs = vec![("1000 invoices, 1 NIP", 1, 1000), ("1000 invoices, 100 NIPs", 100, 10)];
    if std::env::var("BENCH_BIG").is_ok_and(|v| v == "1") {
        runs.push(("10000 invoices, 1 NIP", 1, 10_000));
    }
    println!("backend {backend:?}, simulator latency {latency:?} per request, processing delay 0");
    for (name, clients, per_client) in runs {
        actix_web::rt::System::new().block_on(run(backend, latency, name, clients, per_client));
    }
}

async fn run(backend: Backend, latency: Duration, name: &str, clients: u32, per_client: usize) {
    let sim = SimulatorConfig { latency, ..SimulatorConfig::default() };
    let rig = Rig::with(backend, sim, |mut s| {
        s.sender.tick_ms = 50;
        s.sender.status_poll_ms = 250;
        s.database.pool_size = 8;
        s
    })
    .await
    .unwrap();
    let mut all = Vec::new();
    for i in 0..clients {
        let c = rig.client(&nip(1000 + i), true).await;
        let ids = rig.invoices(&c, per_client, "bench").await;
        all.push((c, ids));
    }
    let total = (clients as usize * per_client) as i64;
    let start = Instant::now();
    for (c, ids) in &all {
        rig.decide(c, ids, false).await;
    }
    let decided = start.elapsed();
    let engine = ksef_gateway::engine::start(rig.st.clone());
    let mut registered_at = None;
    loop {
        let accepted = rig.count_state("accepted").await;
        if registered_at.is_none()
            && rig.count_state("queued").await == 0
            && rig.count_state("sending").await == 0
        {
            registered_at = Some(start.elapsed());
        }
        if accepted == total {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(1800), "{name}: only {accepted}/{total} accepted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let done = start.elapsed();
    engine.stop().await;
    let c = rig.sim.counters();
    assert_eq!((c.total.accepted, c.total.duplicates), (total as u64, 0));
    println!(
        "{name}: decisions recorded in {:.2}s; all out of W after {:.2}s; all in A after {:.2}s ({:.0} invoices/s); \
         KSeF saw {} received, {} accepted, {} duplicates, {} 429s",
        decided.as_secs_f64(),
        registered_at.unwrap_or(done).as_secs_f64(),
        done.as_secs_f64(),
        total as f64 / done.as_secs_f64(),
        c.total.received,
        c.total.accepted,
        c.total.duplicates,
        c.total.rate_limited,
    );
    rig.sim.stop().await;
}
