//! Hostile input: every case is a precise finding, in bounded time, through every entry point.

use std::time::{Duration, Instant};

use ksef_fa3::{extract_facts, Finding};

use crate::{fa3, sample, shapes, upo};

const DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

/// Runs `xml` through validation and fact extraction; both must reject it with `code` quickly.
fn rejected(xml: &[u8], code: &str) -> Finding {
    let started = Instant::now();
    let findings = fa3().validate(xml);
    let facts = extract_facts(xml);
    let upo_findings = upo().validate(xml);
    assert!(started.elapsed() < Duration::from_secs(2), "{code}: took {:?}", started.elapsed());
    assert_eq!(findings.len(), 1, "{code}: {findings:#?}");
    assert_eq!(findings[0].code, code, "{findings:#?}");
    assert_eq!(findings[0].ksef_status, Some(430));
    assert_eq!(facts.expect_err("facts must be refused").code, code);
    if code != "xml_too_large" {
        assert_eq!(upo_findings[0].code, code, "UPO gate: {upo_findings:#?}");
    }
    findings.into_iter().next().expect("one finding")
}

/// Sample 1 with `doctype` inserted after the XML declaration.
fn with_doctype(doctype: &str) -> String {
    sample(1).replacen(DECL, &format!("{DECL}\n{doctype}"), 1)
}

#[test]
fn billion_laughs() {
    let mut dtd = String::from("<!DOCTYPE Faktura [\n<!ENTITY lol \"lol\">\n");
    for level in 1..10 {
        let refs = format!("&lol{};", level - 1).replace("lol0", "lol").repeat(10);
        dtd.push_str(&format!("<!ENTITY lol{level} \"{refs}\">\n"));
    }
    dtd.push_str("]>");
    let xml = with_doctype(&dtd).replacen("<P_2>FV2026/02/150</P_2>", "<P_2>&lol9;</P_2>", 1);
    let finding = rejected(xml.as_bytes(), "xml_entity_forbidden");
    assert_eq!(finding.line, Some(2));
}

#[test]
fn quadratic_blowup() {
    let big = "a".repeat(50_000);
    let xml = with_doctype(&format!("<!DOCTYPE Faktura [<!ENTITY a \"{big}\">]>")).replacen(
        "<P_2>FV2026/02/150</P_2>",
        &format!("<P_2>{}</P_2>", "&a;".repeat(10_000)),
        1,
    );
    rejected(xml.as_bytes(), "xml_entity_forbidden");
}

#[test]
fn external_entities_file_and_http() {
    for system in ["file:///etc/passwd", "http://127.0.0.1:9/secret"] {
        let xml = with_doctype(&format!("<!DOCTYPE Faktura [<!ENTITY xxe SYSTEM \"{system}\">]>")).replacen(
            "<P_2>FV2026/02/150</P_2>",
            "<P_2>&xxe;</P_2>",
            1,
        );
        let finding = rejected(xml.as_bytes(), "xml_entity_forbidden");
        assert!(!finding.message_en.contains("root:"), "no file content may leak");
    }
}

#[test]
fn parameter_entity_xxe() {
    let xml = with_doctype(
        "<!DOCTYPE Faktura [<!ENTITY % remote SYSTEM \"http://127.0.0.1:9/evil.dtd\"> %remote; %payload;]>",
    );
    rejected(xml.as_bytes(), "xml_entity_forbidden");
}

#[test]
fn external_dtd_without_entities() {
    let xml = with_doctype("<!DOCTYPE Faktura SYSTEM \"http://127.0.0.1:9/faktura.dtd\">");
    rejected(xml.as_bytes(), "xml_dtd_forbidden");
}

#[test]
fn undeclared_entity_reference() {
    let xml = sample(1).replacen("<P_2>FV2026/02/150</P_2>", "<P_2>&nbsp;</P_2>", 1);
    let finding = rejected(xml.as_bytes(), "xml_entity_forbidden");
    assert_eq!(finding.line, Some(47));
}

#[test]
fn deep_nesting() {
    let depth = 100_000;
    let xml = format!("{DECL}<Faktura>{}{}</Faktura>", "<a>".repeat(depth), "</a>".repeat(depth));
    rejected(xml.as_bytes(), "xml_too_deep");
}

