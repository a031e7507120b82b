//! Invoice exports (`POST /invoices/exports`): start with our AES-256 key wrapped for KSeF, poll the
//! status, download every part from its pre-signed URL, verify sizes and hashes before and after
//! decryption, join the parts and read the ZIP: the invoices' exact XML (`<ksefNumber>.xml`) and
//! `_metadata.json`. [`KsefClient::export_window`] runs one window of the HWM rule ([`crate::hwm`]).

use std::collections::{HashMap, HashSet};
use std::io::Read as _;

use chrono::Utc;
use reqwest::Method;
use secrecy::SecretString;

use crate::client::{header_str, KsefClient};
use crate::crypto::{self, SymmetricKey};
use crate::error::KsefError;
use crate::hwm::{self, WindowAdvance, WindowResult};
use crate::models::export::{
    status, CompressionType, ExportRequest, ExportResponse, ExportStatus, InvoicePackage, InvoicePackagePart,
    MetadataFile,
};
use crate::models::query::{InvoiceMetadata, InvoiceQueryFilters, SubjectType};
use crate::poll::poll;
use crate::upo::HASH_HEADER;

/// Largest encrypted part KSeF produces: 50 MB plus one block of padding.
pub const MAX_PART_SIZE: u64 = 50 * 1024 * 1024 + 16;
/// Largest invoice file KSeF accepts (with attachments, 3 MB).
pub const MAX_INVOICE_SIZE: u64 = 3_000_000;
/// Largest `_metadata.json` read (10 000 records of a few kB).
pub const MAX_METADATA_SIZE: u64 = 256 * 1024 * 1024;
/// Name of the metadata file inside a package.
pub const METADATA_FILE: &str = "_metadata.json";

/// Settings of an export.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// Largest package (sum of decrypted parts) this client agrees to hold in memory; KSeF cuts
    /// packages at 1 GB compressed.
    pub max_package_size: u64,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self { max_package_size: 1024 * 1024 * 1024 }
    }
}

/// An export KSeF accepted: its reference and the key its parts will be encrypted with.
#[derive(Debug)]
pub struct StartedExport {
    /// Export reference number (`…-EH-…`).
    pub reference_number: String,
    /// Our AES-256 key and IV (needed to decrypt the parts; never leaves this process in clear).
    pub key: SymmetricKey,
}

/// One invoice of a package: its metadata record and its exact bytes.
#[derive(Clone, Debug)]
pub struct ExportedInvoice {
    /// The record of `_metadata.json`.
    pub metadata: InvoiceMetadata,
    /// The XML exactly as stored by KSeF (its SHA-256 equals `metadata.invoice_hash`).
    pub xml: Vec<u8>,
}

/// A downloaded, verified and unpacked package.
#[derive(Clone, Debug)]
pub struct ExportedPackage {
    /// The invoices in `_metadata.json` order (ascending by the filter's date).
    pub invoices: Vec<ExportedInvoice>,
    /// The package stopped at the cap: export again from `last_permanent_storage_date`.
    pub is_truncated: bool,
    /// Permanent-storage date of the last invoice (when truncated).
    pub last_permanent_storage_date: Option<chrono::DateTime<Utc>>,
    /// The HWM KSeF reported for the export.
    pub permanent_storage_hwm_date: Option<chrono::DateTime<Utc>>,
}

/// One window of an export-based incremental sync.
#[derive(Clone, Debug)]
pub struct ExportWindow {
    /// Export reference (for logs and support).
    pub reference_number: String,
    /// The filters the window used.
    pub filters: InvoiceQueryFilters,
    /// The package.
    pub package: ExportedPackage,
    /// The next cursor and whether the window reached the HWM.
    pub advance: WindowAdvance,
}

impl KsefClient {
    /// `POST /invoices/exports` with a fresh AES-256 key wrapped with KSeF's
    /// `SymmetricKeyEncryption` key (re-fetched once on 21470). Always asks for a ZIP package.
    /// 21182 (ten exports already running in this context) is [`crate::ErrorClass::Transient`].
    pub async fn start_export(
        &self,
        access_token: &SecretString,
        filters: &InvoiceQueryFilters,
    ) -> Result<StartedExport, KsefError> {
        self.with_key_refresh(|| async {
            let key = SymmetricKey::generate();
            let encryption = self.wrap_session_key(&key).await?;
            let body = ExportRequest {
                encryption: &encryption,
                filters,
                only_metadata: false,
                compression_type: CompressionType::Zip,
            };
            let rb = self.request(Method::POST, "/invoices/exports", Some(access_token)).json(&body);
            let resp: ExportResponse = self.json(rb, "start invoice export").await?;
            Ok(StartedExport { reference_number: resp.reference_number, key })
        })
        .await
    }

