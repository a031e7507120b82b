//! Capped exponential backoff with jitter, so retries of many invoices after an outage spread out
//! instead of arriving at KSeF in one wave.

use std::time::Duration;

/// Delay before attempt number `attempts + 1`: base · 2^attempts, capped at `max`, then a random
/// point in its upper half ("equal jitter": never much shorter than planned, never in lockstep).
pub fn delay(base: Duration, max: Duration, attempts: u32) -> Duration {
    let exp = base.saturating_mul(1u32 << attempts.min(20)).min(max);
    let half = exp / 2;
    let spread = u64::try_from(half.as_millis()).unwrap_or(u64::MAX).max(1);
    let jitter = getrandom::u64().unwrap_or(0) % spread;
    half + Duration::from_millis(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_is_capped_and_jittered() {
        let (base, max) = (Duration::from_secs(1), Duration::from_secs(60));
        for attempts in 0..30 {
            let d = delay(base, max, attempts);
            let planned = base.saturating_mul(1 << attempts.min(20)).min(max);
            assert!(d >= planned / 2 && d <= planned, "{attempts}: {d:?}");
        }
    }
}
