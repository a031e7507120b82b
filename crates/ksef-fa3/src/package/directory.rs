//! The ZIP format's records, read one at a time from a seekable reader: the end of the central
//! directory (ZIP64 aware), the directory's entries, and each entry's local header.
//!
//! A general ZIP library parses the whole central directory into memory before handing out the
//! first entry: about 460 bytes an entry, 23 MB for a package of 50 000 invoices. Intake walks
//! the directory twice instead (once to check every name, once to inflate), holding one record.
//! Only what intake accepts is read: one disk, stored or deflated entries, no encryption.

use std::io::{Read, Seek, SeekFrom};

use super::PackageError;

const EOCD: u32 = 0x0605_4B50;
const ZIP64_LOCATOR: u32 = 0x0706_4B50;
const ZIP64_EOCD: u32 = 0x0606_4B50;
const CENTRAL: u32 = 0x0201_4B50;
const LOCAL: u32 = 0x0403_4B50;
/// Bytes of the fixed part of each record.
const EOCD_LEN: u64 = 22;
const LOCATOR_LEN: u64 = 20;
const CENTRAL_LEN: usize = 46;
const LOCAL_LEN: usize = 30;
/// A 32-bit field holding this says the value is in the ZIP64 extra field.
const IN_ZIP64: u32 = u32::MAX;
/// Flag bits: bit 0 encrypted, bit 11 the name is UTF-8.
const FLAG_ENCRYPTED: u16 = 1;
const FLAG_UTF8: u16 = 1 << 11;

/// Where the central directory lies and how many entries it declares.
#[derive(Clone, Copy, Debug)]
pub(super) struct Directory {
    pub start: u64,
    pub end: u64,
    pub entries: u64,
}

/// Compression of an entry's data, as far as intake inflates it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Method {
    Stored,
    Deflated,
    /// Encrypted, or compressed some other way: refused when the entry is read.
    Unsupported,
}

/// One central directory record.
#[derive(Debug)]
pub(super) struct Central {
    pub name: String,
    raw_name: Vec<u8>,
    pub method: Method,
    pub crc32: u32,
    pub compressed: u64,
    pub uncompressed: u64,
    local_header: u64,
    /// Where the next record starts.
    pub next: u64,
}

fn format(message: impl Into<String>) -> PackageError {
    PackageError::PackageFormat(message.into())
}

fn io_error(e: &std::io::Error) -> PackageError {
    format(format!("cannot read the archive: {e}"))
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(v)
}

/// A reader that knows where it is, so that reading on from where the last record ended costs
/// no seek (a seek empties a `BufReader`'s buffer): the directory is walked as one stream.
pub(super) struct Tracked<R> {
    inner: R,
    /// None until the first seek.
    pos: Option<u64>,
}

impl<R: Read + Seek> Tracked<R> {
    pub fn new(inner: R) -> Self {
        Self { inner, pos: None }
    }

    fn len(&mut self) -> Result<u64, PackageError> {
        let len = self.inner.seek(SeekFrom::End(0)).map_err(|e| io_error(&e))?;
        self.pos = Some(len);
        Ok(len)
    }

    fn seek_to(&mut self, at: u64) -> Result<(), PackageError> {
        if self.pos != Some(at) {
            self.inner.seek(SeekFrom::Start(at)).map_err(|e| io_error(&e))?;
            self.pos = Some(at);
        }
        Ok(())
    }

    fn read_at(&mut self, at: u64, buf: &mut [u8]) -> Result<(), PackageError> {
        self.seek_to(at)?;
        self.read_exact(buf).map_err(|_| format("the archive ends inside a record"))
    }
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.pos = self.pos.map(|p| p + read as u64);
        Ok(read)
    }
}