    /// `GET /invoices/exports/{ref}`. An export past its retention (7 days) answers HTTP 410:
    /// see [`KsefError::is_gone`].
    pub async fn export_status(
        &self,
        access_token: &SecretString,
        reference: &str,
    ) -> Result<ExportStatus, KsefError> {
        let rb = self.request(Method::GET, &format!("/invoices/exports/{reference}"), Some(access_token));
        self.json(rb, "invoice export status").await
    }

    /// Polls an export while it is at 100 and returns its package. Any other final status is
    /// [`KsefError::ExportFailed`]; still 100 after the polling budget is [`KsefError::PollTimeout`].
    pub async fn wait_for_export(
        &self,
        access_token: &SecretString,
        reference: &str,
    ) -> Result<InvoicePackage, KsefError> {
        let done = poll(
            &self.options().poll,
            "invoice export",
            || self.export_status(access_token, reference),
            |s: &ExportStatus| (s.status.code == status::IN_PROGRESS).then_some(s.status.code),
        )
        .await?;
        if done.status.code != status::DONE {
            return Err(KsefError::ExportFailed(done.status));
        }
        done.package.ok_or_else(|| KsefError::decode("invoice export status", "status 200 without a package"))
    }

    /// Downloads every part of `package` (no bearer), checks its size and hash before and after
    /// decryption with `key`, joins the parts and unpacks the ZIP ([`read_package`]).
    pub async fn download_export(
        &self,
        key: &SymmetricKey,
        package: &InvoicePackage,
        options: &ExportOptions,
    ) -> Result<ExportedPackage, KsefError> {
        if package.compression_type == Some(CompressionType::TarGz) {
            return Err(KsefError::InvalidInput("TarGz export packages are not read; ask for Zip".into()));
        }
        if package.size > options.max_package_size {
            return Err(KsefError::InvalidInput(format!(
                "export package of {} bytes exceeds the limit of {} bytes",
                package.size, options.max_package_size
            )));
        }
        let summary = |invoices| ExportedPackage {
            invoices,
            is_truncated: package.is_truncated,
            last_permanent_storage_date: package.last_permanent_storage_date,
            permanent_storage_hwm_date: package.permanent_storage_hwm_date,
        };
        // An empty result may come without any part to download.
        if package.parts.is_empty() && package.invoice_count == 0 {
            return Ok(summary(Vec::new()));
        }
        let mut parts: Vec<&InvoicePackagePart> = package.parts.iter().collect();
        parts.sort_by_key(|p| p.ordinal_number);
        let mut archive = Vec::with_capacity(usize::try_from(package.size).unwrap_or(0));
        for part in parts {
            let plain = self.download_part(key, part).await?;
            if archive.len() as u64 + plain.len() as u64 > package.size {
                return Err(KsefError::Integrity("export parts are larger than the declared package".into()));
            }
            archive.extend_from_slice(&plain);
        }
        if archive.len() as u64 != package.size {
            return Err(KsefError::Integrity(format!(
                "export package has {} bytes, {} declared",
                archive.len(),
                package.size
            )));
        }
        let invoices = tokio::task::spawn_blocking(move || read_package(&archive))
            .await
            .map_err(|e| KsefError::InvalidInput(format!("package reading panicked: {e}")))??;
        if invoices.len() as u64 != package.invoice_count {
            return Err(KsefError::Integrity(format!(
                "export package holds {} invoices, {} declared",
                invoices.len(),
                package.invoice_count
            )));
        }
        Ok(summary(invoices))
    }

    /// One window of the HWM rule through an export: builds the window from the cursor `from`
    /// ([`hwm::window`]), exports, downloads and verifies the package, and computes the next cursor
    /// ([`hwm::advance`]). Store the invoices and `advance.next_from` together.
    pub async fn export_window(
        &self,
        access_token: &SecretString,
        subject_type: SubjectType,
        from: chrono::DateTime<Utc>,
        options: &ExportOptions,
    ) -> Result<ExportWindow, KsefError> {
        let filters = hwm::window(subject_type, from, Utc::now());
        let started = self.start_export(access_token, &filters).await?;
        let package = self.wait_for_export(access_token, &started.reference_number).await?;
        let advance = hwm::advance(&filters.date_range, &WindowResult::from_package(&package))?;
        let package = self.download_export(&started.key, &package, options).await?;
        Ok(ExportWindow { reference_number: started.reference_number, filters, package, advance })
    }

