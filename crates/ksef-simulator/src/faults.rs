//! Fault injection: latency, random 5xx, outage windows, failing closes, invoices held in 150,
//! 429 bursts (optionally on one limit group), stuck, expired and corrupted exports, a stalled HWM.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::app::AppState;

/// Which requests an outage affects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutageScope {
    /// Every `/v2` route answers 503.
    All,
    /// Only `/v2/auth/*` answers 503.
    Auth,
}

/// What a session close does after committing the close.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseFault {
    /// Commit, then answer 502 Bad Gateway.
    BadGateway,
    /// Commit, then hang for `hang_ms` before answering 504.
    Timeout,
}

/// The current fault settings (also the body of `GET/PUT /sim/admin/faults`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultSettings {
    /// Added to every `/v2` request.
    pub latency_ms: u64,
    /// Share of `/v2` requests answered with a random 500/502/503.
    pub error_rate: f64,
    /// Outage window: from..until, scope.
    pub outage: Option<Outage>,
    /// Fault applied to the next `close_fault_count` session closes.
    pub close_fault: Option<CloseFault>,
    pub close_fault_count: u32,
    /// How long a `timeout` close hangs.
    pub hang_ms: u64,
    /// New invoices stay in status 150 until this is switched off.
    pub hold_invoices: bool,
    /// The next this many `/v2` requests get the front proxy's HTML 503 page (not KSeF's JSON).
    pub html_503_next: u32,
    /// HTTP status of those HTML pages: 502, 503 (default) or 504.
    pub html_status: Option<u16>,
    /// The next this many invoice sends pause their online session (KSeF 2.8's 21184 "Sesja
    /// tymczasowo niedostępna"): that send and every later one into the session answer 21184.
    pub pause_next_online_sessions: u32,
    /// The next this many `/v2` requests get 429 with `Retry-After: rate_limit_retry_after_s`.
    pub rate_limit_next: u32,
    pub rate_limit_retry_after_s: u64,
    /// Limits the 429 burst to one rate-limit group, e.g. `invoiceExport`, `invoiceMetadata`.
    pub rate_limit_group: Option<String>,
    /// New exports stay at status 100 (and count as running) until this is switched off.
    pub hold_exports: bool,
    /// The next this many export part downloads serve a corrupted byte (hash mismatch).
    pub corrupt_export_parts: u32,
    /// Export status retention in seconds, overriding the configuration (0: every export is 410).
    pub export_retention_s: Option<u64>,
    /// Permanent storage stalls: the high-water mark stays at most at this moment.
    pub hwm_frozen_at: Option<DateTime<Utc>>,
}

/// A one-off answer taken from a burst of scripted faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Burst {
    /// The front proxy's HTML error page with this status (502, 503 or 504).
    Html(u16),
    /// 429 with this Retry-After, in seconds.
    TooManyRequests(u64),
}

/// An outage window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outage {
    pub scope: OutageScope,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// Scripting handle for faults; the admin routes use the same one.
#[derive(Clone)]
pub struct FaultHandle {
    pub(crate) state: Arc<AppState>,
}

impl FaultHandle {
    fn edit(&self, f: impl FnOnce(&mut FaultSettings)) {
        f(&mut self.state.faults.write());
    }

    /// Current settings.
    pub fn settings(&self) -> FaultSettings {
        self.state.faults.read().clone()
    }

    /// Replaces all settings (releases held invoices and exports when their holds go off).
    pub fn apply(&self, settings: FaultSettings) {
        let (invoices, exports) = (!settings.hold_invoices, !settings.hold_exports);
        *self.state.faults.write() = settings;
        if invoices {
            self.release_held_invoices();
        }
        if exports {
            self.release_held_exports();
        }
    }

    /// Adds `latency` to every request.
    pub fn set_latency(&self, latency: Duration) {
        self.edit(|s| s.latency_ms = latency.as_millis() as u64);
    }

    /// Answers a share of requests with a 5xx.
    pub fn set_error_rate(&self, rate: f64) {
        self.edit(|s| s.error_rate = rate.clamp(0.0, 1.0));
    }

    /// An outage starting after `starts_in` and lasting `length`.
    pub fn outage(&self, scope: OutageScope, starts_in: Duration, length: Duration) {
        let from = Utc::now() + chrono::Duration::from_std(starts_in).unwrap_or_default();
        let until = from + chrono::Duration::from_std(length).unwrap_or_default();
        self.edit(|s| s.outage = Some(Outage { scope, from, until }));
    }

    /// Ends any outage.
    pub fn end_outage(&self) {
        self.edit(|s| s.outage = None);
    }

    /// The next `count` closes commit and then fail with `fault`.
    pub fn fail_next_closes(&self, fault: CloseFault, count: u32, hang: Duration) {
        self.edit(|s| {
            s.close_fault = Some(fault);
            s.close_fault_count = count;
            s.hang_ms = hang.as_millis() as u64;
        });
    }

    /// Holds new invoices in 150 (`true`) or releases every held invoice (`false`).
    pub fn hold_invoices(&self, hold: bool) {
        self.edit(|s| s.hold_invoices = hold);
        if !hold {
            self.release_held_invoices();
        }
    }

    /// Forgets every access, refresh and authentication token (a new signing secret, auth
    /// operations dropped): the next call with an old token gets 401, as after a KSeF restart.
    /// KSeF tokens, sessions and invoices stay.
    pub fn forget_tokens(&self) {
        self.state.jwt.rotate();
        let mut db = self.state.db.lock();
        db.auth_ops.clear();
        db.challenges.clear();
    }

    /// Every access token issued so far expires now; refresh tokens stay valid.
    pub fn expire_access_tokens(&self) {
        self.state.jwt.expire_access_tokens();
    }

