//! Client-side rate limits per (NIP, KSeF endpoint class), enforced before calling KSeF, plus the
//! penalty box a 429's Retry-After puts a NIP into.
//!
//! KSeF counts sliding windows of 1 s, 1 min and 1 h at once. A GCRA (governor) with burst `b`
//! and a rate of `r` per window lets through up to `b + r` calls in any one window, whether the
//! window is a true sliding log or a weighted pair of fixed windows (the estimate is at most
//! `b + r - b·f` a fraction `f` into the window), so `b + r` = the limit is never exceeded.
//! A client's own windows are split half burst, half rate: a client does a handful of calls per
//! turn and starts them at once. The per-IP window of the public (authentication) endpoints is
//! shared by every client of the process, so it is almost all rate (2 at once, then 58 a
//! second), handed out one request at a time right before it goes out (the KSeF client asks,
//! [`ksef_client::PublicPacer`]), and only a few logins run at once ([`Limits::login_slot`]), so
//! they finish one after the other: 100 clients authenticate in 6.9 s, against the 6.7 s that
//! 400 calls take at KSeF's 60 a second.

use std::collections::HashMap;
use std::future::Future;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::config::sender::SenderSettings;
use crate::domain::Nip;

/// KSeF's rate-limit groups the senders call (API_BRIEF §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndpointClass {
    OnlineSession,
    OnlineSessionClose,
    InvoiceSend,
    BatchSession,
    BatchSessionClose,
    InvoiceStatus,
    SessionInvoiceList,
    SessionMisc,
    /// The purchase side: metadata query, exports, export status, download by KSeF number.
    MetadataQuery,
    Export,
    ExportStatus,
    InvoiceDownload,
    /// `/collective-identifiers*` (a person creates a collective identifier, or reads them).
    CollectiveIdentifier,
}

const WINDOWS: [Duration; 3] = [Duration::from_secs(1), Duration::from_secs(60), Duration::from_secs(3600)];

/// KSeF's public endpoints (authentication) allow 60 requests per second per client IP, shared
/// by every NIP this process works for.
const PUBLIC_PER_SECOND: u32 = 60;

/// Share of a window's limit given as burst; the rest is the steady rate.
const PER_CLIENT_BURST: f64 = 0.5;
/// KSeF counts its windows like the simulator (weighted fixed windows) or stricter; at the full
/// steady rate a request that reaches KSeF a little later than the one after it would already
/// be over. Two requests of the limit are left for that jitter (see docs/ENGINE.md).
const PUBLIC_BURST: f64 = 1.0 / 30.0;

/// Logins (and refreshes) running at once. A login is four public calls one after the other;
/// a few at a time keep the window full (each call takes well under 4 / 58 s) while the first
/// clients get their tokens, and start sending, seconds before the last.
const LOGINS_AT_ONCE: usize = 4;

pub struct Limits {
    by_class: HashMap<EndpointClass, Vec<DefaultKeyedRateLimiter<Nip>>>,
    public: DefaultDirectRateLimiter,
    /// Fair (first come, first served) turn at the public window.
    public_queue: tokio::sync::Mutex<()>,
    login_slots: Semaphore,
    /// KSeF's Retry-After on a public endpoint: its limit is per IP, so every login waits.
    public_blocked_until: Mutex<Option<Instant>>,
    blocked_until: Mutex<HashMap<Nip, Instant>>,
}

impl Limits {
    pub fn new(s: &SenderSettings) -> Self {
        let l = &s.limits;
        let table = [
            (EndpointClass::OnlineSession, l.online_session),
            (EndpointClass::OnlineSessionClose, l.online_session_close),
            (EndpointClass::InvoiceSend, l.invoice_send),
            (EndpointClass::BatchSession, l.batch_session),
            (EndpointClass::BatchSessionClose, l.batch_session_close),
            (EndpointClass::InvoiceStatus, l.invoice_status),
            (EndpointClass::SessionInvoiceList, l.session_invoice_list),
            (EndpointClass::SessionMisc, l.session_misc),
            (EndpointClass::MetadataQuery, l.metadata_query),
            (EndpointClass::Export, l.export),
            (EndpointClass::ExportStatus, l.export_status),
            (EndpointClass::InvoiceDownload, l.invoice_download),
            (EndpointClass::CollectiveIdentifier, l.collective_identifier),
        ];
        let by_class = table
            .into_iter()
            .map(|(class, per_window)| {
                let limiters = per_window
                    .iter()
                    .zip(WINDOWS)
                    .map(|(&n, window)| {
                        RateLimiter::keyed(quota(n, s.rate_limit_scale, window, PER_CLIENT_BURST))
                    })
                    .collect();
                (class, limiters)
            })
            .collect();
        let public =
            RateLimiter::direct(quota(PUBLIC_PER_SECOND, s.rate_limit_scale, WINDOWS[0], PUBLIC_BURST));
        Self {
            by_class,
            public,
            public_queue: tokio::sync::Mutex::new(()),
            login_slots: Semaphore::new(LOGINS_AT_ONCE),
            public_blocked_until: Mutex::new(None),
            blocked_until: Mutex::new(HashMap::new()),
        }
    }

    /// Waits until one more request to the public (per-IP) endpoints may go out.
    pub async fn acquire_public(&self) {
        let _turn = self.public_queue.lock().await;
        if let Some(wait) = self.public_penalty() {
            tokio::time::sleep(wait).await;
        }
        self.public.until_ready().await;
    }

