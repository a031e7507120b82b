//! An upload's body as it arrives, and the files in it read one at a time: a large body goes
//! to an unnamed temporary file in the private data directory (gone when closed), and a zip is
//! inflated entry by entry from there, so an upload of 50 000 invoices never sits in memory.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read, Seek, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use ksef_fa3::package::{PackageLimits, ZipPackage};

use crate::error::{AppError, Refusal};

/// Bodies up to this size stay in memory (a single invoice, a small zip); larger ones spill to
/// a temporary file.
const IN_MEMORY_BYTES: usize = 1024 * 1024;

/// How many files are checked together (and so held at once, besides those being stored).
pub(super) const BATCH_FILES: usize = 256;

/// The inflated bytes after which a batch is closed early (invoices may have 3 MB each).
const BATCH_BYTES: usize = 8 * 1024 * 1024;

/// A received upload body.
pub struct Upload {
    body: Body,
    len: u64,
}

enum Body {
    Memory(Vec<u8>),
    File(File),
}

impl Upload {
    /// A body already in memory (tests, the command line, a replacement).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        let len = bytes.len() as u64;
        Self { body: Body::Memory(bytes), len }
    }

    /// The body's size in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when nothing was sent.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when the body is a zip archive.
    pub(super) fn is_zip(&mut self) -> Result<bool, AppError> {
        Ok(is_zip(&self.head()?))
    }

    /// The first bytes, enough to tell a zip from an XML.
    fn head(&mut self) -> Result<Vec<u8>, AppError> {
        match &mut self.body {
            Body::Memory(bytes) => Ok(bytes.iter().take(4).copied().collect()),
            Body::File(file) => {
                let mut head = Vec::with_capacity(4);
                file.seek(SeekFrom::Start(0)).map_err(io)?;
                file.take(4).read_to_end(&mut head).map_err(io)?;
                Ok(head)
            }
        }
    }

    /// The whole body (only for bodies known to be small: one invoice).
    fn into_bytes(self) -> Result<Vec<u8>, AppError> {
        match self.body {
            Body::Memory(bytes) => Ok(bytes),
            Body::File(mut file) => {
                let mut bytes = Vec::with_capacity(usize::try_from(self.len).unwrap_or(0));
                file.seek(SeekFrom::Start(0)).map_err(io)?;
                file.read_to_end(&mut bytes).map_err(io)?;
                Ok(bytes)
            }
        }
    }

    /// The body from its start, for one more reading (an upload's results are read for the
    /// audit trail, then for the answer).
    pub(super) fn reread(&mut self) -> Result<Box<dyn BufRead + '_>, AppError> {
        match &mut self.body {
            Body::Memory(bytes) => Ok(Box::new(bytes.as_slice())),
            Body::File(file) => {
                file.seek(SeekFrom::Start(0)).map_err(io)?;
                Ok(Box::new(BufReader::new(file)))
            }
        }
    }

    pub(super) fn into_reader(self) -> Result<OwnedReader, AppError> {
        Ok(match self.body {
            Body::Memory(bytes) => OwnedReader::Memory(Cursor::new(bytes)),
            Body::File(mut file) => {
                file.seek(SeekFrom::Start(0)).map_err(io)?;
                OwnedReader::File(BufReader::new(file))
            }
        })
    }
}

/// Receives an upload chunk by chunk, refusing more than `limit` bytes in all.
pub struct UploadWriter {
    dir: PathBuf,
    limit: usize,
    len: usize,
    memory: Vec<u8>,
    file: Option<File>,
}

impl UploadWriter {
    /// A writer that spills to `dir` (created 0700 when missing) past the in-memory size.
    pub fn new(dir: &Path, limit: usize) -> Self {
        Self { dir: dir.to_path_buf(), limit, len: 0, memory: Vec::new(), file: None }
    }

    /// Appends a chunk. Writes to a local file are short (page cache), so this runs on the
    /// request's worker like the in-memory copy it replaces.
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), AppError> {
        self.len += chunk.len();
        if self.len > self.limit {
            return Err(AppError::TooLarge(format!("at most {} bytes per upload", self.limit)));
        }
        if self.file.is_none() && self.len > IN_MEMORY_BYTES {
            crate::private_fs::create_dir(&self.dir).map_err(io)?;
            let mut file = tempfile::tempfile_in(&self.dir).map_err(io)?;
            file.write_all(&std::mem::take(&mut self.memory)).map_err(io)?;
            self.file = Some(file);
        }
        match &mut self.file {
            Some(file) => file.write_all(chunk).map_err(io),
            None => {
                self.memory.extend_from_slice(chunk);
                Ok(())
            }
        }
    }

    /// The body received.
    pub fn finish(self) -> Upload {
        let len = self.len as u64;
        match self.file {
            Some(file) => Upload { body: Body::File(file), len },
            None => Upload { body: Body::Memory(self.memory), len },
        }
    }
}

