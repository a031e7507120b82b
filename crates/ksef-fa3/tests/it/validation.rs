//! XSD validation: official samples pass, edited samples fail with precise findings.

use ksef_fa3::Severity;

use crate::{fa3, fixtures, sample, upo};

#[test]
fn all_official_fa3_samples_validate() {
    let samples = fixtures("fa3");
    assert_eq!(samples.len(), 21);
    for (name, xml) in samples {
        let findings = fa3().validate(&xml);
        assert!(findings.is_empty(), "{name}: {findings:#?}");
    }
}

#[test]
fn official_te_upos_differ_from_the_xsd_only_in_the_receiver_name() {
    let samples = fixtures("upo");
    assert_eq!(samples.len(), 6);
    for (name, xml) in samples {
        let findings = upo().validate(&xml);
        assert_eq!(findings.len(), 1, "{name}: {findings:#?}");
        assert_eq!(findings[0].code, "upo_test_environment_receiver", "{name}");
        assert_eq!(findings[0].severity, Severity::Warning);
        assert_eq!(findings[0].path.as_deref(), Some("/Potwierdzenie/NazwaPodmiotuPrzyjmujacego"));
    }
}

/// (what to replace, replacement, code, line, path) on official sample 1.
const BROKEN: &[(&str, &str, &str, u32, &str)] = &[
    ("<P_2>FV2026/02/150</P_2>", "", "xsd_missing_element", 48, "/Faktura/Fa/P_2"),
    ("<RodzajFaktury>VAT<", "<RodzajFaktury>XYZ<", "xsd_enumeration", 70, "/Faktura/Fa/RodzajFaktury"),
    (
        "<NIP>9999999999</NIP>",
        "<NIP>0123</NIP>",
        "xsd_pattern",
        12,
        "/Faktura/Podmiot1/DaneIdentyfikacyjne/NIP",
    ),
    ("<P_1>2026-02-15</P_1>", "<P_1>2026-13-45</P_1>", "xsd_invalid_value", 45, "/Faktura/Fa/P_1"),
    ("<P_2>", "<Foo>x</Foo><P_2>", "xsd_unexpected_element", 47, "/Faktura/Fa/Foo"),
    (
        "kodSystemowy=\"FA (3)\"",
        "kodSystemowy=\"FA (2)\"",
        "xsd_fixed_value",
        5,
        "/Faktura/Naglowek/KodFormularza",
    ),
    ("<P_15>", "<P_15>abc", "xsd_invalid_value", 53, "/Faktura/Fa/P_15"),
    ("<RodzajFaktury>VAT</RodzajFaktury>", "", "xsd_missing_element", 71, "/Faktura/Fa/RodzajFaktury"),
];

#[test]
fn broken_samples_fail_with_code_line_and_path() {
    let base = sample(1);
    for &(from, to, code, line, path) in BROKEN {
        assert!(base.contains(from), "{from}");
        let findings = fa3().validate(base.replacen(from, to, 1).as_bytes());
        assert_eq!(findings.len(), 1, "{from}: {findings:#?}");
        let f = &findings[0];
        assert_eq!((f.code, f.line, f.path.as_deref()), (code, Some(line), Some(path)), "{from}: {f:#?}");
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(f.ksef_status, Some(430));
    }
}

#[test]
fn missing_invoice_number_is_explained_in_polish() {
    let xml = sample(1).replacen("<P_2>FV2026/02/150</P_2>", "", 1);
    let findings = fa3().validate(xml.as_bytes());
    assert_eq!(findings[0].message_pl, "Brak wymaganego elementu P_2 (numer faktury) w /Faktura/Fa.");
    assert_eq!(findings[0].message_en, "Missing required element P_2 in /Faktura/Fa.");
}

#[test]
fn other_namespace_is_the_wrong_root() {
    let xml = sample(1).replacen(
        "http://crd.gov.pl/wzor/2025/06/25/13775/",
        "http://crd.gov.pl/wzor/2023/06/29/12648/",
        1,
    );
    let findings = fa3().validate(xml.as_bytes());
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!((findings[0].code, findings[0].path.as_deref()), ("xsd_wrong_root", Some("/Faktura")));
}

#[test]
fn validation_works_on_many_threads() {
    let xml = sample(2);
    let broken = xml.replacen("<RodzajFaktury>KOR<", "<RodzajFaktury>XYZ<", 1);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..20 {
                    assert!(fa3().validate(xml.as_bytes()).is_empty());
                    assert_eq!(fa3().validate(broken.as_bytes())[0].code, "xsd_enumeration");
                }
            });
        }
    });
}

/// KSeF 2.8.1 added CNH, VED, XTS, ZWG and SLE to the API's `CurrencyCode` (invoice query
/// filters, collective-identifier payments), which the gateway carries as plain text. Invoices
/// are checked by KSeF against FA(3) v1-0E, whose `TKodWaluty` does not list them (ZWL and SLL,
/// which they replace, are listed): until MF publishes a new FA(3) schema KSeF refuses such an
/// invoice (430), so the pre-flight says so first, at the currency.
#[test]
fn currency_codes_new_in_the_api_of_2_8_1_are_not_in_fa3_v1_0e() {
    let original = sample(1);
    for code in ["CNH", "VED", "XTS", "ZWG", "SLE"] {
        let xml = original.replace("<KodWaluty>PLN</KodWaluty>", &format!("<KodWaluty>{code}</KodWaluty>"));
        let findings = fa3().validate(xml.as_bytes());
        assert!(
            findings
                .iter()
                .any(|f| f.code == "xsd_enumeration" && f.path.as_deref() == Some("/Faktura/Fa/KodWaluty")),
            "{code}: {findings:#?}"
        );
    }
    for code in ["ZWL", "SLL", "EUR"] {
        let xml = original.replace("<KodWaluty>PLN</KodWaluty>", &format!("<KodWaluty>{code}</KodWaluty>"));
        let at_currency: Vec<_> = fa3()
            .validate(xml.as_bytes())
            .into_iter()
            .filter(|f| f.path.as_deref() == Some("/Faktura/Fa/KodWaluty"))
            .collect();
        assert!(at_currency.is_empty(), "{code}: {at_currency:#?}");
    }
}

/// Streaming validation reports a missing child at the parent's end tag; the finding still
/// names the full path (found by the end tag's line).
#[test]
fn missing_last_child_is_placed_on_its_parent_path() {
    let xml = sample(1).replacen("<Nazwa>ABC AGD sp. z o. o.</Nazwa>", "", 1);
    let findings = fa3().validate(xml.as_bytes());
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let f = &findings[0];
    assert_eq!(
        (f.code, f.path.as_deref()),
        ("xsd_missing_element", Some("/Faktura/Podmiot1/DaneIdentyfikacyjne/Nazwa")),
        "{f:#?}"
    );
}

/// Documents the gate lets through but libxml2 finds not well-formed keep libxml2's own
/// explanation (streaming validation has none; the tree parse gives it).
#[test]
fn ill_formed_input_past_the_gate_is_explained_by_the_parser() {
    let xml = sample(1).replacen("<P_2>FV2026/02/150</P_2>", "<P_2 a=\"<\">FV2026/02/150</P_2>", 1);
    let findings = fa3().validate(xml.as_bytes());
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].code, "xml_malformed", "{findings:#?}");
    assert!(findings[0].message_en.contains("'<'"), "{findings:#?}");
    let xml = sample(1).replacen("<P_2>", "<1P/><P_2>", 1);
    assert_eq!(fa3().validate(xml.as_bytes())[0].code, "xml_malformed");
}
