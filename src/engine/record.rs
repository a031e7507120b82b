//! Every state change the senders make, each in one transaction with its timeline entry, its
//! audit event and (for W → O → A and rejections) its webhook deliveries, so the database never
//! says more (or less) than KSeF answered.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use serde_json::json;

use crate::db::models::invoice::add_timeline;
use crate::db::models::ksef_session::{KsefSession, NewKsefSession};
use crate::db::models::outbox::{self, OutboxEntry};
use crate::db::models::sending::AcceptedRow;
use crate::db::models::upo::{NewUpo, Upo};
use crate::db::models::{ids, Client, Invoice};
use crate::db::{AnyConn, Db, DbError};
use crate::domain::{
    Actor, ClientId, InvoiceId, InvoiceState, KsefSessionId, OutboxState, SessionKind, SessionState, UpoId,
};
use crate::service::audit::{self, AuditActor, AuditEntry};
use crate::service::webhooks::{enqueue_state_changes, StateChange};
use crate::state::AppState;

/// How the senders sign timeline entries.
pub const ACTOR: Actor = Actor::Sender;

fn event(
    conn: &mut AnyConn,
    client_id: &ClientId,
    action: &str,
    subject: Option<&str>,
    payload: serde_json::Value,
) -> Result<(), DbError> {
    audit::record(
        conn,
        AuditEntry { actor: &AuditActor::System, client_id: Some(client_id), action, subject, payload },
    )
}

/// A session KSeF just opened, persisted before anything is uploaded in it.
pub async fn session_opened(
    db: &Db,
    client_id: &ClientId,
    kind: SessionKind,
    reference: &str,
    valid_until: Option<NaiveDateTime>,
) -> Result<KsefSessionId, DbError> {
    let (client_id, reference) = (client_id.clone(), reference.to_owned());
    db.tx(move |c| {
        let id = KsefSessionId::new();
        let now = ids::now();
        KsefSession::insert(
            c,
            &NewKsefSession {
                id: &id,
                client_id: &client_id,
                kind,
                reference: Some(&reference),
                state: SessionState::Open,
                invoice_count: 0,
                valid_until,
                opened_at: now,
                updated_at: now,
            },
        )?;
        event(
            c,
            &client_id,
            "send.session_opened",
            Some(&id),
            json!({"kind": kind, "session_reference": reference}),
        )?;
        Ok(id)
    })
    .await
}

/// A session's new state (`closed`, `abandoned`) with KSeF's status code when known.
pub async fn session_state(
    db: &Db,
    client_id: &ClientId,
    session_id: &KsefSessionId,
    state: SessionState,
    status_code: Option<i64>,
) -> Result<(), DbError> {
    let (client_id, session_id) = (client_id.clone(), session_id.clone());
    db.tx(move |c| {
        KsefSession::set_state(c, &session_id, state, status_code)?;
        let action = format!("send.session_{state}");
        event(c, &client_id, &action, Some(&session_id), json!({"status_code": status_code}))
    })
    .await
}

/// Moves invoices into `sending` in the session, before their upload. Returns the ids that were
/// still waiting (a person may have withdrawn one meanwhile; those are left alone).
#[tracing::instrument(level = "debug", name = "db.mark_sending", skip_all, fields(invoices = invoice_ids.len()))]
pub async fn mark_sending(
    db: &Db,
    client_id: &ClientId,
    session_id: &KsefSessionId,
    session_reference: &str,
    invoice_ids: Vec<InvoiceId>,
) -> Result<Vec<InvoiceId>, DbError> {
    let (client_id, session_id, reference) =
        (client_id.clone(), session_id.clone(), session_reference.to_owned());
    db.tx(move |c| {
        let now = ids::now();
        let moved = Invoice::start_sending_many(c, &invoice_ids, &reference, now)?;
        let note = format!("sesja KSeF {reference}");
        let entries: Vec<_> = moved.iter().map(|id| (id, &client_id, Some(note.as_str()))).collect();
        add_timeline(c, &entries, now, InvoiceState::Sending, &ACTOR)?;
        let moved_refs: Vec<&InvoiceId> = moved.iter().collect();
        OutboxEntry::set_status_many(c, &moved_refs, OutboxState::Sending)?;
        KsefSession::add_invoices(c, &session_id, i64::try_from(moved.len()).unwrap_or(i64::MAX))?;
        Ok(moved)
    })
    .await
}

