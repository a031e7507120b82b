//! Up to `online_max` invoices through an online session, reused while it stays valid. Each
//! invoice is moved to `sending` (with the session reference) before its upload and to
//! `registered` (with its reference) as soon as KSeF answers.

use std::time::{Duration, Instant};

use ksef_client::online::SendOptions;
use ksef_client::{ErrorClass, FormCode, KsefError, SecretString};

use super::context::{ClientCtx, Engine, OpenOnline};
use super::lease::Lease;
use super::limits::EndpointClass;
use super::{record, TurnError};
use crate::db::models::ksef_session::KsefSession;
use crate::db::models::outbox::DueInvoice;
use crate::db::models::Invoice;
use crate::domain::{InvoiceState, SessionKind, SessionState};

/// An online session is not reused this close to its expiry.
const EXPIRY_MARGIN: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// What a failed upload means for the invoice.
pub enum Disposition {
    /// KSeF provably did not take it (429, 401/403, session problems, checks before sending).
    NotReceived,
    /// The session is unusable; nothing was received.
    SessionGone,
    /// KSeF refused this invoice for good.
    Rejected { code: i64, description: String },
    /// No answer, or an answer we cannot read: KSeF may have it. Reconcile before resending.
    Unknown,
}

pub fn disposition(e: &KsefError) -> Disposition {
    match (e.class(), e.api()) {
        (ErrorClass::RateLimited { .. } | ErrorClass::Credential, _) => Disposition::NotReceived,
        (ErrorClass::Transient, Some(api)) if api.status == 400 => Disposition::NotReceived,
        (ErrorClass::Transient, _) => Disposition::Unknown,
        // Paused (21184), unknown, wrong state or full: nothing was received; open a new session.
        (ErrorClass::SessionUnusable, _) => Disposition::SessionGone,
        (ErrorClass::Permanent, Some(api)) if api.status == 400 => {
            let first = api.exceptions.first();
            Disposition::Rejected {
                code: first.map_or(400, |x| i64::from(x.code)),
                description: first.map_or_else(|| api.to_string(), |x| x.description.clone()),
            }
        }
        (ErrorClass::Permanent, Some(_)) => Disposition::NotReceived,
        (ErrorClass::Permanent, None) if matches!(e, KsefError::Decode { .. }) => Disposition::Unknown,
        (ErrorClass::Permanent, None) => Disposition::Rejected { code: 0, description: e.to_string() },
    }
}

pub async fn send(
    engine: &Engine,
    ctx: &ClientCtx,
    lease: &Lease,
    group: Vec<DueInvoice>,
) -> Result<(), TurnError> {
    let token = ctx.access_token(&engine.limits).await?;
    let mut slot = ctx.online.lock().await;
    let mut pending = group.into_iter();
    while let Some(due) = pending.next() {
        lease.check()?;
        if engine.stopping() {
            return Ok(());
        }
        let open = match slot.take().filter(usable) {
            Some(open) => open,
            None => match open_session(engine, ctx, &token).await {
                Ok(open) => open,
                Err(e) => {
                    let mut ids: Vec<_> = pending.map(|d| d.invoice.id).collect();
                    ids.push(due.invoice.id.clone());
                    let next = engine.retry_at(due.entry.attempts, None);
                    record::postpone(&engine.st.db, ids, next, &e.to_string(), false).await?;
                    return Err(e);
                }
            },
        };
        let reference = open.session.reference_number.clone();
        let moved = record::mark_sending(
            &engine.st.db,
            &ctx.client_id,
            &open.row_id,
            &reference,
            vec![due.invoice.id.clone()],
        )
        .await?;
        if moved.is_empty() {
            *slot = Some(open);
            continue;
        }
        let inv = Invoice {
            state: InvoiceState::Sending,
            session_reference: Some(reference.clone()),
            ..due.invoice
        };
        let id = inv.id.clone();
        let xml = engine.st.db.run(move |c| Invoice::document(c, &id)).await?;
        engine.limits.acquire(&ctx.nip, EndpointClass::InvoiceSend).await;
        let options = SendOptions { offline_mode: due.offline, hash_of_corrected_invoice: None };
        match ctx.ksef.send_invoice(&token, &open.session, &xml, &options).await {
            Ok(sent) => {
                if sent.invoice_hash != inv.sha256 {
                    tracing::error!(invoice.id = %inv.id, "Stored SHA-256 differs from the bytes sent");
                }
                record::registered(&engine.st.db, &inv, &sent.reference_number).await?;
                *slot = Some(OpenOnline { last_used: Instant::now(), ..open });
            }
            Err(e) => {
                let why = e.to_string();
                let wait = match e.class() {
                    ErrorClass::RateLimited { retry_after } => Some(retry_after),
                    _ => None,
                };
                match disposition(&e) {
                    Disposition::NotReceived => {
                        let next = engine.retry_at(due.entry.attempts, wait);
                        record::requeue(&engine.st, &inv, next, &why, wait.is_none()).await?;
                        *slot = Some(open);
                        return Err(e.into());
                    }
                    Disposition::SessionGone => {
                        let next = engine.retry_at(0, Some(Duration::ZERO));
                        record::requeue(&engine.st, &inv, next, &why, false).await?;
                        // The next invoice opens a fresh session.
                    }
                    Disposition::Rejected { code, description } => {
                        record::rejected(&engine.st, &inv, code, &description).await?;
                        *slot = Some(open);
                    }
                    Disposition::Unknown => {
                        record::unknown_outcome(&engine.st.db, &inv.id, &why).await?;
                        *slot = Some(open);
                        return Err(e.into());
                    }
                }
            }
        }
    }
    Ok(())
}

