//! Invoice intake: one FA(3) XML or a zip of many, checked the way KSeF will check them, and
//! stored with their exact bytes, the facts people search by, and their findings. Invoices
//! that fail stay stored as `invalid`; nothing in the bytes is ever changed.

use std::collections::HashMap;

use chrono::NaiveDate;
use ksef_fa3::package::{read_zip, PackageLimits};
use ksef_fa3::{preflight, Finding, PreflightContext, PreflightReport, KSEF_DUPLICATE};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::auth::Permission;
use crate::db::models::{ids, Client, Invoice};
use crate::domain::{Actor, InvoiceState};
use crate::error::{AppError, Refusal};
use crate::service::access::{self, Caller};
use crate::service::audit::{self, AuditEntry};
use crate::service::discard;
use crate::service::findings::StoredFinding;
use crate::state::AppState;

/// Where an upload came from (kept on the invoice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Panel,
    Api,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Panel => "panel",
            Self::Api => "api",
        }
    }
}

/// One file of an upload and what became of it.
#[derive(Debug, Clone)]
pub struct IntakeResult {
    /// The name inside the zip (None for a single XML).
    pub file: Option<String>,
    pub invoice: Invoice,
    pub findings: Vec<StoredFinding>,
}

/// True when the body is a zip archive (local file header or empty-archive signature).
fn is_zip(body: &[u8]) -> bool {
    body.starts_with(b"PK\x03\x04") || body.starts_with(b"PK\x05\x06")
}

/// Today in Poland: KSeF compares P_1 with the Warsaw calendar day.
pub fn today_in_poland() -> NaiveDate {
    crate::local_time::today()
}

/// Stores the invoices of one upload for the client. The whole upload is one transaction:
/// either every file is stored (valid ones as drafts, the rest as invalid) or none is.
pub async fn submit(
    st: &AppState,
    caller: &Caller,
    client_id: &str,
    body: Vec<u8>,
    source: Source,
) -> Result<Vec<IntakeResult>, AppError> {
    let (c, cid) = (caller.clone(), client_id.to_owned());
    let client = st
        .db
        .tx(move |conn| {
            access::require(conn, &c, &cid, Permission::Upload)?;
            Ok::<_, AppError>(Client::get(conn, &cid)?)
        })
        .await?;
    if body.is_empty() {
        return Err(AppError::Refused {
            refusal: Refusal::EmptyBody,
            message: "the request has no invoice in it".into(),
        });
    }
    let files = split_upload(st, body).await?;
    let reports = check_all(st, &client.nip, files).await?;
    store(st, caller, &client, reports, source, None).await
}

/// A corrected upload in place of an invoice nobody decided on yet (a duplicate, an invalid
/// one, a draft with a mistake): one XML, stored as any upload is, while the old one goes in the
/// same transaction (so it does not count as a duplicate of its own correction). The new
/// invoice's timeline and the audit trail (`invoice.replaced`) name the one it replaced.
pub async fn replace(
    st: &AppState,
    caller: &Caller,
    old_id: &str,
    body: Vec<u8>,
    source: Source,
) -> Result<IntakeResult, AppError> {
    let (c, id) = (caller.clone(), old_id.to_owned());
    let (old, client) = st
        .db
        .tx(move |conn| {
            let old = discard::removable(conn, &c, &id)?;
            let client = Client::get(conn, &old.client_id)?;
            Ok::<_, AppError>((old, client))
        })
        .await?;
    if body.is_empty() || is_zip(&body) {
        return Err(AppError::Refused {
            refusal: Refusal::ReplacementOneXml,
            message: "an invoice is replaced by exactly one FA(3) XML file".into(),
        });
    }
    let files = split_upload(st, body).await?;
    let reports = check_all(st, &client.nip, files).await?;
    let mut stored = store(st, caller, &client, reports, source, Some(old)).await?;
    stored.pop().ok_or_else(|| AppError::Internal(anyhow::anyhow!("a replacement stored nothing")))
}

/// The files of an upload: the body itself, or every XML entry of a zip (read with limits on
/// entries, sizes and compression ratio enforced while inflating).
async fn split_upload(st: &AppState, body: Vec<u8>) -> Result<Vec<(Option<String>, Vec<u8>)>, AppError> {
    if !is_zip(&body) {
        if body.len() > ksef_fa3::MAX_INVOICE_WITH_ATTACHMENT_BYTES {
            return Err(AppError::TooLarge(format!(
                "an invoice may have at most {} bytes",
                ksef_fa3::MAX_INVOICE_WITH_ATTACHMENT_BYTES
            )));
        }
        return Ok(vec![(None, body)]);
    }
    let limits =
        PackageLimits { max_entries: st.settings.intake.max_files_per_upload, ..PackageLimits::default() };
    let entries = tokio::task::spawn_blocking(move || read_zip(&body, &limits))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|e| match Refusal::of_package(&e) {
            Some(refusal) => AppError::refused(refusal, e.to_string()),
            None => AppError::Internal(e.into()),
        })?;
    if entries.is_empty() {
        return Err(AppError::Refused {
            refusal: Refusal::PackageEmpty,
            message: "the zip holds no .xml file".into(),
        });
    }
    Ok(entries.into_iter().map(|e| (Some(e.name), e.bytes)).collect())
}

