//! Intake throughput: 10,000 FA(3) invoices through the full pre-flight checks (XSD, NIP,
//! dates, duplicates against the database, sums) and stored with their bytes, timeline and
//! audit events, on SQLite (and PostgreSQL when `KSEF_GW_BENCH_PG` names a server).
//!
//! `cargo bench --bench intake` prints invoices per second for one zip of 10,000 and for
//! 1,000 single-invoice uploads, with the load average at the time (the machine may be
//! shared). `BENCH_BACKEND=pg` runs it on PostgreSQL only (the server at `KSEF_GW_TEST_PG`).

#![expect(clippy::unwrap_used, reason = "a benchmark states its expectations with unwrap")]

#[path = "../tests/it/common.rs"]
#[expect(dead_code, reason = "the benchmark uses part of the test support")]
mod common;

use std::io::Write as _;
use std::time::Instant;

use secrecy::SecretString;

use ksef_gateway::config::Settings;
use ksef_gateway::domain::{KsefTarget, Nip, SendPolicy};
use ksef_gateway::service::access::Caller;
use ksef_gateway::service::clients::{add_client, NewClientInput};
use ksef_gateway::service::intake::{submit, Source};

const NIP: &str = "9999999999";

fn invoices(n: usize, prefix: &str) -> Vec<Vec<u8>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/crates/ksef-client/tests/fixtures/examples/FA_3_Przyklad_1.xml"
    );
    let sample = std::fs::read_to_string(path).unwrap_or_default();
    (0..n)
        .map(|i| sample.replace("<P_2>FV2026/02/150</P_2>", &format!("<P_2>{prefix}/{i}</P_2>")).into_bytes())
        .collect()
}

fn zip(files: &[Vec<u8>]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (i, f) in files.iter().enumerate() {
        let _ = w.start_file(format!("fv-{i}.xml"), opts);
        let _ = w.write_all(f);
    }
    w.finish().map(|c| c.into_inner()).unwrap_or_default()
}

async fn run(label: &str, url: String, dir: &std::path::Path) {
    let mut s = Settings { data_dir: dir.to_path_buf(), ..Settings::default() };
    s.database.url = url;
    s.vault.master_key_file = dir.join("master.key");
    let st = match ksef_gateway::server::bootstrap(s) {
        Ok(st) => st,
        Err(e) => return eprintln!("{label}: cannot start: {e}"),
    };
    let input = NewClientInput {
        nip: Nip::parse(NIP).unwrap_or_else(|_| unreachable!()),
        name: "Bench".into(),
        ksef: KsefTarget::Test,
        policy: SendPolicy::Manual,
    };
    let client = match add_client(&st, input, SecretString::from("bench-token-0123456789abcdef"), None).await
    {
        Ok(c) => c,
        Err(e) => return eprintln!("{label}: {e}"),
    };
    let batch = zip(&invoices(10_000, "ZIP"));
    let started = Instant::now();
    let stored =
        submit(&st, &Caller::Operator, &client.id, batch, Source::Api).await.map(|r| r.len()).unwrap_or(0);
    let secs = started.elapsed().as_secs_f64();
    let load = load_average();
    println!(
        "{label}: one zip of {stored} invoices checked and stored in {secs:.2} s = {:.0} invoices/s (load average {load})",
        stored as f64 / secs
    );
    println!(
        "| intake, one zip of {stored} invoices, {label} | {:.0} invoices/s ({secs:.2} s; load average {load}) |",
        stored as f64 / secs
    );
    let singles = invoices(1_000, "ONE");
    let started = Instant::now();
    let mut ok = 0;
    for xml in singles {
        ok +=
            submit(&st, &Caller::Operator, &client.id, xml, Source::Api).await.map(|r| r.len()).unwrap_or(0);
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{label}: {ok} single-invoice uploads in {secs:.2} s = {:.0} invoices/s (load average {})",
        ok as f64 / secs,
        load_average()
    );
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    if std::env::var("BENCH_BACKEND").as_deref() == Ok("pg") {
        match common::TestDb::new(common::Backend::Pg) {
            Some(db) => rt.block_on(run("PostgreSQL", db.url.clone(), &db.settings().data_dir)),
            None => eprintln!("PostgreSQL: KSEF_GW_TEST_PG=off"),
        }
        return;
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let sqlite = format!("sqlite://{}", dir.path().join("bench.db").display());
    rt.block_on(run("SQLite", sqlite, dir.path()));
    if let Ok(pg) = std::env::var("KSEF_GW_BENCH_PG") {
        let pgdir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        rt.block_on(run("PostgreSQL", pg, pgdir.path()));
    }
}