/// KSeF took the upload (status 100/150, or the 202 of an online send).
pub async fn registered(db: &Db, inv: &Invoice, invoice_reference: &str) -> Result<(), DbError> {
    let (inv, reference) = (inv.clone(), invoice_reference.to_owned());
    db.tx(move |c| {
        Invoice::set_invoice_reference(c, &inv.id, &reference)?;
        if Invoice::transition(c, &inv.id, &[InvoiceState::Sending], InvoiceState::Registered, &ACTOR, None)? {
            let payload = json!({"sha256": inv.sha256, "session_reference": inv.session_reference, "invoice_reference": reference});
            event(c, &inv.client_id, "send.invoice_registered", Some(&inv.id), payload)?;
            enqueue_state_changes(c, &[registered_change(&inv)])?;
        }
        Ok(())
    })
    .await
}

/// A closed batch session KSeF is processing: its invoices still `sending` are registered (O)
/// at once, their invoice references to come with the session's list. All or none: if one of
/// them moved meanwhile, nothing is written and the next poll tries again.
pub async fn registered_in_batch(st: &AppState, invoices: Vec<Invoice>) -> Result<(), DbError> {
    if invoices.is_empty() {
        return Ok(());
    }
    st.db
        .tx(move |c| {
            let note = "KSeF przetwarza sesję wsadową";
            let (from, to) = ([InvoiceState::Sending], InvoiceState::Registered);
            if !Invoice::transition_all(c, &invoices, &from, to, &ACTOR, Some(note))? {
                return Err(DbError::Conflict(
                    "an invoice of the batch changed while it was registered".into(),
                ));
            }
            let changes: Vec<_> = invoices.iter().map(registered_change).collect();
            enqueue_state_changes(c, &changes)?;
            audit::record_many(
                c,
                invoices.iter().map(|inv| AuditEntry {
                    actor: &AuditActor::System,
                    client_id: Some(&inv.client_id),
                    action: "send.invoice_registered",
                    subject: Some(&inv.id),
                    payload: json!({"sha256": inv.sha256, "session_reference": inv.session_reference,
                        "invoice_reference": null}),
                }),
            )
        })
        .await
}

/// An invoice the senders moved from `sending` to `registered` (W → O), for its webhook event.
fn registered_change(inv: &Invoice) -> StateChange<'_> {
    StateChange {
        invoice: inv,
        old_state: InvoiceState::Sending,
        new_state: InvoiceState::Registered,
        ksef_number: None,
    }
}

/// What an acceptance carries.
pub struct Acceptance {
    pub ksef_number: String,
    pub invoice_reference: String,
    pub description: String,
    pub upo_xml: Vec<u8>,
    pub upo_sha256: String,
    /// Set when KSeF answered "duplicate" for our own earlier upload of the same bytes.
    pub note: Option<String>,
}

/// KSeF accepted the invoice: KSeF number, UPO and the outbox row done, in one transaction.
pub async fn accepted(st: &AppState, inv: &Invoice, a: Acceptance) -> Result<(), DbError> {
    accepted_many(st, vec![(inv.clone(), a)]).await
}