/// One checked file.
struct Checked {
    file: Option<String>,
    bytes: Vec<u8>,
    report: PreflightReport,
}

/// Runs the pre-flight checks on every file, spread over the blocking pool (CPU-bound).
async fn check_all(
    st: &AppState,
    nip: &str,
    files: Vec<(Option<String>, Vec<u8>)>,
) -> Result<Vec<Checked>, AppError> {
    let ctx = PreflightContext { client_nip: Some(nip.to_owned()), today: today_in_poland() };
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).min(files.len().max(1));
    let chunk = files.len().div_ceil(workers).max(1);
    let mut tasks = Vec::new();
    let mut files = files;
    while !files.is_empty() {
        let rest = files.split_off(chunk.min(files.len()));
        let part = std::mem::replace(&mut files, rest);
        let (schema, ctx) = (st.fa3.clone(), ctx.clone());
        tasks.push(tokio::task::spawn_blocking(move || {
            part.into_iter()
                .map(|(file, bytes)| {
                    let report = preflight(&bytes, &schema, &ctx);
                    Checked { file, bytes, report }
                })
                .collect::<Vec<_>>()
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.extend(t.await.map_err(|e| AppError::Internal(e.into()))?);
    }
    Ok(out)
}

/// Base64 SHA-256, the form KSeF uses for invoice hashes (so ours match KSeF's answers).
pub fn invoice_hash(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
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

async fn store(
    st: &AppState,
    caller: &Caller,
    client: &Client,
    checked: Vec<Checked>,
    source: Source,
    replaces: Option<Invoice>,
) -> Result<Vec<IntakeResult>, AppError> {
    let (caller, client) = (caller.clone(), client.clone());
    st.db
        .tx(move |conn| {
            let actor = caller.audit_actor();
            let who = caller.actor();
            let label = who.to_string();
            let now = ids::now();
            if let Some(old) = &replaces {
                discard::take_out(conn, old)?;
            }
            // KSeF's duplicate key of everything already stored, for the numbers in this upload;
            // invoices of this upload join the map as they are stored.
            let numbers: Vec<&str> = checked.iter().filter_map(|c| c.report.facts.as_ref()).map(|f| f.invoice_number.as_str()).collect();
            let mut seen: HashMap<(String, String, String), Invoice> = Invoice::live_with_numbers(conn, &client.id, &numbers)?
                .into_iter()
                .filter_map(|i| Some(((i.seller_nip.clone()?, i.invoice_type.clone()?, i.number.clone()?), i)))
                .collect();
            let mut results = Vec::with_capacity(checked.len());
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
                    created_by: Some(label.clone()),
                    ..Invoice::new(client.id.clone(), sha, i64::try_from(bytes.len()).unwrap_or(i64::MAX), state, source.as_str(), now)
                };
                documents.push(bytes);
                if let (Some(f), true) = (facts, state == InvoiceState::Draft) {
                    seen.insert(ksef_fa3::duplicate_key(f), invoice.clone());
                }
                results.push(IntakeResult { file, invoice, findings });
            }
            let rows: Vec<_> = results.iter().zip(&documents).map(|(r, xml)| (&r.invoice, xml.as_slice())).collect();
            Invoice::insert_many(conn, &rows, &who)?;
            audit::record_many(
                conn,
                results.iter().map(|r| AuditEntry {
                    actor: &actor,
                    client_id: Some(&client.id),
                    action: "invoice.uploaded",
                    subject: Some(&r.invoice.id),
                    payload: json!({
                        "sha256": r.invoice.sha256, "number": r.invoice.number, "state": r.invoice.state,
                        "file": r.file, "source": source.as_str(),
                        "errors": r.findings.iter().filter(|f| f.severity == "error").map(|f| f.code.as_str()).collect::<Vec<_>>(),
                    }),
                }),
            )?;
            if let (Some(old), Some(new)) = (&replaces, results.first()) {
                note_replacement(conn, &actor, &who, old, &new.invoice)?;
            }
            Ok(results)
        })
        .await
}

/// Links a replacement to the invoice it replaced: a step on the new one's timeline and an
/// `invoice.replaced` event keeping the old file's hash.
fn note_replacement(
    conn: &mut crate::db::AnyConn,
    actor: &audit::AuditActor,
    who: &Actor,
    old: &Invoice,
    new: &Invoice,
) -> Result<(), AppError> {
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
        who,
        Some(&note),
    )?;
    let mut payload = discard::remembered(old);
    payload["replaced_by"] = json!(new.id);
    audit::record(
        conn,
        AuditEntry {
            actor,
            client_id: Some(&old.client_id),
            action: "invoice.replaced",
            subject: Some(&old.id),
            payload,
        },
    )?;
    Ok(())
}
