//! Decision → all invoices in A, against the embedded simulator over real HTTP. Not a timed test:
//! prints figures. `cargo bench -p ksef-gateway --bench send` (release); environment:
//! `BENCH_BACKEND=sqlite|pg` (default sqlite), `BENCH_LATENCY_MS` (simulator latency per request,
//! default 0), `BENCH_BIG=1` to add 10 000 invoices for one NIP, `BENCH_FAULTS=0` to leave out
//! the run under faults, `BENCH_SEND_ONLY=NIPs` to run only the scenarios whose name holds that
//! text (`1000 invoices, 100 NIPs`, …), `BENCH_TRACE=1` to print where each run's time went (the
//! engine's `sender.*`, `batch.*` and `db.*` spans: count, total and longest wall time), and
//! `BENCH_TRACE=timeline` to print as well every span of 2 ms or more on one time line (where
//! it began and ended after the run's first span), which shows the gaps the totals hide.
//!
//! Side by side with the gateway's 1 000-invoice batch, the bare `ksef-client` crate does the
//! same batch with no database (authenticate, open, parts in parallel, close, wait, list the
//! session's invoices) against a fresh simulator; the ratio gateway / bare is printed.
//!
//! Over 100 NIPs the first decision is sent cold (no tokens: every NIP logs in, and KSeF's per-IP
//! limit of the public endpoints sets the floor printed beside it); a second decision for the same
//! clients, once the first is all in A, is sent warm (tokens in memory, no login at all).
//!
//! Under faults: the same 1 000-invoice batch with the simulator answering 5 % of KSeF's calls
//! with a random 5xx all along, a burst of the front proxy's HTML 503 pages as the engine starts
//! and a 429 storm (Retry-After 1 s) once the batch is uploaded; every invoice must end in A
//! exactly once (KSeF accepted each once, no duplicate, one KSeF number each).
#![expect(clippy::unwrap_used, reason = "a benchmark states its expectations with unwrap")]

// The test rig is reused as is, so the benchmark sets things up exactly as the tests do.
#[path = "../tests/it/common.rs"]
#[expect(dead_code, reason = "the benchmark uses part of the test support")]
mod common;
#[path = "../tests/it/engine/rig.rs"]
#[expect(dead_code, reason = "the benchmark uses part of the test rig")]
mod rig;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ksef_client::batch::{BatchInvoice, BatchOptions};
use ksef_client::{
    ClientOptions, ContextIdentifier, Environment, ExposeSecret, KsefClient, PollOptions, TokenRenewal,
};
use ksef_simulator::SimulatorConfig;
use secrecy::SecretString;

use common::Backend;
use ksef_gateway::domain::InvoiceId;
use rig::{nip, Rig};

/// One run of the gateway: how many clients, invoices each, and whether KSeF misbehaves.
#[derive(Clone, Copy)]
struct Run {
    name: &'static str,
    clients: u32,
    per_client: usize,
    faults: bool,
}

fn main() {
    let backend = match std::env::var("BENCH_BACKEND").as_deref() {
        Ok("pg") => Backend::Pg,
        _ => Backend::Sqlite,
    };
    let latency = Duration::from_millis(
        std::env::var("BENCH_LATENCY_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(0),
    );
    let flag = |name: &str, default: bool| std::env::var(name).map_or(default, |v| v == "1");
    match std::env::var("BENCH_TRACE").as_deref() {
        Ok("1") => spans::install(false),
        Ok("timeline") => spans::install(true),
        _ => {}
    }
    let run = |name, clients, per_client| Run { name, clients, per_client, faults: false };
    let mut runs = vec![run("1000 invoices, 1 NIP", 1, 1000), run("1000 invoices, 100 NIPs", 100, 10)];
    if flag("BENCH_FAULTS", true) {
        runs.push(Run { faults: true, ..run("1000 invoices, 1 NIP, under faults", 1, 1000) });
    }
    if flag("BENCH_BIG", false) {
        runs.push(run("10000 invoices, 1 NIP", 1, 10_000));
    }
    if let Ok(only) = std::env::var("BENCH_SEND_ONLY") {
        runs.retain(|r| r.name.contains(only.as_str()));
    }
    println!("backend {backend:?}, simulator latency {latency:?} per request, processing delay 0");
    for r in runs {
        let timed = actix_web::rt::System::new().block_on(gateway(backend, latency, r));
        let (gateway, decided) = (timed.cold, timed.decided);
        spans::report(r.name);
        let total = r.clients as usize * r.per_client;
        if r.faults {
            println!(
                "| decision → all in A, {total} invoices, 1 NIP, under faults (5 % random 5xx, HTML 503 burst, 429 storm), {backend:?} | {:.2} s, every invoice once in A; load {} |",
                gateway.as_secs_f64(),
                load()
            );
        } else if r.clients == 1 && r.per_client == 1000 {
            let bare = actix_web::rt::System::new().block_on(bare(latency, r.per_client));
            let ratio = gateway.as_secs_f64() / bare.as_secs_f64();
            println!(
                "bare ksef-client, the same {total}-invoice batch (no database): {:.2}s; gateway / bare = {ratio:.2}",
                bare.as_secs_f64()
            );
            println!(
                "| decision → all in A, {total} invoices, 1 NIP, {backend:?} | {:.2} s (bare ksef-client {:.2} s; ratio {ratio:.2}×); load {} |",
                gateway.as_secs_f64(),
                bare.as_secs_f64(),
                load()
            );
        } else if r.clients > 1 {
            let floor = auth_floor(r.clients);
            println!(
                "| KSeF's authentication floor, {} NIPs | {:.2} s ({} logins × {} public calls at {PUBLIC_PER_SECOND}/s per IP) |",
                r.clients,
                floor.as_secs_f64(),
                r.clients,
                TokenRenewal::Authenticated.public_calls()
            );
            println!(
                "| decision → all in A, {}, cold (no tokens), {backend:?} | {:.2} s ({:.2}× the floor); load {} |",
                r.name,
                gateway.as_secs_f64(),
                gateway.as_secs_f64() / floor.as_secs_f64(),
                timed.load_cold
            );
            if let Some(warm) = timed.warm {
                println!(
                    "| decision → all in A, {}, warm (tokens and sessions reused), {backend:?} | {:.2} s; load {} |",
                    r.name,
                    warm.as_secs_f64(),
                    timed.load_warm
                );
            }
        } else {
            println!(
                "| decision → all in A, {}, {backend:?} | {:.2} s; load {} |",
                r.name,
                gateway.as_secs_f64(),
                load()
            );
        }
        if r.clients == 1 && !r.faults {
            println!(
                "| recording the decision, {total} invoices, 1 NIP, {backend:?} | {:.3} s; load {} |",
                decided.as_secs_f64(),
                load()
            );
        }
    }
}

/// The 1-minute load average, printed beside every figure (the machine may be shared).
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().next().unwrap_or("?").to_owned())
        .unwrap_or_else(|_| "?".to_owned())
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