pub(super) fn io(e: std::io::Error) -> AppError {
    AppError::Internal(anyhow::anyhow!("upload spool: {e}"))
}

/// Reads a body from memory or from its temporary file (buffered: the zip reader reads in
/// small pieces).
pub(super) enum OwnedReader {
    Memory(Cursor<Vec<u8>>),
    File(BufReader<File>),
}

impl Read for OwnedReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Self::Memory(r) => r.read(buf),
            Self::File(r) => r.read(buf),
        }
    }
}

impl BufRead for OwnedReader {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        match self {
            Self::Memory(r) => r.fill_buf(),
            Self::File(r) => r.fill_buf(),
        }
    }

    fn consume(&mut self, amount: usize) {
        match self {
            Self::Memory(r) => r.consume(amount),
            Self::File(r) => r.consume(amount),
        }
    }
}

impl Seek for OwnedReader {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        match self {
            Self::Memory(r) => r.seek(pos),
            Self::File(r) => r.seek(pos),
        }
    }
}

/// The files of an upload, handed out in batches.
pub(super) enum Files {
    /// One XML (the body itself), not yet handed out.
    One(Option<Vec<u8>>),
    /// Every XML entry of a zip, read when asked for.
    Zip(Box<ZipPackage<OwnedReader>>),
}

/// One file: its name inside the zip (None for a single XML) and its bytes.
pub(super) type File1 = (Option<String>, Vec<u8>);

impl Files {
    /// The body itself, or a zip opened with its directory checked (entry count, names), with
    /// limits on entries, sizes and compression ratio enforced later while inflating. Blocking
    /// (reads the zip's directory).
    pub(super) fn open(mut upload: Upload, max_entries: usize) -> Result<Self, AppError> {
        if !upload.is_zip()? {
            if upload.len() > ksef_fa3::MAX_INVOICE_WITH_ATTACHMENT_BYTES as u64 {
                return Err(AppError::TooLarge(format!(
                    "an invoice may have at most {} bytes",
                    ksef_fa3::MAX_INVOICE_WITH_ATTACHMENT_BYTES
                )));
            }
            return Ok(Self::One(Some(upload.into_bytes()?)));
        }
        let limits = PackageLimits { max_entries, ..PackageLimits::default() };
        let package = ZipPackage::open(upload.into_reader()?, &limits).map_err(package_error)?;
        Ok(Self::Zip(Box::new(package)))
    }

    /// The next files, at most [`BATCH_FILES`] of them or about [`BATCH_BYTES`]; empty at the end.
    pub(super) fn next_batch(&mut self) -> Result<Vec<File1>, AppError> {
        match self {
            Self::One(body) => Ok(body.take().map(|b| vec![(None, b)]).unwrap_or_default()),
            Self::Zip(package) => {
                let (mut batch, mut bytes) = (Vec::new(), 0);
                while batch.len() < BATCH_FILES && bytes < BATCH_BYTES {
                    let Some(entry) = package.next_entry().map_err(package_error)? else { break };
                    bytes += entry.bytes.len();
                    batch.push((Some(entry.name), entry.bytes));
                }
                Ok(batch)
            }
        }
    }
}

/// True when the body starts as a zip archive (local file header or empty-archive signature).
fn is_zip(body: &[u8]) -> bool {
    body.starts_with(b"PK\x03\x04") || body.starts_with(b"PK\x05\x06")
}

fn package_error(e: ksef_fa3::package::PackageError) -> AppError {
    match Refusal::of_package(&e) {
        Some(refusal) => AppError::refused(refusal, e.to_string()),
        None => AppError::Internal(e.into()),
    }
}

/// The refusal of a zip without any invoice in it.
pub(super) fn empty_package() -> AppError {
    AppError::Refused { refusal: Refusal::PackageEmpty, message: "the zip holds no .xml file".into() }
}
