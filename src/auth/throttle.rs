//! Request throttles: logins per account and source IP, and per IP, requests per API key. Keyed governor
//! limiters in memory; idle keys are pruned by `retain_recent` so memory stays bounded.

use std::hash::Hash;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::config::AuthSettings;
use crate::domain::ApiKeyId;
use crate::error::AppError;

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock>;

/// The gateway's own throttles (KSeF-bound limits live with the senders).
pub struct Throttles {
    login_account: Keyed<String>,
    login_ip: Keyed<String>,
    api_key: Keyed<ApiKeyId>,
    clock: DefaultClock,
}

fn per_minute(n: u32) -> Quota {
    let n = NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(n).allow_burst(n)
}

fn per_second(n: u32) -> Quota {
    let n = NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(n).allow_burst(n)
}

impl Throttles {
    pub fn new(s: &AuthSettings) -> Self {
        Self {
            login_account: RateLimiter::keyed(per_minute(s.login_per_account_per_min)),
            login_ip: RateLimiter::keyed(per_minute(s.login_per_ip_per_min)),
            api_key: RateLimiter::keyed(per_second(s.api_key_per_s)),
            clock: DefaultClock::default(),
        }
    }

    fn check<K: Hash + Eq + Clone>(&self, limiter: &Keyed<K>, key: &K) -> Result<(), AppError> {
        limiter.check_key(key).map_err(|not_until| AppError::RateLimited {
            retry_after_s: not_until.wait_time_from(self.clock.now()).as_secs() + 1,
        })
    }

    /// One login attempt for this account from this IP. The account's budget is kept per
    /// source IP: someone guessing from one address exhausts it there only, and cannot lock
    /// the owner out of their own account by failing on purpose (the per-IP budget still
    /// caps how many accounts one address may try).
    pub fn login(&self, email: &str, ip: Option<&str>) -> Result<(), AppError> {
        let ip = ip.unwrap_or("unknown");
        self.check(&self.login_ip, &ip.to_owned())?;
        self.check(&self.login_account, &format!("{}\n{ip}", email.trim().to_lowercase()))
    }

    /// One request with this API key.
    pub fn api_key(&self, key_id: &ApiKeyId) -> Result<(), AppError> {
        self.check(&self.api_key, key_id)
    }

    /// Forgets keys that have been idle long enough to be back at full quota.
    pub fn prune(&self) {
        self.login_account.retain_recent();
        self.login_ip.retain_recent();
        self.api_key.retain_recent();
    }
}

/// How often idle throttle keys are pruned.
pub const PRUNE_EVERY: Duration = Duration::from_secs(60);
