//! Counters that fault tests use to prove nothing was lost or sent twice.

use std::collections::BTreeMap;

use parking_lot::Mutex;
use serde::Serialize;

/// Counts for one context NIP (or in total).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NipCounters {
    /// Invoices that passed the synchronous checks and got an invoice reference.
    pub received: u64,
    /// Invoices accepted (KSeF number assigned).
    pub accepted: u64,
    /// Rejected invoices by status code (430, 435, 440, 410, ...).
    pub rejected: BTreeMap<u16, u64>,
    /// Duplicates detected (also counted under `rejected[440]`).
    pub duplicates: u64,
    /// 429 answers served.
    pub rate_limited: u64,
    /// Received invoices the simulator later forgot (a session forgotten or memory lost).
    pub forgotten: u64,
    /// Full authentications that ended with tokens (redeemed).
    pub authentications: u64,
    /// Access tokens refreshed with a refresh token.
    pub refreshes: u64,
}

/// A snapshot of all counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    pub total: NipCounters,
    pub per_nip: BTreeMap<String, NipCounters>,
    /// 5xx answers produced by fault injection (random errors, outages, close faults).
    pub faults_injected: u64,
}

/// Thread-safe counter store.
#[derive(Default)]
pub struct CounterStore(Mutex<Counters>);

impl CounterStore {
    fn update(&self, nip: &str, f: impl Fn(&mut NipCounters)) {
        let mut c = self.0.lock();
        f(&mut c.total);
        f(c.per_nip.entry(nip.to_owned()).or_default());
    }

    pub fn received(&self, nip: &str) {
        self.update(nip, |c| c.received += 1);
    }

    pub fn accepted(&self, nip: &str) {
        self.update(nip, |c| c.accepted += 1);
    }

    pub fn rejected(&self, nip: &str, code: u16) {
        self.update(nip, |c| {
            *c.rejected.entry(code).or_default() += 1;
            if code == 440 {
                c.duplicates += 1;
            }
        });
    }

    pub fn authenticated(&self, nip: &str) {
        self.update(nip, |c| c.authentications += 1);
    }

    pub fn refreshed(&self, nip: &str) {
        self.update(nip, |c| c.refreshes += 1);
    }

    pub fn forgotten(&self, nip: &str) {
        self.update(nip, |c| c.forgotten += 1);
    }

    /// A 429 served; `key` is the context NIP, or `ip:<addr>` for public endpoints.
    pub fn rate_limited(&self, key: &str) {
        self.update(key, |c| c.rate_limited += 1);
    }

    pub fn fault(&self) {
        self.0.lock().faults_injected += 1;
    }

    pub fn snapshot(&self) -> Counters {
        self.0.lock().clone()
    }

    pub fn reset(&self) {
        *self.0.lock() = Counters::default();
    }
}
