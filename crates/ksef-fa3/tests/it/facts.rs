//! Facts read from the official samples.

use chrono::NaiveDate;
use ksef_fa3::{extract_facts, CorrectedRef};
use rust_decimal::Decimal;

use crate::{fixtures, sample};

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

#[test]
fn facts_of_a_correction() {
    let facts = extract_facts(sample(2).as_bytes()).unwrap();
    assert_eq!(facts.seller_nip, "9999999999");
    assert_eq!(facts.seller_name.as_deref(), Some("ABC AGD sp. z o. o."));
    assert_eq!(facts.buyer_nip.as_deref(), Some("1111111111"));
    assert_eq!(facts.buyer_name.as_deref(), Some("F.H.U. Jan Kowalski"));
    assert_eq!(facts.invoice_number, "FK2026/03/200");
    assert_eq!(facts.issue_date, date("2026-03-15"));
    assert_eq!(facts.invoice_type, "KOR");
    assert_eq!(facts.currency, "PLN");
    assert_eq!(facts.net_total, Some(dec("-162.60")));
    assert_eq!(facts.vat_total, Some(dec("-37.40")));
    assert_eq!(facts.gross_total, Some(dec("-200")));
    assert_eq!(
        facts.corrected,
        vec![CorrectedRef {
            number: Some("FV2026/02/150".into()),
            issue_date: Some(date("2026-02-15")),
            ksef_number: Some("9999999999-20230908-8BEF280C8D35-4D".into()),
        }]
    );
    assert!(!facts.has_attachment);
    assert_eq!((facts.form_code.as_str(), facts.schema_version.as_str()), ("FA (3)", "1-0E"));
}

#[test]
fn facts_of_every_sample_match_the_readme_table() {
    // (sample, RodzajFaktury, P_1) from the official examples' README.
    let table = [
        (1, "VAT", "2026-02-15"),
        (2, "KOR", "2026-03-15"),
        (5, "KOR", "2026-04-01"),
        (8, "VAT", "2026-02-27"),
        (10, "ZAL", "2026-02-15"),
        (11, "KOR_ZAL", "2026-03-15"),
        (14, "ROZ", "2026-08-17"),
        (15, "UPR", "2026-02-15"),
        (18, "KOR_ROZ", "2026-08-17"),
        (21, "VAT", "2026-02-15"),
        (24, "VAT", "2026-02-28"),
    ];
    for (number, kind, issued) in table {
        let facts = extract_facts(sample(number).as_bytes()).unwrap();
        assert_eq!((facts.invoice_type.as_str(), facts.issue_date), (kind, date(issued)), "sample {number}");
        assert_eq!(facts.has_attachment, number == 24, "sample {number}");
        assert_eq!(facts.seller_nip, "9999999999");
    }
    assert_eq!(extract_facts(sample(21).as_bytes()).unwrap().currency, "EUR");
    assert_eq!(fixtures("fa3").iter().filter(|(_, xml)| extract_facts(xml).is_ok()).count(), 21);
}

#[test]
fn missing_invoice_number_is_a_finding() {
    let xml = sample(1).replacen("<P_2>FV2026/02/150</P_2>", "", 1);
    let finding = extract_facts(xml.as_bytes()).unwrap_err();
    assert_eq!((finding.code, finding.path.as_deref()), ("missing_element", Some("/Faktura/Fa/P_2")));
    assert_eq!(finding.message_pl, "Brak wymaganego elementu P_2 (numer faktury) w /Faktura/Fa.");
}