#[test]
fn five_megabytes() {
    let xml = sample(1).replacen("</Faktura>", &format!("<!--{}--></Faktura>", "x".repeat(5_000_000)), 1);
    rejected(xml.as_bytes(), "xml_too_large");
}

#[test]
fn over_one_megabyte_needs_an_attachment() {
    let padding = format!("<!--{}--></Faktura>", "x".repeat(1_500_000));
    let plain = sample(1).replacen("</Faktura>", &padding, 1);
    rejected(plain.as_bytes(), "xml_too_large");
    let with_attachment = sample(24).replacen("</Faktura>", &padding, 1);
    assert_eq!(fa3().validate(with_attachment.as_bytes()), vec![]);
}

#[test]
fn utf16_file() {
    let mut xml = vec![0xFF, 0xFE];
    xml.extend(sample(1).replace("UTF-8", "UTF-16").encode_utf16().flat_map(u16::to_le_bytes));
    rejected(&xml, "xml_encoding_not_utf8");
    // Without a BOM too.
    rejected(&xml[2..], "xml_encoding_not_utf8");
}

#[test]
fn latin2_declared_file() {
    let xml = sample(1).replacen("encoding=\"UTF-8\"", "encoding=\"ISO-8859-2\"", 1);
    let finding = rejected(xml.as_bytes(), "xml_encoding_not_utf8");
    assert!(finding.message_pl.contains("ISO-8859-2"), "{}", finding.message_pl);
}

#[test]
fn byte_order_mark() {
    let mut xml = vec![0xEF, 0xBB, 0xBF];
    xml.extend(sample(1).into_bytes());
    rejected(&xml, "xml_bom");
}

#[test]
fn nul_byte_and_control_characters() {
    for bad in ["\u{0}", "\u{1B}", "\u{C}"] {
        let xml = sample(1).replacen("FV2026/02/150", &format!("FV2026{bad}/02/150"), 1);
        let finding = rejected(xml.as_bytes(), "xml_forbidden_char");
        assert_eq!(finding.line, Some(47));
    }
    let char_ref = sample(1).replacen("FV2026/02/150", "FV2026&#x1;", 1);
    rejected(char_ref.as_bytes(), "xml_forbidden_char");
}

#[test]
fn discouraged_code_points() {
    for bad in ["\u{80}", "\u{9F}", "\u{FDD0}", "\u{1FFFE}"] {
        let xml = sample(1).replacen("FV2026/02/150", &format!("FV2026{bad}"), 1);
        assert_eq!(rejected(xml.as_bytes(), "xml_discouraged_char").line, Some(47));
    }
    let char_ref = sample(1).replacen("FV2026/02/150", "FV2026&#x85;&#x84;", 1);
    rejected(char_ref.as_bytes(), "xml_discouraged_char");
}

#[test]
fn invalid_utf8() {
    let mut xml = sample(1).into_bytes();
    let at = xml.windows(4).position(|w| w == b"FV20").expect("number present");
    xml[at] = 0xFF;
    assert_eq!(rejected(&xml, "xml_invalid_utf8").line, Some(47));
}

#[test]
fn processing_instruction() {
    let xml = sample(1).replacen(DECL, &format!("{DECL}<?xml-stylesheet href=\"x.xsl\"?>"), 1);
    rejected(xml.as_bytes(), "xml_processing_instruction");
}

#[test]
fn truncated_documents() {
    let xml = sample(1);
    let cut_at_tag = xml.find("<Fa>").expect("Fa present");
    rejected(&xml.as_bytes()[..cut_at_tag], "xml_truncated");
    let cut_in_tag = xml.find("<P_2>").expect("P_2 present") + 3;
    rejected(&xml.as_bytes()[..cut_in_tag], "xml_malformed");
    rejected(b"", "xml_empty");
    rejected(b"not xml at all", "xml_truncated");
}