    async fn download_part(
        &self,
        key: &SymmetricKey,
        part: &InvoicePackagePart,
    ) -> Result<Vec<u8>, KsefError> {
        let n = part.ordinal_number;
        if part.encrypted_part_size > MAX_PART_SIZE || part.part_size > MAX_PART_SIZE {
            return Err(KsefError::Integrity(format!(
                "export part {n} declares more than {MAX_PART_SIZE} bytes"
            )));
        }
        let method = Method::from_bytes(part.method.as_bytes()).map_err(|_| {
            KsefError::decode("invoice export status", format!("bad method {:?}", part.method))
        })?;
        let what = format!("download export part {n}");
        let mut resp = self.execute(self.raw_request(method, &part.url, None), &what).await?;
        let declared_header = header_str(resp.headers(), HASH_HEADER);
        let limit = part.encrypted_part_size;
        let mut data = Vec::with_capacity(usize::try_from(limit).unwrap_or(0));
        while let Some(chunk) = resp.chunk().await? {
            if data.len() as u64 + chunk.len() as u64 > limit {
                return Err(KsefError::Integrity(format!(
                    "export part {n} is longer than its declared {limit} bytes"
                )));
            }
            data.extend_from_slice(&chunk);
        }
        let encrypted_hash = crypto::sha256_b64(&data);
        let header_ok = declared_header.is_none_or(|h| h.trim() == encrypted_hash);
        if data.len() as u64 != limit || encrypted_hash != part.encrypted_part_hash || !header_ok {
            return Err(KsefError::Integrity(format!(
                "export part {n}: {} bytes with SHA-256 {encrypted_hash}, declared {limit} bytes with {}",
                data.len(),
                part.encrypted_part_hash
            )));
        }
        let plain = key.decrypt(&data)?;
        if plain.len() as u64 != part.part_size || crypto::sha256_b64(&plain) != part.part_hash {
            return Err(KsefError::Integrity(format!(
                "export part {n} decrypts to data that does not match partSize/partHash"
            )));
        }
        Ok(plain)
    }
}