    /// Revokes every authentication session of `nip` (`DELETE /auth/sessions/{ref}`): their
    /// refresh tokens are refused from now on (21301); live access tokens survive to expiry.
    pub fn revoke_auth_sessions(&self, nip: &str) {
        let mut db = self.state.db.lock();
        for op in db.auth_ops.values_mut().filter(|op| op.nip == nip) {
            op.revoked = true;
        }
    }

    /// Forgets one session and the invoices received in it (21173 for it from now on).
    /// Returns how many invoices were forgotten.
    pub fn forget_session(&self, reference: &str) -> usize {
        self.forget(|s| s.reference == reference)
    }

    /// A restart with memory lost: every token, session and invoice received is forgotten; KSeF
    /// tokens (credentials) stay. Returns how many invoices were forgotten.
    pub fn forget_everything(&self) -> usize {
        self.forget_tokens();
        self.forget(|_| true)
    }

    fn forget(&self, which: impl Fn(&crate::state::Session) -> bool) -> usize {
        let nips = self.state.db.lock().forget_sessions(which);
        for nip in &nips {
            self.state.counters.forgotten(nip);
        }
        nips.len()
    }

    /// The next `count` requests get the front proxy's HTML 503 page.
    pub fn html_503_burst(&self, count: u32) {
        self.html_burst(count, 503);
    }

    /// The next `count` requests get the front proxy's HTML page with `status` (502, 503, 504).
    pub fn html_burst(&self, count: u32, status: u16) {
        self.edit(|s| {
            s.html_503_next = count;
            s.html_status = Some(status);
        });
    }

    /// The next `count` invoice sends pause their online sessions (21184 from then on there).
    pub fn pause_next_online_sessions(&self, count: u32) {
        self.edit(|s| s.pause_next_online_sessions = count);
    }

    /// Whether a send into `session` meets 21184: the session was paused, or this send pauses it.
    pub(crate) fn session_paused(&self, db: &mut crate::state::Db, session: &str) -> bool {
        if db.paused_sessions.contains(session) {
            return true;
        }
        let mut s = self.state.faults.write();
        if s.pause_next_online_sessions == 0 {
            return false;
        }
        s.pause_next_online_sessions -= 1;
        db.paused_sessions.insert(session.to_owned());
        self.state.counters.fault();
        true
    }

    /// The next `count` requests get 429 with `Retry-After: retry_after`.
    pub fn rate_limit_storm(&self, count: u32, retry_after: Duration) {
        self.edit(|s| {
            s.rate_limit_next = count;
            s.rate_limit_retry_after_s = retry_after.as_secs().max(1);
        });
    }

    /// The next `count` requests of the rate-limit `group` (e.g. `invoiceExport`) get 429.
    pub fn rate_limit_storm_on(&self, group: &str, count: u32, retry_after: Duration) {
        self.rate_limit_storm(count, retry_after);
        self.edit(|s| s.rate_limit_group = Some(group.to_owned()));
    }

    /// Holds new exports at status 100 (`true`), or lets every held export finish (`false`).
    pub fn hold_exports(&self, hold: bool) {
        self.edit(|s| s.hold_exports = hold);
        if !hold {
            self.release_held_exports();
        }
    }

    fn release_held_exports(&self) {
        for e in self.state.db.lock().exports.values_mut() {
            e.stuck = false;
        }
    }

    /// The next `count` export part downloads are corrupted in transit.
    pub fn corrupt_export_parts(&self, count: u32) {
        self.edit(|s| s.corrupt_export_parts = count);
    }

    /// Export statuses are kept `retention` (`None`: the configured 7 days); zero expires every export.
    pub fn set_export_retention(&self, retention: Option<Duration>) {
        self.edit(|s| s.export_retention_s = retention.map(|r| r.as_secs()));
    }

    /// Stalls permanent storage: the HWM stays at most at `at` (`None`: it follows now again).
    pub fn freeze_hwm(&self, at: Option<DateTime<Utc>>) {
        self.edit(|s| s.hwm_frozen_at = at);
    }

    /// Takes one corrupted-part fault, if any is scripted.
    pub(crate) fn take_corrupt_part(&self) -> bool {
        let mut s = self.state.faults.write();
        let take = s.corrupt_export_parts > 0;
        s.corrupt_export_parts = s.corrupt_export_parts.saturating_sub(1);
        take
    }

    /// Takes one answer from a scripted burst for a request of the rate-limit `group`, if one is under way.
    pub(crate) fn take_burst(&self, group: &str) -> Option<Burst> {
        let mut s = self.state.faults.write();
        if s.html_503_next > 0 {
            s.html_503_next -= 1;
            return Some(Burst::Html(s.html_status.filter(|c| [502, 503, 504].contains(c)).unwrap_or(503)));
        }
        if s.rate_limit_next > 0 && s.rate_limit_group.as_deref().is_none_or(|g| g == group) {
            s.rate_limit_next -= 1;
            return Some(Burst::TooManyRequests(s.rate_limit_retry_after_s.max(1)));
        }
        None
    }

    /// Clears every fault.
    pub fn reset(&self) {
        self.apply(FaultSettings::default());
    }

    fn release_held_invoices(&self) {
        let now = Utc::now();
        for inv in self.state.db.lock().invoices.values_mut().filter(|i| i.stuck) {
            inv.stuck = false;
            inv.ready_at = inv.ready_at.min(now);
        }
    }
}

impl FaultSettings {
    /// The outage scope in force at `now`, if any.
    pub fn outage_at(&self, now: DateTime<Utc>) -> Option<OutageScope> {
        self.outage.as_ref().filter(|o| o.from <= now && now < o.until).map(|o| o.scope)
    }
}