fn usable(open: &OpenOnline) -> bool {
    open.session.valid_until.is_none_or(|until| until - EXPIRY_MARGIN > chrono::Utc::now())
}

async fn open_session(
    engine: &Engine,
    ctx: &ClientCtx,
    token: &SecretString,
) -> Result<OpenOnline, TurnError> {
    engine.limits.acquire(&ctx.nip, EndpointClass::OnlineSession).await;
    let session = ctx.ksef.open_online_session(token, &FormCode::fa3()).await?;
    let valid_until = session.valid_until.map(|t| t.naive_utc());
    let row_id = record::session_opened(
        &engine.st.db,
        &ctx.client_id,
        SessionKind::Online,
        &session.reference_number,
        valid_until,
    )
    .await?;
    Ok(OpenOnline { session, row_id, last_used: Instant::now() })
}

/// Online sessions a previous holder of the client's lease left open (it crashed, or lost the
/// lease): closed now, so KSeF issues their collective UPO and no session stays open for hours.
/// A session counts as orphaned only once unused for longer than any live sender keeps one
/// (`online_session_idle_s`, after which its holder closes it itself) plus a lease lifetime, so
/// a session another replica still reuses between its turns is left alone, and so is the one
/// this process keeps. A close KSeF refuses (already closed or expired) settles the row too; an
/// unknown outcome waits for the next turn.
pub async fn close_orphans(engine: &Engine, ctx: &ClientCtx, lease: &Lease) -> Result<(), TurnError> {
    let cid = ctx.client_id.clone();
    let open = engine.st.db.run(move |c| KsefSession::open_online(c, &cid)).await?;
    if open.is_empty() {
        return Ok(());
    }
    let unused_for = engine.cfg.online_session_idle_s + 2 * engine.cfg.lease_ttl_s;
    let before = crate::db::models::ids::now()
        - chrono::Duration::seconds(i64::try_from(unused_for).unwrap_or(i64::MAX));
    let ours = ctx.online.lock().await.as_ref().map(|o| o.row_id.clone());
    let orphans = open.into_iter().filter(|s| Some(&s.id) != ours.as_ref() && s.updated_at < before);
    for orphan in orphans {
        let Some(reference) = orphan.reference.clone() else { continue };
        lease.check()?;
        let token = ctx.access_token(&engine.limits).await?;
        engine.limits.acquire(&ctx.nip, EndpointClass::OnlineSessionClose).await;
        let state = match ctx.ksef.close_online_session(&token, &reference).await {
            Ok(()) => SessionState::Closed,
            Err(e) if super::batch::is_refused(&e) => SessionState::Abandoned,
            // The turn's error handling puts the NIP in the penalty box or pauses the client.
            Err(e) if matches!(e.class(), ErrorClass::RateLimited { .. } | ErrorClass::Credential) => {
                return Err(e.into())
            }
            Err(e) => {
                tracing::info!(ksef.session = %reference, error = %e, "Closing an orphaned online session failed; next turn");
                continue;
            }
        };
        tracing::info!(ksef.session = %reference, state = state.as_str(), "Orphaned online session settled");
        record::session_state(&engine.st.db, &ctx.client_id, &orphan.id, state, None).await?;
    }
    Ok(())
}
