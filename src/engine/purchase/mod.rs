//! Purchase sync: every invoice a client received, fetched from KSeF inside the client's sender
//! turn, after its sending, through the same per-NIP limits.
//!
//! Per client and role (`[purchase] roles`) a `purchase_sync` row holds the cursor: windows of at
//! most 100 days on KSeF's permanent-storage date (`ksef_client::hwm`), asked with
//! `restrictToPermanentStorageHwmDate`, so that what a window returns up to KSeF's high-water
//! mark is a closed, complete set. Volume (a first sync, older history, a large increment) comes
//! as export packages with the invoices' bytes; small increments through the metadata query.
//! Each package or page is stored in the transaction that moves the cursor: a crash resumes from
//! the last one stored, and one seen twice stores nothing twice (deduplicated by KSeF number). The invoice's bytes follow (download by KSeF number,
//! checked against KSeF's SHA-256), then a periodic re-count of the last closed window
//! ([`recheck`]) finds and heals gaps.
//!
//! A step is bounded: it yields after `step_ms`, and when a KSeF limit has no room within
//! `max_limit_wait_ms` (20 metadata queries and 64 downloads an hour) it comes back later.
//! Transient failures are the sync's own (recorded, retried); a 429 and a refused credential
//! end the turn, which puts the NIP in the penalty box or pauses the client as for sending.

mod bytes;
mod export;
mod now;
pub(crate) mod pending;
mod recheck;
mod window;

pub use now::sync_client_now;

use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use ksef_client::{ErrorClass, SecretString};
use serde_json::json;

use super::context::{lock, ClientCtx, Engine};
use super::limits::EndpointClass;
use super::TurnError;
use crate::db::models::{ids, PurchaseInvoice, PurchaseSync};
use crate::domain::{ClientId, PurchaseRole, PurchaseSyncId};
use crate::service::audit::{self, AuditActor, AuditEntry};

/// After a KSeF limit had no room, the step is tried again this much later.
const LIMIT_RETRY: Duration = Duration::from_secs(15);
/// After a transient failure, the sync is tried again this much later (sending is unaffected).
const FAILURE_RETRY: Duration = Duration::from_secs(30);

/// How long a step may run and wait.
#[derive(Debug, Clone, Copy)]
pub(super) struct Budget {
    pub deadline: Instant,
    pub max_wait: Duration,
}

impl Budget {
    /// The budget of a step inside a turn. A client with invoices on their way to KSeF (sent
    /// in this turn or awaiting a status) gives the sync no more than its next status-poll
    /// interval (short right after a send), so that its statuses are polled as often as without
    /// the sync.
    pub(super) fn of_turn(engine: &Engine, client_id: &ClientId, sending_busy: bool) -> Self {
        let p = &engine.st.settings.purchase;
        let (mut step, mut wait) =
            (Duration::from_millis(p.step_ms), Duration::from_millis(p.max_limit_wait_ms));
        if sending_busy {
            let poll = engine.poll_interval(client_id);
            (step, wait) = (step.min(poll), wait.min(poll));
        }
        Self { deadline: Instant::now() + step, max_wait: wait }
    }
}

/// What one role's part of a step did.
#[derive(Debug, Clone)]
pub struct RoleReport {
    pub role: PurchaseRole,
    /// Invoices stored (new KSeF numbers).
    pub stored: usize,
    /// The cursor before and after.
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
    /// Everything up to here is stored.
    pub complete_up_to: Option<NaiveDateTime>,
    /// The window reached KSeF's high-water mark: nothing more to ask until the next poll.
    pub caught_up: bool,
    /// A re-check ran and found this many invoices missing.
    pub gap_found: Option<i64>,
}

