//! Memory of `serve` with a large database and a large upload: 1 000 000 invoices of one client
//! are seeded with one multi-row SQL statement, the release binary is started as a child
//! process, and its resident memory (`VmRSS`, and the peak `VmHWM`, from /proc/<pid>/status) is
//! sampled idle, after list and read requests, every 50 ms while a 50 000-invoice zip is taken
//! in through the API, and after. Not a timed test: prints the figures as a table row.
//!
//! `cargo bench -p ksef-gateway --bench memory`; environment: `BENCH_BACKEND=sqlite|pg` (default
//! sqlite; PostgreSQL at `KSEF_GW_TEST_PG`), `BENCH_STORED` (default 1 000 000), `BENCH_ZIP`
//! (default 50 000), `BENCH_PROFILE_WITH` (a profiler command to start `serve` under).
#![expect(clippy::unwrap_used, reason = "a benchmark states its expectations with unwrap")]

#[path = "../tests/it/common.rs"]
#[expect(dead_code, reason = "the benchmark uses part of the test support")]
mod common;

use std::io::Write as _;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::RunQueryDsl as _;
use ksef_gateway::auth::ScopeSet;
use ksef_gateway::db::DbError;
use ksef_gateway::domain::{KsefTarget, Nip, SendPolicy};
use ksef_gateway::service::access::Caller;
use ksef_gateway::service::apikeys;
use ksef_gateway::service::clients::{add_client, NewClientInput};
use secrecy::{ExposeSecret, SecretString};

use common::{Backend, TestDb};

const NIP: &str = "9999999999";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let pg = std::env::var("BENCH_BACKEND").is_ok_and(|b| b == "pg");
    let backend = if pg { Backend::Pg } else { Backend::Sqlite };
    let stored: usize = env_or("BENCH_STORED", 1_000_000);
    let zip_files: usize = env_or("BENCH_ZIP", 50_000);
    let Some(db) = TestDb::new(backend) else { return eprintln!("memory: no database for {backend:?}") };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (_client_id, key) = rt.block_on(seed(&db, stored));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = ServeChild::start(&db, port, zip_files);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    rt.block_on(wait_ready(&http, &base));
    let idle = server.status();
    let requests = rt.block_on(reads(&http, &base, &key, stored));
    let after_reads = server.status();
    let zip = zip_of(zip_files);
    let zip_mb = zip.len() as f64 / 1e6;
    let sampler = Sampler::start(server.pid());
    let started = Instant::now();
    let taken = rt.block_on(upload(&http, &base, &key, zip));
    let secs = started.elapsed().as_secs_f64();
    let during_max = sampler.stop();
    let after = server.status();
    server.stop();
    let mb = |kb: u64| kb as f64 / 1024.0;
    println!(
        "serve RSS ({backend:?}, {stored} invoices stored): idle {:.1} MB; after {requests} list/read requests {:.1} MB; \
         during a {zip_files}-invoice zip ({zip_mb:.1} MB; {taken} stored in {secs:.1} s) at most {:.1} MB; after {:.1} MB; peak (VmHWM) {:.1} MB",
        mb(idle.rss_kb),
        mb(after_reads.rss_kb),
        mb(during_max),
        mb(after.rss_kb),
        mb(after.hwm_kb)
    );
    println!(
        "| serve RSS, {stored} invoices stored, {backend:?} | idle {:.0} MB, after {requests} list/read requests {:.0} MB, \
         during a {zip_files}-invoice zip max {:.0} MB ({:.0} invoices/s), after {:.0} MB, peak {:.0} MB |",
        mb(idle.rss_kb),
        mb(after_reads.rss_kb),
        mb(during_max),
        taken as f64 / secs,
        mb(after.rss_kb),
        mb(after.hwm_kb)
    );
}

/// Creates the client and a read+submit API key through the services, then seeds `stored`
/// invoices with one INSERT … SELECT (rows only: the memory questions are about rows).
async fn seed(db: &TestDb, stored: usize) -> (ksef_gateway::domain::ClientId, String) {
    let st = db.state();
    let input = NewClientInput {
        nip: Nip::parse(NIP).unwrap(),
        name: "Pamięć".into(),
        ksef: KsefTarget::Test,
        policy: SendPolicy::Manual,
    };
    let client =
        add_client(&st, input, SecretString::from("bench-token-0123456789abcdef"), None).await.unwrap();
    let scopes = ScopeSet::parse("read,submit").unwrap();
    let key =
        apikeys::create(&st, &Caller::Operator, &client.nip, "memory", scopes, None).await.ok().unwrap();
    let rows = "id, client_id, sha256, size_bytes, number, issue_date, invoice_type, seller_nip, buyer_nip, \
                buyer_name, currency, gross_total, gross_minor, state, findings, source, created_by, created_at, \
                updated_at, offline_mode";
    let cid = &client.id;
    let sql = match db.pg_name() {
        None => format!(
            "INSERT INTO invoices ({rows}) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {stored}) \
             SELECT printf('00000000-0000-7000-8000-%012d', i), '{cid}', 'seed', 3000, 'SEED/' || i, '2026-11-01', 'VAT', '{NIP}', '1111111111', \
             'Nabywca ' || (i % 997), 'PLN', '123.00', 12300, 'draft', '[]', 'api', 'operator', \
             '2026-11-01 00:00:00', '2026-11-01 00:00:00', 0 FROM n"
        ),
        Some(_) => format!(
            "INSERT INTO invoices ({rows}) SELECT '00000000-0000-7000-8000-' || lpad(i::text, 12, '0'), '{cid}', 'seed', 3000, 'SEED/' || i, \
             DATE '2026-11-01', 'VAT', '{NIP}', '1111111111', 'Nabywca ' || (i % 997), 'PLN', '123.00', 12300, 'draft', '[]', \
             'api', 'operator', TIMESTAMP '2026-11-01 00:00:00', TIMESTAMP '2026-11-01 00:00:00', false \
             FROM generate_series(1, {stored}) AS i"
        ),
    };
    let started = Instant::now();
    st.db
        .run(move |conn| {
            diesel::sql_query(sql).execute(conn)?;
            Ok::<_, DbError>(())
        })
        .await
        .unwrap();
    println!("seeded {stored} invoices in {:.1} s", started.elapsed().as_secs_f64());
    (client.id, key.plaintext.expose_secret().to_owned())
}

