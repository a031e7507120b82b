//! The hostile-input gate on worst-case shapes of about 1 MB each (`tests/it/shapes.rs`): many
//! attributes, namespaces, deep nesting, long names, many tiny elements, and documents that sit
//! just inside each bound. Every one must be decided (refused, or validated) in well under 50 ms.
//!
//! `cargo bench -p ksef-fa3 --bench hostile` prints criterion's time per shape (full pre-flight:
//! gate, XSD validation and checks).

use std::time::Duration;

use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ksef_fa3::{preflight, Fa3Schema, PreflightContext};

#[path = "../tests/it/shapes.rs"]
mod shapes;

fn bench(c: &mut Criterion) {
    let Ok(schema) = Fa3Schema::load() else {
        eprintln!("the FA(3) schema does not compile");
        return;
    };
    let ctx = PreflightContext {
        client_nip: Some("9999999999".to_owned()),
        today: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap_or_default(),
    };
    let mut group = c.benchmark_group("hostile");
    group.sample_size(10).measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(300));
    for (name, xml) in shapes::all() {
        group.throughput(Throughput::Bytes(xml.len() as u64));
        group.bench_function(name, |b| b.iter(|| std::hint::black_box(preflight(&xml, &schema, &ctx))));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
