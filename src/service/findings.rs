//! Findings as stored with an invoice and as shown to people and programs.

use serde::{Deserialize, Serialize};

/// A pre-flight finding as stored (both languages kept; the reader picks one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFinding {
    pub code: String,
    pub severity: String,
    pub line: Option<u32>,
    pub path: Option<String>,
    pub message_pl: String,
    pub message_en: String,
    /// The status KSeF would answer with (430, 440, 450 …), when KSeF would reject.
    pub ksef_status: Option<u16>,
}

impl From<&ksef_fa3::Finding> for StoredFinding {
    fn from(f: &ksef_fa3::Finding) -> Self {
        Self {
            code: f.code.to_owned(),
            severity: f.severity.as_str().to_owned(),
            line: f.line,
            path: f.path.clone(),
            message_pl: f.message_pl.clone(),
            message_en: f.message_en.clone(),
            ksef_status: f.ksef_status,
        }
    }
}

pub use crate::domain::Lang;

/// A finding as the API returns it (DESIGN.md's invoice shape).
#[derive(Debug, Clone, Serialize)]
pub struct FindingView {
    pub code: String,
    pub severity: String,
    pub message: String,
    pub line: Option<u32>,
    pub path: Option<String>,
    pub ksef_status: Option<u16>,
}

impl StoredFinding {
    pub fn view(&self, lang: Lang) -> FindingView {
        FindingView {
            code: self.code.clone(),
            severity: self.severity.clone(),
            message: match lang {
                Lang::Pl => self.message_pl.clone(),
                Lang::En => self.message_en.clone(),
            },
            line: self.line,
            path: self.path.clone(),
            ksef_status: self.ksef_status,
        }
    }
}

/// Reads the stored JSON; a row that cannot be read shows no findings rather than failing.
pub fn parse_stored(json: &str) -> Vec<StoredFinding> {
    serde_json::from_str(json).unwrap_or_default()
}
