//! More than `online_max` due invoices go in one batch session: zip, encrypt, open, persist the
//! session and move the invoices to `sending` with its reference, upload the parts, close.
//! Statuses arrive later through [`super::sync`].

use ksef_client::batch::{prepare_batch, BatchInvoice, BatchOptions, PreparedBatch, MAX_PART_SIZE};
use ksef_client::{ErrorClass, KsefError};
use tracing::Instrument;

use super::context::{ClientCtx, Engine};
use super::lease::Lease;
use super::limits::EndpointClass;
use super::{record, TurnError};
use crate::db::models::outbox::DueInvoice;
use crate::db::models::{ids, Invoice};
use crate::db::DbError;
use crate::domain::{InvoiceId, InvoiceState, SessionKind, SessionState};

/// KSeF's limit of invoices per session.
const MAX_BATCH: usize = 10_000;

pub async fn send(
    engine: &Engine,
    ctx: &ClientCtx,
    lease: &Lease,
    group: Vec<DueInvoice>,
) -> Result<(), TurnError> {
    for chunk in group.chunks(MAX_BATCH) {
        send_one(engine, ctx, lease, chunk).await?;
    }
    Ok(())
}

#[tracing::instrument(level = "debug", name = "sender.batch", skip_all, fields(invoices = group.len()))]
async fn send_one(
    engine: &Engine,
    ctx: &ClientCtx,
    lease: &Lease,
    group: &[DueInvoice],
) -> Result<(), TurnError> {
    let offline = group.first().is_some_and(|d| d.offline);
    let invoice_ids: Vec<InvoiceId> = group.iter().map(|d| d.invoice.id.clone()).collect();
    // Reading and packing the invoices needs no token: a client that still has to log in (a
    // turn that started without a login ahead) does both at once.
    let token = ctx.access_token(&engine.limits).instrument(tracing::debug_span!("sender.access_token"));
    let (prepared, token) = tokio::join!(read_and_pack(engine, &invoice_ids), token);
    let (prepared, token) = (prepared?, token?);
    let options = BatchOptions { offline_mode: offline, ..BatchOptions::default() };
    lease.check()?;
    engine.limits.acquire(&ctx.nip, EndpointClass::BatchSession).await;
    let attempts = group.iter().map(|d| d.entry.attempts).max().unwrap_or(0);
    let opened = ctx
        .ksef
        .open_batch_session(&token, &prepared, &options)
        .instrument(tracing::debug_span!("batch.open"))
        .await;
    let (reference, uploads) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            // Nothing was uploaded: a session that KSeF may have opened stays empty and expires.
            let wait = match e.class() {
                ErrorClass::RateLimited { retry_after } => Some(retry_after),
                _ => None,
            };
            let next = engine.retry_at(attempts, wait);
            record::postpone(&engine.st.db, invoice_ids, next, &e.to_string(), false).await?;
            return Err(e.into());
        }
    };
    // Exactly once: the session and every invoice's place in it are stored before any upload.
    let session_id =
        record::session_opened(&engine.st.db, &ctx.client_id, SessionKind::Batch, &reference, None).await?;
    let moved =
        record::mark_sending(&engine.st.db, &ctx.client_id, &session_id, &reference, invoice_ids).await?;
    if moved.len() != group.len() {
        tracing::warn!(ksef.session = %reference, "Some invoices left the queue before upload; they are in the archive anyway and will be reconciled");
    }
    tracing::info!(ksef.session = %reference, invoices = group.len(), parts = prepared.parts.len(), "Uploading a batch");
    let uploaded =
        ctx.ksef.upload_parts(prepared.parts, uploads).instrument(tracing::debug_span!("batch.upload")).await;
    engine.limits.acquire(&ctx.nip, EndpointClass::BatchSessionClose).await;
    let closed = ctx
        .ksef
        .close_batch_session(&token, &reference)
        .instrument(tracing::debug_span!("batch.close"))
        .await;
    match (uploaded, closed) {
        (_, Ok(())) => {
            record::session_state(&engine.st.db, &ctx.client_id, &session_id, SessionState::Closed, None)
                .await?
        }
        (upload, Err(e)) if is_refused(&e) => {
            // KSeF refused the close (a part is missing or late): it will never process this
            // session, so none of its invoices can reach KSeF through it.
            record::session_state(&engine.st.db, &ctx.client_id, &session_id, SessionState::Abandoned, None)
                .await?;
            let why = upload.err().map_or_else(|| e.to_string(), |u| format!("{u}; {e}"));
            requeue_all(engine, &reference, &why).await?;
            return Err(e.into());
        }
        // Unknown: the close may have been committed. The session stays `open`; the next
        // turn asks KSeF for its status before doing anything else.
        (_, Err(e)) => return Err(e.into()),
    }
    Ok(())
}

/// The invoices' exact bytes, zipped and encrypted into parts.
async fn read_and_pack(engine: &Engine, invoice_ids: &[InvoiceId]) -> Result<PreparedBatch, TurnError> {
    let ids_for_read = invoice_ids.to_vec();
    let docs = engine
        .st
        .db
        .run(move |c| Invoice::documents(c, &ids_for_read))
        .instrument(tracing::debug_span!("db.documents"))
        .await?;
    let files: Vec<BatchInvoice> = invoice_ids
        .iter()
        .zip(docs)
        .map(|(id, xml)| BatchInvoice { file_name: format!("{id}.xml"), xml })
        .collect();
    tokio::task::spawn_blocking(move || prepare_batch(&files, MAX_PART_SIZE))
        .instrument(tracing::debug_span!("batch.prepare"))
        .await
        .map_err(|e| TurnError::Setup(format!("batch preparation failed: {e}")))?
        .map_err(TurnError::from)
}

/// A close KSeF answered with a 400 (not a timeout or 5xx, after which it may have closed).
pub fn is_refused(e: &KsefError) -> bool {
    e.http_status() == Some(400)
        && !matches!(e.class(), ErrorClass::Transient | ErrorClass::RateLimited { .. })
}

/// Puts every invoice still `sending` in the session back to waiting.
pub async fn requeue_all(engine: &Engine, reference: &str, why: &str) -> Result<(), TurnError> {
    let r = reference.to_owned();
    let invoices = engine
        .st
        .db
        .run(move |c| {
            let all = Invoice::in_flight_in_session(c, &r)?;
            Ok::<_, DbError>(all.into_iter().filter(|i| i.state == InvoiceState::Sending).collect::<Vec<_>>())
        })
        .await?;
    let next = ids::now();
    for inv in invoices {
        record::requeue(&engine.st, &inv, next, why, true).await?;
    }
    Ok(())
}