/// Finds the end-of-central-directory record (the last one in the archive's tail, which may
/// carry a comment of up to 64 KiB) and, through the ZIP64 locator, the ZIP64 record.
pub(super) fn find(reader: &mut Tracked<impl Read + Seek>) -> Result<Directory, PackageError> {
    let len = reader.len()?;
    if len < EOCD_LEN {
        return Err(format("too short for a ZIP archive"));
    }
    let tail_start = len.saturating_sub(EOCD_LEN + u64::from(u16::MAX));
    let mut tail = vec![0u8; usize::try_from(len - tail_start).map_err(|_| format("too large"))?];
    reader.read_at(tail_start, &mut tail)?;
    // The record whose comment ends the archive: a signature inside a comment does not count.
    let at = (0..=tail.len() - EOCD_LEN as usize)
        .rev()
        .find(|&i| {
            u32_at(&tail, i) == EOCD
                && i + EOCD_LEN as usize + usize::from(u16_at(&tail, i + 20)) == tail.len()
        })
        .ok_or_else(|| format("no end of central directory record"))?;
    let eocd = &tail[at..];
    let eocd_pos = tail_start + at as u64;
    if u16_at(eocd, 4) != 0 || u16_at(eocd, 6) != 0 {
        return Err(format("archives split over several disks are not read"));
    }
    let entries = u64::from(u16_at(eocd, 10));
    let size = u64::from(u32_at(eocd, 12));
    let start = u64::from(u32_at(eocd, 16));
    let needs_zip64 =
        entries == u64::from(u16::MAX) || size == u64::from(IN_ZIP64) || start == u64::from(IN_ZIP64);
    let classic = (Directory { start, end: start.saturating_add(size), entries }, eocd_pos);
    let (directory, limit) = match eocd_pos.checked_sub(LOCATOR_LEN) {
        Some(locator) if needs_zip64 => zip64(reader, locator)?.unwrap_or(classic),
        _ => classic,
    };
    if directory.end > limit || directory.start > directory.end {
        return Err(format("the central directory lies outside the archive"));
    }
    Ok(directory)
}

/// The ZIP64 end-of-central-directory record the locator at `locator` points at, and where it
/// starts (the directory must end before it). None without a locator: an archive of exactly
/// 65 535 entries written without ZIP64 (Python's zipfile does so) means its 16-bit count.
fn zip64(
    reader: &mut Tracked<impl Read + Seek>,
    locator: u64,
) -> Result<Option<(Directory, u64)>, PackageError> {
    let mut loc = [0u8; LOCATOR_LEN as usize];
    reader.read_at(locator, &mut loc)?;
    if u32_at(&loc, 0) != ZIP64_LOCATOR {
        return Ok(None);
    }
    let record = u64_at(&loc, 8);
    let mut rec = [0u8; 56];
    if record.saturating_add(rec.len() as u64) > locator {
        return Err(format("the ZIP64 record lies outside the archive"));
    }
    reader.read_at(record, &mut rec)?;
    if u32_at(&rec, 0) != ZIP64_EOCD {
        return Err(format("the ZIP64 locator points at no ZIP64 record"));
    }
    if u32_at(&rec, 16) != 0 || u32_at(&rec, 20) != 0 {
        return Err(format("archives split over several disks are not read"));
    }
    let (entries, size, start) = (u64_at(&rec, 32), u64_at(&rec, 40), u64_at(&rec, 48));
    Ok(Some((Directory { start, end: start.saturating_add(size), entries }, record)))
}

