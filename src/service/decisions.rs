//! Decisions to send, and four-eyes approvals. Nothing reaches KSeF without a decision row:
//! who decided, when, from where, on which exact bytes (their hashes), under which policy. The
//! decision, its outbox entries, the invoices' move to `queued` and the audit event are one
//! transaction, so none exists without the others.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde_json::json;

use crate::auth::{ApiScope, Permission};
use crate::db::models::{ids, Client, ClientScope, Invoice, SendDecision};
use crate::db::AnyConn;
use crate::domain::{ClientId, DecisionId, InvoiceId, InvoiceState, Nip, SendPolicy};
use crate::error::{AppError, Refusal};
use crate::offline::{OfflineIssue, OfflineMode};
use crate::service::access::{self, Caller};
use crate::service::audit::{self, AuditEntry};
use crate::state::AppState;

/// What the caller asks for.
#[derive(Debug, Clone)]
pub struct SendRequest {
    pub invoice_ids: Vec<InvoiceId>,
    /// Issue offline (KSeF unavailable), confirmed consciously by the caller.
    pub offline: Option<OfflineIssue>,
    /// For the failure (awaria) mode when Latarnia announced none: the caller consciously
    /// confirms that the Ministry declared one (and says when it ended in `offline`).
    pub failure_confirmed: bool,
    pub source_ip: Option<String>,
}

/// One recorded decision (one per client touched).
#[derive(Debug, Clone, serde::Serialize)]
pub struct DecisionOutcome {
    pub decision_id: DecisionId,
    pub nip: Nip,
    pub policy: SendPolicy,
    pub invoice_ids: Vec<InvoiceId>,
    pub state: InvoiceState,
    /// Offline: the earliest end of the legal deadlines of these invoices (each counts from its
    /// own issue date).
    #[serde(serialize_with = "crate::local_time::rfc3339_opt")]
    pub offline_deadline: Option<NaiveDateTime>,
}

fn refuse(refusal: Refusal, message: impl Into<String>) -> AppError {
    AppError::refused(refusal, message)
}

/// Checks that this caller may decide on this invoice under its client's policy.
fn check_decidable(caller: &Caller, client: &Client, inv: &Invoice) -> Result<(), AppError> {
    let (policy, state) = (client.send_policy, inv.state);
    if let Caller::ApiKey(k) = caller {
        if policy != SendPolicy::ApiAuto || !k.scopes.contains(ApiScope::Send) {
            return Err(refuse(
                Refusal::PolicyRequiresPerson,
                format!(
                    "client {} sends only after a person decides (policy {})",
                    client.nip,
                    policy.as_str()
                ),
            ));
        }
    }
    if let Some(reason) = &client.paused_reason {
        return Err(refuse(Refusal::ClientPaused, format!("sending for {} is paused: {reason}", client.nip)));
    }
    match state {
        s if s.awaits_approval(policy) => Err(refuse(
            Refusal::ApprovalRequired,
            format!("invoice {} needs a second person's approval first (four-eyes policy)", inv.id),
        )),
        s if s.can_decide(policy) => Ok(()),
        s => Err(refuse(
            Refusal::InvoiceNotSendable,
            format!("invoice {} is {} and cannot be sent", inv.id, s.as_str()),
        )),
    }
}

/// Records decisions to send the given invoices, all or none.
pub async fn decide_send(
    st: &AppState,
    caller: &Caller,
    req: SendRequest,
) -> Result<Vec<DecisionOutcome>, AppError> {
    decide(st, caller, req, None).await
}

/// What a person confirmed on the panel's confirmation page, which is for one client.
#[derive(Debug, Clone)]
pub struct Confirmed {
    /// The page's client: an invoice of any other is not found, like a foreign one.
    pub client_id: ClientId,
    /// The invoices whose warnings were ticked consciously.
    pub warnings: Vec<InvoiceId>,
}

/// [`decide_send`] for a person who saw the client's chosen invoices and their warnings on the
/// confirmation page: every chosen invoice belongs to that client, and every one with a warning
/// finding is among the confirmed ones, or nothing is recorded. The decision's audit event lists
/// the invoices whose warnings were confirmed.
pub async fn decide_send_confirming_warnings(
    st: &AppState,
    caller: &Caller,
    req: SendRequest,
    confirmed: Confirmed,
) -> Result<Vec<DecisionOutcome>, AppError> {
    decide(st, caller, req, Some(confirmed)).await
}

/// True when the invoice's stored findings hold a warning.
pub fn has_warnings(inv: &Invoice) -> bool {
    serde_json::from_str::<Vec<crate::service::findings::StoredFinding>>(&inv.findings)
        .is_ok_and(|f| f.iter().any(|f| f.severity == ksef_fa3::Severity::Warning.as_str()))
}

