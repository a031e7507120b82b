//! How many invoices per second the simulator accepts through online sessions.
//! Run: `cargo bench -p ksef-simulator --bench online_throughput` (release build; the client
//! encrypting the invoices shares the machine, so the figure is a lower bound).
#![expect(clippy::unwrap_used, reason = "a benchmark fails loudly")]

#[path = "../tests/sim/client.rs"]
#[expect(dead_code, reason = "the benchmark uses part of the test client")]
mod client;

use std::time::Instant;

use client::{Sim, NIP, TOKEN};
use ksef_simulator::SimulatorConfig;

const SESSIONS: usize = 8;
const PER_SESSION: usize = 250;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let config = SimulatorConfig { rate_limit_scale: 1_000_000.0, workers: 2, ..SimulatorConfig::default() };
    let sim = std::sync::Arc::new(Sim::start(config).await);
    sim.sim.add_token(NIP, TOKEN, &["InvoiceWrite"]);
    let (access, _) = sim.login(NIP, TOKEN).await;
    // Prepare the request bodies first: only the sending is timed.
    let mut work = Vec::new();
    for s in 0..SESSIONS {
        let session = sim.open_online(&access).await;
        let bodies: Vec<_> = (0..PER_SESSION)
            .map(|i| Sim::send_body(&session, &client::numbered_sample(i % 5 + 1, &format!("BENCH/{s}/{i}"))))
            .collect();
        work.push((session.reference, bodies));
    }
    let started = Instant::now();
    let tasks: Vec<_> = work
        .into_iter()
        .map(|(reference, bodies)| {
            let sim = sim.clone();
            let access = access.clone();
            tokio::spawn(async move {
                let path = format!("/sessions/online/{reference}/invoices");
                for body in bodies {
                    let (status, _) = sim.post(&path, Some(&access), &body).await;
                    assert_eq!(status, 202);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = started.elapsed();
    let total = SESSIONS * PER_SESSION;
    let counters = sim.sim.counters();
    assert_eq!(counters.total.accepted as usize, total, "every invoice accepted: {counters:?}");
    println!(
        "online_throughput: {total} invoices in {:.2} s = {:.0} invoices/s ({SESSIONS} concurrent sessions, XSD-validated)",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64().max(1e-3)
    );
}