/// What one sync step did for one client.
#[derive(Debug, Clone, Default)]
pub struct StepReport {
    pub roles: Vec<RoleReport>,
    /// Invoices whose exact bytes were stored.
    pub downloaded: usize,
    /// KSeF numbers whose bytes did not match KSeF's hash (not stored).
    pub hash_mismatches: Vec<String>,
    /// Bytes still to fetch after the step (besides those that did not match).
    pub bytes_left: bool,
    /// A KSeF limit had no room: the step yielded.
    pub limited: bool,
    /// Why the step failed, in Polish.
    pub error: Option<String>,
    /// Faults the step worked around (a corrupt export package: the metadata path took over).
    pub warnings: Vec<String>,
    /// After a failure: when to try again (KSeF's Retry-After after a 429).
    retry_in: Option<Duration>,
    /// The step left work that [`finish`] scheduled at once (a role's window or bytes): the
    /// supervisor looks for due syncs at once instead of at its next tick.
    pub(crate) goes_on_at_once: bool,
}

impl StepReport {
    pub fn stored(&self) -> usize {
        self.roles.iter().map(|r| r.stored).sum()
    }
}

/// The step's working state.
struct StepCx<'a> {
    engine: &'a Engine,
    client: &'a ClientCtx,
    token: SecretString,
    budget: Budget,
    report: StepReport,
}

impl StepCx<'_> {
    /// The step ends here: its time is up, the engine stops, or a send was decided for this
    /// client (sending goes first; the sync goes on in the turn after, where it left off).
    fn out_of_time(&self) -> bool {
        Instant::now() >= self.budget.deadline
            || self.engine.stopping()
            || self.engine.st.status_requests.sends_waiting(&self.client.client_id)
    }

    /// Waits `wait` before asking KSeF again, less when the step's time runs out or a send is
    /// decided for this client meanwhile (the step then ends at its next look).
    async fn pause(&self, wait: Duration) {
        let until = (Instant::now() + wait).min(self.budget.deadline);
        // A decision for another client wakes the wait too: it goes on until `until`.
        loop {
            let decided = self.engine.st.status_requests.next_decision();
            tokio::pin!(decided);
            decided.as_mut().enable();
            if self.out_of_time() {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep_until(until.into()) => return,
                () = &mut decided => {}
            }
        }
    }

    /// Room for one call of `class`; false (and the step yields) when there is none in time.
    async fn acquire(&mut self, class: EndpointClass) -> bool {
        let ok = self.engine.limits.acquire_within(&self.client.nip, class, self.budget.max_wait).await;
        if !ok {
            self.report.limited = true;
        }
        ok
    }
}

/// Clients whose sync is due: a role's poll is due (or was never run), or bytes are waiting.
pub(super) async fn due_clients(engine: &Engine) -> Result<Vec<ClientId>, crate::db::DbError> {
    let cfg = &engine.st.settings.purchase;
    if !cfg.enabled {
        return Ok(Vec::new());
    }
    let roles = cfg.roles();
    let now = ids::now();
    let (clients, rows, missing) = engine
        .st
        .db
        .run(|c| {
            Ok::<_, crate::db::DbError>((
                PurchaseSync::syncable_clients(c)?,
                PurchaseSync::list(c, &crate::db::models::ClientScope::All)?,
                PurchaseInvoice::clients_missing_xml(c)?,
            ))
        })
        .await?;
    let bytes_not_before = lock(&engine.purchase_bytes).clone();
    let instant = Instant::now();
    let due = clients
        .into_iter()
        .filter(|id| {
            let poll_due = roles.iter().any(|role| {
                rows.iter()
                    .find(|r| r.client_id == *id && r.subject_type == *role)
                    .is_none_or(|r| r.next_run_at <= now)
            });
            let bytes_due = missing.contains(id) && bytes_not_before.get(id).is_none_or(|t| *t <= instant);
            poll_due || bytes_due
        })
        .collect();
    Ok(due)
}