/// Refuses unless every invoice with warnings was confirmed (when the caller was asked).
fn check_warnings(invoices: &[Invoice], confirmed: Option<&[InvoiceId]>) -> Result<Vec<InvoiceId>, AppError> {
    let Some(confirmed) = confirmed else { return Ok(Vec::new()) };
    let warned: Vec<&Invoice> = invoices.iter().filter(|i| has_warnings(i)).collect();
    if let Some(missed) = warned.iter().find(|i| !confirmed.contains(&i.id)) {
        return Err(refuse(
            Refusal::WarningsNotConfirmed,
            format!(
                "invoice {} has warnings: confirm them consciously before deciding",
                missed.number.as_deref().unwrap_or(&missed.id)
            ),
        ));
    }
    Ok(warned.into_iter().map(|i| i.id.clone()).collect())
}

#[tracing::instrument(level = "debug", name = "db.decision", skip_all, fields(invoices = req.invoice_ids.len()))]
async fn decide(
    st: &AppState,
    caller: &Caller,
    req: SendRequest,
    confirmed: Option<Confirmed>,
) -> Result<Vec<DecisionOutcome>, AppError> {
    if req.invoice_ids.is_empty() {
        return Err(AppError::invalid("ids: choose at least one invoice"));
    }
    let caller = caller.clone();
    let availability = st.availability.clone();
    let recorded = st
        .db
        .tx(move |conn| {
            // Found among the visible clients, so that a client seen but without `send`
            // answers 403 below, while foreign invoices stay 404.
            let scope = access::visible(conn, &caller)?;
            let mut by_client: BTreeMap<ClientId, Vec<Invoice>> = BTreeMap::new();
            let mut unique = req.invoice_ids.clone();
            unique.sort();
            unique.dedup();
            let mut found = Invoice::find_many(conn, &scope, &unique)?;
            found.sort_by(|a, b| a.id.cmp(&b.id));
            let other_client = |i: &Invoice| confirmed.as_ref().is_some_and(|c| c.client_id != i.client_id);
            if found.len() != unique.len() || found.iter().any(other_client) {
                // One of them does not exist or is foreign: the same answer as for one invoice.
                return Err(AppError::NotFound);
            }
            for inv in found {
                by_client.entry(inv.client_id.clone()).or_default().push(inv);
            }
            let mut out = Vec::new();
            for (client_id, invoices) in by_client {
                access::require(conn, &caller, &client_id, Permission::Send)?;
                let client = Client::get(conn, &client_id)?;
                for inv in &invoices {
                    check_decidable(&caller, &client, inv)?;
                }
                let warnings_confirmed =
                    check_warnings(&invoices, confirmed.as_ref().map(|c| c.warnings.as_slice()))?;
                let offline = req
                    .offline
                    .map(|o| offline_issue(&availability, &client, o, req.failure_confirmed))
                    .transpose()?;
                let outcome =
                    record_decision(conn, &caller, &client, &invoices, &req, offline, &warnings_confirmed)?;
                out.push((client_id, outcome));
            }
            Ok(out)
        })
        .await?;
    // Committed: this process's senders take the invoices now rather than at their next tick.
    let mut outcomes = Vec::with_capacity(recorded.len());
    for (client_id, outcome) in recorded {
        st.status_requests.work_arrived(&client_id);
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// The offline mode as it applies to this client: the failure (awaria) mode only when Latarnia
/// announced a failure of the client's KSeF or the caller consciously confirms one; its end
/// taken from the announcement unless the caller gave it.
fn offline_issue(
    availability: &crate::service::availability::Availability,
    client: &Client,
    issue: OfflineIssue,
    failure_confirmed: bool,
) -> Result<OfflineIssue, AppError> {
    let notice = availability.notice(&client.ksef_environment);
    let announced_end = notice
        .as_ref()
        .filter(|n| n.offline_mode == issue.mode)
        .and_then(|n| n.until)
        .map(|t| crate::local_time::warsaw_date(t.naive_utc()));
    if issue.mode == OfflineMode::Emergency {
        let announced = notice.as_ref().is_some_and(|n| n.offline_mode == OfflineMode::Emergency);
        if !announced && !failure_confirmed {
            return Err(refuse(
                Refusal::FailureNotAnnounced,
                "the failure (awaria) mode needs a failure of KSeF announced in Latarnia, or your conscious confirmation that the Ministry declared one",
            ));
        }
    }
    Ok(OfflineIssue { period_end: issue.period_end.or(announced_end), ..issue })
}

/// The end (23:59:59 Warsaw time, stored as UTC) of the legal deadline of an invoice issued
/// offline: from its own issue date (P_1), never from the day of the decision.
fn offline_deadline(issue: OfflineIssue, inv: &Invoice) -> NaiveDateTime {
    let today = crate::local_time::today();
    crate::local_time::end_of_day_utc(issue.deadline(inv.issue_date.unwrap_or(today), today))
}

fn record_decision(
    conn: &mut AnyConn,
    caller: &Caller,
    client: &Client,
    invoices: &[Invoice],
    req: &SendRequest,
    offline: Option<OfflineIssue>,
    warnings_confirmed: &[InvoiceId],
) -> Result<DecisionOutcome, AppError> {
    let now = ids::now();
    let actor = caller.audit_actor();
    let hashes: Vec<&str> = invoices.iter().map(|i| i.sha256.as_str()).collect();
    let decision = SendDecision {
        id: DecisionId::new(),
        client_id: client.id.clone(),
        actor_kind: caller.actor().kind(),
        actor_id: caller.actor(),
        source_ip: req.source_ip.clone(),
        policy: client.send_policy,
        offline: req.offline.is_some(),
        invoice_count: i64::try_from(invoices.len()).unwrap_or(i64::MAX),
        invoice_hashes: serde_json::to_string(&hashes).map_err(|e| AppError::Internal(e.into()))?,
        created_at: now,
    };
    let ids: Vec<InvoiceId> = invoices.iter().map(|i| i.id.clone()).collect();
    SendDecision::insert_with_outbox(conn, &decision, &ids)?;
    let target = if offline.is_some() { InvoiceState::Offline } else { InvoiceState::Queued };
    let from = [InvoiceState::Draft, InvoiceState::Approved];
    // Each invoice's deadline follows its own issue date: one group (one state move, one
    // timeline note) per deadline.
    let mut groups: BTreeMap<Option<NaiveDateTime>, Vec<Invoice>> = BTreeMap::new();
    for inv in invoices {
        groups.entry(offline.map(|o| offline_deadline(o, inv))).or_default().push(inv.clone());
    }
    for (deadline, group) in &groups {
        let note = deadline
            .map(|d| format!("tryb offline, termin przesłania do KSeF: {}", crate::local_time::display(d)));
        if !Invoice::transition_all(conn, group, &from, target, &caller.actor(), note.as_deref())? {
            return Err(AppError::Conflict("an invoice changed while deciding; try again".into()));
        }
        if let Some(d) = deadline {
            let all: Vec<&InvoiceId> = group.iter().map(|i| &i.id).collect();
            Invoice::mark_all_offline(conn, &all, *d)?;
        }
    }
    audit::record(
        conn,
        AuditEntry::on(
            &actor,
            &client.id,
            if offline.is_some() { "send.decided_offline" } else { "send.decided" },
            &decision.id,
            json!({
                "invoices": invoices.iter().map(|i| json!({"id": i.id, "sha256": i.sha256, "number": i.number})).collect::<Vec<_>>(),
                "policy": client.send_policy, "ip": req.source_ip,
                "offline_mode": offline.map(|o| o.mode.as_str()),
                "offline_period_end": offline.and_then(|o| o.period_end),
                "failure_confirmed": req.failure_confirmed,
                "warnings_confirmed": warnings_confirmed,
                "approved_by": invoices.iter().filter_map(|i| i.approved_by.clone()).collect::<Vec<_>>(),
            }),
        ),
    )?;
    Ok(DecisionOutcome {
        decision_id: decision.id,
        nip: client.nip.clone(),
        policy: client.send_policy,
        invoice_ids: ids,
        state: target,
        offline_deadline: groups.keys().flatten().min().copied(),
    })
}

/// A second person approves an invoice's exact bytes (four-eyes policy). The preparer may not
/// approve their own invoice; `seen_sha256`, when given, must be the hash the approver saw.
pub async fn approve(
    st: &AppState,
    caller: &Caller,
    invoice_id: &InvoiceId,
    seen_sha256: Option<String>,
) -> Result<Invoice, AppError> {
    let (caller, invoice_id) = (caller.clone(), invoice_id.clone());
    st.db
        .tx(move |conn| {
            let inv = access::invoice(conn, &caller, &invoice_id, Permission::Approve)?;
            let Some(user) = caller.user() else {
                return Err(refuse(Refusal::ApprovalByPerson, "only a person can approve"));
            };
            if seen_sha256.as_deref().is_some_and(|h| h != inv.sha256) {
                return Err(AppError::Conflict(
                    "the invoice is not the one you reviewed (hash differs)".into(),
                ));
            }
            crate::service::approvals::check_approver(conn, &caller, &inv)?;
            if !Invoice::approve(conn, &inv.id, &user.id, &caller.actor())? {
                return Err(AppError::Conflict("invoice changed while approving; try again".into()));
            }
            audit::record(
                conn,
                AuditEntry::on(
                    &caller.audit_actor(),
                    &inv.client_id,
                    "invoice.approved",
                    &inv.id,
                    json!({"sha256": inv.sha256, "number": inv.number, "preparer": inv.created_by}),
                ),
            )?;
            Ok(Invoice::get(conn, &ClientScope::All, &inv.id)?)
        })
        .await
}
