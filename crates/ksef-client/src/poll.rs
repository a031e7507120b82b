//! Polling with exponential backoff for asynchronous KSeF operations.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::classify::ErrorClass;
use crate::error::KsefError;
use crate::options::PollOptions;

/// Calls `fetch` until `pending` returns `None`, sleeping with exponential backoff in between.
///
/// `pending` returns `Some(code)` while the operation is still in progress. A 429 answer while polling
/// waits for its `Retry-After` (within the budget) instead of failing. When the budget runs out the
/// result is [`KsefError::PollTimeout`] with the last status code seen.
pub async fn poll<T, F, Fut>(
    options: &PollOptions,
    what: &str,
    mut fetch: F,
    pending: impl Fn(&T) -> Option<i32>,
) -> Result<T, KsefError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, KsefError>>,
{
    let deadline = Instant::now() + options.budget;
    let mut delay = options.initial_delay;
    let mut last_code = 0;
    loop {
        let wait = match fetch().await {
            Ok(value) => match pending(&value) {
                None => return Ok(value),
                Some(code) => {
                    last_code = code;
                    let wait = delay;
                    delay = (delay * 2).min(options.max_delay);
                    wait
                }
            },
            Err(err) => match err.class() {
                ErrorClass::RateLimited { retry_after } => retry_after,
                _ => return Err(err),
            },
        };
        if Instant::now() + wait > deadline {
            return Err(KsefError::PollTimeout { what: what.to_owned(), last_code });
        }
        tokio::time::sleep(wait).await;
    }
}

/// Backoff delays for `attempt` = 0, 1, 2 … (doubling, capped).
pub fn backoff(options: &PollOptions, attempt: u32) -> Duration {
    options.initial_delay.saturating_mul(2u32.saturating_pow(attempt.min(16))).min(options.max_delay)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "test code")]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn fast() -> PollOptions {
        PollOptions {
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(4),
            budget: Duration::from_millis(200),
        }
    }

    #[tokio::test]
    async fn polls_until_done_and_times_out() {
        let calls = Cell::new(0);
        let done = poll(
            &fast(),
            "op",
            || {
                calls.set(calls.get() + 1);
                let n = calls.get();
                async move { Ok::<i32, KsefError>(if n < 4 { 100 } else { 200 }) }
            },
            |code| (*code == 100).then_some(*code),
        )
        .await
        .unwrap();
        assert_eq!((done, calls.get()), (200, 4));

        let err =
            poll(&fast(), "op", || async { Ok::<i32, KsefError>(150) }, |c| Some(*c)).await.unwrap_err();
        assert!(matches!(err, KsefError::PollTimeout { last_code: 150, .. }));
        assert_eq!(backoff(&fast(), 0), Duration::from_millis(1));
        assert_eq!(backoff(&fast(), 10), Duration::from_millis(4));
    }
}