/// Reads the central directory record at `at`, which must end by `end`.
pub(super) fn central(
    reader: &mut Tracked<impl Read + Seek>,
    at: u64,
    end: u64,
) -> Result<Central, PackageError> {
    let mut fixed = [0u8; CENTRAL_LEN];
    if at.saturating_add(CENTRAL_LEN as u64) > end {
        return Err(format("the central directory holds fewer entries than it declares"));
    }
    reader.read_at(at, &mut fixed)?;
    if u32_at(&fixed, 0) != CENTRAL {
        return Err(format("a damaged central directory entry"));
    }
    let (flags, method) = (u16_at(&fixed, 8), u16_at(&fixed, 10));
    let (name_len, extra_len, comment_len) =
        (usize::from(u16_at(&fixed, 28)), usize::from(u16_at(&fixed, 30)), u64::from(u16_at(&fixed, 32)));
    let mut variable = vec![0u8; name_len + extra_len];
    reader.read_exact(&mut variable).map_err(|_| format("the archive ends inside a record"))?;
    let extra = variable.split_off(name_len);
    let raw_name = variable;
    let next = at + (CENTRAL_LEN + name_len + extra_len) as u64 + comment_len;
    if next > end {
        return Err(format("a central directory entry runs past the directory"));
    }
    let mut sizes = Zip64Sizes {
        uncompressed: u64::from(u32_at(&fixed, 24)),
        compressed: u64::from(u32_at(&fixed, 20)),
        local_header: u64::from(u32_at(&fixed, 42)),
    };
    let blocks = extra_blocks(&extra)?;
    sizes.fill_from(&blocks)?;
    let name = match unicode_path(&blocks, &raw_name) {
        Some(name) => name,
        None => decode_name(&raw_name, flags & FLAG_UTF8 != 0)?,
    };
    let method = match (flags & FLAG_ENCRYPTED != 0, method) {
        (false, 0) => Method::Stored,
        (false, 8) => Method::Deflated,
        _ => Method::Unsupported,
    };
    Ok(Central {
        name,
        raw_name,
        method,
        crc32: u32_at(&fixed, 16),
        compressed: sizes.compressed,
        uncompressed: sizes.uncompressed,
        local_header: sizes.local_header,
        next,
    })
}

/// The three values a ZIP64 extra field may carry, in its order, for those the record marks
/// with all ones.
struct Zip64Sizes {
    uncompressed: u64,
    compressed: u64,
    local_header: u64,
}

impl Zip64Sizes {
    /// Takes the marked values from the ZIP64 extra field. Some writers (the zip crate's, for
    /// an entry started as a large file) leave a placeholder field before the real one: as
    /// that crate reads them, the last field wins.
    fn fill_from(&mut self, blocks: &[(u16, &[u8])]) -> Result<(), PackageError> {
        let marked = u64::from(IN_ZIP64);
        let fields = [self.uncompressed, self.compressed, self.local_header].map(|v| v == marked);
        if !fields.contains(&true) {
            return Ok(());
        }
        let body = blocks
            .iter()
            .rev()
            .find_map(|&(id, body)| (id == ZIP64_EXTRA).then_some(body))
            .ok_or_else(|| format("a ZIP64 entry without its ZIP64 extra field"))?;
        let mut values = body.chunks_exact(8).map(|v| u64_at(v, 0));
        let targets = [&mut self.uncompressed, &mut self.compressed, &mut self.local_header];
        for (field, _) in targets.into_iter().zip(fields).filter(|(_, marked)| *marked) {
            *field = values.next().ok_or_else(|| format("a short ZIP64 extra field"))?;
        }
        Ok(())
    }
}

/// Extra field ids: ZIP64 sizes, and Info-ZIP's Unicode Path.
const ZIP64_EXTRA: u16 = 0x0001;
const UNICODE_PATH: u16 = 0x7075;

/// An extra field's blocks, each `(id, body)`; an error for one that runs past the field.
fn extra_blocks(mut extra: &[u8]) -> Result<Vec<(u16, &[u8])>, PackageError> {
    let mut blocks = Vec::new();
    while extra.len() >= 4 {
        let (id, len) = (u16_at(extra, 0), usize::from(u16_at(extra, 2)));
        let body = extra.get(4..4 + len).ok_or_else(|| format("a damaged extra field"))?;
        blocks.push((id, body));
        extra = &extra[4 + len..];
    }
    Ok(blocks)
}

/// The entry's name in UTF-8 from Info-ZIP's Unicode Path field, which archivers writing names
/// in a legacy code page add beside them; only while the CRC-32 it carries is that of the
/// legacy name (a later tool may have renamed the entry without updating the field).
fn unicode_path(blocks: &[(u16, &[u8])], raw_name: &[u8]) -> Option<String> {
    let body = blocks.iter().rev().find_map(|&(id, body)| (id == UNICODE_PATH).then_some(body))?;
    let (&version, rest) = body.split_first()?;
    let name = rest.get(4..)?;
    if version != 1 || u32_at(rest, 0) != crc32fast::hash(raw_name) {
        return None;
    }
    std::str::from_utf8(name).ok().map(str::to_owned)
}

