//! Decision → all invoices in A, against the embedded simulator over real HTTP. Not a timed test:
//! prints figures. `cargo bench -p ksef-gateway --bench send` (release); environment:
//! `BENCH_BACKEND=sqlite|pg` (default sqlite), `BENCH_LATENCY_MS` (simulator latency per request,
//! default 0), `BENCH_BIG=1` to add 10 000 invoices for one NIP, `BENCH_SEND_ONLY=NIPs` to run only
//! the scenarios whose name holds that text (`1000 invoices, 100 NIPs`, …).
//!
//! Over 100 NIPs the first decision is sent cold (no tokens: every NIP logs in, and KSeF's per-IP
//! limit of the public endpoints sets the floor printed beside it); a second decision for the same
//! clients, once the first is all in A, is sent warm (tokens in memory, no login at all).
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
use ksef_client::{
    ClientOptions, ContextIdentifier, Environment, ExposeSecret, KsefClient, PollOptions, TokenRenewal,
};
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
    if let Ok(only) = std::env::var("BENCH_SEND_ONLY") {
        runs.retain(|(name, _, _)| name.contains(only.as_str()));
    }
    println!("backend {backend:?}, simulator latency {latency:?} per request, processing delay 0");
    for (name, clients, per_client) in runs {
        let timed = actix_web::rt::System::new().block_on(run(backend, latency, name, clients, per_client));
        let gateway = timed.cold;
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
        } else if clients > 1 {
            let floor = auth_floor(clients);
            println!(
                "| KSeF's authentication floor, {clients} NIPs | {:.2} s ({clients} logins × {} public calls at {PUBLIC_PER_SECOND}/s per IP) |",
                floor.as_secs_f64(),
                TokenRenewal::Authenticated.public_calls()
            );
            println!(
                "| decision → all in A, {name}, cold (no tokens), {backend:?} | {:.2} s ({:.2}× the floor; load {}) |",
                gateway.as_secs_f64(),
                gateway.as_secs_f64() / floor.as_secs_f64(),
                timed.load_cold
            );
            if let Some(warm) = timed.warm {
                println!(
                    "| decision → all in A, {name}, warm (tokens and sessions reused), {backend:?} | {:.2} s (load {}) |",
                    warm.as_secs_f64(),
                    timed.load_warm
                );
            }
        } else {
            println!("| decision → all in A, {name}, {backend:?} | {:.2} s |", gateway.as_secs_f64());
        }
    }
}

/// KSeF's public endpoints allow this many requests a second per client IP (API_BRIEF §10);
/// authentication and refresh go through them, for every NIP of the process together.
const PUBLIC_PER_SECOND: u32 = 60;

/// The least time `clients` full logins can take under KSeF's per-IP limit of the public
/// endpoints: every login makes 4 public calls (challenge, ksef-token, status, redeem), and no
/// more than 60 of them a second go through.
fn auth_floor(clients: u32) -> Duration {
    let calls = clients * TokenRenewal::Authenticated.public_calls();
    Duration::from_secs_f64(f64::from(calls) / f64::from(PUBLIC_PER_SECOND))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// One run's figures: cold (the first decision, no tokens), and for many clients the second
/// decision of the same clients once the first is all in A (warm: tokens and sessions reused).
struct Timed {
    cold: Duration,
    load_cold: String,
    warm: Option<Duration>,
    load_warm: String,
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

async fn run(backend: Backend, latency: Duration, name: &str, clients: u32, per_client: usize) -> Timed {
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
        all.push(c);
    }
    // Running before the decisions, as in `serve`: logins start with the first decision.
    let engine = ksef_gateway::engine::start(rig.st.clone());
    let cold = send_round(&rig, &all, per_client, name, "cold").await;
    let load_cold = load_average();
    let warm = if clients > 1 { Some(send_round(&rig, &all, per_client, name, "warm").await) } else { None };
    let load_warm = load_average();
    engine.stop().await;
    let c = rig.sim.counters();
    let rounds = if warm.is_some() { 2 } else { 1 };
    let total = (clients as usize * per_client * rounds) as u64;
    assert_eq!((c.total.accepted, c.total.duplicates), (total, 0));
    println!(
        "{name}: KSeF saw {} received, {} accepted, {} duplicates, {} 429s, {} logins, {} refreshes",
        c.total.received,
        c.total.accepted,
        c.total.duplicates,
        c.total.rate_limited,
        c.total.authentications,
        c.total.refreshes,
    );
    rig.sim.stop().await;
    Timed { cold, load_cold, warm, load_warm }
}

/// `per_client` new invoices for each client, decided one client after the other; the time from
/// the first decision to the last invoice in A with its UPO stored.
async fn send_round(
    rig: &Rig,
    clients: &[ksef_gateway::db::models::Client],
    per_client: usize,
    name: &str,
    round: &str,
) -> Duration {
    let mut all = Vec::new();
    for c in clients {
        all.push(rig.invoices(c, per_client, &format!("bench-{round}")).await);
    }
    let before = rig.count_state("accepted").await;
    let total = (clients.len() * per_client) as i64;
    let start = Instant::now();
    for (c, ids) in clients.iter().zip(&all) {
        rig.decide(c, ids, false).await;
    }
    let decided = start.elapsed();
    let mut registered_at = None;
    loop {
        let accepted = rig.count_state("accepted").await - before;
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
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let done = start.elapsed();
    let c = rig.sim.counters();
    println!(
        "{name}, {round}: decisions recorded in {:.2}s; all out of W after {:.2}s; all in A after {:.2}s ({:.0} invoices/s); \
         so far KSeF counted {} logins, {} refreshes, {} 429s; load average {}",
        decided.as_secs_f64(),
        registered_at.unwrap_or(done).as_secs_f64(),
        done.as_secs_f64(),
        total as f64 / done.as_secs_f64(),
        c.total.authentications,
        c.total.refreshes,
        c.total.rate_limited,
        load_average(),
    );
    done
}