    /// A turn to log in (or refresh), held until the login ends.
    pub async fn login_slot(&self) -> Option<SemaphorePermit<'_>> {
        // The semaphore is never closed, so this is always Some.
        self.login_slots.acquire().await.ok()
    }

    /// KSeF answered a public (authentication) call with 429: no public call from this process
    /// goes out before `retry_after` has passed, whichever client it is for.
    pub fn penalize_public(&self, retry_after: Duration) {
        let until = Instant::now() + retry_after;
        let mut blocked = crate::locks::lock(&self.public_blocked_until);
        *blocked = Some(blocked.map_or(until, |b| b.max(until)));
    }

    /// How long the public endpoints are still blocked by a 429, if at all.
    fn public_penalty(&self) -> Option<Duration> {
        let blocked = crate::locks::lock(&self.public_blocked_until);
        blocked.and_then(|until| until.checked_duration_since(Instant::now())).filter(|d| !d.is_zero())
    }

    /// Waits until `nip` may call an endpoint of `class`.
    pub async fn acquire(&self, nip: &Nip, class: EndpointClass) {
        if let Some(wait) = self.penalty(nip) {
            tokio::time::sleep(wait).await;
        }
        for limiter in self.by_class.get(&class).into_iter().flatten() {
            limiter.until_key_ready(nip).await;
        }
    }

    /// Like [`Limits::acquire`], but gives up (false) when the call could not go out within
    /// `max_wait`: the purchase sync yields the turn rather than sit out an hourly window.
    /// A window passed before giving up has counted the call; KSeF's limits stay respected.
    pub async fn acquire_within(&self, nip: &Nip, class: EndpointClass, max_wait: Duration) -> bool {
        if self.penalty(nip).is_some_and(|p| p > max_wait) {
            return false;
        }
        tokio::time::timeout(max_wait, self.acquire(nip, class)).await.is_ok()
    }

    /// KSeF answered 429: no calls for `nip` until `retry_after` has passed.
    pub fn penalize(&self, nip: &Nip, retry_after: Duration) {
        let until = Instant::now() + retry_after;
        let mut blocked = crate::locks::lock(&self.blocked_until);
        let entry = blocked.entry(nip.clone()).or_insert(until);
        *entry = (*entry).max(until);
    }

    /// How long `nip` is still blocked by a 429, if at all.
    pub fn penalty(&self, nip: &Nip) -> Option<Duration> {
        let mut blocked = crate::locks::lock(&self.blocked_until);
        let until = *blocked.get(nip)?;
        let now = Instant::now();
        if until <= now {
            blocked.remove(nip);
            return None;
        }
        Some(until - now)
    }

    /// Forgets idle keys so memory stays bounded with many clients.
    pub fn prune(&self) {
        for limiter in self.by_class.values().flatten() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

impl ksef_client::PublicPacer for Limits {
    fn pace(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(self.acquire_public())
    }

    fn refused(&self, retry_after: Duration) {
        self.penalize_public(retry_after);
    }
}

fn quota(limit: u32, scale: f64, window: Duration, burst_share: f64) -> Quota {
    let scaled = ((f64::from(limit) * scale).floor() as u32).max(1);
    let burst = ((f64::from(scaled) * burst_share).floor() as u32).max(1);
    let rate = scaled.saturating_sub(burst).max(1);
    let period = window / rate;
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(period).unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN)).allow_burst(burst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_never_admits_more_than_its_limit() {
        // 30 per minute: 15 at once, then one every 4 s → at most 30 in any 60 s.
        let q = quota(30, 1.0, Duration::from_secs(60), PER_CLIENT_BURST);
        assert_eq!(q.burst_size().get(), 15);
        assert_eq!(q.replenish_interval(), Duration::from_secs(4));
        // The shared public window: 2 at once, then 58 a second.
        let q = quota(60, 1.0, Duration::from_secs(1), PUBLIC_BURST);
        assert_eq!(q.burst_size().get(), 2);
        assert_eq!(q.replenish_interval(), Duration::from_secs(1) / 58);
        // A scale of 10 multiplies, and tiny limits still allow one call.
        assert_eq!(quota(30, 10.0, Duration::from_secs(60), PER_CLIENT_BURST).burst_size().get(), 150);
        assert_eq!(quota(1, 1.0, Duration::from_secs(1), PER_CLIENT_BURST).burst_size().get(), 1);
    }

    #[tokio::test]
    async fn a_429_on_a_login_holds_back_every_login_for_retry_after() {
        let limits = Limits::new(&SenderSettings::default());
        let start = Instant::now();
        limits.acquire_public().await;
        assert!(start.elapsed() < Duration::from_millis(200), "no wait before a 429");
        limits.penalize_public(Duration::from_millis(300));
        // A shorter Retry-After later does not shorten the block.
        limits.penalize_public(Duration::from_millis(10));
        let blocked = Instant::now();
        limits.acquire_public().await;
        assert!(blocked.elapsed() >= Duration::from_millis(290), "waited {:?}", blocked.elapsed());
        // The NIPs' own windows are not touched by the public block.
        assert!(limits.penalty(&Nip::exact("5260250274").unwrap_or_else(|e| panic!("{e}"))).is_none());
    }
}
