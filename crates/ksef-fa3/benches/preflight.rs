//! Pre-flight throughput over the 21 official samples (XSD + all semantic checks).
//!
//! `cargo bench -p ksef-fa3 --bench preflight` prints criterion's per-sample-set time and
//! throughput (elem/s = invoices per second on one thread), then a measurement with one
//! worker per available core, each with its own libxml2 validation context.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ksef_fa3::{preflight, Fa3Schema, PreflightContext};

fn samples() -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fa3");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    files.iter().filter_map(|path| std::fs::read(path).ok()).collect()
}

fn context() -> PreflightContext {
    PreflightContext {
        client_nip: Some("9999999999".to_owned()),
        today: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap_or_default(),
    }
}

/// Invoices per second with one thread per core, over `window`.
fn parallel_rate(schema: &Fa3Schema, invoices: &[Vec<u8>], window: Duration) {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let ctx = context();
    let started = Instant::now();
    let done: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut count = 0;
                    while started.elapsed() < window {
                        for xml in invoices {
                            std::hint::black_box(preflight(xml, schema, &ctx));
                            count += 1;
                        }
                    }
                    count
                })
            })
            .collect();
        workers.into_iter().filter_map(|w| w.join().ok()).sum()
    });
    println!(
        "preflight on {threads} threads: {:.0} invoices/s",
        done as f64 / started.elapsed().as_secs_f64()
    );
}

fn bench(c: &mut Criterion) {
    let Ok(schema) = Fa3Schema::load() else {
        eprintln!("the FA(3) schema does not compile");
        return;
    };
    let invoices = samples();
    let ctx = context();
    let mut group = c.benchmark_group("preflight");
    group.throughput(Throughput::Elements(invoices.len() as u64));
    group.bench_function("official_samples", |b| {
        b.iter(|| {
            for xml in &invoices {
                std::hint::black_box(preflight(xml, &schema, &ctx));
            }
        });
    });
    group.finish();
    parallel_rate(&schema, &invoices, Duration::from_secs(3));
}

criterion_group!(benches, bench);
criterion_main!(benches);
