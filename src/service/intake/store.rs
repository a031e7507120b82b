//! Checking and storing an upload's files as they are read: batches of files are checked on
//! every core while the batch before is stored, all in the upload's one transaction, so at
//! most a few batches are in memory and a refused package (found at any entry) stores nothing.

use std::collections::HashMap;
use std::sync::mpsc::{sync_channel, SyncSender};

use ksef_fa3::{preflight, Fa3Schema, Finding, PreflightContext, PreflightReport, KSEF_DUPLICATE};
use serde_json::json;

use super::results::{Results, ResultsWriter};
use super::upload::{empty_package, File1, Files};
use super::{invoice_hash, IntakeResult, Source, Stored};
use crate::db::models::{ids, Client, Invoice};
use crate::db::AnyConn;
use crate::domain::{Actor, InvoiceState};
use crate::error::AppError;
use crate::service::access::Caller;
use crate::service::audit::{self, AuditActor, AuditEntry};
use crate::service::discard;
use crate::service::findings::StoredFinding;
use crate::state::AppState;

/// One checked file.
struct Checked {
    file: Option<String>,
    bytes: Vec<u8>,
    report: PreflightReport,
}

/// Who stores an upload, for whom and how.
struct Upload {
    caller: Caller,
    client: Client,
    source: Source,
    /// One time for the whole upload, as when it was stored at once.
    now: chrono::NaiveDateTime,
}

/// Checks and stores every file of an upload in one transaction: either every file is stored
/// (valid ones as drafts, the rest as invalid) or none is. `replaces` goes out in the same
/// transaction.
pub(super) async fn check_and_store(
    st: &AppState,
    caller: &Caller,
    client: &Client,
    files: Files,
    source: Source,
    replaces: Option<Invoice>,
) -> Result<Results, AppError> {
    let ctx = PreflightContext { client_nip: Some(client.nip.to_string()), today: super::today_in_poland() };
    let schema = st.fa3.clone();
    let upload = Upload { caller: caller.clone(), client: client.clone(), source, now: ids::now() };
    let spool_dir = st.settings.data_dir.clone();
    st.db
        .tx(move |conn| {
            if let Some(old) = &replaces {
                discard::take_out(conn, old)?;
            }
            let mut results = ResultsWriter::new(&spool_dir);
            std::thread::scope(|scope| {
                // One batch waits while the next is checked: checking and storing overlap, and
                // at most three batches are held.
                let (sender, batches) = sync_channel(1);
                let (schema, ctx) = (&schema, &ctx);
                // The sender moves into the checking thread: its end closes the channel.
                scope.spawn(move || check_batches(files, schema, ctx, &sender));
                for batch in batches {
                    store_batch(conn, &upload, batch?, &mut results)?;
                }
                Ok::<_, AppError>(())
            })?;
            let mut results = results.finish();
            if results.is_empty() {
                return Err(empty_package());
            }
            record_uploads(conn, &upload, &mut results)?;
            if let (Some(old), Some(new)) = (&replaces, results.first()?) {
                note_replacement(conn, &upload.caller, old, &new.invoice)?;
            }
            Ok(results)
        })
        .await
}

/// Reads the files batch by batch and checks each batch on all cores, handing the batches on
/// in order; stops at the first unreadable entry (passed on as the error) or when the storing
/// side has given up.
fn check_batches(
    mut files: Files,
    schema: &Fa3Schema,
    ctx: &PreflightContext,
    sender: &SyncSender<Result<Vec<Checked>, AppError>>,
) {
    let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    loop {
        let checked = match files.next_batch() {
            Ok(batch) if batch.is_empty() => return,
            Ok(batch) => Ok(check_batch(batch, schema, ctx, workers)),
            Err(e) => Err(e),
        };
        let failed = checked.is_err();
        if sender.send(checked).is_err() || failed {
            return;
        }
    }
}

