//! Invoice export packages: a ZIP of `<ksefNumber>.xml` files plus `_metadata.json`, cut into parts,
//! each part AES-256-CBC encrypted with the caller's key (OA `POST /invoices/exports`).

use std::io::Write;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::crypto::{aes256cbc_encrypt, sha256_b64};

/// Most exports in progress per context (21182).
pub const MAX_RUNNING: usize = 10;

/// One invoice taken into a package.
pub struct Item {
    pub ksef_number: String,
    pub xml: Arc<Vec<u8>>,
    pub metadata: Value,
}

/// An encrypted part as stored behind its pre-signed URL.
pub struct Part {
    pub ordinal: u32,
    pub name: String,
    pub encrypted: Vec<u8>,
    pub size: usize,
    pub hash: String,
    pub encrypted_hash: String,
}

/// The "last date" of a truncated package, per the filter's date type.
#[derive(Clone, Copy)]
pub enum LastDate {
    Issue(chrono::NaiveDate),
    Invoicing(DateTime<Utc>),
    PermanentStorage(DateTime<Utc>),
}

/// What a finished export reports besides its parts.
pub struct Summary {
    pub invoice_count: usize,
    pub is_truncated: bool,
    /// Set only when truncated.
    pub last_date: Option<LastDate>,
    pub hwm: Option<DateTime<Utc>>,
}

/// A built package.
pub struct Package {
    pub summary: Summary,
    pub size: usize,
    pub parts: Vec<Part>,
}

/// Where an export stands.
pub enum ExportState {
    /// Being built (status 100).
    Running,
    /// Done (status 200).
    Done(Box<Package>),
    /// Failed with an export status (415, 420, 500).
    Failed { code: u16, description: String, details: Vec<String> },
    /// Past its retention: the package is dropped, the status answers 410.
    Expired,
}

/// An export started through `POST /invoices/exports`.
pub struct Export {
    pub reference: String,
    /// Context NIP that started it (only it may read the status).
    pub nip: String,
    pub created: DateTime<Utc>,
    /// The status shows 100 at least until then (the processing delay).
    pub not_before: DateTime<Utc>,
    pub completed: Option<DateTime<Utc>>,
    pub state: ExportState,
    /// Held at 100 by fault injection until released.
    pub stuck: bool,
}

impl Export {
    /// Whether it shows 100 and counts against the 10 running exports at `now`.
    pub fn running(&self, now: DateTime<Utc>) -> bool {
        self.stuck || now < self.not_before || matches!(self.state, ExportState::Running)
    }
}

/// Zips `items` (and `_metadata.json` of all of them), cuts the archive into parts of `part_size`
/// bytes and encrypts every part with `key`/`iv`. `only_metadata` leaves the XML files out.
pub fn build(
    reference: &str,
    items: &[Item],
    summary: Summary,
    only_metadata: bool,
    (key, iv): (&[u8; 32], &[u8; 16]),
    part_size: usize,
) -> anyhow::Result<Package> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    if !only_metadata {
        for item in items {
            zip.start_file(format!("{}.xml", item.ksef_number), options)?;
            zip.write_all(&item.xml)?;
        }
    }
    let records: Vec<&Value> = items.iter().map(|i| &i.metadata).collect();
    zip.start_file("_metadata.json", options)?;
    zip.write_all(json!({ "invoices": records }).to_string().as_bytes())?;
    let archive = zip.finish()?.into_inner();
    let parts = archive
        .chunks(part_size.max(1))
        .zip(1u32..)
        .map(|(chunk, ordinal)| {
            let encrypted = aes256cbc_encrypt(key, iv, chunk);
            Part {
                ordinal,
                name: format!("{reference}-{ordinal:03}.zip.aes"),
                size: chunk.len(),
                hash: sha256_b64(chunk),
                encrypted_hash: sha256_b64(&encrypted),
                encrypted,
            }
        })
        .collect();
    Ok(Package { summary, size: archive.len(), parts })
}
