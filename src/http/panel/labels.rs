//! Polish wording and display formats shared by several pages.

use chrono::NaiveDateTime;

use crate::domain::InvoiceState;

/// An invoice state in Polish (the raw value when unknown).
pub fn state_pl(raw: &str) -> String {
    InvoiceState::parse(raw).map_or_else(|_| raw.to_owned(), |s| s.label_pl().to_owned())
}

/// A stored UTC time in Warsaw local time, as Polish users read dates (the one format).
pub fn when(t: NaiveDateTime) -> String {
    crate::local_time::display(t)
}

/// A calendar day (P_1, a deadline's day) as the panel shows it.
pub fn day(d: chrono::NaiveDate) -> String {
    crate::local_time::display_date(d)
}

/// An amount in minor units as Polish pages show it: `2 051,00 zł` (other currencies by
/// their code: `12,50 EUR`).
pub fn money(minor: i64, currency: &str) -> String {
    let unit = if currency == "PLN" { "zł" } else { currency };
    format!("{} {unit}", crate::domain::amount_text(minor, ',', Some(' ')))
}

pub fn when_opt(t: Option<NaiveDateTime>) -> String {
    t.map_or_else(|| "—".to_owned(), when)
}

/// What KSeF would answer to a finding's status code.
pub fn ksef_answer(status: Option<u16>) -> String {
    match status {
        Some(430) => "430 – błąd weryfikacji pliku (schemat FA(3))".into(),
        Some(440) => "440 – duplikat faktury".into(),
        Some(450) => "450 – błąd weryfikacji semantyki".into(),
        Some(code) => format!("{code} – odrzucenie"),
        None => "—".into(),
    }
}

/// The states an accountant can filter the list by, with their labels.
pub fn state_options() -> Vec<(&'static str, &'static str)> {
    InvoiceState::ALL.iter().map(|s| (s.as_str(), s.label_pl())).collect()
}

/// A pre-flight finding as a table row.
pub struct FindingRow {
    pub code: String,
    pub error: bool,
    pub severity: &'static str,
    pub line: String,
    pub path: String,
    pub message: String,
    pub ksef: String,
}

impl From<&crate::service::findings::FindingView> for FindingRow {
    fn from(f: &crate::service::findings::FindingView) -> Self {
        let error = f.severity == "error";
        Self {
            code: f.code.clone(),
            error,
            severity: if error { "błąd" } else { "ostrzeżenie" },
            line: f.line.map_or_else(|| "—".to_owned(), |l| l.to_string()),
            path: f.path.clone().unwrap_or_else(|| "—".to_owned()),
            message: f.message.clone(),
            ksef: ksef_answer(f.ksef_status),
        }
    }
}
