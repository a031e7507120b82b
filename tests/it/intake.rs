//! Invoice intake over HTTP: the official samples validate and are stored byte for byte;
//! broken and hostile files are stored as `invalid` with precise findings, or refused whole
//! with a stable code; nothing stored is damaged and the server keeps serving.

use std::io::Write as _;

use actix_web::http::{header, StatusCode};
use actix_web::test::TestRequest;
use serde_json::Value;

use crate::both_backends;
use crate::common::Backend;
use crate::office::{app, call, invoice, login, office, sample, upload, Who, ACC_FULL, NIP_A, NIP_B};

both_backends!(
    official_samples_validate_and_are_stored_exactly,
    broken_invoices_are_kept_invalid_with_precise_findings,
    hostile_uploads_are_refused_and_nothing_is_lost,
    findings_speak_english_when_asked,
);

const SAMPLES: &[u32] = &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 24];

fn zip_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        w.start_file(name.as_str(), opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn codes(item: &Value) -> Vec<String> {
    item["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect()
}

async fn official_samples_validate_and_are_stored_exactly(b: Backend) {
    let Some((_db, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let key = Who::Key(o.key_a_submit.clone());
    // Some official samples share KSeF's duplicate key (e.g. two corrections numbered
    // FK2026/03/200): the second of such a pair is a duplicate, everything else validates.
    let mut seen = std::collections::HashSet::new();
    let mut drafts = 0;
    for n in SAMPLES {
        let facts = ksef_fa3::extract_facts(&sample(*n)).unwrap();
        let first = seen.insert(ksef_fa3::duplicate_key(&facts));
        let r = upload(&app, &key, None, sample(*n)).await;
        assert_eq!(r.status, StatusCode::CREATED, "sample {n}: {}", r.text());
        let item = &r.json()["invoices"][0];
        if first {
            drafts += 1;
            assert_eq!(item["state"], "draft", "sample {n}: {item:#}");
            assert!(codes(item).is_empty());
        } else {
            assert_eq!(codes(item), ["duplicate"], "sample {n}: {item:#}");
        }
        let id = item["id"].as_str().unwrap();
        let xml = call(&app, key.apply(TestRequest::get().uri(&format!("/api/v1/invoices/{id}/xml")))).await;
        assert_eq!(xml.body, sample(*n), "stored bytes are exactly the uploaded ones");
    }
    // The same samples again, as one zip: each is now a duplicate of a stored invoice (440).
    let files: Vec<_> = SAMPLES.iter().map(|n| (format!("FA_{n}.xml"), sample(*n))).collect();
    let r = upload(&app, &key, None, zip_of(&files)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let body = r.json();
    assert_eq!(body["invalid"], SAMPLES.len());
    // The answer is streamed file by file; its text is what one compact serialisation gives
    // (keys sorted, no spaces), as when it was built at once.
    assert_eq!(r.headers.get(header::CONTENT_TYPE).unwrap(), "application/json");
    assert_eq!(r.text(), serde_json::to_string(&body).unwrap());
    assert_eq!(body["accepted"], 0);
    assert_eq!(body["invoices"].as_array().unwrap().len(), SAMPLES.len());
    for item in body["invoices"].as_array().unwrap() {
        assert_eq!(codes(item), ["duplicate"], "{item:#}");
        assert_eq!(item["findings"][item["findings"].as_array().unwrap().len() - 1]["ksef_status"], 440);
    }
    let listed =
        call(&app, key.apply(TestRequest::get().uri("/api/v1/invoices?state=draft&limit=1000"))).await;
    assert_eq!(listed.json()["invoices"].as_array().unwrap().len(), drafts);
}

/// (edit of sample 1, expected error code, line, element path)
const BROKEN: &[(&str, &str, &str, u32, &str)] = &[
    ("<P_2>FV2026/02/150</P_2>", "", "xsd_missing_element", 48, "/Faktura/Fa/P_2"),
    (
        "<NIP>1111111111</NIP>",
        "<NIP>1111111112</NIP>",
        "nip_checksum",
        27,
        "/Faktura/Podmiot2/DaneIdentyfikacyjne/NIP",
    ),
    ("<P_1>2026-02-15</P_1>", "<P_1>2099-02-15</P_1>", "issue_date_in_future", 45, "/Faktura/Fa/P_1"),
    (
        "<NIP>9999999999</NIP>",
        "<NIP>1111111111</NIP>",
        "seller_not_client",
        12,
        "/Faktura/Podmiot1/DaneIdentyfikacyjne/NIP",
    ),
    (
        "<RodzajFaktury>VAT<",
        "<RodzajFaktury>KOR<",
        "correction_without_reference",
        70,
        "/Faktura/Fa/RodzajFaktury",
    ),
];

async fn broken_invoices_are_kept_invalid_with_precise_findings(b: Backend) {
    let Some((_db, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let who = login(&app, ACC_FULL).await;
    for (i, (from, to, code, line, path)) in BROKEN.iter().enumerate() {
        let xml = String::from_utf8(invoice(NIP_A, &format!("FV/BROKEN/{i}"))).unwrap();
        let xml = if *from == "<P_2>FV2026/02/150</P_2>" {
            xml.replace(&format!("<P_2>FV/BROKEN/{i}</P_2>"), "")
        } else {
            xml.replacen(from, to, 1)
        };
        let r = upload(&app, &who, Some(NIP_A), xml.into_bytes()).await;
        assert_eq!(r.status, StatusCode::CREATED, "{code}: {}", r.text());
        let item = &r.json()["invoices"][0];
        assert_eq!(item["state"], "invalid", "{code}");
        let f = item["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == *code)
            .unwrap_or_else(|| panic!("{code}: {item:#}"));
        assert_eq!(
            (f["line"].as_u64(), f["path"].as_str()),
            (Some(u64::from(*line)), Some(*path)),
            "{code}: {f:#}"
        );
        assert!(!f["message"].as_str().unwrap().is_empty());
        // Stored invalid, with its findings, visible in the invoice view.
        let id = item["id"].as_str().unwrap();
        let view =
            call(&app, who.apply(TestRequest::get().uri(&format!("/api/v1/invoices/{id}")))).await.json();
        assert_eq!(view["state"], "invalid");
        assert_eq!(view["status_letter"], Value::Null);
        assert!(view["findings"].as_array().unwrap().iter().any(|f| f["code"] == *code));
        // An invalid invoice can never be sent.
        let send = call(
            &app,
            who.apply(
                TestRequest::post().uri("/api/v1/invoices/send").set_json(serde_json::json!({"ids": [id]})),
            ),
        )
        .await;
        assert_eq!(send.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", send.text());
        assert_eq!(send.json()["error"]["code"], "invoice_not_sendable");
    }
    // A corrected upload is a new draft.
    let r = upload(&app, &who, Some(NIP_A), invoice(NIP_A, "FV/BROKEN/0")).await;
    assert_eq!(r.json()["invoices"][0]["state"], "draft", "{}", r.text());
}

fn billion_laughs() -> Vec<u8> {
    let mut dtd = String::from("<!DOCTYPE Faktura [\n<!ENTITY lol \"lol\">\n");
    for level in 1..10 {
        let refs = format!("&lol{};", level - 1).replace("lol0", "lol").repeat(10);
        dtd.push_str(&format!("<!ENTITY lol{level} \"{refs}\">\n"));
    }
    dtd.push_str("]>");
    let xml = String::from_utf8(sample(1)).unwrap();
    let decl_end = xml.find("?>").unwrap() + 2;
    format!("{}\n{dtd}{}", &xml[..decl_end], &xml[decl_end..])
        .replacen("<P_2>FV2026/02/150</P_2>", "<P_2>&lol9;</P_2>", 1)
        .into_bytes()
}

async fn hostile_uploads_are_refused_and_nothing_is_lost(b: Backend) {
    let Some((_db, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let key = Who::Key(o.key_a_submit.clone());
    let good = upload(&app, &key, None, invoice(NIP_A, "FV/KEEP/1")).await;
    let kept_id = good.json()["invoices"][0]["id"].as_str().unwrap().to_owned();

    // XML bombs, external entities, wrong encodings: stored invalid, with the precise code.
    let latin2 =
        String::from_utf8(invoice(NIP_A, "FV/L2")).unwrap().replacen("UTF-8", "ISO-8859-2", 1).into_bytes();
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend(invoice(NIP_A, "FV/BOM"));
    let xxe = String::from_utf8(invoice(NIP_A, "FV/XXE")).unwrap().replacen(
        "?>",
        "?>\n<!DOCTYPE Faktura [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>",
        1,
    );
    let deep = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>{}{}",
        "<a>".repeat(100_000),
        "</a>".repeat(100_000)
    );
    for (what, body, code) in [
        ("billion laughs", billion_laughs(), "xml_entity_forbidden"),
        ("external entity", xxe.into_bytes(), "xml_entity_forbidden"),
        ("latin-2", latin2, "xml_encoding_not_utf8"),
        ("byte order mark", bom, "xml_bom"),
        ("deep nesting", deep.into_bytes(), "xml_too_deep"),
        ("truncated", invoice(NIP_A, "FV/TR")[..2000].to_vec(), "xml_truncated"),
    ] {
        let started = std::time::Instant::now();
        let r = upload(&app, &key, None, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{what}: {}", r.text());
        let item = &r.json()["invoices"][0];
        assert_eq!(item["state"], "invalid", "{what}");
        let found = codes(item);
        assert!(found.iter().any(|c| c == code), "{what}: expected {code}, got {found:?}");
        assert!(started.elapsed().as_secs() < 5, "{what} took {:?}", started.elapsed());
    }

    // Whole uploads refused before anything is stored: zip bomb, path tricks, oversized XML.
    let bomb = zip_of(&[("bomb.xml".into(), vec![b' '; 20_000_000])]);
    let tricks = zip_of(&[("../../etc/evil.xml".into(), invoice(NIP_A, "FV/TRICK"))]);
    let mut huge = invoice(NIP_A, "FV/HUGE");
    huge.extend(std::iter::repeat_n(b' ', 3_100_000));
    let before = call(&app, key.apply(TestRequest::get().uri("/api/v1/invoices?limit=1000"))).await.json()
        ["invoices"]
        .as_array()
        .unwrap()
        .len();
    for (what, body, status, code) in [
        ("zip bomb", bomb, StatusCode::UNPROCESSABLE_ENTITY, "package_entry_too_large"),
        ("path trick", tricks, StatusCode::UNPROCESSABLE_ENTITY, "package_unsafe_name"),
        ("oversized", huge, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
        ("empty", Vec::new(), StatusCode::UNPROCESSABLE_ENTITY, "empty_body"),
    ] {
        let r = upload(&app, &key, None, body).await;
        assert_eq!(r.status, status, "{what}: {}", r.text());
        let code_found = r.json()["error"]["code"].as_str().unwrap_or_default().to_owned();
        assert!(
            code_found == code || (what == "zip bomb" && code_found.starts_with("package_")),
            "{what}: {code_found}"
        );
    }
    let after = call(&app, key.apply(TestRequest::get().uri("/api/v1/invoices?limit=1000"))).await.json()
        ["invoices"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after, "refused uploads store nothing");

    // What was stored before is intact, and the server keeps serving.
    let kept =
        call(&app, key.apply(TestRequest::get().uri(&format!("/api/v1/invoices/{kept_id}/xml")))).await;
    assert_eq!(kept.body, invoice(NIP_A, "FV/KEEP/1"));
    assert_eq!(call(&app, TestRequest::get().uri("/healthz")).await.status, StatusCode::OK);

    // A foreign client's key cannot upload into this client, nor see its invoices.
    let foreign = Who::Key(o.key_b.clone());
    let r = upload(&app, &foreign, Some(NIP_A), invoice(NIP_A, "FV/FOREIGN")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    let r = call(&app, foreign.apply(TestRequest::get().uri(&format!("/api/v1/invoices/{kept_id}")))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(!r.text().contains("FV/KEEP"));
    let _ = NIP_B;
}

async fn findings_speak_english_when_asked(b: Backend) {
    let Some((_db, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let key = Who::Key(o.key_a_submit.clone());
    let xml = String::from_utf8(invoice(NIP_A, "FV/EN")).unwrap().replacen(
        "<NIP>1111111111</NIP>",
        "<NIP>1111111112</NIP>",
        1,
    );
    let req = TestRequest::post()
        .uri("/api/v1/invoices")
        .insert_header((header::ACCEPT_LANGUAGE, "en-GB,en;q=0.9,pl;q=0.5"))
        .set_payload(xml.clone());
    let en = call(&app, key.apply(req)).await.json();
    let msg = en["invoices"][0]["findings"][0]["message"].as_str().unwrap().to_owned();
    assert!(msg.contains("checksum"), "{msg}");
    let id = en["invoices"][0]["id"].as_str().unwrap();
    let pl = call(&app, key.apply(TestRequest::get().uri(&format!("/api/v1/invoices/{id}")))).await.json();
    let msg_pl = pl["findings"][0]["message"].as_str().unwrap();
    assert!(msg_pl.contains("NIP") && msg_pl != msg, "{msg_pl}");
}
