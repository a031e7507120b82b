//! Batch sessions: zip the invoices, split the archive bytes into parts, encrypt each part with the
//! session key, open the session declaring the parts, upload them in parallel to the pre-signed
//! URLs (their headers, no bearer), close.

use std::io::Write as _;
use std::sync::Arc;

use reqwest::Method;
use secrecy::SecretString;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use zip::write::SimpleFileOptions;

use crate::client::KsefClient;
use crate::crypto::{self, SymmetricKey};
use crate::error::KsefError;
use crate::models::common::FormCode;
use crate::models::session::{
    BatchFileInfo, BatchFilePart, OpenBatchSessionRequest, OpenBatchSessionResponse, PartUploadRequest,
};

/// Largest part KSeF accepts before encryption (100 MB).
pub const MAX_PART_SIZE: usize = 100_000_000;
/// Most parts one batch may have.
pub const MAX_PARTS: usize = 50;

/// One invoice file of a batch.
#[derive(Clone, Debug)]
pub struct BatchInvoice {
    /// Name inside the archive (unique, no path separators), e.g. `FV-2026-001.xml`.
    pub file_name: String,
    /// The exact XML bytes.
    pub xml: Vec<u8>,
}

/// Batch settings.
#[derive(Clone, Debug)]
pub struct BatchOptions {
    /// Form code of all invoices.
    pub form_code: FormCode,
    /// Part size before encryption (≤ 100 MB).
    pub part_size: usize,
    /// All invoices were issued in an offline mode.
    pub offline_mode: bool,
}

impl Default for BatchOptions {
    fn default() -> Self {
        Self { form_code: FormCode::fa3(), part_size: MAX_PART_SIZE, offline_mode: false }
    }
}

/// The hash of one invoice of a batch, to match `invoiceHash` in session invoice statuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchInvoiceHash {
    /// Name inside the archive.
    pub file_name: String,
    /// SHA-256 (Base64) of the XML bytes.
    pub invoice_hash: String,
}

/// A batch ready to be opened: archive declaration, encrypted parts and invoice hashes.
#[derive(Debug)]
pub struct PreparedBatch {
    /// The AES key the parts were encrypted with.
    pub key: SymmetricKey,
    /// Archive and part declaration for `POST /sessions/batch`.
    pub file: BatchFileInfo,
    /// Encrypted parts, in order.
    pub parts: Vec<Vec<u8>>,
    /// Hash of every invoice.
    pub invoice_hashes: Vec<BatchInvoiceHash>,
}

/// What [`KsefClient::send_batch`] returns once the session is closed.
#[derive(Clone, Debug)]
pub struct BatchSubmission {
    /// Batch session reference (`…-SB-…`).
    pub reference_number: String,
    /// Hash of every invoice, for correlating statuses.
    pub invoice_hashes: Vec<BatchInvoiceHash>,
    /// Unencrypted archive size.
    pub archive_size: u64,
    /// Number of parts uploaded.
    pub part_count: usize,
}

/// Fewest invoices a thread zips: below that, starting a thread costs more than it saves.
const INVOICES_PER_THREAD: usize = 1_000;

