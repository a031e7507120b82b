//! Semantic pre-flight checks on a scanned invoice: each returns findings, never aborts.
//!
//! They read the tree tolerantly (a missing element is the XSD's finding, not theirs), so an
//! invoice with schema errors still gets every other explanation in one go.

mod correction;
mod dates;
mod nip;
mod sums;

use chrono::NaiveDate;

use crate::finding::Finding;
use crate::xmltree::Tree;

pub use nip::nip_checksum_ok;

/// Runs every semantic check in a stable order: seller, NIPs, dates, correction data, sums.
pub(crate) fn run(tree: &Tree, client_nip: Option<&str>, today: NaiveDate) -> Vec<Finding> {
    let mut findings = Vec::new();
    nip::seller_matches_client(tree, client_nip, &mut findings);
    nip::checksums(tree, &mut findings);
    dates::issue_date(tree, today, &mut findings);
    correction::references(tree, &mut findings);
    sums::arithmetic(tree, &mut findings);
    findings
}

/// Line and path of an element, for placing a finding.
fn place(finding: Finding, tree: &Tree, id: usize) -> Finding {
    finding.at_line(Some(tree.line(id))).at_path(Some(tree.path(id)))
}