#[test]
fn mismatched_and_duplicate_markup() {
    let mismatched = sample(1).replacen("</P_2>", "</P_3>", 1);
    assert_eq!(rejected(mismatched.as_bytes(), "xml_malformed").line, Some(47));
    let two_roots = format!("{}<Faktura/>", sample(1));
    rejected(two_roots.as_bytes(), "xml_malformed");
    let duplicate_attr =
        sample(1).replacen("wersjaSchemy=\"1-0E\"", "wersjaSchemy=\"1-0E\" wersjaSchemy=\"1-0E\"", 1);
    rejected(duplicate_attr.as_bytes(), "xml_malformed");
}

#[test]
fn xml_1_1_is_refused() {
    let xml = sample(1).replacen("version=\"1.0\"", "version=\"1.1\"", 1);
    assert_eq!(rejected(xml.as_bytes(), "xml_version").line, Some(1));
}

#[test]
fn schema_location_hints_are_never_fetched() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    let hints = format!(
        "xmlns=\"http://crd.gov.pl/wzor/2025/06/25/13775/\" xsi:schemaLocation=\"http://crd.gov.pl/wzor/2025/06/25/13775/ http://127.0.0.1:{port}/evil.xsd\" xsi:noNamespaceSchemaLocation=\"http://127.0.0.1:{port}/other.xsd\""
    );
    let xml = sample(1).replacen("xmlns=\"http://crd.gov.pl/wzor/2025/06/25/13775/\"", &hints, 1);
    assert!(xml.contains("evil.xsd"));
    assert_eq!(fa3().validate(xml.as_bytes()), vec![]);
    let err = listener.accept().expect_err("nobody may connect");
    assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
}

/// Each shape of about 1 MB is decided at once: refused by the gate with its own code, or (for
/// the shapes just inside the bounds, code prefix `xsd_`) refused by the XSD, without time growing faster than size.
/// The budget is loose because this runs unoptimised on a shared machine (before the bounds the
/// first shape took minutes); `benches/hostile.rs` measures the real time.
#[test]
fn worst_case_shapes_are_decided_fast() {
    let expected = [
        ("many_attributes", "xml_too_many_attributes"),
        ("many_namespaces", "xml_too_many_attributes"),
        ("deep_nesting", "xml_too_deep"),
        ("long_element_name", "xml_name_too_long"),
        ("long_attribute_name", "xml_name_too_long"),
        ("many_tiny_elements", "xsd_"),
        ("many_elements_at_attribute_limit", "xsd_"),
        ("nesting_at_depth_limit", "xsd_"),
        ("prefixed_elements_under_many_namespaces", "xsd_"),
    ];
    for (name, xml) in shapes::all() {
        assert!(xml.len() <= ksef_fa3::MAX_INVOICE_BYTES, "{name}: {}", xml.len());
        let code = expected.iter().find(|(n, _)| *n == name).map(|(_, c)| *c).expect("expected code");
        let started = Instant::now();
        let findings = fa3().validate(&xml);
        let facts = extract_facts(&xml);
        let upo_findings = upo().validate(&xml);
        let took = started.elapsed();
        assert!(took < Duration::from_secs(5), "{name}: took {took:?}");
        let first = findings.first().map_or("", |f| f.code);
        assert!(first == code || (code == "xsd_" && first.starts_with(code)), "{name}: {findings:#?}");
        assert!(findings.len() < 10, "{name}: {} findings", findings.len());
        assert!(facts.is_err(), "{name}");
        if code.starts_with("xml_") {
            assert_eq!(upo_findings.first().map(|f| f.code), Some(code), "{name} through the UPO gate");
        }
    }
}

#[test]
fn too_many_namespaces_in_scope() {
    // Eight nested elements declaring nine namespaces each: every one is within the attribute
    // bound, together they exceed the namespaces in scope.
    let nested: String = (0..8)
        .map(|e| {
            let decls: String = (0..9).map(|i| format!(" xmlns:p{e}x{i}=\"urn:{i}\"")).collect();
            format!("<a{decls}>")
        })
        .collect();
    let xml = sample(1).replacen("<P_2>", &format!("{nested}<P_2>"), 1);
    rejected(xml.as_bytes(), "xml_too_many_namespaces");
}

#[test]
fn bounds_leave_real_invoices_alone() {
    for (name, xml) in crate::fixtures("fa3") {
        assert_eq!(fa3().validate(&xml), vec![], "{name}");
    }
}
