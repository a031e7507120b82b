//! Audit export of a long period: events per second written as CSV, JSON and PDF, and the peak
//! resident memory of each export (the report streams in keyset pages, so the peak should not
//! grow with the number of events).
//!
//! `cargo bench --bench audit_export` (SQLite; `KSEF_GW_BENCH_PG=postgres://…` adds PostgreSQL;
//! `BENCH_EVENTS=N` sets the trail's length, 200 000 by default).

use std::io::{self, Write};
use std::time::Instant;

use serde_json::json;

use ksef_gateway::config::Settings;
use ksef_gateway::domain::Lang;
use ksef_gateway::service::access::Caller;
use ksef_gateway::service::audit::{self, AuditActor, AuditEntry};
use ksef_gateway::service::reports::{self, ReportFormat, ReportQuery};

/// Counts bytes and throws them away.
struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0 += b.len() as u64;
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Peak resident set size of this process in MiB, since the last [`reset_peak`].
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// Resets the kernel's peak RSS mark (Linux `clear_refs` value 5).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn run(rt: &tokio::runtime::Runtime, label: &str, url: String, dir: &std::path::Path, n: usize) {
    let mut s = Settings { data_dir: dir.to_path_buf(), ..Settings::default() };
    s.database.url = url;
    s.vault.master_key_file = dir.join("master.key");
    let st = match ksef_gateway::server::bootstrap(s) {
        Ok(st) => st,
        Err(e) => return eprintln!("{label}: cannot start: {e}"),
    };
    let started = Instant::now();
    const BATCH: usize = 10_000;
    for b in 0..n.div_ceil(BATCH) {
        let rows = BATCH.min(n - b * BATCH);
        let res = st.db.blocking_tx(|c| {
            audit::record_many(
                c,
                (0..rows).map(|i| AuditEntry {
                    actor: &AuditActor::System,
                    client_id: None,
                    action: "send.invoice_accepted",
                    subject: None,
                    payload: json!({"ksef_number": format!("9999999999-20261203-{:012X}-00", b * BATCH + i),
                                    "upo_sha256": "3q2+7w==", "session_reference": "20261203-SO-0000000000"}),
                }),
            )
        });
        if let Err(e) = res {
            return eprintln!("{label}: {e}");
        }
    }
    println!("{label}: {n} events recorded in {:.1} s", started.elapsed().as_secs_f64());
    for format in [ReportFormat::Csv, ReportFormat::Json, ReportFormat::Pdf] {
        reset_peak();
        let before = peak_rss_mib();
        let started = Instant::now();
        let plan = match rt.block_on(reports::plan(
            &st,
            &Caller::Operator,
            ReportQuery::default(),
            format,
            Lang::Pl,
        )) {
            Ok(p) => p,
            Err(e) => return eprintln!("{label}: {e}"),
        };
        let mut out = Counter(0);
        let written = match reports::write(&st.db, &plan, format, &mut out, &mut |_| {}) {
            Ok(w) => w,
            Err(e) => return eprintln!("{label}: {e}"),
        };
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{label} {:>4}: {written} events in {secs:.2} s = {:.0} events/s, {:.1} MiB out, peak RSS {:.0} MiB (before {:.0} MiB)",
            format.as_str(),
            written as f64 / secs,
            out.0 as f64 / 1_048_576.0,
            peak_rss_mib(),
            before
        );
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let n = std::env::var("BENCH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(200_000);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    run(&rt, "SQLite", url, dir.path(), n);
    if let Ok(pg) = std::env::var("KSEF_GW_BENCH_PG") {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        run(&rt, "PostgreSQL", pg, dir.path(), n);
    }
}
