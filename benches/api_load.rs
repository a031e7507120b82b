//! The API under load: a release gateway served in-process over real HTTP on loopback, one client
//! with 50 000 invoices and a read-only API key, and N keep-alive connections hammering
//! `GET /api/v1/invoices/{id}` and the list; then the panel's page of that client (its first 50
//! invoices with "1–50 z 50 000") opened again and again by one office admin on one connection,
//! which times its render. Not a timed test: prints req/s, p50, p99, errors and the load average.
//!
//! `cargo bench -p ksef-gateway --bench api_load`; environment: `BENCH_BACKEND=sqlite|pg`
//! (default sqlite; PostgreSQL at `KSEF_GW_TEST_PG`), `BENCH_INVOICES` (default 50 000),
//! `BENCH_CONNS` (default 8), `BENCH_SECS` per case (default 5).
//!
//! The load generator is a minimal HTTP/1.1 client on raw sockets (a fixed request, the response
//! read by its `Content-Length`), so on this 2-core machine it takes as little CPU from the
//! server as it can. The per-key throttle (`auth.api_key_per_s`, 50 by default) is raised for
//! the run: it is the server's capacity that is measured, not the limit.
#![expect(clippy::unwrap_used, reason = "a benchmark states its expectations with unwrap")]

#[path = "../tests/it/common.rs"]
#[expect(dead_code, reason = "the benchmark uses part of the test support")]
mod common;
#[path = "../tests/it/engine/rig.rs"]
#[expect(dead_code, reason = "the benchmark uses part of the test rig")]
mod rig;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ksef_gateway::auth::{Role, ScopeSet};
use ksef_gateway::http::auth::SESSION_COOKIE;
use ksef_gateway::service::access::Caller;
use ksef_gateway::service::{apikeys, users};
use ksef_simulator::SimulatorConfig;
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use common::Backend;
use rig::{nip, Rig};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let backend = match std::env::var("BENCH_BACKEND").as_deref() {
        Ok("pg") => Backend::Pg,
        _ => Backend::Sqlite,
    };
    let invoices: usize = env_or("BENCH_INVOICES", 50_000);
    let conns: usize = env_or("BENCH_CONNS", 8);
    let secs: u64 = env_or("BENCH_SECS", 5);
    let served = actix_web::rt::System::new().block_on(setup(backend, invoices));
    println!("backend {backend:?}, {invoices} invoices of one client, {conns} keep-alive connections, {secs} s per case");
    let key = format!("Authorization: Bearer {}", served.key);
    let get_paths: Vec<String> = served.ids.iter().map(|id| format!("/api/v1/invoices/{id}")).collect();
    // The panel's page is what one person opens: one connection, its render time alone.
    let cases: [(&str, &str, Vec<String>, usize); 3] = [
        ("API GET /api/v1/invoices/{id}", &key, get_paths, conns),
        ("API GET /api/v1/invoices?limit=50", &key, vec!["/api/v1/invoices?limit=50".to_owned()], conns),
        ("panel client page /klienci/{nip}", &served.cookie, vec![format!("/klienci/{}", served.nip)], 1),
    ];
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    for (name, auth, paths, conns) in cases {
        let stats =
            runtime.block_on(hammer(served.addr, auth, Arc::new(paths), conns, Duration::from_secs(secs)));
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let load = load.split(' ').take(3).collect::<Vec<_>>().join(" ");
        println!(
            "| {name}, {invoices} invoices, {conns} connections, {backend:?} | {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors ({} requests; load average {load}) |",
            stats.per_second(),
            stats.percentile(0.50),
            stats.percentile(0.99),
            stats.errors,
            stats.latencies_us.len(),
        );
    }
}

/// The gateway being served, and what the load generator presents to it.
struct Served {
    addr: SocketAddr,
    /// A read-only API key of the client.
    key: String,
    /// `Cookie:` header of an office admin's panel session.
    cookie: String,
    nip: String,
    ids: Vec<ksef_gateway::domain::InvoiceId>,
    /// Keeps the database alive.
    _rig: Rig,
}

