//! Every check KSeF would make (and a few a buyer would), before KSeF sees the invoice.

use chrono::NaiveDate;

use crate::checks;
use crate::facts::{facts_from, InvoiceFacts};
use crate::finding::Finding;
use crate::schema::Fa3Schema;
use crate::xmltree;

/// Who sends and when.
#[derive(Clone, Debug)]
pub struct PreflightContext {
    /// NIP of the client company the gateway sends for; the seller (Podmiot1) must match.
    pub client_nip: Option<String>,
    /// Today's date in Poland (KSeF compares P_1 with the day of acceptance).
    pub today: NaiveDate,
}

/// Facts (when readable) and every finding, in check order: bytes, XSD, seller, NIPs, dates,
/// correction data, sums.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PreflightReport {
    /// The invoice's facts, when the document could be read.
    pub facts: Option<InvoiceFacts>,
    /// All findings; warnings do not block sending.
    pub findings: Vec<Finding>,
}

impl PreflightReport {
    /// True when no finding is an error.
    pub fn is_valid(&self) -> bool {
        !self.findings.iter().any(Finding::is_error)
    }
}

/// Runs all checks on one invoice. Hostile or unreadable input yields its one finding and no facts.
pub fn preflight(xml: &[u8], schema: &Fa3Schema, ctx: &PreflightContext) -> PreflightReport {
    let tree = match xmltree::parse_invoice(xml) {
        Ok(tree) => tree,
        Err(finding) => return PreflightReport { facts: None, findings: vec![finding] },
    };
    let mut findings = schema.validate_scanned(xml, &tree);
    let facts = match facts_from(&tree) {
        Ok(facts) => Some(facts),
        Err(finding) => {
            // The XSD already explains a missing element; keep this one only when it did not.
            if findings.is_empty() {
                findings.push(finding);
            }
            None
        }
    };
    findings.extend(checks::run(&tree, ctx.client_nip.as_deref(), ctx.today));
    PreflightReport { facts, findings }
}

/// KSeF's duplicate key (API_BRIEF §11: same Podmiot1 NIP, RodzajFaktury and P_2 within ten
/// years → status 440): `(seller_nip, invoice_type, invoice_number)`.
pub fn duplicate_key(facts: &InvoiceFacts) -> (String, String, String) {
    (facts.seller_nip.clone(), facts.invoice_type.clone(), facts.invoice_number.clone())
}
