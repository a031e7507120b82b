//! Client-side rate limits per (NIP, KSeF endpoint class), enforced before calling KSeF, plus the
//! penalty box a 429's Retry-After puts a NIP into.
//!
//! KSeF counts sliding windows of 1 s, 1 min and 1 h at once. A GCRA limiter (governor) cannot
//! say "at most n in any window": with burst `b` and rate `r` it admits `b + r` in a window, so it
//! must run at half speed to stay under the limit. These limiters keep the times of the last `n`
//! calls instead and admit a call exactly when the window ending now holds fewer than `n`: a full
//! burst at the start and the full rate after it. The windows are counted slightly longer than
//! KSeF's, so that calls arriving late at KSeF still fit its count.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use std::collections::VecDeque;

use super::settings::SenderSettings;

/// KSeF's rate-limit groups the senders call (API_BRIEF §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndpointClass {
    OnlineSession,
    InvoiceSend,
    BatchSession,
    InvoiceStatus,
    SessionInvoiceList,
    SessionMisc,
}

const WINDOWS: [Duration; 3] = [Duration::from_secs(1), Duration::from_secs(60), Duration::from_secs(3600)];

/// KSeF's public endpoints (authentication) allow 60 requests per second per client IP, shared
/// by every NIP this process works for.
const PUBLIC_PER_SECOND: u32 = 60;

/// At most `limit` calls in any interval of length `window` (plus a safety margin).
#[derive(Debug, Clone)]
struct SlidingWindow {
    limit: usize,
    window: Duration,
    times: VecDeque<Instant>,
}

impl SlidingWindow {
    fn new(limit: u32, scale: f64, window: Duration) -> Self {
        let scaled = ((f64::from(limit) * scale).floor() as usize).max(1);
        // Network jitter moves calls by milliseconds; 2% + 50 ms keeps KSeF's count under the limit.
        Self {
            limit: scaled,
            window: window + window / 50 + Duration::from_millis(50),
            times: VecDeque::new(),
        }
    }

    /// How long until `n` more calls fit (zero when they fit now).
    fn wait(&mut self, now: Instant, n: usize) -> Duration {
        while self.times.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
            self.times.pop_front();
        }
        let n = n.min(self.limit);
        if self.times.len() + n <= self.limit {
            return Duration::ZERO;
        }
        // The oldest call that has to leave the window before `n` more fit.
        let must_leave = self.times.len() + n - self.limit - 1;
        self.times
            .get(must_leave)
            .map_or(Duration::ZERO, |t| self.window.saturating_sub(now.duration_since(*t)))
    }

    fn record(&mut self, now: Instant, n: usize) {
        self.times.extend(std::iter::repeat_n(now, n));
    }

    fn is_idle(&self, now: Instant) -> bool {
        self.times.back().is_none_or(|t| now.duration_since(*t) >= self.window)
    }
}

/// Takes `n` calls from every window, waiting until all of them have room.
async fn take(windows: &Mutex<Vec<SlidingWindow>>, n: usize) {
    loop {
        let wait = {
            let mut w = windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let now = Instant::now();
            let wait = w.iter_mut().map(|win| win.wait(now, n)).max().unwrap_or_default();
            if wait.is_zero() {
                w.iter_mut().for_each(|win| win.record(now, n));
                return;
            }
            wait
        };
        tokio::time::sleep(wait).await;
    }
}

type Windows = std::sync::Arc<Mutex<Vec<SlidingWindow>>>;

pub struct Limits {
    /// The limit per window of each class, as configured (scaled).
    templates: HashMap<EndpointClass, Vec<SlidingWindow>>,
    by_key: Mutex<HashMap<(EndpointClass, String), Windows>>,
    public: Mutex<Vec<SlidingWindow>>,
    blocked_until: Mutex<HashMap<String, Instant>>,
}

impl Limits {
    pub fn new(s: &SenderSettings) -> Self {
        let l = &s.limits;
        let table = [
            (EndpointClass::OnlineSession, l.online_session),
            (EndpointClass::InvoiceSend, l.invoice_send),
            (EndpointClass::BatchSession, l.batch_session),
            (EndpointClass::InvoiceStatus, l.invoice_status),
            (EndpointClass::SessionInvoiceList, l.session_invoice_list),
            (EndpointClass::SessionMisc, l.session_misc),
        ];
        let templates = table
            .into_iter()
            .map(|(class, per_window)| {
                let windows = per_window
                    .iter()
                    .zip(WINDOWS)
                    .map(|(&n, w)| SlidingWindow::new(n, s.rate_limit_scale, w))
                    .collect();
                (class, windows)
            })
            .collect();
        let public = vec![SlidingWindow::new(PUBLIC_PER_SECOND, s.rate_limit_scale, WINDOWS[0])];
        Self {
            templates,
            by_key: Mutex::new(HashMap::new()),
            public: Mutex::new(public),
            blocked_until: Mutex::new(HashMap::new()),
        }
    }

    /// Waits until `calls` requests to the public (per-IP) endpoints may go out.
    pub async fn acquire_public(&self, calls: u32) {
        take(&self.public, usize::try_from(calls).unwrap_or(1).max(1)).await;
    }

    /// Waits until `nip` may call an endpoint of `class`.
    pub async fn acquire(&self, nip: &str, class: EndpointClass) {
        if let Some(wait) = self.penalty(nip) {
            tokio::time::sleep(wait).await;
        }
        let windows = {
            let mut map = self.by_key.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            map.entry((class, nip.to_owned()))
                .or_insert_with(|| {
                    std::sync::Arc::new(Mutex::new(self.templates.get(&class).cloned().unwrap_or_default()))
                })
                .clone()
        };
        take(&windows, 1).await;
    }

    /// KSeF answered 429: no calls for `nip` until `retry_after` has passed.
    pub fn penalize(&self, nip: &str, retry_after: Duration) {
        let until = Instant::now() + retry_after;
        let mut blocked = self.blocked_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = blocked.entry(nip.to_owned()).or_insert(until);
        *entry = (*entry).max(until);
    }

    /// How long `nip` is still blocked by a 429, if at all.
    pub fn penalty(&self, nip: &str) -> Option<Duration> {
        let mut blocked = self.blocked_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
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
        let now = Instant::now();
        let mut map = self.by_key.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.retain(|_, w| {
            !w.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter().all(|win| win.is_idle(now))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_admits_its_limit_at_once_and_never_more() {
        let mut w = SlidingWindow::new(20, 1.0, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..20 {
            assert_eq!(w.wait(t0 + Duration::from_millis(i), 1), Duration::ZERO, "call {i} fits");
            w.record(t0 + Duration::from_millis(i), 1);
        }
        // The 21st waits until the first has left the (slightly longer) window.
        let wait = w.wait(t0 + Duration::from_secs(1), 1);
        assert!(wait > Duration::from_secs(59) && wait <= Duration::from_secs(61), "{wait:?}");
        assert_eq!(w.wait(t0 + Duration::from_secs(62), 1), Duration::ZERO);
        // Reserving several at once waits for as many to leave.
        let mut p = SlidingWindow::new(60, 1.0, Duration::from_secs(1));
        p.record(t0, 58);
        assert_eq!(p.wait(t0, 2), Duration::ZERO);
        assert!(p.wait(t0, 4) > Duration::from_millis(900));
        // A scale multiplies, and tiny limits still allow one call.
        assert_eq!(SlidingWindow::new(30, 10.0, Duration::from_secs(60)).limit, 300);
        assert_eq!(SlidingWindow::new(1, 0.1, Duration::from_secs(1)).limit, 1);
    }
}