/// Zips the invoices (deflate). A large batch is compressed in pieces on every core, which are
/// then joined as they are (the compressed entries copied, not compressed again): deflate was
/// most of preparing a 10 000-invoice batch, on one core. The archive lists the files in the
/// order given either way.
pub fn build_zip(invoices: &[BatchInvoice]) -> Result<Vec<u8>, KsefError> {
    let mut names = std::collections::HashSet::new();
    for invoice in invoices {
        let name = &invoice.file_name;
        if name.is_empty() || name.contains(['/', '\\']) || name == ".." || !names.insert(name.as_str()) {
            return Err(KsefError::InvalidInput(format!("bad or duplicate archive file name {name:?}")));
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let threads = cores.min(invoices.len() / INVOICES_PER_THREAD).max(1);
    if threads == 1 {
        return zip_piece(invoices);
    }
    let pieces: Vec<Result<Vec<u8>, KsefError>> = std::thread::scope(|scope| {
        let running: Vec<_> = invoices
            .chunks(invoices.len().div_ceil(threads))
            .map(|piece| scope.spawn(move || zip_piece(piece)))
            .collect();
        running.into_iter().map(|t| t.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
    });
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for piece in pieces {
        let piece = zip::ZipArchive::new(std::io::Cursor::new(piece?)).map_err(zip_error)?;
        writer.merge_archive(piece).map_err(zip_error)?;
    }
    Ok(writer.finish().map_err(zip_error)?.into_inner())
}

fn zip_error(e: impl std::fmt::Display) -> KsefError {
    KsefError::InvalidInput(format!("cannot build batch archive: {e}"))
}

/// One archive of these invoices, on this thread.
fn zip_piece(invoices: &[BatchInvoice]) -> Result<Vec<u8>, KsefError> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for invoice in invoices {
        writer.start_file(invoice.file_name.as_str(), options).map_err(zip_error)?;
        writer.write_all(&invoice.xml).map_err(zip_error)?;
    }
    Ok(writer.finish().map_err(zip_error)?.into_inner())
}

/// Zips, splits and encrypts a batch (CPU-bound: run it off the async executor for big batches).
pub fn prepare_batch(invoices: &[BatchInvoice], part_size: usize) -> Result<PreparedBatch, KsefError> {
    if invoices.is_empty() {
        return Err(KsefError::InvalidInput("a batch needs at least one invoice".into()));
    }
    if part_size == 0 || part_size > MAX_PART_SIZE {
        return Err(KsefError::InvalidInput(format!("part size must be 1..={MAX_PART_SIZE} bytes")));
    }
    let archive = build_zip(invoices)?;
    let chunk_count = archive.len().div_ceil(part_size);
    if chunk_count > MAX_PARTS {
        return Err(KsefError::InvalidInput(format!(
            "archive of {} bytes needs {chunk_count} parts of {part_size} bytes; KSeF allows {MAX_PARTS}",
            archive.len()
        )));
    }
    let key = SymmetricKey::generate();
    let parts: Vec<Vec<u8>> = archive.chunks(part_size).map(|chunk| key.encrypt(chunk)).collect();
    let file_parts = parts
        .iter()
        .zip(1u32..)
        .map(|(part, ordinal_number)| BatchFilePart {
            ordinal_number,
            file_size: part.len() as u64,
            file_hash: crypto::sha256_b64(part),
        })
        .collect();
    Ok(PreparedBatch {
        key,
        file: BatchFileInfo {
            file_size: archive.len() as u64,
            file_hash: crypto::sha256_b64(&archive),
            compression_type: "Zip",
            file_parts,
        },
        parts,
        invoice_hashes: invoices
            .iter()
            .map(|i| BatchInvoiceHash {
                file_name: i.file_name.clone(),
                invoice_hash: crypto::sha256_b64(&i.xml),
            })
            .collect(),
    })
}

impl KsefClient {
    /// Prepares, opens, uploads and closes a batch session.
    pub async fn send_batch(
        &self,
        access_token: &SecretString,
        invoices: Vec<BatchInvoice>,
        options: &BatchOptions,
    ) -> Result<BatchSubmission, KsefError> {
        let part_size = options.part_size;
        let prepared = tokio::task::spawn_blocking(move || prepare_batch(&invoices, part_size))
            .await
            .map_err(|e| KsefError::InvalidInput(format!("batch preparation panicked: {e}")))??;
        let (reference, uploads) = self.open_batch_session(access_token, &prepared, options).await?;
        let submission = BatchSubmission {
            reference_number: reference.clone(),
            archive_size: prepared.file.file_size,
            part_count: prepared.parts.len(),
            invoice_hashes: prepared.invoice_hashes,
        };
        self.upload_parts(prepared.parts, uploads).await?;
        self.close_batch_session(access_token, &reference).await?;
        Ok(submission)
    }

    /// `POST /sessions/batch`; returns the session reference and the upload instructions.
    pub async fn open_batch_session(
        &self,
        access_token: &SecretString,
        prepared: &PreparedBatch,
        options: &BatchOptions,
    ) -> Result<(String, Vec<PartUploadRequest>), KsefError> {
        let resp: OpenBatchSessionResponse = self
            .with_key_refresh(|| async {
                let encryption = self.wrap_session_key(&prepared.key).await?;
                let body = OpenBatchSessionRequest {
                    form_code: &options.form_code,
                    batch_file: &prepared.file,
                    encryption: &encryption,
                    offline_mode: options.offline_mode,
                };
                let rb = self.request(Method::POST, "/sessions/batch", Some(access_token)).json(&body);
                self.json(rb, "open batch session").await
            })
            .await?;
        Ok((resp.reference_number, resp.part_upload_requests))
    }

    /// Uploads encrypted parts (in order of `parts`, 1-based ordinals) with bounded parallelism.
    pub async fn upload_parts(
        &self,
        parts: Vec<Vec<u8>>,
        uploads: Vec<PartUploadRequest>,
    ) -> Result<(), KsefError> {
        let limit = Arc::new(Semaphore::new(self.options().upload_concurrency.max(1)));
        let mut tasks = JoinSet::new();
        for (part, ordinal) in parts.into_iter().zip(1u32..) {
            let upload = uploads.iter().find(|u| u.ordinal_number == ordinal).cloned().ok_or_else(|| {
                KsefError::decode("open batch session", format!("no upload URL for part {ordinal}"))
            })?;
            let client = self.clone();
            let limit = Arc::clone(&limit);
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                client.upload_part(&upload, part).await
            });
        }
        while let Some(joined) = tasks.join_next().await {
            joined.map_err(|e| KsefError::InvalidInput(format!("upload task failed: {e}")))??;
        }
        Ok(())
    }

    async fn upload_part(&self, upload: &PartUploadRequest, part: Vec<u8>) -> Result<(), KsefError> {
        let method = Method::from_bytes(upload.method.as_bytes()).map_err(|_| {
            KsefError::decode("open batch session", format!("bad method {:?}", upload.method))
        })?;
        let mut rb = self.raw_request(method, &upload.url, None).body(part);
        for (name, value) in &upload.headers {
            rb = rb.header(name.as_str(), value.as_deref().unwrap_or_default());
        }
        let what = format!("upload batch part {}", upload.ordinal_number);
        self.no_content(rb, &what).await
    }

    /// `POST /sessions/batch/{ref}/close`: starts processing.
    pub async fn close_batch_session(
        &self,
        access_token: &SecretString,
        reference: &str,
    ) -> Result<(), KsefError> {
        let rb =
            self.request(Method::POST, &format!("/sessions/batch/{reference}/close"), Some(access_token));
        self.no_content(rb, "close batch session").await
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "test code")]
mod tests {
    use super::*;
    use std::io::Read as _;

