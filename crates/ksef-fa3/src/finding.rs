//! One problem found in a document, explained in Polish and English.

use std::fmt;

/// How bad a finding is: errors make KSeF reject the invoice, warnings do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// KSeF would reject the document (or we refuse to process it).
    Error,
    /// KSeF accepts the document, but a person should look at it.
    Warning,
}

impl Severity {
    /// Lower-case name as used in the gateway's JSON (`"error"` / `"warning"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
        }
    }
}

/// One problem in one document (serialises as the gateway's JSON finding).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// Stable snake_case code, e.g. `xsd_missing_element`, `nip_checksum`.
    pub code: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// 1-based line in the document, when known.
    pub line: Option<u32>,
    /// Element path with local names, e.g. `/Faktura/Fa/P_2`, when known.
    pub path: Option<String>,
    /// Explanation in Polish, for the accountant.
    pub message_pl: String,
    /// The same explanation in English.
    pub message_en: String,
    /// The invoice status code KSeF would answer with (430 file verification, 440 duplicate,
    /// 450 semantic error), when KSeF itself would reject the invoice.
    pub ksef_status: Option<u16>,
}

/// KSeF status "invoice file verification error" (XSD, encoding, size).
pub const KSEF_FILE_ERROR: u16 = 430;
/// KSeF status "wrong permission scope" (e.g. sending as a seller the context may not act for).
pub const KSEF_PERMISSION_ERROR: u16 = 410;
/// KSeF status "duplicate invoice".
pub const KSEF_DUPLICATE: u16 = 440;
/// KSeF status "semantic validation error".
pub const KSEF_SEMANTIC_ERROR: u16 = 450;

impl Finding {
    /// An error finding, with the KSeF status it would cause.
    pub fn error(
        code: &'static str,
        ksef_status: Option<u16>,
        pl: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        Self {
            code,
            severity: Severity::Error,
            line: None,
            path: None,
            message_pl: pl.into(),
            message_en: en.into(),
            ksef_status,
        }
    }

    /// A warning finding (KSeF accepts the document).
    pub fn warning(code: &'static str, pl: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            code,
            severity: Severity::Warning,
            line: None,
            path: None,
            message_pl: pl.into(),
            message_en: en.into(),
            ksef_status: None,
        }
    }

    /// Sets the line.
    #[must_use]
    pub fn at_line(mut self, line: Option<u32>) -> Self {
        self.line = line;
        self
    }

    /// Sets the element path.
    #[must_use]
    pub fn at_path(mut self, path: Option<String>) -> Self {
        self.path = path;
        self
    }

    /// True for [`Severity::Error`].
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}]", self.severity.as_str(), self.code)?;
        if let Some(line) = self.line {
            write!(f, " line {line}")?;
        }
        if let Some(path) = &self.path {
            write!(f, " {path}")?;
        }
        write!(f, ": {}", self.message_en)
    }
}