/// One bounded sync step for the client (all configured roles, then bytes). `force` runs the
/// metadata part even when the poll is not due (a person asked). Returns None when nothing was
/// due. Errors that must end the turn (429, refused credential) are returned after being
/// recorded; other failures are recorded in the report and retried later.
pub(super) async fn step(
    engine: &Engine,
    client: &ClientCtx,
    budget: Budget,
    force: bool,
) -> Result<Option<StepReport>, TurnError> {
    let cfg = &engine.st.settings.purchase;
    if !cfg.enabled {
        return Ok(None);
    }
    let now = ids::now();
    let (cid, roles, start) = (client.client_id.clone(), cfg.roles(), cfg.history_start(now));
    let rows = engine
        .st
        .db
        .tx(move |c| {
            roles
                .into_iter()
                .map(|role| PurchaseSync::get_or_create(c, &cid, role, start, now))
                .collect::<Result<Vec<_>, crate::db::DbError>>()
        })
        .await?;
    let due: Vec<PurchaseSync> = rows.into_iter().filter(|r| force || r.next_run_at <= now).collect();
    let bytes_due = lock(&engine.purchase_bytes).get(&client.client_id).is_none_or(|t| *t <= Instant::now());
    if due.is_empty() && !bytes_due {
        return Ok(None);
    }
    let token = match client.access_token(&engine.limits).await {
        Ok(t) => t,
        Err(e) => {
            let report = StepReport {
                error: Some(polish(&e.to_string())),
                retry_in: Some(retry_after(&e).unwrap_or(FAILURE_RETRY)),
                ..StepReport::default()
            };
            finish(engine, client, &due, &report).await?;
            return Err(e.into());
        }
    };
    let mut cx = StepCx { engine, client, token, budget, report: StepReport::default() };
    let outcome = run(&mut cx, &due).await;
    let mut report = cx.report;
    let fatal = match outcome {
        Ok(()) => None,
        Err(e) => {
            report.error = Some(polish(&e.to_string()));
            report.retry_in = Some(match &e {
                TurnError::Ksef(k) => retry_after(k).unwrap_or(FAILURE_RETRY),
                _ => FAILURE_RETRY,
            });
            let ends_turn = matches!(&e, TurnError::Ksef(k)
                if matches!(k.class(), ErrorClass::RateLimited { .. } | ErrorClass::Credential));
            if ends_turn {
                Some(e)
            } else {
                tracing::warn!(client.id = %client.client_id, error = %e, "Purchase sync step failed; will retry");
                None
            }
        }
    };
    report.goes_on_at_once = finish(engine, client, &due, &report).await?;
    match fatal {
        Some(e) => Err(e),
        None => Ok(Some(report)),
    }
}

async fn run(cx: &mut StepCx<'_>, due: &[PurchaseSync]) -> Result<(), TurnError> {
    for row in due {
        let mut role = window::walk(cx, row).await?;
        if role.caught_up && recheck::is_due(cx.engine, row) {
            role.gap_found = recheck::run(cx, row).await?;
        }
        cx.report.roles.push(role);
    }
    bytes::fetch(cx).await
}

