//! Reading a ZIP package of invoices (intake uploads, batch-session packages) safely.
//!
//! Nothing in the archive's headers is trusted: sizes are enforced while inflating, the
//! compression ratio is watched as bytes come out, and entry names that could escape a
//! directory or collide are refused before anything is inflated.

use std::collections::HashSet;
use std::io::{Cursor, Read};

use zip::result::ZipError;
use zip::ZipArchive;

use crate::hostile::MAX_INVOICE_WITH_ATTACHMENT_BYTES;

/// Errors of [`read_zip`] (the crate's one error type; `code()` gives `package_*` codes).
pub type PackageError = crate::Fa3Error;

/// Limits for one package.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackageLimits {
    /// Most entries in the archive (files and directories). KSeF: 10 000 invoices per session.
    pub max_entries: usize,
    /// Largest inflated entry. KSeF: 3 MB for an invoice with attachments.
    pub max_entry_bytes: u64,
    /// Largest inflated total.
    pub max_total_bytes: u64,
    /// Largest inflated/compressed ratio of one entry (XML invoices deflate about 5–20:1).
    pub max_ratio: u64,
}

impl Default for PackageLimits {
    fn default() -> Self {
        Self {
            max_entries: 10_000,
            max_entry_bytes: MAX_INVOICE_WITH_ATTACHMENT_BYTES as u64,
            max_total_bytes: 512 * 1024 * 1024,
            max_ratio: 200,
        }
    }
}

/// Below this many inflated bytes an entry's ratio is not judged (tiny files compress oddly).
const RATIO_GRACE_BYTES: u64 = 64 * 1024;

/// One XML file from the package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageEntry {
    /// Name inside the archive (checked: relative, no `..`, no backslash).
    pub name: String,
    /// The inflated bytes, exactly as stored (hash these, never a re-serialisation).
    pub bytes: Vec<u8>,
}

/// Reads every `*.xml` entry of a ZIP archive; directories and other files are skipped, but
/// every name is checked. Any limit or name problem rejects the whole package.
pub fn read_zip(bytes: &[u8], limits: &PackageLimits) -> Result<Vec<PackageEntry>, PackageError> {
    let mut archive =
        ZipArchive::new(Cursor::new(bytes)).map_err(|e| PackageError::PackageFormat(e.to_string()))?;
    if archive.len() > limits.max_entries {
        return Err(PackageError::PackageTooManyEntries { limit: limits.max_entries });
    }
    // The zip crate indexes entries by name and silently keeps one of two equal names: compare
    // with the count the archive itself declares.
    if declared_entries(bytes).is_some_and(|declared| declared != archive.len() as u64) {
        return Err(PackageError::PackageDuplicateName {
            name: "(two central directory entries with one name)".to_owned(),
        });
    }
    let mut seen = HashSet::new();
    for index in 0..archive.len() {
        let name = archive.name_for_index(index).unwrap_or_default().to_owned();
        check_name(&name)?;
        if !seen.insert(name.to_lowercase()) {
            return Err(PackageError::PackageDuplicateName { name });
        }
    }
    let mut entries = Vec::new();
    let mut total = 0u64;
    for index in 0..archive.len() {
        let mut file = archive.by_index(index).map_err(|e| entry_error(e, index))?;
        let name = file.name().to_owned();
        if file.is_dir() || !is_invoice_name(&name) {
            continue;
        }
        let compressed = file.compressed_size();
        let remaining = limits.max_total_bytes.saturating_sub(total);
        let budget = limits.max_entry_bytes.min(remaining);
        let data = inflate(&mut file, &name, budget, compressed, limits)?;
        let size = data.len() as u64;
        if size > limits.max_entry_bytes {
            return Err(PackageError::PackageEntryTooLarge { name, limit: limits.max_entry_bytes });
        }
        if size > remaining {
            return Err(PackageError::PackageTooLarge { limit: limits.max_total_bytes });
        }
        total += size;
        entries.push(PackageEntry { name, bytes: data });
    }
    Ok(entries)
}

/// Inflates at most `budget + 1` bytes in chunks, checking the ratio as output grows.
fn inflate(
    reader: &mut impl Read,
    name: &str,
    budget: u64,
    compressed: u64,
    limits: &PackageLimits,
) -> Result<Vec<u8>, PackageError> {
    let mut data = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let mut limited = reader.take(budget.saturating_add(1));
    loop {
        let read = limited.read(&mut chunk).map_err(|e| read_error(&e, name))?;
        if read == 0 {
            return Ok(data);
        }
        data.extend_from_slice(&chunk[..read]);
        let out = data.len() as u64;
        if out > RATIO_GRACE_BYTES && out > compressed.max(1).saturating_mul(limits.max_ratio) {
            return Err(PackageError::PackageCompressionRatio {
                name: name.to_owned(),
                limit: limits.max_ratio,
            });
        }
    }
}

fn read_error(err: &std::io::Error, name: &str) -> PackageError {
    if err.kind() == std::io::ErrorKind::Unsupported {
        PackageError::PackageUnsupportedEntry { name: name.to_owned() }
    } else {
        PackageError::PackageFormat(format!("{name}: {err}"))
    }
}

fn entry_error(err: ZipError, index: usize) -> PackageError {
    match err {
        ZipError::UnsupportedArchive(_) | ZipError::InvalidPassword => {
            PackageError::PackageUnsupportedEntry { name: format!("#{index}") }
        }
        other => PackageError::PackageFormat(other.to_string()),
    }
}

/// Total entries declared by the end-of-central-directory record (ZIP64 aware).
fn declared_entries(bytes: &[u8]) -> Option<u64> {
    const EOCD: [u8; 4] = [0x50, 0x4B, 0x05, 0x06];
    const ZIP64_LOCATOR: [u8; 4] = [0x50, 0x4B, 0x06, 0x07];
    let search_from = bytes.len().saturating_sub(22 + usize::from(u16::MAX));
    let eocd = search_from + bytes[search_from..].windows(4).rposition(|w| w == EOCD)?;
    let count = u16::from_le_bytes(bytes.get(eocd + 10..eocd + 12)?.try_into().ok()?);
    if count != u16::MAX {
        return Some(u64::from(count));
    }
    let locator = eocd.checked_sub(20)?;
    if bytes.get(locator..locator + 4)? != ZIP64_LOCATOR {
        return None;
    }
    let record =
        usize::try_from(u64::from_le_bytes(bytes.get(locator + 8..locator + 16)?.try_into().ok()?)).ok()?;
    Some(u64::from_le_bytes(bytes.get(record + 32..record + 40)?.try_into().ok()?))
}

fn is_invoice_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    // macOS archivers add "__MACOSX/._name.xml" resource forks: not invoices.
    lower.ends_with(".xml") && !lower.starts_with("__macosx/")
}

/// Refuses names that could escape an extraction directory or mean different things on
/// different systems: absolute paths, `..`, backslashes, drive letters, control characters.
fn check_name(name: &str) -> Result<(), PackageError> {
    let unsafe_name = name.is_empty()
        || name.starts_with('/')
        || name.contains('\\')
        || name.chars().any(char::is_control)
        || name.as_bytes().get(1) == Some(&b':')
        || name.split('/').any(|part| part == "..");
    if unsafe_name {
        return Err(PackageError::PackageUnsafeName { name: name.to_owned() });
    }
    Ok(())
}