    fn invoices(n: usize) -> Vec<BatchInvoice> {
        (0..n)
            .map(|i| BatchInvoice {
                file_name: format!("inv-{i}.xml"),
                xml: format!("<Faktura><P_2>{i}</P_2>{}</Faktura>", "x".repeat(i * 37)).into_bytes(),
            })
            .collect()
    }

    #[test]
    fn parts_decrypt_and_concatenate_to_a_readable_zip() {
        let batch = prepare_batch(&invoices(12), 300).unwrap();
        assert!(batch.parts.len() > 1);
        let mut archive = Vec::new();
        for (part, declared) in batch.parts.iter().zip(&batch.file.file_parts) {
            assert_eq!(part.len() as u64, declared.file_size);
            assert_eq!(crypto::sha256_b64(part), declared.file_hash);
            archive.extend(batch.key.decrypt(part).unwrap());
        }
        assert_eq!(crypto::sha256_b64(&archive), batch.file.file_hash);
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).unwrap();
        assert_eq!(zip.len(), 12);
        let mut xml = Vec::new();
        zip.by_name("inv-3.xml").unwrap().read_to_end(&mut xml).unwrap();
        assert_eq!(crypto::sha256_b64(&xml), batch.invoice_hashes[3].invoice_hash);
    }

    #[test]
    fn a_batch_zipped_in_pieces_is_one_archive_in_the_given_order() {
        let many = invoices(2 * INVOICES_PER_THREAD + 7);
        let archive = build_zip(&many).unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).unwrap();
        assert_eq!(zip.len(), many.len());
        for (i, invoice) in many.iter().enumerate() {
            let mut entry = zip.by_index(i).unwrap();
            assert_eq!(entry.name(), invoice.file_name);
            assert_eq!(entry.compression(), zip::CompressionMethod::Deflated);
            let mut xml = Vec::new();
            entry.read_to_end(&mut xml).unwrap();
            assert_eq!(xml, invoice.xml);
        }
        let mut dup = invoices(2 * INVOICES_PER_THREAD);
        dup[1_500].file_name = dup[10].file_name.clone();
        assert!(build_zip(&dup).is_err(), "a name repeated in another piece is still refused");
    }

    #[test]
    fn rejects_bad_input() {
        assert!(prepare_batch(&[], 1000).is_err());
        assert!(prepare_batch(&invoices(2), MAX_PART_SIZE + 1).is_err());
        assert!(prepare_batch(&invoices(40), 10).is_err(), "more than 50 parts");
        let mut dup = invoices(2);
        dup[1].file_name = dup[0].file_name.clone();
        assert!(prepare_batch(&dup, 1000).is_err());
        let mut traversal = invoices(1);
        traversal[0].file_name = "../evil.xml".into();
        assert!(prepare_batch(&traversal, 1000).is_err());
    }
}