impl Central {
    /// The least room the entry takes before the directory: its local header's fixed part, its
    /// name and its compressed data.
    pub fn footprint(&self) -> u64 {
        (LOCAL_LEN + self.raw_name.len()) as u64 + self.compressed
    }

    /// Positions the reader at the entry's data, after its local header, which must name the
    /// entry as the central directory does (two readers could otherwise see two different
    /// files) and, with its data, lie before the directory. The header's extra field is read
    /// through rather than skipped by a seek, which would empty the reader's buffer.
    pub fn seek_data(
        &self,
        reader: &mut Tracked<impl Read + Seek>,
        directory: &Directory,
    ) -> Result<(), PackageError> {
        let mut fixed = [0u8; LOCAL_LEN];
        reader.read_at(self.local_header, &mut fixed)?;
        if u32_at(&fixed, 0) != LOCAL {
            return Err(format(format!("{}: no local header where the directory says", self.name)));
        }
        let (name_len, extra_len) = (usize::from(u16_at(&fixed, 26)), usize::from(u16_at(&fixed, 28)));
        let mut variable = vec![0u8; name_len + extra_len];
        reader.read_exact(&mut variable).map_err(|_| format("the archive ends inside a record"))?;
        if variable[..name_len] != self.raw_name {
            return Err(format(format!("{}: the local header names another file", self.name)));
        }
        let start = self.local_header + (LOCAL_LEN + name_len + extra_len) as u64;
        if start.saturating_add(self.compressed) > directory.start {
            return Err(format(format!("{}: the data runs into the central directory", self.name)));
        }
        Ok(())
    }
}

/// An entry's name: UTF-8 when flagged or when it is valid UTF-8 anyway (many archivers write
/// UTF-8 without the flag), otherwise the original IBM PC code page 437, as the format says.
fn decode_name(raw: &[u8], utf8: bool) -> Result<String, PackageError> {
    match std::str::from_utf8(raw) {
        Ok(name) => Ok(name.to_owned()),
        Err(_) if utf8 => Err(format("an entry name flagged UTF-8 is not")),
        Err(_) => Ok(raw
            .iter()
            .map(|&b| if b < 0x80 { char::from(b) } else { CP437_HIGH[usize::from(b - 0x80)] })
            .collect()),
    }
}

/// Code page 437, bytes 0x80–0xFF.
const CP437_HIGH: [char; 128] = [
    'Ç', 'ü', 'é', 'â', 'ä', 'à', 'å', 'ç', 'ê', 'ë', 'è', 'ï', 'î', 'ì', 'Ä', 'Å', //
    'É', 'æ', 'Æ', 'ô', 'ö', 'ò', 'û', 'ù', 'ÿ', 'Ö', 'Ü', '¢', '£', '¥', '₧', 'ƒ', //
    'á', 'í', 'ó', 'ú', 'ñ', 'Ñ', 'ª', 'º', '¿', '⌐', '¬', '½', '¼', '¡', '«', '»', //
    '░', '▒', '▓', '│', '┤', '╡', '╢', '╖', '╕', '╣', '║', '╗', '╝', '╜', '╛', '┐', //
    '└', '┴', '┬', '├', '─', '┼', '╞', '╟', '╚', '╔', '╩', '╦', '╠', '═', '╬', '╧', //
    '╨', '╤', '╥', '╙', '╘', '╒', '╓', '╫', '╪', '┘', '┌', '█', '▄', '▌', '▐', '▀', //
    'α', 'ß', 'Γ', 'π', 'Σ', 'σ', 'µ', 'τ', 'Φ', 'Θ', 'Ω', 'δ', '∞', 'φ', 'ε', '∩', //
    '≡', '±', '≥', '≤', '⌠', '⌡', '÷', '≈', '°', '∙', '·', '√', 'ⁿ', '²', '■', '\u{a0}', //
];
