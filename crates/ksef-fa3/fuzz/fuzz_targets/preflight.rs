//! Any bytes through the whole pre-flight: no panic, and a report without errors has facts.
#![no_main]

use std::sync::OnceLock;

use chrono::NaiveDate;
use ksef_fa3::{preflight, Fa3Schema, PreflightContext};
use libfuzzer_sys::fuzz_target;

fn schema() -> &'static Fa3Schema {
    static SCHEMA: OnceLock<Fa3Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| Fa3Schema::load().unwrap_or_else(|e| panic!("schema: {e}")))
}

fuzz_target!(|xml: &[u8]| {
    let ctx = PreflightContext {
        client_nip: Some("9999999999".to_owned()),
        today: NaiveDate::from_ymd_opt(2026, 6, 1).unwrap_or_default(),
    };
    let report = preflight(xml, schema(), &ctx);
    assert!(!report.is_valid() || report.facts.is_some(), "valid report without facts");
    for finding in &report.findings {
        assert!(!finding.code.is_empty() && !finding.message_pl.is_empty() && !finding.message_en.is_empty());
    }
});
