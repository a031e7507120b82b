//! Webhook deliveries: a worker that takes due rows of the `webhook_deliveries` outbox, signs
//! and POSTs each to its endpoint, and records the outcome: delivered, retried later with capped
//! exponential backoff and jitter, or given up after `webhooks.max_attempts` (`failed`, visible
//! in the delivery log, redeliverable by a person). At least once: a row is claimed in the
//! database until a lease time (`claimed_until`) before it is sent, so several replicas never
//! send one row at the same time, and a worker that dies mid-attempt leaves a claim that simply
//! expires and the row is sent again.

mod deliver;
pub mod guard;
pub mod sign;

use std::sync::Arc;
use std::time::Duration;

use ksef_client::reqwest;
use secrecy::ExposeSecret;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

pub use deliver::Attempt;
use guard::UrlPolicy;

use crate::db::models::webhook::AttemptOutcome;
use crate::db::models::{ids, WebhookDelivery, WebhookEndpoint};
use crate::db::DbError;
use crate::domain::{DeliveryStatus, WebhookId};
use crate::state::AppState;

/// The running worker; [`WebhookWorker::stop`] lets the attempts in flight finish.
pub struct WebhookWorker {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl WebhookWorker {
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "Webhook worker ended abnormally");
        }
    }
}

/// Starts the delivery worker on the current tokio runtime.
pub fn start(st: AppState) -> WebhookWorker {
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(run(st, stopped));
    WebhookWorker { stop, task }
}

async fn run(st: AppState, mut stopped: watch::Receiver<bool>) {
    let cfg = st.settings.webhooks.clone();
    let policy = Arc::new(UrlPolicy::new(&cfg));
    let timeout = Duration::from_millis(cfg.timeout_ms);
    let http = match deliver::http_client(policy.clone(), timeout) {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = %e, "Webhook worker cannot build its HTTP client; no webhooks are delivered");
            return;
        }
    };
    let every = Duration::from_millis(cfg.tick_ms);
    loop {
        // A full round means more is probably due: the next one starts at once (a backlog of
        // thousands drains at `concurrency` attempts at a time, not one round per tick).
        let full = match tick(&st, &http, &policy).await {
            Ok(n) => n >= cfg.concurrency,
            Err(e) => {
                tracing::warn!(error = %e, "Webhook delivery round failed; retrying on the next tick");
                false
            }
        };
        if full && !*stopped.borrow() {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stopped.changed() => return,
        }
        if *stopped.borrow() {
            return;
        }
    }
}

/// One round: claim due rows, attempt them (at most `concurrency` at once), record outcomes.
/// Returns how many were attempted.
pub async fn tick(st: &AppState, http: &reqwest::Client, policy: &Arc<UrlPolicy>) -> Result<usize, DbError> {
    let cfg = &st.settings.webhooks;
    let timeout = Duration::from_millis(cfg.timeout_ms);
    // The claim outlives the longest attempt (timeout) with room to record it.
    let lease =
        chrono::Duration::milliseconds(i64::try_from(cfg.timeout_ms).unwrap_or(i64::MAX / 4) * 2 + 30_000);
    let limit = i64::try_from(cfg.concurrency).unwrap_or(8);
    let claimed = st
        .db
        .tx(move |c| {
            let now = ids::now();
            let mut claimed = Vec::new();
            for (delivery, endpoint, nip) in WebhookDelivery::due(c, now, limit)? {
                if WebhookDelivery::claim(c, &delivery.id, now, now + lease)? {
                    claimed.push((delivery, endpoint, nip));
                }
            }
            Ok::<_, DbError>(claimed)
        })
        .await?;
    let n = claimed.len();
    let mut running = JoinSet::new();
    for (delivery, endpoint, nip) in claimed {
        let (st, http, policy) = (st.clone(), http.clone(), policy.clone());
        running.spawn(async move {
            let attempt = match open_secret(&st, &endpoint, &nip) {
                Ok(secret) => {
                    deliver::attempt(
                        &http,
                        &policy,
                        &endpoint.url,
                        secret.expose_secret(),
                        &delivery,
                        timeout,
                    )
                    .await
                }
                Err(why) => {
                    tracing::error!(endpoint = %endpoint.id, error = %why, "Webhook secret cannot be opened");
                    Attempt {
                        status_code: None,
                        error: Some("Nie można odczytać sekretu punktu odbioru (klucz główny?).".to_owned()),
                        outcome: "refused",
                    }
                }
            };
            record(&st, &delivery, &attempt).await
        });
    }
    while let Some(done) = running.join_next().await {
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "Recording a webhook attempt failed; its claim expires and it is sent again")
            }
            Err(e) => tracing::error!(error = %e, "A webhook attempt panicked"),
        }
    }
    refresh_gauges(st).await?;
    Ok(n)
}

fn open_secret(
    st: &AppState,
    endpoint: &WebhookEndpoint,
    nip: &crate::domain::Nip,
) -> Result<secrecy::SecretBox<Vec<u8>>, crate::vault::VaultError> {
    let sealed = crate::vault::Sealed {
        key_version: u32::try_from(endpoint.secret_key_version).unwrap_or(u32::MAX),
        nonce: endpoint.secret_nonce.clone(),
        ciphertext: endpoint.secret_ciphertext.clone(),
    };
    crate::vault::open(&st.keys, nip, &secret_kind(&endpoint.id), &sealed)
}

/// What a webhook secret is bound to in the vault besides the client's NIP: its endpoint, so a
/// ciphertext copied onto another endpoint does not open.
pub fn secret_kind(endpoint_id: &WebhookId) -> String {
    format!("webhook_secret/{endpoint_id}")
}

async fn record(st: &AppState, delivery: &WebhookDelivery, attempt: &Attempt) -> Result<(), DbError> {
    let cfg = &st.settings.webhooks;
    let attempts_now = u32::try_from(delivery.attempts).unwrap_or(u32::MAX).saturating_add(1);
    let now = ids::now();
    let (status, next) = if attempt.delivered() {
        (DeliveryStatus::Delivered, now)
    } else if attempts_now >= cfg.max_attempts {
        (DeliveryStatus::Failed, now)
    } else {
        let wait = crate::engine::backoff::delay(
            Duration::from_millis(cfg.backoff_base_ms),
            Duration::from_secs(cfg.backoff_max_s),
            attempts_now - 1,
        );
        (DeliveryStatus::Pending, now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX))
    };
    let outcome = AttemptOutcome {
        status,
        status_code: attempt.status_code.map(i64::from),
        error: attempt.error.clone(),
        next_attempt_at: next,
    };
    let id = delivery.id.clone();
    st.db.tx(move |c| WebhookDelivery::record_attempt(c, &id, &outcome, now)).await?;
    st.metrics.count_webhook(attempt.outcome);
    if status == DeliveryStatus::Failed {
        st.metrics.count_webhook("gave_up");
    }
    Ok(())
}

async fn refresh_gauges(st: &AppState) -> Result<(), DbError> {
    let (pending, failed) = st
        .db
        .run(|c| {
            Ok::<_, DbError>((
                WebhookDelivery::count_status(c, DeliveryStatus::Pending)?,
                WebhookDelivery::count_status(c, DeliveryStatus::Failed)?,
            ))
        })
        .await?;
    st.metrics.set_webhook_backlog(DeliveryStatus::Pending.as_str(), pending);
    st.metrics.set_webhook_backlog(DeliveryStatus::Failed.as_str(), failed);
    Ok(())
}