/// Whether `name` is a plain file name a package may hold: `_metadata.json` or `<name>.xml` of
/// letters, digits, `-` and `_`, no directories, no traversal, no drive letters.
fn is_plain_xml_name(name: &str) -> bool {
    name.strip_suffix(".xml").is_some_and(|stem| {
        (1..=64).contains(&stem.len())
            && stem.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

fn read_entry(
    entry: &mut zip::read::ZipFile<'_, std::io::Cursor<&[u8]>>,
    limit: u64,
) -> Result<Vec<u8>, KsefError> {
    let name = entry.name().to_owned();
    if entry.size() > limit {
        return Err(KsefError::Integrity(format!("package entry {name:?} is larger than {limit} bytes")));
    }
    let mut bytes = Vec::new();
    // The declared size is not trusted: read at most one byte beyond the limit.
    entry
        .by_ref()
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| KsefError::Integrity(format!("package entry {name:?} cannot be read: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(KsefError::Integrity(format!("package entry {name:?} is larger than {limit} bytes")));
    }
    Ok(bytes)
}

/// Reads a decrypted ZIP package: `_metadata.json` plus one `<ksefNumber>.xml` per record. Refuses
/// any other entry name (directories, `..`, absolute paths), duplicates, oversized entries, a
/// record without its file or a file without its record, and a file whose SHA-256 differs from the
/// record's `invoiceHash`. Nothing is written to disk.
pub fn read_package(archive: &[u8]) -> Result<Vec<ExportedInvoice>, KsefError> {
    let bad =
        |e: zip::result::ZipError| KsefError::Integrity(format!("export package is not a readable ZIP: {e}"));
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).map_err(bad)?;
    if zip.len() > 10_001 {
        return Err(KsefError::Integrity(format!("export package has {} entries", zip.len())));
    }
    let mut files: HashMap<String, Vec<u8>> = HashMap::new();
    let mut metadata = None;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(bad)?;
        let name = entry.name().to_owned();
        if name == METADATA_FILE && metadata.is_none() {
            let bytes = read_entry(&mut entry, MAX_METADATA_SIZE)?;
            let parsed: MetadataFile =
                serde_json::from_slice(&bytes).map_err(|e| KsefError::decode(METADATA_FILE, e))?;
            metadata = Some(parsed.invoices);
        } else if is_plain_xml_name(&name) && !entry.is_dir() && !files.contains_key(&name) {
            let bytes = read_entry(&mut entry, MAX_INVOICE_SIZE)?;
            files.insert(name, bytes);
        } else {
            return Err(KsefError::Integrity(format!("unexpected or repeated package entry {name:?}")));
        }
    }
    let records =
        metadata.ok_or_else(|| KsefError::Integrity(format!("export package lacks {METADATA_FILE}")))?;
    let mut seen = HashSet::new();
    let mut invoices = Vec::with_capacity(records.len());
    for record in records {
        let name = format!("{}.xml", record.ksef_number);
        if !seen.insert(record.ksef_number.clone()) {
            return Err(KsefError::Integrity(format!("{METADATA_FILE} lists {} twice", record.ksef_number)));
        }
        let xml = files.remove(&name).ok_or_else(|| {
            KsefError::Integrity(format!("export package lacks {name} listed in {METADATA_FILE}"))
        })?;
        let hash = crypto::sha256_b64(&xml);
        // Without KSeF's hash the bytes could not be vouched for: the record is refused too.
        if record.invoice_hash.as_ref().is_none_or(|h| *h != hash) {
            return Err(KsefError::Integrity(format!(
                "{name}: SHA-256 {hash} differs from invoiceHash (or it is missing)"
            )));
        }
        invoices.push(ExportedInvoice { metadata: record, xml });
    }
    if let Some(extra) = files.keys().next() {
        return Err(KsefError::Integrity(format!(
            "export package holds {extra} not listed in {METADATA_FILE}"
        )));
    }
    Ok(invoices)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "test code")]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn record(ksef: &str, xml: &[u8]) -> serde_json::Value {
        serde_json::json!({
            "ksefNumber": ksef, "invoiceNumber": "FV/1", "issueDate": "2026-12-01",
            "seller": {"nip": "5555555555"}, "buyer": {"identifier": {"type": "Nip", "value": "1111111111"}},
            "invoiceHash": crypto::sha256_b64(xml),
            "permanentStorageDate": "2026-12-01T10:00:00.123+00:00",
        })
    }

    fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, data) in files {
            w.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    const K1: &str = "5555555555-20261201-0100001AF629-AF";

    #[test]
    fn reads_invoices_with_their_metadata() {
        let xml = b"<Faktura>1</Faktura>";
        let meta = serde_json::json!({"invoices": [record(K1, xml)]}).to_string();
        let archive = zip_of(&[(METADATA_FILE, meta.as_bytes()), (&format!("{K1}.xml"), xml)]);
        let invoices = read_package(&archive).unwrap();
        assert_eq!(invoices.len(), 1);
        assert_eq!(invoices[0].xml, xml);
        assert_eq!(invoices[0].metadata.ksef_number, K1);
    }

    #[test]
    fn refuses_path_tricks_mismatches_and_strays() {
        let xml = b"<Faktura>1</Faktura>";
        let meta = serde_json::json!({"invoices": [record(K1, xml)]}).to_string();
        for name in ["../evil.xml", "/etc/x.xml", "dir/a.xml", "C:\\a.xml", "a.txt", ".xml"] {
            let archive =
                zip_of(&[(METADATA_FILE, meta.as_bytes()), (&format!("{K1}.xml"), xml), (name, xml)]);
            assert!(matches!(read_package(&archive), Err(KsefError::Integrity(_))), "{name}");
        }
        let tampered =
            zip_of(&[(METADATA_FILE, meta.as_bytes()), (&format!("{K1}.xml"), b"<Faktura>2</Faktura>")]);
        assert!(read_package(&tampered).is_err());
        let missing = zip_of(&[(METADATA_FILE, meta.as_bytes())]);
        assert!(read_package(&missing).is_err());
        let no_meta = zip_of(&[(&format!("{K1}.xml"), xml)]);
        assert!(read_package(&no_meta).is_err());
        assert!(read_package(b"not a zip").is_err());
    }
}
