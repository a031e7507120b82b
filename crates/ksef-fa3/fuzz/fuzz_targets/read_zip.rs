//! Any bytes as a ZIP package: no panic, and accepted entries respect the limits.
#![no_main]

use ksef_fa3::package::{read_zip, PackageLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let limits = PackageLimits { max_entries: 64, max_entry_bytes: 64 * 1024, max_total_bytes: 256 * 1024, max_ratio: 200 };
    if let Ok(entries) = read_zip(bytes, &limits) {
        let total: usize = entries.iter().map(|e| e.bytes.len()).sum();
        assert!(total as u64 <= limits.max_total_bytes);
        assert!(entries.iter().all(|e| e.bytes.len() as u64 <= limits.max_entry_bytes && !e.name.contains("..")));
    }
});