/// Several acceptances in one transaction: the invoices (one statement on PostgreSQL, one per
/// invoice on SQLite), then the timeline, UPOs, outbox rows and audit events as multi-row writes (a batch of thousands is accepted in a few
/// transactions, not thousands).
#[tracing::instrument(level = "debug", name = "db.accepted_many", skip_all, fields(invoices = accepted.len()))]
pub async fn accepted_many(st: &AppState, accepted: Vec<(Invoice, Acceptance)>) -> Result<(), DbError> {
    if accepted.is_empty() {
        return Ok(());
    }
    let moved = st
        .db
        .tx(move |c| {
            let now = ids::now();
            let mut sessions: HashMap<&str, Option<KsefSessionId>> = HashMap::new();
            let rows: Vec<AcceptedRow<'_>> = accepted
                .iter()
                .map(|(inv, a)| AcceptedRow {
                    id: &inv.id,
                    invoice_reference: &a.invoice_reference,
                    ksef_number: &a.ksef_number,
                    description: &a.description,
                })
                .collect();
            let mut accepted_ids = Invoice::accept_many(c, &rows, now)?;
            let mut moved = Vec::with_capacity(accepted.len());
            // Each moved invoice once, as a statement per invoice would have it.
            for (inv, a) in accepted.iter().filter(|(inv, _)| accepted_ids.remove(&inv.id)) {
                let session_id = match inv.session_reference.as_deref() {
                    Some(r) => match sessions.get(r) {
                        Some(known) => known.clone(),
                        None => {
                            let found = KsefSession::find_by_reference(c, r)?.map(|s| s.id);
                            sessions.insert(r, found.clone());
                            found
                        }
                    },
                    None => None,
                };
                moved.push((inv, a, session_id, UpoId::new()));
            }
            if moved.is_empty() {
                return Ok::<_, DbError>(0);
            }
            let entries: Vec<_> =
                moved.iter().map(|(inv, a, ..)| (&inv.id, &inv.client_id, a.note.as_deref())).collect();
            add_timeline(c, &entries, now, InvoiceState::Accepted, &ACTOR)?;
            let upos: Vec<NewUpo<'_>> = moved
                .iter()
                .map(|(inv, a, session_id, upo_id)| NewUpo {
                    id: upo_id,
                    client_id: &inv.client_id,
                    invoice_id: Some(&inv.id),
                    ksef_session_id: session_id.as_ref(),
                    sha256: &a.upo_sha256,
                    xml: &a.upo_xml,
                    fetched_at: now,
                })
                .collect();
            Upo::insert_many(c, &upos)?;
            let changes: Vec<_> = moved
                .iter()
                .map(|(inv, a, ..)| StateChange {
                    invoice: inv,
                    old_state: inv.state,
                    new_state: InvoiceState::Accepted,
                    ksef_number: Some(&a.ksef_number),
                })
                .collect();
            enqueue_state_changes(c, &changes)?;
            let done: Vec<&InvoiceId> = moved.iter().map(|(inv, ..)| &inv.id).collect();
            OutboxEntry::set_status_many(c, &done, OutboxState::Done)?;
            audit::record_many(
                c,
                moved.iter().map(|(inv, a, ..)| AuditEntry {
                    actor: &AuditActor::System,
                    client_id: Some(&inv.client_id),
                    action: "send.invoice_accepted",
                    subject: Some(&inv.id),
                    payload: json!({
                        "sha256": inv.sha256, "ksef_number": a.ksef_number, "upo_sha256": a.upo_sha256,
                        "session_reference": inv.session_reference, "invoice_reference": a.invoice_reference,
                        "note": a.note,
                    }),
                }),
            )?;
            Ok(moved.len())
        })
        .await?;
    st.metrics.count_invoices(InvoiceState::Accepted.as_str(), moved);
    Ok(())
}

/// KSeF refused the invoice for good.
pub async fn rejected(st: &AppState, inv: &Invoice, code: i64, description: &str) -> Result<(), DbError> {
    let (inv, description) = (inv.clone(), description.to_owned());
    let moved = st.db.tx(move |c| {
        let reason = crate::service::reasons::rejection(code);
        Invoice::set_ksef_outcome(c, &inv.id, None, code, &description)?;
        let from = InvoiceState::WATCHED;
        if !Invoice::transition(c, &inv.id, &from, InvoiceState::Rejected, &ACTOR, Some(&reason))? {
            return Ok::<_, DbError>(0);
        }
        OutboxEntry::set_status(c, &inv.id, OutboxState::Failed, Some(&format!("{code}: {description}")))?;
        let payload = json!({"sha256": inv.sha256, "code": code, "description": description, "reason": reason,
            "session_reference": inv.session_reference, "invoice_reference": inv.invoice_reference});
        event(c, &inv.client_id, "send.invoice_rejected", Some(&inv.id), payload)?;
        let change =
            StateChange { invoice: &inv, old_state: inv.state, new_state: InvoiceState::Rejected, ksef_number: None };
        enqueue_state_changes(c, &[change])?;
        Ok(1)
    })
    .await?;
    st.metrics.count_invoices(InvoiceState::Rejected.as_str(), moved);
    Ok(())
}

