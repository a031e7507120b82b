//! Runs pre-flight once on one worst-case shape of `tests/it/shapes.rs`, for an instruction
//! count that does not depend on the machine's load (criterion's times do):
//!
//! ```text
//! cargo build --release -p ksef-fa3 --example shape_once
//! valgrind --tool=callgrind target/release/examples/shape_once many_tiny_elements
//! ```
//!
//! Run it once with a name no shape has (e.g. `none`) for the fixed cost (schema compile,
//! building the shapes) to subtract.

use chrono::NaiveDate;
use ksef_fa3::{preflight, Fa3Schema, PreflightContext};

#[path = "../tests/it/shapes.rs"]
mod shapes;

fn main() -> Result<(), ksef_fa3::Fa3Error> {
    let wanted = std::env::args().nth(1).unwrap_or_default();
    let schema = Fa3Schema::load()?;
    let ctx = PreflightContext {
        client_nip: Some("9999999999".to_owned()),
        today: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap_or_default(),
    };
    for (name, xml) in shapes::all().into_iter().filter(|(name, _)| *name == wanted) {
        let report = preflight(&xml, &schema, &ctx);
        let first = report.findings.first().map_or("none", |f| f.code);
        println!("{name}: {} finding(s), first {first}", report.findings.len());
    }
    Ok(())
}