/// Seeds the database, creates the key and serves the gateway on its own thread (its own
/// actix system and workers, as `serve` runs it). Returns the rig so its database lives on.
async fn setup(backend: Backend, invoices: usize) -> Served {
    let rig = Rig::with(backend, SimulatorConfig::default(), |mut s| {
        s.sender.enabled = false;
        s.webhooks.enabled = false;
        s.auth.api_key_per_s = 1_000_000;
        s.database.pool_size = 8;
        s
    })
    .await
    .unwrap();
    let client = rig.client(&nip(1000), true).await;
    let started = Instant::now();
    let ids = rig.invoices(&client, invoices, "load").await;
    println!("seeded {invoices} invoices in {:.1} s", started.elapsed().as_secs_f64());
    let scopes = ScopeSet::parse("read").unwrap();
    let created =
        apikeys::create(&rig.st, &Caller::Operator, &client.nip, "load", scopes, None).await.ok().unwrap();
    let key = created.plaintext.expose_secret().to_owned();
    let admin = users::NewUserInput {
        email: "admin@load.test".into(),
        display_name: String::new(),
        role: Role::OfficeAdmin,
        nip: None,
    };
    let password = || SecretString::from("load-test-password-1");
    users::create_user(&rig.st, &Caller::Operator, admin, password()).await.ok().unwrap();
    let session = users::login(&rig.st, "admin@load.test", &password(), None).await.ok().unwrap();
    let cookie = format!("Cookie: {SESSION_COOKIE}={}", session.token);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let state = rig.st.clone();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(ksef_gateway::server::run(state, listener)).unwrap();
    });
    Served { addr, key, cookie, nip: client.nip.to_string(), ids, _rig: rig }
}

struct Stats {
    latencies_us: Vec<u32>,
    errors: u64,
    elapsed: Duration,
}

impl Stats {
    fn per_second(&self) -> f64 {
        self.latencies_us.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// Latency at quantile `q` in milliseconds.
    fn percentile(&self, q: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let at = ((self.latencies_us.len() - 1) as f64 * q).round() as usize;
        f64::from(self.latencies_us[at]) / 1000.0
    }
}

/// `conns` connections, each sending the next of `paths` as soon as the last answer is read.
async fn hammer(addr: SocketAddr, auth: &str, paths: Arc<Vec<String>>, conns: usize, run: Duration) -> Stats {
    let deadline = Instant::now() + run;
    let started = Instant::now();
    let tasks: Vec<_> = (0..conns)
        .map(|n| {
            let (paths, auth) = (paths.clone(), auth.to_owned());
            tokio::spawn(async move { connection(addr, &auth, &paths, n, deadline).await })
        })
        .collect();
    let mut stats = Stats { latencies_us: Vec::new(), errors: 0, elapsed: Duration::ZERO };
    for task in tasks {
        let (latencies, errors) = task.await.unwrap();
        stats.latencies_us.extend(latencies);
        stats.errors += errors;
    }
    stats.elapsed = started.elapsed();
    stats.latencies_us.sort_unstable();
    stats
}

/// One keep-alive connection; reconnects after an I/O error (counted as an error).
async fn connection(
    addr: SocketAddr,
    auth: &str,
    paths: &[String],
    n: usize,
    deadline: Instant,
) -> (Vec<u32>, u64) {
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut next = n * 7919;
    let mut buf = Vec::with_capacity(64 * 1024);
    'connect: while Instant::now() < deadline {
        let Ok(mut stream) = TcpStream::connect(addr).await else {
            errors += 1;
            continue;
        };
        stream.set_nodelay(true).unwrap();
        while Instant::now() < deadline {
            let path = &paths[next % paths.len()];
            next += 1;
            let request = format!("GET {path} HTTP/1.1\r\nHost: bench\r\n{auth}\r\n\r\n");
            let sent = Instant::now();
            if stream.write_all(request.as_bytes()).await.is_err() {
                errors += 1;
                continue 'connect;
            }
            match read_response(&mut stream, &mut buf).await {
                Some(200) => latencies.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX)),
                Some(_) => errors += 1,
                None => {
                    errors += 1;
                    continue 'connect;
                }
            }
        }
    }
    (latencies, errors)
}

/// Reads one response; its status, or None when the connection failed or closed.
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<u16> {
    buf.clear();
    let header_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if read_more(stream, buf).await? == 0 {
            return None;
        }
    };
    let head = std::str::from_utf8(&buf[..header_end]).ok()?;
    let status = head.get(9..12)?.parse().ok()?;
    let length: usize = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")))
        .and_then(|(_, v)| v.trim().parse().ok())?;
    while buf.len() < header_end + length {
        if read_more(stream, buf).await? == 0 {
            return None;
        }
    }
    Some(status)
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<usize> {
    let mut chunk = [0u8; 16 * 1024];
    let n = stream.read(&mut chunk).await.ok()?;
    buf.extend_from_slice(&chunk[..n]);
    Some(n)
}
