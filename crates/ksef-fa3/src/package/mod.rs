//! Reading a ZIP package of invoices (intake uploads, batch-session packages) safely.
//!
//! Nothing in the archive's headers is trusted: sizes are enforced while inflating, the
//! compression ratio is watched as bytes come out, and entry names that could escape a
//! directory or collide are refused before anything is inflated.

use std::collections::HashSet;
use std::io::{Cursor, Read, Seek, SeekFrom};

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
    let mut package = ZipPackage::open(Cursor::new(bytes), limits)?;
    let mut entries = Vec::new();
    while let Some(entry) = package.next_entry()? {
        entries.push(entry);
    }
    Ok(entries)
}

/// A ZIP package read one entry at a time, from memory or a file: only the central directory
/// and the entry being inflated are held, so a package of 50 000 invoices costs what one does.
/// Everything the central directory says (entry count, names, duplicates) is checked when it
/// is opened, before any entry is inflated; sizes and ratios are checked as each one inflates.
pub struct ZipPackage<R> {
    archive: ZipArchive<R>,
    limits: PackageLimits,
    next: usize,
    total: u64,
    invoices: usize,
}

impl<R: Read + Seek> ZipPackage<R> {
    /// Opens the archive and checks its directory: entry count, declared count, every name.
    pub fn open(mut reader: R, limits: &PackageLimits) -> Result<Self, PackageError> {
        // The zip crate indexes entries by name and silently keeps one of two equal names:
        // compare with the count the archive itself declares.
        let declared = declared_entries(&mut reader);
        let archive = ZipArchive::new(reader).map_err(|e| PackageError::PackageFormat(e.to_string()))?;
        if archive.len() > limits.max_entries {
            return Err(PackageError::PackageTooManyEntries { limit: limits.max_entries });
        }
        if declared.is_some_and(|declared| declared != archive.len() as u64) {
            return Err(PackageError::PackageDuplicateName {
                name: "(two central directory entries with one name)".to_owned(),
            });
        }
        let mut seen = HashSet::new();
        let mut invoices = 0;
        for index in 0..archive.len() {
            let name = archive.name_for_index(index).unwrap_or_default();
            check_name(name)?;
            if !seen.insert(name.to_lowercase()) {
                return Err(PackageError::PackageDuplicateName { name: name.to_owned() });
            }
            invoices += usize::from(!name.ends_with('/') && is_invoice_name(name));
        }
        Ok(Self { archive, limits: *limits, next: 0, total: 0, invoices })
    }

    /// How many entries are named as invoices (`*.xml` files); zero means nothing to take in.
    pub fn invoice_count(&self) -> usize {
        self.invoices
    }

    /// The next `*.xml` entry, inflated within the limits; None after the last one.
    pub fn next_entry(&mut self) -> Result<Option<PackageEntry>, PackageError> {
        while self.next < self.archive.len() {
            let index = self.next;
            self.next += 1;
            let mut file = self.archive.by_index(index).map_err(|e| entry_error(e, index))?;
            let name = file.name().to_owned();
            if file.is_dir() || !is_invoice_name(&name) {
                continue;
            }
            let compressed = file.compressed_size();
            let remaining = self.limits.max_total_bytes.saturating_sub(self.total);
            let budget = self.limits.max_entry_bytes.min(remaining);
            let data = inflate(&mut file, &name, budget, compressed, &self.limits)?;
            let size = data.len() as u64;
            if size > self.limits.max_entry_bytes {
                return Err(PackageError::PackageEntryTooLarge { name, limit: self.limits.max_entry_bytes });
            }
            if size > remaining {
                return Err(PackageError::PackageTooLarge { limit: self.limits.max_total_bytes });
            }
            self.total += size;
            return Ok(Some(PackageEntry { name, bytes: data }));
        }
        Ok(None)
    }
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

/// Total entries declared by the end-of-central-directory record (ZIP64 aware); reads only
/// the archive's tail and the ZIP64 record (the ZIP64 locator sits 20 bytes before the record
/// searched for, so those are read too).
fn declared_entries(reader: &mut (impl Read + Seek)) -> Option<u64> {
    const EOCD: [u8; 4] = [0x50, 0x4B, 0x05, 0x06];
    const ZIP64_LOCATOR: [u8; 4] = [0x50, 0x4B, 0x06, 0x07];
    let len = reader.seek(SeekFrom::End(0)).ok()?;
    let search_from = len.saturating_sub(22 + u64::from(u16::MAX));
    let start = search_from.saturating_sub(20);
    let mut tail = Vec::new();
    reader.seek(SeekFrom::Start(start)).ok()?;
    reader.by_ref().take(len - start).read_to_end(&mut tail).ok()?;
    let skip = usize::try_from(search_from - start).ok()?;
    let eocd = skip + tail.get(skip..)?.windows(4).rposition(|w| w == EOCD)?;
    let count = u16::from_le_bytes(tail.get(eocd + 10..eocd + 12)?.try_into().ok()?);
    if count != u16::MAX {
        return Some(u64::from(count));
    }
    let locator = eocd.checked_sub(20)?;
    if tail.get(locator..locator + 4)? != ZIP64_LOCATOR {
        return None;
    }
    let record = u64::from_le_bytes(tail.get(locator + 8..locator + 16)?.try_into().ok()?);
    let mut count = [0u8; 8];
    reader.seek(SeekFrom::Start(record.checked_add(32)?)).ok()?;
    reader.read_exact(&mut count).ok()?;
    Some(u64::from_le_bytes(count))
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
