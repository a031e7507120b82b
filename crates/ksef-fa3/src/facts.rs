//! The facts of an invoice people search and deduplicate by, read from the safe tree.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::finding::{Finding, KSEF_FILE_ERROR};
use crate::xmltree::{self, Tree};

/// Net totals per VAT rate group (`P_13_x`) in the `Fa` element.
pub(crate) const NET_TOTALS: &[&str] = &[
    "P_13_1", "P_13_2", "P_13_3", "P_13_4", "P_13_5", "P_13_6_1", "P_13_6_2", "P_13_6_3", "P_13_7", "P_13_8",
    "P_13_9", "P_13_10", "P_13_11",
];
/// VAT totals per rate (`P_14_x`), in the invoice currency (the `W` variants are PLN).
pub(crate) const VAT_TOTALS: &[&str] = &["P_14_1", "P_14_2", "P_14_3", "P_14_4", "P_14_5"];

/// What an FA(3) invoice is about (amounts serialise as decimal strings).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct InvoiceFacts {
    /// `Podmiot1/DaneIdentyfikacyjne/NIP`.
    pub seller_nip: String,
    /// `Podmiot1/DaneIdentyfikacyjne/Nazwa`.
    pub seller_name: Option<String>,
    /// `Podmiot2/DaneIdentyfikacyjne/NIP` (absent for foreign or private buyers).
    pub buyer_nip: Option<String>,
    /// `Podmiot2/DaneIdentyfikacyjne/Nazwa`.
    pub buyer_name: Option<String>,
    /// `Fa/P_2`.
    pub invoice_number: String,
    /// `Fa/P_1`.
    pub issue_date: NaiveDate,
    /// `Fa/RodzajFaktury`: VAT, KOR, ZAL, ROZ, UPR, KOR_ZAL, KOR_ROZ.
    pub invoice_type: String,
    /// `Fa/KodWaluty`.
    pub currency: String,
    /// Sum of the `P_13_x` net totals present.
    pub net_total: Option<Decimal>,
    /// Sum of the `P_14_x` VAT totals present (invoice currency).
    pub vat_total: Option<Decimal>,
    /// `Fa/P_15`.
    pub gross_total: Option<Decimal>,
    /// `Fa/DaneFaKorygowanej` entries (corrections only).
    pub corrected: Vec<CorrectedRef>,
    /// Whether the invoice carries a `Zalacznik` (batch sessions only; 3 MB limit).
    pub has_attachment: bool,
    /// `KodFormularza/@kodSystemowy`, e.g. "FA (3)".
    pub form_code: String,
    /// `KodFormularza/@wersjaSchemy`, e.g. "1-0E".
    pub schema_version: String,
}

/// One invoice a correction refers to.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CorrectedRef {
    /// `NrFaKorygowanej`.
    pub number: Option<String>,
    /// `DataWystFaKorygowanej`.
    pub issue_date: Option<NaiveDate>,
    /// `NrKSeFFaKorygowanej` when the corrected invoice has a KSeF number (`NrKSeF` = 1).
    pub ksef_number: Option<String>,
}

/// Reads the facts of an FA(3) invoice (hostile-input gate included; no DTD, no entities).
pub fn extract_facts(xml: &[u8]) -> Result<InvoiceFacts, Finding> {
    let tree = xmltree::parse_invoice(xml)?;
    facts_from(&tree)
}

/// Facts from an already scanned document.
pub(crate) fn facts_from(tree: &Tree) -> Result<InvoiceFacts, Finding> {
    let fa = tree.at(&["Fa"]).ok_or_else(|| missing(tree, 0, "Fa"))?;
    let seller = tree.at(&["Podmiot1", "DaneIdentyfikacyjne"]).ok_or_else(|| missing(tree, 0, "Podmiot1"))?;
    let required = |parent: usize, name: &str| {
        tree.text_at(parent, &[name]).map(str::to_owned).ok_or_else(|| missing(tree, parent, name))
    };
    let issue = required(fa, "P_1")?;
    let issue_date = parse_date(&issue).ok_or_else(|| invalid_date(tree, fa, &issue))?;
    let buyer = tree.at(&["Podmiot2", "DaneIdentyfikacyjne"]);
    let optional =
        |parent: Option<usize>, name: &str| parent.and_then(|p| tree.text_at(p, &[name])).map(str::to_owned);
    let form = tree.at(&["Naglowek", "KodFormularza"]);
    Ok(InvoiceFacts {
        seller_nip: required(seller, "NIP")?,
        seller_name: optional(Some(seller), "Nazwa"),
        buyer_nip: optional(buyer, "NIP"),
        buyer_name: optional(buyer, "Nazwa"),
        invoice_number: required(fa, "P_2")?,
        issue_date,
        invoice_type: required(fa, "RodzajFaktury")?,
        currency: required(fa, "KodWaluty")?,
        net_total: sum_of(tree, fa, NET_TOTALS),
        vat_total: sum_of(tree, fa, VAT_TOTALS),
        gross_total: tree.text_at(fa, &["P_15"]).and_then(parse_amount),
        corrected: tree.children(fa, "DaneFaKorygowanej").map(|c| corrected_ref(tree, c)).collect(),
        has_attachment: tree.at(&["Zalacznik"]).is_some(),
        form_code: form.and_then(|f| tree.attr(f, "kodSystemowy")).unwrap_or_default(),
        schema_version: form.and_then(|f| tree.attr(f, "wersjaSchemy")).unwrap_or_default(),
    })
}

fn corrected_ref(tree: &Tree, id: usize) -> CorrectedRef {
    CorrectedRef {
        number: tree.text_at(id, &["NrFaKorygowanej"]).map(str::to_owned),
        issue_date: tree.text_at(id, &["DataWystFaKorygowanej"]).and_then(parse_date),
        ksef_number: tree.text_at(id, &["NrKSeFFaKorygowanej"]).map(str::to_owned),
    }
}

/// Sum of the named amounts present under `parent`; `None` when none is.
pub(crate) fn sum_of(tree: &Tree, parent: usize, names: &[&str]) -> Option<Decimal> {
    names.iter().filter_map(|name| tree.text_at(parent, &[name]).and_then(parse_amount)).reduce(|a, b| a + b)
}

/// An XSD decimal (`-12.50`, `3`, `+0.1`).
pub(crate) fn parse_amount(text: &str) -> Option<Decimal> {
    text.trim().trim_start_matches('+').parse().ok()
}

/// An XSD date (`2026-02-15`).
pub(crate) fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

fn missing(tree: &Tree, parent: usize, name: &str) -> Finding {
    let at = tree.path(parent);
    let what = crate::labels::label(name).map_or_else(|| name.to_owned(), |l| format!("{name} ({l})"));
    Finding::error(
        "missing_element",
        Some(KSEF_FILE_ERROR),
        format!("Brak wymaganego elementu {what} w {at}."),
        format!("Missing required element {name} in {at}."),
    )
    .at_line(Some(tree.line(parent)))
    .at_path(Some(format!("{at}/{name}")))
}

fn invalid_date(tree: &Tree, fa: usize, value: &str) -> Finding {
    let node = tree.child(fa, "P_1");
    Finding::error(
        "invalid_date",
        Some(KSEF_FILE_ERROR),
        format!("Data wystawienia P_1 '{value}' nie jest poprawną datą w formacie RRRR-MM-DD."),
        format!("The issue date P_1 '{value}' is not a valid YYYY-MM-DD date."),
    )
    .at_line(node.map(|n| tree.line(n)))
    .at_path(node.map(|n| tree.path(n)))
}