/// KSeF provably does not have the invoice (or cancelled it): back to waiting, to be sent again
/// at `next_at`.
pub async fn requeue(
    st: &AppState,
    inv: &Invoice,
    next_at: NaiveDateTime,
    why: &str,
    count_attempt: bool,
) -> Result<(), DbError> {
    let (inv, why) = (inv.clone(), why.to_owned());
    let moved = st
        .db
        .tx(move |c| {
            let back = if outbox::decision_is_offline(c, &inv.id)? || inv.offline_mode {
                InvoiceState::Offline
            } else {
                InvoiceState::Queued
            };
            let moved = Invoice::transition(c, &inv.id, &InvoiceState::IN_FLIGHT, back, &ACTOR, Some(&why))?;
            if moved {
                Invoice::clear_session(c, &inv.id)?;
                let payload =
                    json!({"sha256": inv.sha256, "reason": why, "session_reference": inv.session_reference});
                event(c, &inv.client_id, "send.invoice_requeued", Some(&inv.id), payload)?;
            }
            OutboxEntry::reschedule(c, &inv.id, next_at, &why, count_attempt)?;
            Ok::<_, DbError>(usize::from(moved))
        })
        .await?;
    st.metrics.count_invoices("requeued", moved);
    Ok(())
}

/// Outcome unknown (timeout, 5xx): the invoice stays in `sending` to be reconciled; the outbox
/// row records the attempt.
pub async fn unknown_outcome(db: &Db, invoice_id: &InvoiceId, why: &str) -> Result<(), DbError> {
    let (id, why) = (invoice_id.clone(), why.to_owned());
    db.tx(move |c| OutboxEntry::set_status(c, &id, OutboxState::Sending, Some(&why))).await
}

/// Invoices not yet handed to KSeF wait until `next_at`.
pub async fn postpone(
    db: &Db,
    invoice_ids: Vec<InvoiceId>,
    next_at: NaiveDateTime,
    why: &str,
    count_attempt: bool,
) -> Result<(), DbError> {
    let why = why.to_owned();
    db.tx(move |c| {
        for id in &invoice_ids {
            OutboxEntry::reschedule(c, id, next_at, &why, count_attempt)?;
        }
        Ok(())
    })
    .await
}

/// What the sender's own login with the credential ended in (the panel shows the last error).
pub async fn login_outcome(
    db: &Db,
    client_id: &ClientId,
    login: &crate::service::ksef_login::LoginSource,
    error: Option<&str>,
) -> Result<(), DbError> {
    let (client_id, login, error) = (client_id.clone(), login.clone(), error.map(str::to_owned));
    db.tx(move |c| {
        let outcome = match &error {
            None => Ok(None),
            Some(e) => Err(e.as_str()),
        };
        crate::service::credentials::record_login(c, &client_id, &login, outcome)
    })
    .await
}

/// Stops the client's sender until a person clears the reason.
pub async fn pause_client(db: &Db, client_id: &ClientId, reason: &str) -> Result<(), DbError> {
    let (client_id, reason) = (client_id.clone(), reason.to_owned());
    db.tx(move |c| {
        Client::set_paused(c, &client_id, Some(&reason))?;
        event(c, &client_id, "send.client_paused", Some(&client_id), json!({"reason": reason}))
    })
    .await
}

/// The watchdog's flag on an invoice that stays too long in its state.
pub async fn flag_stuck(db: &Db, inv: &Invoice, waited_s: i64) -> Result<(), DbError> {
    let inv = inv.clone();
    db.tx(move |c| {
        let note = format!(
            "{}{} {}",
            crate::db::models::sending::WATCHDOG_NOTE,
            inv.state,
            crate::service::reasons::stuck(inv.state, waited_s / 60)
        );
        Invoice::flag_stuck(c, &inv, ids::now(), &ACTOR, &note)?;
        let payload = json!({"sha256": inv.sha256, "state": inv.state, "waited_s": waited_s,
            "session_reference": inv.session_reference, "invoice_reference": inv.invoice_reference});
        event(c, &inv.client_id, "send.invoice_stuck", Some(&inv.id), payload)
    })
    .await
}
