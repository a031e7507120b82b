//! An upload's results, one per file, written to a spool as each batch is stored (memory for
//! a few files, an unnamed private temporary file past that, as the upload's body) and read
//! back one at a time: a 50 000-file upload never holds 50 000 results, for its audit events
//! nor for its answer.

use std::io::BufRead;
use std::path::Path;

use super::upload::{io, OwnedReader, Upload, UploadWriter};
use super::IntakeResult;
use crate::domain::InvoiceState;
use crate::error::AppError;

/// Collects the results of one upload as its files are stored.
pub(super) struct ResultsWriter {
    spool: UploadWriter,
    line: Vec<u8>,
    files: usize,
    valid: usize,
}

impl ResultsWriter {
    /// A writer spilling to `dir` (the data directory, where upload bodies spill too).
    pub(super) fn new(dir: &Path) -> Self {
        Self { spool: UploadWriter::new(dir, usize::MAX), line: Vec::new(), files: 0, valid: 0 }
    }

    /// Appends one file's result (a JSON line: serde_json never writes a raw line break).
    pub(super) fn push(&mut self, result: &IntakeResult) -> Result<(), AppError> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, result).map_err(|e| AppError::Internal(e.into()))?;
        self.line.push(b'\n');
        self.spool.write(&self.line)?;
        self.files += 1;
        self.valid += usize::from(result.invoice.state == InvoiceState::Draft);
        Ok(())
    }

    pub(super) fn finish(self) -> Results {
        Results { spool: self.spool.finish(), files: self.files, valid: self.valid }
    }
}

/// The results of a stored upload, in the order of its files.
pub struct Results {
    spool: Upload,
    files: usize,
    valid: usize,
}

impl Results {
    /// How many files were stored.
    pub fn len(&self) -> usize {
        self.files
    }

    /// True when no file was stored.
    pub fn is_empty(&self) -> bool {
        self.files == 0
    }

    /// How many were stored as drafts (valid).
    pub fn valid(&self) -> usize {
        self.valid
    }

    /// How many were stored as invalid.
    pub fn invalid(&self) -> usize {
        self.files - self.valid
    }

    /// The first result (a replacement's only one).
    pub(super) fn first(&mut self) -> Result<Option<IntakeResult>, AppError> {
        ResultLines { reader: self.spool.reread()?, line: Vec::new() }.next_result().transpose()
    }

    /// Calls `f` with each result, from the first (reading blocks: a blocking thread's work);
    /// as often as asked.
    pub fn each(&mut self, mut f: impl FnMut(IntakeResult) -> Result<(), AppError>) -> Result<(), AppError> {
        let mut lines = ResultLines { reader: self.spool.reread()?, line: Vec::new() };
        while let Some(result) = lines.next_result() {
            f(result?)?;
        }
        Ok(())
    }

    /// The results one by one (reading blocks: small uploads' results are in memory, larger
    /// ones' in the spool's file).
    pub fn into_reader(self) -> Result<ResultsIter, AppError> {
        Ok(ResultsIter(ResultLines { reader: self.spool.into_reader()?, line: Vec::new() }))
    }

    /// Every result at once: for uploads known to be small (one invoice, tests, the demo).
    pub fn into_vec(self) -> Result<Vec<IntakeResult>, AppError> {
        self.into_reader()?.collect()
    }
}

/// The results of an upload, read back one at a time.
pub struct ResultsIter(ResultLines<OwnedReader>);

impl Iterator for ResultsIter {
    type Item = Result<IntakeResult, AppError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next_result()
    }
}

/// JSON lines of results, read with one line buffer.
struct ResultLines<R> {
    reader: R,
    line: Vec<u8>,
}

impl<R: BufRead> ResultLines<R> {
    fn next_result(&mut self) -> Option<Result<IntakeResult, AppError>> {
        self.line.clear();
        match self.reader.read_until(b'\n', &mut self.line) {
            Ok(0) => None,
            Ok(_) => Some(serde_json::from_slice(&self.line).map_err(|e| AppError::Internal(e.into()))),
            Err(e) => Some(Err(io(e))),
        }
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "test code")]
mod tests {
    use super::*;
    use crate::domain::{ClientId, InvoiceId};
    use crate::service::findings::StoredFinding;
    use crate::service::intake::Stored;

    fn result(n: usize) -> IntakeResult {
        let invalid = n.is_multiple_of(3);
        IntakeResult {
            file: Some(format!("fv-{n}.xml")),
            invoice: Stored {
                id: InvoiceId::new(),
                client_id: ClientId::new(),
                state: if invalid { InvoiceState::Invalid } else { InvoiceState::Draft },
                sha256: format!("hash {n}"),
                number: n.is_multiple_of(2).then(|| format!("FV/{n}\n\"cytat\"")),
                created_at: chrono::NaiveDate::from_ymd_opt(2026, 12, 7)
                    .unwrap()
                    .and_hms_opt(12, 0, 0)
                    .unwrap(),
                corrects_invoice_id: None,
            },
            findings: if invalid {
                vec![StoredFinding {
                    code: "nip_checksum".into(),
                    severity: "error".into(),
                    line: Some(27),
                    path: Some("/Faktura/Podmiot2".into()),
                    message_pl: "Błędna suma kontrolna\nNIP".into(),
                    message_en: "Bad NIP checksum".into(),
                    ksef_status: Some(450),
                }]
            } else {
                Vec::new()
            },
        }
    }

    fn same(a: &IntakeResult, b: &IntakeResult) -> bool {
        (a.file.as_ref(), &a.invoice.id, a.invoice.state, a.invoice.number.as_ref(), &a.findings)
            == (b.file.as_ref(), &b.invoice.id, b.invoice.state, b.invoice.number.as_ref(), &b.findings)
    }

    /// Enough results to spill past the spool's memory into its file: every one comes back,
    /// in order and intact (line breaks in texts included), as often as read.
    #[test]
    fn results_come_back_in_order_from_memory_and_from_the_spools_file() {
        let dir = tempfile::tempdir().unwrap();
        for count in [0, 1, 7, 12_000] {
            let expected: Vec<IntakeResult> = (0..count).map(result).collect();
            let mut writer = ResultsWriter::new(dir.path());
            for r in &expected {
                writer.push(r).unwrap();
            }
            let mut results = writer.finish();
            assert_eq!((results.len(), results.invalid()), (count, count.div_ceil(3)));
            assert_eq!(results.valid() + results.invalid(), count);
            assert_eq!(results.first().unwrap().is_some(), count > 0);
            let mut read = Vec::new();
            results
                .each(|r| {
                    read.push(r);
                    Ok(())
                })
                .unwrap();
            assert!(read.len() == count && read.iter().zip(&expected).all(|(a, b)| same(a, b)));
            let again: Vec<_> = results.into_vec().unwrap();
            assert!(again.len() == count && again.iter().zip(&expected).all(|(a, b)| same(a, b)));
        }
    }
}