/// `serve` from the release build, on this database, with the sender and webhooks off and the
/// intake limits raised for the large zip.
struct ServeChild(Child);

struct Status {
    rss_kb: u64,
    hwm_kb: u64,
}

impl ServeChild {
    fn start(db: &TestDb, port: u16, zip_files: usize) -> Self {
        let dir = db.settings().data_dir;
        let binary = env!("CARGO_BIN_EXE_ksef-gateway");
        // A profiler in front (e.g. `BENCH_PROFILE_WITH="heaptrack -o /tmp/serve"`): where the
        // memory goes; the RSS printed is then the profiler's, not the server's.
        let mut command = match std::env::var("BENCH_PROFILE_WITH") {
            Ok(wrapper) if !wrapper.trim().is_empty() => {
                let mut words = wrapper.split_whitespace();
                let mut c = Command::new(words.next().unwrap_or_default());
                c.args(words).arg(binary);
                c
            }
            _ => Command::new(binary),
        };
        let child = command
            .arg("--data-dir")
            .arg(&dir)
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .env("KSEF_GW__DATABASE__URL", &db.url)
            .env("KSEF_GW__VAULT__MASTER_KEY_FILE", dir.join("master.key"))
            .env("KSEF_GW__SENDER__ENABLED", "false")
            .env("KSEF_GW__WEBHOOKS__ENABLED", "false")
            .env("KSEF_GW__AUTH__API_KEY_PER_S", "1000000")
            .env("KSEF_GW__INTAKE__MAX_FILES_PER_UPLOAD", zip_files.max(10_000).to_string())
            .env("KSEF_GW__INTAKE__MAX_UPLOAD_BYTES", (512 * 1024 * 1024).to_string())
            .env("KSEF_GW__LOG__LEVEL", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        Self(child)
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }

    fn status(&self) -> Status {
        status_of(self.pid())
    }

    fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for ServeChild {
    fn drop(&mut self) {
        self.stop();
    }
}

fn status_of(pid: u32) -> Status {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = |field: &str| {
        text.lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Status { rss_kb: kb("VmRSS:"), hwm_kb: kb("VmHWM:") }
}

/// Samples a process's VmRSS every 50 ms on its own thread, keeping the largest.
struct Sampler {
    stop: Arc<AtomicBool>,
    max_kb: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

impl Sampler {
    fn start(pid: u32) -> Self {
        let (stop, max_kb) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
        let (s, m) = (stop.clone(), max_kb.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                m.fetch_max(status_of(pid).rss_kb, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        Self { stop, max_kb, thread }
    }

    fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
        self.max_kb.load(Ordering::Relaxed)
    }
}

async fn wait_ready(http: &reqwest::Client, base: &str) {
    for _ in 0..600 {
        if http.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("serve did not become ready");
}

/// List pages (first, filtered, sorted, with their totals) and single invoices, as people and
/// client systems read them. Returns how many requests were made.
async fn reads(http: &reqwest::Client, base: &str, key: &str, stored: usize) -> usize {
    let mut paths: Vec<String> = vec![
        "/api/v1/invoices?limit=50".into(),
        "/api/v1/invoices?limit=500".into(),
        "/api/v1/invoices?limit=50&q=Nabywca%2042".into(),
        "/api/v1/invoices?limit=50&state=draft".into(),
    ];
    // 200 seeded invoices spread over all of them (seeded ids are 1..=stored).
    let step = (stored / 200).max(1);
    paths.extend(
        (1..=200)
            .map(|i| (i * step).min(stored))
            .map(|n| format!("/api/v1/invoices/00000000-0000-7000-8000-{n:012}")),
    );
    let mut n = 0;
    for _ in 0..5 {
        for path in &paths {
            let r = http.get(format!("{base}{path}")).bearer_auth(key).send().await.unwrap();
            assert!(r.status().is_success(), "{path}: {}", r.status());
            let _ = r.bytes().await.unwrap();
            n += 1;
        }
    }
    n
}

/// Uploads the zip through the API; returns how many invoices were stored.
async fn upload(http: &reqwest::Client, base: &str, key: &str, zip: Vec<u8>) -> usize {
    let r = http
        .post(format!("{base}/api/v1/invoices"))
        .bearer_auth(key)
        .header("content-type", "application/zip")
        .body(zip)
        .timeout(Duration::from_secs(3_600))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body: serde_json::Value = r.json().await.unwrap_or_default();
    assert!(status.is_success(), "upload: {status} {body}");
    body["invoices"].as_array().map_or(0, Vec::len)
}

/// A zip of `n` copies of the official sample, each with its own number.
fn zip_of(n: usize) -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/crates/ksef-client/tests/fixtures/examples/FA_3_Przyklad_1.xml"
    );
    let sample = std::fs::read_to_string(path).unwrap();
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for i in 0..n {
        w.start_file(format!("fv-{i}.xml"), opts).unwrap();
        w.write_all(sample.replace("<P_2>FV2026/02/150</P_2>", &format!("<P_2>MEM/{i}</P_2>")).as_bytes())
            .unwrap();
    }
    w.finish().unwrap().into_inner()
}
