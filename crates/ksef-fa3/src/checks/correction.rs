//! Invoice type against the correction data (`DaneFaKorygowanej`).

use crate::facts::parse_date;
use crate::finding::{Finding, KSEF_SEMANTIC_ERROR};
use crate::xmltree::Tree;

use super::place;

/// Invoice types that correct another invoice.
const CORRECTIONS: &[&str] = &["KOR", "KOR_ZAL", "KOR_ROZ"];

pub(super) fn references(tree: &Tree, findings: &mut Vec<Finding>) {
    let Some(fa) = tree.at(&["Fa"]) else { return };
    let Some(kind_node) = tree.child(fa, "RodzajFaktury") else { return };
    let kind = tree.text(kind_node);
    let refs: Vec<usize> = tree.children(fa, "DaneFaKorygowanej").collect();
    let is_correction = CORRECTIONS.contains(&kind);
    if is_correction && refs.is_empty() {
        findings.push(place(
            Finding::error(
                "correction_without_reference",
                Some(KSEF_SEMANTIC_ERROR),
                format!("Faktura korygująca ({kind}) nie wskazuje faktury korygowanej: dodaj element DaneFaKorygowanej z numerem i datą wystawienia faktury korygowanej oraz jej numerem KSeF (NrKSeF) albo znacznikiem NrKSeFN."),
                format!("The correcting invoice ({kind}) does not identify the corrected invoice: add DaneFaKorygowanej with its number, issue date and KSeF number (NrKSeF) or the NrKSeFN flag."),
            ),
            tree,
            kind_node,
        ));
    }
    if !is_correction {
        if let Some(&first) = refs.first() {
            findings.push(place(
                Finding::error(
                    "reference_on_non_correction",
                    Some(KSEF_SEMANTIC_ERROR),
                    format!("Faktura rodzaju {kind} zawiera DaneFaKorygowanej; dane faktury korygowanej podaje się tylko w fakturach korygujących (KOR, KOR_ZAL, KOR_ROZ)."),
                    format!("An invoice of type {kind} carries DaneFaKorygowanej; only correcting invoices (KOR, KOR_ZAL, KOR_ROZ) may."),
                ),
                tree,
                first,
            ));
        }
    }
    let issued = tree.text_at(fa, &["P_1"]).and_then(parse_date);
    for &reference in &refs {
        check_one(tree, reference, issued, findings);
    }
}

/// The corrected invoice cannot be issued after its correction (the XSD already requires the
/// number, the date and the KSeF number or NrKSeFN flag).
fn check_one(tree: &Tree, reference: usize, issued: Option<chrono::NaiveDate>, findings: &mut Vec<Finding>) {
    let corrected_on = tree.text_at(reference, &["DataWystFaKorygowanej"]).and_then(parse_date);
    if let (Some(corrected_on), Some(issued)) = (corrected_on, issued) {
        if corrected_on > issued {
            findings.push(place(
                Finding::warning(
                    "corrected_invoice_after_correction",
                    format!("Faktura korygowana ma datę wystawienia {corrected_on}, późniejszą niż korekta ({issued}); sprawdź daty."),
                    format!("The corrected invoice's issue date {corrected_on} is after the correction's ({issued}); check the dates."),
                ),
                tree,
                reference,
            ));
        }
    }
}
