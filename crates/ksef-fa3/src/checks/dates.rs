//! The issue date P_1 against the day of sending (API_BRIEF §11).

use chrono::NaiveDate;

use crate::facts::parse_date;
use crate::finding::{Finding, KSEF_SEMANTIC_ERROR};
use crate::xmltree::Tree;

use super::place;

pub(super) fn issue_date(tree: &Tree, today: NaiveDate, findings: &mut Vec<Finding>) {
    let Some(node) = tree.at(&["Fa", "P_1"]) else { return };
    let Some(issued) = parse_date(tree.text(node)) else { return };
    if issued > today {
        findings.push(place(
            Finding::error(
                "issue_date_in_future",
                Some(KSEF_SEMANTIC_ERROR),
                format!("Data wystawienia {issued} (P_1) jest późniejsza niż dzisiejsza data {today}; KSeF odrzuci fakturę. Wyślij ją najwcześniej w dniu wystawienia."),
                format!("The issue date {issued} (P_1) is later than today {today}; KSeF rejects it. Send it on or after the issue date."),
            ),
            tree,
            node,
        ));
    } else if issued < today {
        findings.push(place(
            Finding::warning(
                "issue_date_in_past_offline",
                format!("Data wystawienia {issued} (P_1) jest wcześniejsza niż dzisiejsza data {today}; KSeF automatycznie oznaczy fakturę jako wystawioną w trybie offline."),
                format!("The issue date {issued} (P_1) is before today {today}; KSeF will automatically mark the invoice as issued offline."),
            ),
            tree,
            node,
        ));
    }
}
