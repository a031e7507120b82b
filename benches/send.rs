//! Decision → all invoices in A, against the embedded simulator over real HTTP. Not a timed test:
//! prints figures. `cargo bench -p ksef-gateway --bench send` (release); environment:
//! `BENCH_BACKEND=sqlite|pg` (default sqlite), `BENCH_LATENCY_MS` (simulator latency per request,
//! default 0), `BENCH_BIG=1` to add 10 000 invoices for one NIP.
//!
//! Side by side with the gateway's 1 000-invoice batch, the bare `ksef-client` crate does the
//! same batch with no database (authenticate, open, parts in parallel, close, wait, list the
//! session's invoices) against a fresh simulator; the ratio gateway / bare is printed.
#![expect(clippy::unwrap_used, reason = "a benchmark states its expectations with unwrap")]

// The test rig is reused as is, so the benchmark sets things up exactly as the tests do.
#[path = "../tests/it/common.rs"]
#[expect(dead_code, reason = "the benchmark uses part of the test support")]
mod common;
#[path = "../tests/it/engine/rig.rs"]
#[expect(dead_code, reason = "the benchmark uses part of the test rig")]
mod rig;

use std::time::{Duration, Instant};

use ksef_client::batch::{BatchInvoice, BatchOptions};
use ksef_client::{ClientOptions, ContextIdentifier, Environment, ExposeSecret, KsefClient, PollOptions};
use ksef_simulator::SimulatorConfig;
use secrecy::SecretString;

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
        let gateway = actix_web::rt::System::new().block_on(run(backend, latency, name, clients, per_client));
        if clients == 1 && per_client == 1000 {
            let bare = actix_web::rt::System::new().block_on(bare(latency, per_client));
            let ratio = gateway.as_secs_f64() / bare.as_secs_f64();
            println!(
                "bare ksef-client, the same {per_client}-invoice batch (no database): {:.2}s; gateway / bare = {ratio:.2}",
                bare.as_secs_f64()
            );
            println!(
                "| decision → all in A, {per_client} invoices, 1 NIP, {backend:?} | {:.2} s (bare ksef-client {:.2} s; ratio {ratio:.2}×) |",
                gateway.as_secs_f64(),
                bare.as_secs_f64()
            );
        } else {
            println!("| decision → all in A, {name}, {backend:?} | {:.2} s |", gateway.as_secs_f64());
        }
    }
}

/// The bare client crate on one batch of `n` invoices, from login to the listed session.
/// It polls as often as the gateway does here (at most every 250 ms).
async fn bare(latency: Duration, n: usize) -> Duration {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let sim = ksef_simulator::start(SimulatorConfig { latency, ..SimulatorConfig::default() }, listener)
        .await
        .unwrap();
    let seller = nip(1000);
    let token = format!("20261201-EC-{seller}-TESTTOKEN-01|nip-{seller}|0123456789abcdef");
    sim.add_token(&seller, &token, &["InvoiceWrite", "InvoiceRead"]);
    let invoices: Vec<BatchInvoice> = (0..n)
        .map(|i| BatchInvoice {
            file_name: format!("FV-bare-{i}.xml"),
            xml: rig::invoice_xml(&seller, &format!("FV/bare/{i}")),
        })
        .collect();
    let start = Instant::now();
    let options = ClientOptions {
        timeout: Duration::from_secs(30),
        poll: PollOptions {
            initial_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(250),
            budget: Duration::from_secs(600),
        },
        ..ClientOptions::default()
    };
    let client = KsefClient::new(Environment::parse(&sim.base_url()).unwrap(), options).unwrap();
    let tokens = client
        .authenticate_with_ksef_token(&ContextIdentifier::nip(&seller), &SecretString::from(token))
        .await
        .unwrap();
    let access = SecretString::from(tokens.access_token.token.expose_secret().to_owned());
    let sent = client.send_batch(&access, invoices, &BatchOptions::default()).await.unwrap();
    client.wait_for_session(&access, &sent.reference_number).await.unwrap();
    let listed = client.all_session_invoices(&access, &sent.reference_number).await.unwrap();
    let elapsed = start.elapsed();
    let accepted = listed.iter().filter(|i| i.ksef_number.is_some()).count();
    assert_eq!(accepted, n, "bare client: {accepted}/{n} with a KSeF number");
    sim.stop().await;
    elapsed
}

async fn run(backend: Backend, latency: Duration, name: &str, clients: u32, per_client: usize) -> Duration {
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
    done
}