/// Runs the pre-flight checks (CPU-bound) on one batch, split over `workers` threads, keeping
/// the files' order.
fn check_batch(
    batch: Vec<File1>,
    schema: &Fa3Schema,
    ctx: &PreflightContext,
    workers: usize,
) -> Vec<Checked> {
    let check = |part: Vec<File1>| -> Vec<Checked> {
        part.into_iter()
            .map(|(file, bytes)| {
                let report = preflight(&bytes, schema, ctx);
                Checked { file, bytes, report }
            })
            .collect()
    };
    let chunk = batch.len().div_ceil(workers.max(1)).max(1);
    let mut parts = Vec::new();
    let mut rest = batch;
    while rest.len() > chunk {
        let tail = rest.split_off(chunk);
        parts.push(std::mem::replace(&mut rest, tail));
    }
    parts.push(rest);
    std::thread::scope(|scope| {
        let mut parts = parts.into_iter();
        let first = parts.next().unwrap_or_default();
        let others: Vec<_> = parts.map(|part| scope.spawn(move || check(part))).collect();
        let mut out = check(first);
        for handle in others {
            // A panic in a check is a bug; it surfaces as the transaction's task failing.
            out.extend(handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
        }
        out
    })
}

/// Stores one checked batch: duplicates are looked up against everything stored, including
/// this upload's earlier batches (same transaction), and within the batch as it is stored.
fn store_batch(
    conn: &mut AnyConn,
    upload: &Upload,
    checked: Vec<Checked>,
    results: &mut ResultsWriter,
) -> Result<(), AppError> {
    let Upload { caller, client, source, now } = upload;
    let who = caller.actor();
    // KSeF's duplicate key of everything live already stored, for the numbers in this batch;
    // the batch's drafts join the map as they are stored.
    let numbers: Vec<&str> =
        checked.iter().filter_map(|c| c.report.facts.as_ref()).map(|f| f.invoice_number.as_str()).collect();
    let mut seen: HashMap<(String, String, String), Invoice> =
        Invoice::live_with_numbers(conn, &client.id, &numbers)?
            .into_iter()
            .filter_map(|i| Some(((i.seller_nip.clone()?, i.invoice_type.clone()?, i.number.clone()?), i)))
            .collect();
    let mut rows = Vec::with_capacity(checked.len());
    let mut documents = Vec::with_capacity(checked.len());
    for Checked { file, bytes, mut report } in checked {
        let mut corrects = None;
        if let Some(f) = &report.facts {
            if let Some(existing) = seen.get(&ksef_fa3::duplicate_key(f)) {
                report.findings.push(duplicate_finding(existing));
            }
            if let Some(k) = f.corrected.iter().find_map(|c| c.ksef_number.as_deref()) {
                corrects = Invoice::find_by_ksef_number(conn, &client.id, k)?.map(|i| i.id);
            }
        }
        let state = if report.is_valid() { InvoiceState::Draft } else { InvoiceState::Invalid };
        let findings: Vec<StoredFinding> = report.findings.iter().map(StoredFinding::from).collect();
        let findings_json = serde_json::to_string(&findings).map_err(|e| AppError::Internal(e.into()))?;
        let sha = invoice_hash(&bytes);
        let facts = report.facts.as_ref();
        let gross = facts.and_then(|f| f.gross_total).map(|d| d.to_string());
        let invoice = Invoice {
            number: facts.map(|f| f.invoice_number.clone()),
            issue_date: facts.map(|f| f.issue_date),
            invoice_type: facts.map(|f| f.invoice_type.clone()),
            seller_nip: facts.map(|f| f.seller_nip.clone()),
            buyer_nip: facts.and_then(|f| f.buyer_nip.clone()),
            buyer_name: facts.and_then(|f| f.buyer_name.clone()),
            currency: facts.map(|f| f.currency.clone()),
            gross_minor: gross.as_deref().and_then(crate::domain::parse_amount),
            gross_total: gross,
            findings: findings_json,
            corrects_invoice_id: corrects,
            created_by: Some(who.clone()),
            ..Invoice::new(
                client.id.clone(),
                sha,
                i64::try_from(bytes.len()).unwrap_or(i64::MAX),
                state,
                source.as_str(),
                *now,
            )
        };
        documents.push(bytes);
        if let (Some(f), true) = (facts, state == InvoiceState::Draft) {
            seen.insert(ksef_fa3::duplicate_key(f), invoice.clone());
        }
        results.push(&IntakeResult { file, invoice: (&invoice).into(), findings })?;
        rows.push(invoice);
    }
    let rows: Vec<_> = rows.iter().zip(&documents).map(|(row, xml)| (row, xml.as_slice())).collect();
    Invoice::insert_many(conn, &rows, &who)?;
    Ok(())
}

/// One `invoice.uploaded` event per stored file, written after the last batch: on PostgreSQL
/// the audit chain's lock is then held from the end of the upload to its commit, not while the
/// rest of the files are read and checked (every audited write of the office waits for it).
/// The results are read back from their spool a chunk at a time.
fn record_uploads(conn: &mut AnyConn, upload: &Upload, results: &mut Results) -> Result<(), AppError> {
    const CHUNK: usize = 500;
    let mut chunk = Vec::with_capacity(CHUNK);
    results.each(|r| {
        chunk.push(r);
        if chunk.len() == CHUNK {
            record_upload_events(conn, upload, &chunk)?;
            chunk.clear();
        }
        Ok(())
    })?;
    if chunk.is_empty() {
        return Ok(());
    }
    record_upload_events(conn, upload, &chunk)
}

fn record_upload_events(
    conn: &mut AnyConn,
    upload: &Upload,
    results: &[IntakeResult],
) -> Result<(), AppError> {
    let actor = upload.caller.audit_actor();
    audit::record_many(
        conn,
        results.iter().map(|r| {
            let errors: Vec<&str> =
                r.findings.iter().filter(|f| f.severity == "error").map(|f| f.code.as_str()).collect();
            let payload = json!({
                "sha256": r.invoice.sha256, "number": r.invoice.number, "state": r.invoice.state,
                "file": r.file, "source": upload.source.as_str(), "errors": errors,
            });
            AuditEntry::on(&actor, &upload.client.id, "invoice.uploaded", &r.invoice.id, payload)
        }),
    )?;
    Ok(())
}

fn duplicate_finding(existing: &Invoice) -> Finding {
    let nr = existing.number.as_deref().unwrap_or("?");
    Finding::error(
        "duplicate",
        Some(KSEF_DUPLICATE),
        format!(
            "Faktura o tym samym numerze ({nr}), rodzaju i NIP sprzedawcy jest już w bramce (id {}, stan: {}). KSeF odrzuciłby ją jako duplikat (440).",
            existing.id,
            existing.state.label_pl()
        ),
        format!(
            "An invoice with the same number ({nr}), type and seller NIP is already stored (id {}, state {}). KSeF would reject it as a duplicate (440).",
            existing.id, existing.state
        ),
    )
    .at_path(Some("/Faktura/Fa/P_2".to_owned()))
}

/// Links a replacement to the invoice it replaced: a step on the new one's timeline and an
/// `invoice.replaced` event keeping the old file's hash.
fn note_replacement(
    conn: &mut AnyConn,
    caller: &Caller,
    old: &Invoice,
    new: &Stored,
) -> Result<(), AppError> {
    let (actor, who): (AuditActor, Actor) = (caller.audit_actor(), caller.actor());
    let note = format!(
        "zastępuje fakturę {} (id {}, SHA-256 {})",
        old.number.as_deref().unwrap_or("bez numeru"),
        old.id,
        old.sha256
    );
    crate::db::models::invoice::add_event(
        conn,
        &new.id,
        &new.client_id,
        ids::now(),
        new.state,
        &who,
        Some(&note),
    )?;
    let mut payload = discard::remembered(old);
    payload["replaced_by"] = json!(new.id);
    audit::record(
        conn,
        AuditEntry {
            actor: &actor,
            client_id: Some(&old.client_id),
            action: "invoice.replaced",
            subject: Some(&old.id),
            payload,
        },
    )?;
    Ok(())
}