/// Records the step: each role's next run and error, the audit event, the metrics. Returns
/// whether it scheduled more of the sync at once.
async fn finish(
    engine: &Engine,
    client: &ClientCtx,
    due: &[PurchaseSync],
    report: &StepReport,
) -> Result<bool, TurnError> {
    let now = ids::now();
    let poll = chrono::Duration::seconds(i64::try_from(engine.st.settings.purchase.poll_s).unwrap_or(900));
    let later = |d: Duration| now + chrono::Duration::from_std(d).unwrap_or_default();
    let mismatch = (!report.hash_mismatches.is_empty()).then(|| {
        format!(
            "Treść faktur {} pobrana z KSeF nie zgadza się ze skrótem SHA-256 podanym przez KSeF; nie zapisano jej, ponowna próba przy następnej synchronizacji",
            report.hash_mismatches.join(", ")
        )
    });
    let worked_around = (!report.warnings.is_empty()).then(|| report.warnings.join("; "));
    let error = report.error.clone().or(mismatch).or(worked_around);
    let updates: Vec<(PurchaseSyncId, NaiveDateTime, bool)> = due
        .iter()
        .map(|row| {
            let done = report.roles.iter().find(|r| r.role == row.subject_type);
            let caught_up = done.is_some_and(|r| r.caught_up && r.gap_found.unwrap_or(0) == 0);
            let next = if let Some(wait) = report.retry_in {
                later(wait)
            } else if caught_up {
                now + poll
            } else if report.limited {
                later(LIMIT_RETRY)
            } else {
                now
            };
            (row.id.clone(), next, caught_up)
        })
        .collect();
    let window_now = updates.iter().any(|(_, next, _)| *next == now);
    let payload = json!({
        "roles": report.roles.iter().map(|r| json!({
            "subject_type": r.role.as_str(),
            "stored": r.stored,
            "window": {"from": r.from, "to": r.to},
            "complete_up_to": r.complete_up_to,
            "gap_found": r.gap_found,
        })).collect::<Vec<_>>(),
        "downloaded": report.downloaded,
        "hash_mismatches": report.hash_mismatches,
        "error": report.error,
        "warnings": report.warnings,
    });
    let worth_an_event = report.stored() > 0
        || report.downloaded > 0
        || !report.hash_mismatches.is_empty()
        || report.error.is_some()
        || !report.warnings.is_empty()
        || report.roles.iter().any(|r| r.gap_found.unwrap_or(0) > 0);
    let cid = client.client_id.clone();
    engine
        .st
        .db
        .tx(move |c| {
            for (id, next, caught_up) in &updates {
                PurchaseSync::finish_run(c, id, *next, error.as_deref(), *caught_up, now)?;
            }
            if worth_an_event {
                audit::record(
                    c,
                    AuditEntry {
                        actor: &AuditActor::System,
                        client_id: Some(&cid),
                        action: "purchase.sync",
                        subject: None,
                        payload,
                    },
                )?;
            }
            Ok::<_, crate::db::DbError>(())
        })
        .await?;
    let poll_wait = Duration::from_secs(engine.st.settings.purchase.poll_s);
    let bytes_wait = if let Some(wait) = report.retry_in {
        Some(wait)
    } else if report.bytes_left && report.limited {
        Some(LIMIT_RETRY)
    } else if report.bytes_left {
        Some(Duration::ZERO)
    } else if !report.hash_mismatches.is_empty() {
        // Only bytes KSeF's hash disowns are left: try them again with the next poll.
        Some(poll_wait)
    } else {
        None
    };
    let at_once = window_now || bytes_wait == Some(Duration::ZERO);
    let bytes_next = bytes_wait.map(|w| Instant::now() + w);
    {
        let mut map = lock(&engine.purchase_bytes);
        match bytes_next {
            Some(at) => map.insert(client.client_id.clone(), at),
            None => map.remove(&client.client_id),
        };
    }
    let m = &engine.st.metrics;
    m.count_purchase("stored", report.stored());
    m.count_purchase("downloaded", report.downloaded);
    m.count_purchase("hash_mismatch", report.hash_mismatches.len());
    Ok(at_once)
}

/// KSeF's Retry-After of a 429.
fn retry_after(e: &ksef_client::KsefError) -> Option<Duration> {
    match e.class() {
        ErrorClass::RateLimited { retry_after } => Some(retry_after),
        _ => None,
    }
}

/// A failure as the panel shows it.
fn polish(detail: &str) -> String {
    format!("Synchronizacja faktur zakupowych nie powiodła się: {detail}")
}

/// Publishes the gaps the last re-checks found, per role (the gauge).
pub(super) async fn publish_gaps(engine: &Engine) -> Result<(), crate::db::DbError> {
    let rows = engine.st.db.run(|c| PurchaseSync::list(c, &crate::db::models::ClientScope::All)).await?;
    for role in PurchaseRole::ALL {
        let n: i64 = rows.iter().filter(|r| r.subject_type == *role).map(|r| r.gap_count).sum();
        engine.st.metrics.set_purchase_gaps(role.as_str(), n);
    }
    Ok(())
}
