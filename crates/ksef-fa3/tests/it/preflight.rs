//! Pre-flight checks: official samples are clean, edited samples fail with exact findings.

use chrono::{Days, NaiveDate};
use ksef_fa3::{
    duplicate_key, extract_facts, preflight, Finding, PreflightContext, PreflightReport, Severity,
};

use crate::{fa3, fixtures, sample};

const SELLER: &str = "9999999999";

fn run(xml: &str, today: NaiveDate) -> PreflightReport {
    preflight(xml.as_bytes(), fa3(), &PreflightContext { client_nip: Some(SELLER.to_owned()), today })
}

fn issue_date(xml: &[u8]) -> NaiveDate {
    extract_facts(xml).expect("facts").issue_date
}

#[test]
fn official_samples_are_clean_on_their_issue_date() {
    for (name, xml) in fixtures("fa3") {
        let report = run(std::str::from_utf8(&xml).unwrap(), issue_date(&xml));
        assert!(report.facts.is_some(), "{name}");
        assert_eq!(report.findings, Vec::<Finding>::new(), "{name}");
    }
}

#[test]
fn official_samples_sent_later_are_only_marked_offline() {
    for (name, xml) in fixtures("fa3") {
        let today = issue_date(&xml).checked_add_days(Days::new(3)).unwrap();
        let report = run(std::str::from_utf8(&xml).unwrap(), today);
        assert!(report.is_valid(), "{name}");
        let codes: Vec<_> = report.findings.iter().map(|f| (f.code, f.severity, f.path.as_deref())).collect();
        assert_eq!(
            codes,
            [("issue_date_in_past_offline", Severity::Warning, Some("/Faktura/Fa/P_1"))],
            "{name}"
        );
    }
}

