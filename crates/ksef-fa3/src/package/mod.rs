//! Reading a ZIP package of invoices (intake uploads, batch-session packages) safely.
//!
//! Nothing in the archive's headers is trusted: sizes are enforced while inflating, the
//! compression ratio is watched as bytes come out, every entry's CRC is checked, and entry
//! names that could escape a directory or collide are refused before anything is inflated.

mod directory;

use std::collections::HashSet;
use std::io::{Cursor, Read, Seek};

use self::directory::{Central, Directory, Method, Tracked};
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

/// A ZIP package read one entry at a time, from memory or a file: only one central directory
/// record and the entry being inflated are held, so a package of 50 000 invoices costs what one
/// does. Everything the central directory says (entry count, names, duplicates) is checked when
/// it is opened, before any entry is inflated; sizes, ratios and CRCs as each one inflates.
pub struct ZipPackage<R> {
    reader: Tracked<R>,
    directory: Directory,
    limits: PackageLimits,
    /// Where the next central directory record starts, and how many are left.
    next: u64,
    left: u64,
    total: u64,
    invoices: usize,
}

impl<R: Read + Seek> ZipPackage<R> {
    /// Opens the archive and walks its directory once: entry count, every name, duplicates
    /// (compared case-insensitively: the files may land on a case-insensitive disk). The reader
    /// should be buffered: records are read in small pieces.
    pub fn open(reader: R, limits: &PackageLimits) -> Result<Self, PackageError> {
        let mut reader = Tracked::new(reader);
        let directory = directory::find(&mut reader)?;
        if directory.entries > limits.max_entries as u64 {
            return Err(PackageError::PackageTooManyEntries { limit: limits.max_entries });
        }
        let mut seen = HashSet::new();
        let mut invoices = 0;
        let mut at = directory.start;
        // The least room every entry's local header and data take: entries that overlap (one
        // entry's data quoting the next ones, the "better zip bomb") would make one archive's
        // bytes inflate many times over, within every per-entry limit.
        let mut footprint = 0u64;
        for _ in 0..directory.entries {
            let entry = directory::central(&mut reader, at, directory.end)?;
            check_name(&entry.name)?;
            if !seen.insert(entry.name.to_lowercase()) {
                return Err(PackageError::PackageDuplicateName { name: entry.name });
            }
            footprint = footprint.saturating_add(entry.footprint());
            if footprint > directory.start {
                return Err(PackageError::PackageFormat("entries overlap one another".into()));
            }
            invoices += usize::from(is_invoice(&entry));
            at = entry.next;
        }
        if at != directory.end {
            // Records past the declared count: files one reader would list and another not.
            return Err(PackageError::PackageFormat(
                "the central directory holds more than it declares".into(),
            ));
        }
        let (next, left) = (directory.start, directory.entries);
        Ok(Self { reader, directory, limits: *limits, next, left, total: 0, invoices })
    }

    /// How many entries are named as invoices (`*.xml` files); zero means nothing to take in.
    pub fn invoice_count(&self) -> usize {
        self.invoices
    }

    /// The next `*.xml` entry, inflated within the limits; None after the last one.
    pub fn next_entry(&mut self) -> Result<Option<PackageEntry>, PackageError> {
        while self.left > 0 {
            let entry = directory::central(&mut self.reader, self.next, self.directory.end)?;
            self.next = entry.next;
            self.left -= 1;
            if !is_invoice(&entry) {
                continue;
            }
            let remaining = self.limits.max_total_bytes.saturating_sub(self.total);
            let budget = self.limits.max_entry_bytes.min(remaining);
            let data = self.inflate(&entry, budget)?;
            let size = data.len() as u64;
            if size > self.limits.max_entry_bytes {
                return Err(PackageError::PackageEntryTooLarge {
                    name: entry.name,
                    limit: self.limits.max_entry_bytes,
                });
            }
            if size > remaining {
                return Err(PackageError::PackageTooLarge { limit: self.limits.max_total_bytes });
            }
            if size != entry.uncompressed || crc32fast::hash(&data) != entry.crc32 {
                return Err(PackageError::PackageFormat(format!(
                    "{}: damaged (size or CRC mismatch)",
                    entry.name
                )));
            }
            self.total += size;
            return Ok(Some(PackageEntry { name: entry.name, bytes: data }));
        }
        Ok(None)
    }

    /// The entry's bytes, at most `budget + 1` of them (so that one more than allowed shows).
    fn inflate(&mut self, entry: &Central, budget: u64) -> Result<Vec<u8>, PackageError> {
        entry.seek_data(&mut self.reader, &self.directory)?;
        let raw = (&mut self.reader).take(entry.compressed);
        match entry.method {
            Method::Stored => inflate(raw, &entry.name, budget, entry.compressed, &self.limits),
            Method::Deflated => {
                let deflate = flate2::read::DeflateDecoder::new(raw);
                inflate(deflate, &entry.name, budget, entry.compressed, &self.limits)
            }
            Method::Unsupported => Err(PackageError::PackageUnsupportedEntry { name: entry.name.clone() }),
        }
    }
}

/// Files named as invoices; directories and everything else in a package are skipped.
fn is_invoice(entry: &Central) -> bool {
    !entry.name.ends_with('/') && is_invoice_name(&entry.name)
}

/// Inflates at most `budget + 1` bytes in chunks, checking the ratio as output grows.
fn inflate(
    reader: impl Read,
    name: &str,
    budget: u64,
    compressed: u64,
    limits: &PackageLimits,
) -> Result<Vec<u8>, PackageError> {
    let mut data = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let mut limited = reader.take(budget.saturating_add(1));
    loop {
        // A damaged deflate stream or a failed read of the spooled upload.
        let read =
            limited.read(&mut chunk).map_err(|e| PackageError::PackageFormat(format!("{name}: {e}")))?;
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

fn is_invoice_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    // macOS archivers add "__MACOSX/._name.xml" resource forks: not invoices.
    lower.ends_with(".xml") && !lower.starts_with("__macosx/")
}

/// Longer entry names are refused: no invoice file needs one, and the names are held while the
/// directory is checked for duplicates.
const MAX_NAME_BYTES: usize = 512;

/// Refuses names that could escape an extraction directory or mean different things on
/// different systems: absolute paths, `..`, backslashes, drive letters, control characters.
fn check_name(name: &str) -> Result<(), PackageError> {
    let unsafe_name = name.is_empty()
        || name.len() > MAX_NAME_BYTES
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