/// One run's figures: cold (the first decision, no tokens) with the time its decisions took to
/// record, and for many clients the second decision of the same clients once the first is all
/// in A (warm: tokens and sessions reused).
struct Timed {
    cold: Duration,
    decided: Duration,
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

/// The gateway on one run, the engine running from the start as in `serve`.
async fn gateway(backend: Backend, latency: Duration, r: Run) -> Timed {
    let sim = SimulatorConfig {
        latency,
        fault_rate: if r.faults { 0.05 } else { 0.0 },
        ..SimulatorConfig::default()
    };
    let rig = Rig::with(backend, sim, |mut s| {
        s.sender.tick_ms = 50;
        s.sender.status_poll_ms = 250;
        s.database.pool_size = 8;
        s
    })
    .await
    .unwrap();
    let mut clients = Vec::new();
    for i in 0..r.clients {
        clients.push(rig.client(&nip(1000 + i), true).await);
    }
    if r.faults {
        rig.sim.faults().html_503_burst(10);
    }
    // The first round's invoices are stored before the engine starts: otherwise its logins (for
    // the purchase sync it schedules) would begin while they are stored, before the clock does.
    let first = ("cold", invoices(&rig, &clients, r, "cold").await);
    spans::reset();
    let engine = ksef_gateway::engine::start(rig.st.clone());
    let (cold, decided) = send_round(&rig, &clients, r, first).await;
    let load_cold = load();
    if r.clients > 1 {
        spans::report(&format!("{}, cold", r.name));
    }
    let warm = if r.clients > 1 {
        let second = ("warm", invoices(&rig, &clients, r, "warm").await);
        Some(send_round(&rig, &clients, r, second).await.0)
    } else {
        None
    };
    let load_warm = load();
    engine.stop().await;
    let c = rig.sim.counters();
    let rounds = if warm.is_some() { 2 } else { 1 };
    let total = r.clients as usize * r.per_client * rounds;
    assert_eq!(
        (c.total.accepted, c.total.duplicates),
        (total as u64, 0),
        "{}: KSeF accepted each invoice once",
        r.name
    );
    assert_eq!(rig.distinct_ksef_numbers().await, total, "{}: one KSeF number per invoice", r.name);
    println!(
        "{}: KSeF saw {} received, {} accepted, {} duplicates, {} 429s, {} faults injected, {} logins, {} refreshes",
        r.name,
        c.total.received,
        c.total.accepted,
        c.total.duplicates,
        c.total.rate_limited,
        c.faults_injected,
        c.total.authentications,
        c.total.refreshes,
    );
    rig.sim.stop().await;
    Timed { cold, decided, load_cold, warm, load_warm }
}

/// `per_client` new invoices (drafts) for each client, for one round.
async fn invoices(
    rig: &Rig,
    clients: &[ksef_gateway::db::models::Client],
    r: Run,
    round: &str,
) -> Vec<Vec<InvoiceId>> {
    let mut all = Vec::new();
    for c in clients {
        all.push(rig.invoices(c, r.per_client, &format!("bench-{round}")).await);
    }
    all
}

/// The drafts `all` of each client, decided one client after the other: (the time
/// from the first decision to the last invoice in A with its UPO stored, the time the decisions
/// took to record).
async fn send_round(
    rig: &Rig,
    clients: &[ksef_gateway::db::models::Client],
    r: Run,
    (round, all): (&str, Vec<Vec<InvoiceId>>),
) -> (Duration, Duration) {
    let name = r.name;
    let before = rig.count_state("accepted").await;
    let total = (clients.len() * r.per_client) as i64;
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
            if r.faults {
                rig.sim.faults().rate_limit_storm(20, Duration::from_secs(1));
            }
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
        "{name}, {round}: decisions recorded in {:.3}s; all out of W after {:.2}s; all in A after {:.2}s ({:.0} invoices/s); \
         so far KSeF counted {} logins, {} refreshes, {} 429s; load average {}",
        decided.as_secs_f64(),
        registered_at.unwrap_or(done).as_secs_f64(),
        done.as_secs_f64(),
        total as f64 / done.as_secs_f64(),
        c.total.authentications,
        c.total.refreshes,
        c.total.rate_limited,
        load(),
    );
    (done, decided)
}

