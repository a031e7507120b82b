//! The gateway's intake path on any bytes: a body is either a ZIP package (every entry goes
//! through pre-flight) or one invoice. No panic; whatever is accepted respects the limits, and
//! a report without errors always has the facts the gateway stores.
#![no_main]

use std::sync::OnceLock;

use chrono::NaiveDate;
use ksef_fa3::package::{read_zip, PackageLimits};
use ksef_fa3::{preflight, Fa3Schema, PreflightContext};
use libfuzzer_sys::fuzz_target;

fn schema() -> &'static Fa3Schema {
    static SCHEMA: OnceLock<Fa3Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| Fa3Schema::load().unwrap_or_else(|e| panic!("schema: {e}")))
}

fn check(xml: &[u8]) {
    let ctx = PreflightContext {
        client_nip: Some("9999999999".to_owned()),
        today: NaiveDate::from_ymd_opt(2026, 6, 1).unwrap_or_default(),
    };
    let report = preflight(xml, schema(), &ctx);
    assert!(!report.is_valid() || report.facts.is_some(), "valid report without facts");
    assert!(report.findings.iter().all(|f| !f.code.is_empty() && !f.message_pl.is_empty()));
}

fuzz_target!(|body: &[u8]| {
    if body.starts_with(b"PK") {
        let limits = PackageLimits { max_entries: 32, max_entry_bytes: 256 * 1024, max_total_bytes: 1024 * 1024, max_ratio: 200 };
        if let Ok(entries) = read_zip(body, &limits) {
            for e in entries {
                assert!(e.bytes.len() as u64 <= limits.max_entry_bytes);
                check(&e.bytes);
            }
        }
    } else {
        check(body);
    }
});