/// (sample, edits, code, severity, line, path)
type Broken = (u32, &'static [(&'static str, &'static str)], &'static str, Severity, u32, &'static str);

#[rustfmt::skip]
const BROKEN: &[Broken] = &[
    (1, &[("<NIP>1111111111</NIP>", "<NIP>1234567890</NIP>")], "nip_checksum", Severity::Error, 27, "/Faktura/Podmiot2/DaneIdentyfikacyjne/NIP"),
    (1, &[("<P_2>FV2026/02/150</P_2>", "")], "xsd_missing_element", Severity::Error, 48, "/Faktura/Fa/P_2"),
    (1, &[("<P_1>2026-02-15</P_1>", "<P_1>2026-02-30</P_1>")], "xsd_invalid_value", Severity::Error, 45, "/Faktura/Fa/P_1"),
    (1, &[("<P_1>2026-02-15</P_1>", "<P_1>2026-02-16</P_1>")], "issue_date_in_future", Severity::Error, 45, "/Faktura/Fa/P_1"),
    (1, &[("<P_9A>40.65</P_9A>", "<P_9A>41.65</P_9A>")], "line_net_mismatch", Severity::Warning, 93, "/Faktura/Fa/FaWiersz[2]/P_11"),
    (1, &[("<P_14_1>383.33<", "<P_14_1>393.33<"), ("<P_15>2051<", "<P_15>2061<")], "vat_total_mismatch", Severity::Warning, 50, "/Faktura/Fa/P_14_1"),
    (1, &[("<P_15>2051</P_15>", "<P_15>2052</P_15>")], "gross_total_mismatch", Severity::Warning, 53, "/Faktura/Fa/P_15"),
    (9, &[("<P_13_7>300<", "<P_13_7>310<"), ("<P_15>2760<", "<P_15>2770<")], "net_total_mismatch", Severity::Warning, 70, "/Faktura/Fa/P_13_7"),
    (1, &[("<RodzajFaktury>VAT<", "<RodzajFaktury>KOR<")], "correction_without_reference", Severity::Error, 70, "/Faktura/Fa/RodzajFaktury"),
    (2, &[("<RodzajFaktury>KOR<", "<RodzajFaktury>VAT<")], "reference_on_non_correction", Severity::Error, 71, "/Faktura/Fa/DaneFaKorygowanej"),
    (2, &[("<DataWystFaKorygowanej>2026-02-15<", "<DataWystFaKorygowanej>2026-04-15<")], "corrected_invoice_after_correction", Severity::Warning, 71, "/Faktura/Fa/DaneFaKorygowanej"),
];

#[test]
fn broken_variants_give_exact_findings() {
    for &(number, edits, code, severity, line, path) in BROKEN {
        let base = sample(number);
        let xml = edits.iter().fold(base.clone(), |xml, (from, to)| {
            assert!(xml.contains(from), "{from}");
            xml.replacen(from, to, 1)
        });
        let report = run(&xml, issue_date(base.as_bytes()));
        let found: Vec<_> =
            report.findings.iter().filter(|f| f.code != "issue_date_in_past_offline").collect();
        assert_eq!(found.len(), 1, "{code}: {:#?}", report.findings);
        let f = found[0];
        assert_eq!((f.code, f.severity, f.path.as_deref()), (code, severity, Some(path)), "{f:#?}");
        assert_eq!(f.line, Some(line), "{code}");
        assert_eq!(report.is_valid(), severity == Severity::Warning, "{code}");
    }
}

#[test]
fn seller_must_be_the_client() {
    let xml = sample(1);
    let report = preflight(
        xml.as_bytes(),
        fa3(),
        &PreflightContext { client_nip: Some("5265877635".into()), today: issue_date(xml.as_bytes()) },
    );
    assert_eq!(report.findings.len(), 1);
    let f = &report.findings[0];
    assert_eq!((f.code, f.ksef_status, f.line), ("seller_not_client", Some(410), Some(12)));
    assert_eq!(
        f.message_pl,
        "NIP sprzedawcy 9999999999 nie jest NIP-em klienta 5265877635, w imieniu którego wysyłasz fakturę."
    );
}

#[test]
fn seller_checksum_message_is_polish() {
    let xml = sample(1).replacen("<NIP>9999999999</NIP>", "<NIP>1234567890</NIP>", 1);
    let report = preflight(
        xml.as_bytes(),
        fa3(),
        &PreflightContext { client_nip: None, today: issue_date(xml.as_bytes()) },
    );
    assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
    assert_eq!(report.findings[0].message_pl, "NIP sprzedawcy 1234567890 ma nieprawidłową sumę kontrolną.");
    assert_eq!(report.findings[0].ksef_status, Some(450));
}

#[test]
fn hostile_input_stops_before_xsd() {
    let xml = format!("<!DOCTYPE x [<!ENTITY a \"b\">]>{}", sample(1));
    let report = run(&xml, issue_date(sample(1).as_bytes()));
    assert!(report.facts.is_none());
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].code, "xml_entity_forbidden");
}

#[test]
fn duplicate_key_is_seller_type_number() {
    let facts = extract_facts(sample(2).as_bytes()).unwrap();
    assert_eq!(duplicate_key(&facts), ("9999999999".into(), "KOR".into(), "FK2026/03/200".into()));
}

#[test]
fn report_serialises_for_the_gateway_api() {
    let xml = sample(1).replacen("<NIP>9999999999</NIP>", "<NIP>1234567890</NIP>", 1);
    let report = preflight(
        xml.as_bytes(),
        fa3(),
        &PreflightContext { client_nip: None, today: issue_date(xml.as_bytes()) },
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["findings"][0]["code"], "nip_checksum");
    assert_eq!(json["findings"][0]["severity"], "error");
    assert_eq!(json["findings"][0]["line"], 12);
    assert_eq!(json["findings"][0]["path"], "/Faktura/Podmiot1/DaneIdentyfikacyjne/NIP");
    assert_eq!(json["findings"][0]["ksef_status"], 450);
    assert_eq!(json["facts"]["gross_total"], "2051");
    assert_eq!(json["facts"]["issue_date"], "2026-02-15");
}