/// With `BENCH_TRACE=1`: the wall time of every closed span, summed per name, printed after each
/// run (a profile of the engine without a profiler; the spans are at debug level).
mod spans {
    use super::{BTreeMap, Instant, Mutex};
    use tracing::span::{Attributes, Id};
    use tracing::Subscriber;
    use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
    use tracing_subscriber::registry::LookupSpan;
    use tracing_subscriber::util::SubscriberInitExt;

    /// Per span name: (count, total, longest).
    static TOTALS: Mutex<BTreeMap<&'static str, (u64, f64, f64)>> = Mutex::new(BTreeMap::new());
    /// A closed span on the time line: name, opened, closed.
    type Stretch = (&'static str, Instant, Instant);
    /// With the time line asked for: every closed span of at least `TIMELINE_MIN`.
    static TIMELINE: Mutex<Option<Vec<Stretch>>> = Mutex::new(None);
    const TIMELINE_MIN: f64 = 0.002;

    struct Timing;

    struct Opened(Instant);

    impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Timing {
        fn on_new_span(&self, _: &Attributes<'_>, id: &Id, cx: Context<'_, S>) {
            if let Some(span) = cx.span(id) {
                span.extensions_mut().insert(Opened(Instant::now()));
            }
        }

        fn on_close(&self, id: Id, cx: Context<'_, S>) {
            let Some(span) = cx.span(&id) else { return };
            let Some(opened) = span.extensions().get::<Opened>().map(|o| o.0) else { return };
            let took = opened.elapsed().as_secs_f64();
            if took >= TIMELINE_MIN {
                if let Some(line) = TIMELINE.lock().unwrap().as_mut() {
                    line.push((span.name(), opened, Instant::now()));
                }
            }
            let mut totals = TOTALS.lock().unwrap();
            let entry = totals.entry(span.name()).or_default();
            entry.0 += 1;
            entry.1 += took;
            entry.2 = entry.2.max(took);
        }
    }

    pub fn install(timeline: bool) {
        if timeline {
            *TIMELINE.lock().unwrap() = Some(Vec::new());
        }
        let filter = tracing_subscriber::filter::Targets::new()
            .with_target("ksef_gateway::engine", tracing::Level::DEBUG)
            .with_target("ksef_gateway::service::decisions", tracing::Level::DEBUG);
        tracing_subscriber::registry().with(Timing.with_filter(filter)).init();
    }

    pub fn reset() {
        TOTALS.lock().unwrap().clear();
        if let Some(line) = TIMELINE.lock().unwrap().as_mut() {
            line.clear();
        }
    }

    pub fn report(run: &str) {
        let totals = std::mem::take(&mut *TOTALS.lock().unwrap());
        if totals.is_empty() {
            return;
        }
        println!("where the time went, {run} (span: count, total wall time, longest):");
        let mut rows: Vec<_> = totals.into_iter().collect();
        rows.sort_by(|a, b| b.1 .1.total_cmp(&a.1 .1));
        for (name, (count, total, longest)) in rows {
            println!("  {name:<24} {count:>6} {:>9.1} ms {:>9.1} ms", total * 1e3, longest * 1e3);
        }
        let Some(mut line) = TIMELINE.lock().unwrap().as_mut().map(std::mem::take) else { return };
        line.sort_by_key(|(_, opened, _)| *opened);
        let Some(start) = line.first().map(|(_, opened, _)| *opened) else { return };
        println!("time line, {run} (span: from, to, ms after the first span):");
        for (name, opened, closed) in line {
            let at = |t: Instant| t.duration_since(start).as_secs_f64() * 1e3;
            println!("  {name:<24} {:>9.1} {:>9.1}", at(opened), at(closed));
        }
    }
}
