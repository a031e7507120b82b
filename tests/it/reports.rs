//! PDF reports as a reader gets them: the audit report through the API (streamed), read back
//! with poppler's `pdftotext`, which sees only what the PDF really contains as text.

use std::process::Command;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::json;

use ksef_gateway::db::models::audit::AuditEvent;
use ksef_gateway::db::DbError;
use ksef_gateway::service::audit::{self, AuditActor, AuditEntry};

use crate::both_backends;
use crate::common::Backend;
use crate::office::{
    app, call, invoice, login, office, upload, ACC_FULL, ACC_NONE, ACC_READ, BOARD_B, NIP_A,
};

both_backends!(
    audit_pdf_shows_decisions_pages_and_chain_head,
    audit_pdf_scope_and_bad_input,
    invoice_pdf_of_every_official_sample,
    cli_export_writes_pdf_and_refuses_unknown_names,
    large_export_streams_every_event_once_in_order,
    invoice_pdfs_in_bulk_as_zip,
    invoice_pdfs_zip_from_the_panel_list,
);

/// The text of a PDF, page by page (pdftotext separates pages with a form feed).
pub fn pdf_pages(pdf: &[u8]) -> Vec<String> {
    assert!(
        pdf.starts_with(b"%PDF-"),
        "not a PDF: {:?}",
        String::from_utf8_lossy(&pdf[..pdf.len().min(200)])
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftotext").arg(&path).arg("-").output().unwrap(); // poppler-utils
    assert!(out.status.success(), "pdftotext: {}", String::from_utf8_lossy(&out.stderr));
    // poppler reports a broken cross-reference table or object syntax on stderr (and repairs it).
    assert!(out.stderr.is_empty(), "pdftotext complains: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut pages: Vec<String> = text.split('\u{c}').map(str::to_owned).collect();
    if pages.last().is_some_and(|p| p.trim().is_empty()) {
        pages.pop();
    }
    pages
}

async fn audit_pdf_shows_decisions_pages_and_chain_head(b: Backend) {
    let Some((_db, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let acc = login(&app, ACC_FULL).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let r = upload(&app, &acc, Some(NIP_A), invoice(NIP_A, &format!("FV/PDF/{i}"))).await;
        ids.push(r.json()["invoices"][0]["id"].as_str().unwrap().to_owned());
    }
    let send = TestRequest::post().uri("/api/v1/invoices/send").set_json(json!({"ids": ids}));
    assert_eq!(call(&app, acc.apply(send)).await.status, StatusCode::ACCEPTED);
    // Enough further events to fill several pages.
    let client_id = o.a.id.clone();
    o.st.db
        .tx(move |c| {
            audit::record_many(
                c,
                (0..150).map(|i| AuditEntry {
                    actor: &AuditActor::System,
                    client_id: Some(&client_id),
                    action: "send.session_opened",
                    subject: None,
                    payload: json!({"session_reference": format!("20261203-SO-{i:010}")}),
                }),
            )
        })
        .await
        .unwrap();

    let r =
        call(&app, acc.apply(TestRequest::get().uri(&format!("/api/v1/audit?nip={NIP_A}&format=pdf")))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.headers.get("content-type").unwrap(), "application/pdf");
    let pages = pdf_pages(&r.body);
    let n = pages.len();
    assert!(n >= 3, "{n} pages");
    let all = pages.join("\n");
    for want in [
        "Raport audytu",
        "Wygenerował:",
        "Zakres:",
        "Firma 9999999999 (NIP 9999999999)",
        "Jak sprawdzić ten raport",
    ] {
        assert!(all.contains(want), "missing {want:?} in:\n{all}");
    }
    assert!(all.contains(ACC_FULL), "who generated it");
    // The decision row: what was decided, by whom, on which exact invoices, under which policy.
    let decision = pages.iter().find(|p| p.contains("Decyzja o wysyłce do KSeF")).unwrap();
    for want in ["FV/PDF/0", "FV/PDF/2", "Polityka: manual"] {
        assert!(decision.contains(want), "missing {want:?} in the decision page:\n{decision}");
    }
    let sha = {
        let v = call(&app, acc.apply(TestRequest::get().uri(&format!("/api/v1/invoices/{}", ids[0]))))
            .await
            .json();
        v["sha256"].as_str().unwrap().to_owned()
    };
    assert!(all.replace('\n', "").contains(&sha), "the invoice's hash {sha}");
    // Every page numbered "Strona i z N", and the table header repeats on the pages it runs onto.
    for (i, page) in pages.iter().enumerate() {
        assert!(page.contains(&format!("Strona {} z {n}", i + 1)), "page {} footer:\n{page}", i + 1);
    }
    let headed = pages.iter().filter(|p| p.contains("Zdarzenie i szczegóły")).count();
    assert!(headed >= n - 2, "table header on {headed} of {n} pages");
    // The chain head the report names is the trail's head (the export's own event).
    let (head_seq, head_hash) = o.st.db.tx(AuditEvent::head).await.unwrap().unwrap();
    assert!(all.contains(&head_hash), "chain head {head_hash}");
    assert!(all.contains(&format!("Głowa łańcucha, zdarzenie nr {head_seq}")));
    let exported =
        o.st.db.tx(move |c| Ok::<_, DbError>(AuditEvent::page(c, head_seq - 1, 1)?.remove(0))).await.unwrap();
    assert_eq!(exported.action, "audit.exported");
    assert!(exported.payload.contains("\"format\":\"pdf\""), "{}", exported.payload);

    // English on request.
    let en = call(
        &app,
        acc.apply(
            TestRequest::get()
                .uri(&format!("/api/v1/audit?nip={NIP_A}&format=pdf"))
                .insert_header(("Accept-Language", "en-GB,en;q=0.9")),
        ),
    )
    .await;
    let en = pdf_pages(&en.body);
    assert!(
        en[0].contains("Audit report") && en[0].contains(&format!("Page 1 of {}", en.len())),
        "{}",
        en[0]
    );
    assert!(en.join("\n").contains("Decision to send to KSeF"));
}

async fn audit_pdf_scope_and_bad_input(b: Backend) {
    let Some((_db, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let acc = login(&app, ACC_FULL).await;
    let get = |q: &str| TestRequest::get().uri(&format!("/api/v1/audit?{q}"));

    // An empty period still gives a report, and it says so.
    let r =
        call(&app, acc.apply(get(&format!("nip={NIP_A}&format=pdf&from=2001-01-01&to=2001-02-01")))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let all = pdf_pages(&r.body).join("\n");
    assert!(all.contains("Brak zdarzeń w wybranym zakresie i okresie."), "{all}");

    // A person filter narrows to that person's events; an unknown person is a 404.
    let r = call(&app, acc.apply(get(&format!("nip={NIP_A}&format=json&user={ACC_FULL}")))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let events = r.json()["events"].as_array().unwrap().clone();
    assert!(!events.is_empty());
    assert!(events.iter().all(|e| e["actor_kind"] == "user"), "{events:?}");
    let r = call(&app, acc.apply(get(&format!("nip={NIP_A}&format=pdf&user=nobody@biuro.test")))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());

    // An unknown client is a 404; a client outside the caller's reach too; no audit permission
    // is 403; nobody gets a PDF they may not read.
    let r = call(&app, acc.apply(get("nip=1111111111&format=pdf"))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    let foreign = login(&app, BOARD_B).await;
    let r = call(&app, foreign.apply(get(&format!("nip={NIP_A}&format=pdf")))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    assert!(!r.body.starts_with(b"%PDF"));
    let reader = login(&app, ACC_READ).await;
    let r = call(&app, reader.apply(get(&format!("nip={NIP_A}&format=pdf")))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let none = login(&app, ACC_NONE).await;
    let r = call(&app, none.apply(get("format=pdf"))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    // A board member's report holds only their own company's events.
    let r = call(&app, foreign.apply(get("format=pdf"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let all = pdf_pages(&r.body).join("\n");
    assert!(all.contains("NIP 5260250274") && !all.contains("9999999999"), "{all}");
}

/// Every QR code on every page of a PDF, decoded from the page as poppler rasterises it.
pub fn pdf_qr_codes(pdf: &[u8]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("i.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftoppm")
        .args(["-r", "150", "-gray"])
        .arg(&path)
        .arg(dir.path().join("p"))
        .output()
        .unwrap();
    assert!(out.status.success(), "pdftoppm: {}", String::from_utf8_lossy(&out.stderr));
    let mut pages: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pgm"))
        .collect();
    pages.sort();
    let mut found = Vec::new();
    for page in pages {
        let (w, h, pixels) = read_pgm(&std::fs::read(page).unwrap());
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| pixels[y * w + x]);
        for grid in img.detect_grids() {
            found.push(grid.decode().unwrap().1);
        }
    }
    found
}

/// A binary PGM (P5, 8-bit), as `pdftoppm -gray` writes it.
fn read_pgm(bytes: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8(bytes[start..at].to_vec()).unwrap());
    }
    assert_eq!(fields[0], "P5");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let data = bytes[at + 1..].to_vec();
    assert_eq!(data.len(), w * h);
    (w, h, data)
}

async fn invoice_pdf_of_every_official_sample(b: Backend) {
    let Some((_db, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let acc = login(&app, ACC_FULL).await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/crates/ksef-fa3/tests/fixtures/fa3");
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 20);
    let foreign = login(&app, BOARD_B).await;
    for (i, path) in files.iter().enumerate() {
        let xml = std::fs::read(path).unwrap();
        let facts = ksef_fa3::extract_facts(&xml).unwrap();
        let r = upload(&app, &acc, Some(NIP_A), xml).await;
        let id = r.json()["invoices"][0]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{path:?}: {}", r.text()))
            .to_owned();
        let url = format!("/api/v1/invoices/{id}/pdf");
        let r = call(&app, acc.apply(TestRequest::get().uri(&url))).await;
        assert_eq!(r.status, StatusCode::OK, "{path:?}: {}", r.text());
        assert_eq!(r.headers.get("content-type").unwrap(), "application/pdf");
        let text = pdf_pages(&r.body).join("\n");
        let flat = text.replace('\n', "");
        let gross = facts.gross_total.unwrap().to_string();
        assert!(text.contains(&format!("{gross} {}", facts.currency)), "{path:?}: total {gross} in\n{text}");
        assert!(text.contains(&facts.invoice_number), "{path:?}");
        assert!(text.contains("Sprzedawca") && text.contains("KOD I"), "{path:?}");
        let xml_text = std::fs::read_to_string(path).unwrap();
        if xml_text.contains("<FormaPlatnosci>6</FormaPlatnosci>") {
            assert!(
                text.contains("Forma płatności:") && text.contains("przelew"),
                "{path:?}: payment\n{text}"
            );
        }
        if facts.invoice_type.starts_with("KOR") {
            assert!(
                text.contains("Korygowana faktura"),
                "{path:?}: a correction says what it corrects\n{text}"
            );
        }
        // The QR code on the page encodes exactly the KOD I link the API gives, printed below it.
        let kod1 = call(&app, acc.apply(TestRequest::get().uri(&format!("/api/v1/invoices/{id}/qr"))))
            .await
            .json()["kod1"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(flat.contains(&kod1), "{path:?}: link text {kod1}");
        if i == 0 {
            let en =
                call(&app, acc.apply(TestRequest::get().uri(&url).insert_header(("Accept-Language", "en"))))
                    .await;
            let en = pdf_pages(&en.body).join("\n");
            for want in
                ["Seller", "Buyer", "Total due (gross):", "KOD I — Verify the invoice in KSeF", "Page 1 of"]
            {
                assert!(en.contains(want), "{path:?}: {want:?} in the English PDF\n{en}");
            }
        }
        if i % 5 == 0 {
            // Rasterising is the slow part: every fifth sample is decoded (all kinds are covered).
            assert_eq!(pdf_qr_codes(&r.body), vec![kod1.clone()], "{path:?}");
        }
        // A caller outside the client gets nothing.
        let r = call(&app, foreign.apply(TestRequest::get().uri(&url))).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path:?}");
        assert!(!r.body.starts_with(b"%PDF"));
    }
}

async fn cli_export_writes_pdf_and_refuses_unknown_names(b: Backend) {
    let Some((db, _o)) = office(b).await else { return };
    let out = db.dir.path().join("raport.pdf");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_ksef-gateway"))
            .args(["audit", "export", "--out"])
            .arg(&out)
            .args(args)
            .arg("--data-dir")
            .arg(db.dir.path())
            .env("KSEF_GW__DATABASE__URL", &db.url)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let ok = Command::new(env!("CARGO_BIN_EXE_ksef-gateway"))
        .args(["audit", "export", "--out"])
        .arg(&out)
        .args(["--format", "pdf", "--nip", NIP_A, "--lang", "en", "--data-dir"])
        .arg(db.dir.path())
        .env("KSEF_GW__DATABASE__URL", &db.url)
        .env("KSEF_GW__OFFICE__NAME", "Biuro Rachunkowe Żółw")
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("events to"));
    let pages = pdf_pages(&std::fs::read(&out).unwrap());
    assert!(
        pages[0].contains("Audit report") && pages[0].contains("operator (command line)"),
        "{}",
        pages[0]
    );
    assert!(pages.join("\n").contains("Permissions granted"));
    for (args, key) in [
        (vec!["--format", "pdf", "--nip", "1111111111"], "--nip"),
        (vec!["--format", "pdf", "--user", "nikt@biuro.test"], "--user"),
        (vec!["--format", "docx"], "--format"),
        (vec!["--format", "pdf", "--lang", "de"], "--lang"),
        (vec!["--format", "csv", "--from", "2026-12-05", "--to", "2026-12-01"], "--from"),
        (vec!["--format", "csv", "--from", "05.12.2026"], "--from"),
    ] {
        let r = run(&args);
        let stderr = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(key), "{args:?}: {stderr}");
    }
}

async fn large_export_streams_every_event_once_in_order(b: Backend) {
    let Some((_db, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let acc = login(&app, ACC_FULL).await;
    // More events than one keyset page (1 000), so page boundaries are crossed.
    let client_id = o.a.id.clone();
    o.st.db
        .tx(move |c| {
            audit::record_many(
                c,
                (0..2_500).map(|i| AuditEntry {
                    actor: &AuditActor::System,
                    client_id: Some(&client_id),
                    action: "send.session_opened",
                    subject: None,
                    payload: json!({"n": i}),
                }),
            )
        })
        .await
        .unwrap();
    let r =
        call(&app, acc.apply(TestRequest::get().uri(&format!("/api/v1/audit?nip={NIP_A}&format=csv")))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers.get("content-length").is_none(), "streamed, not sized up front: {:?}", r.headers);
    let text = r.text();
    let seqs: Vec<i64> =
        text.lines().skip(1).map(|l| l.split(',').next().unwrap().parse().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in chain order, each once");
    assert_eq!(text.matches("send.session_opened").count(), 2_500);
    let (head, _) = o.st.db.tx(AuditEvent::head).await.unwrap().unwrap();
    assert_eq!(*seqs.last().unwrap(), head, "up to and including the export's own event");
    let r = call(&app, acc.apply(TestRequest::get().uri(&format!("/api/v1/audit?nip={NIP_A}&format=json"))))
        .await;
    let v = r.json();
    assert_eq!(v["chain"]["intact"], true, "{}", &r.text()[..200]);
    let n = v["events"].as_array().unwrap().iter().filter(|e| e["action"] == "send.session_opened").count();
    assert_eq!(n, 2_500);
}

/// The entries of a zip, by name, in order.
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut out = Vec::new();
            f.read_to_end(&mut out).unwrap();
            (f.name().to_owned(), out)
        })
        .collect()
}

/// Three official samples uploaded for client A: (id, invoice number) each.
async fn three_samples<S, B>(app: &S, acc: &crate::office::Who) -> Vec<(String, String)>
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/crates/ksef-fa3/tests/fixtures/fa3");
    let mut out = Vec::new();
    for n in [1, 2, 3] {
        let xml = std::fs::read(format!("{dir}/FA_3_Przykład_{n}.xml")).unwrap();
        let number = ksef_fa3::extract_facts(&xml).unwrap().invoice_number;
        let r = upload(app, acc, Some(NIP_A), xml).await;
        let id = r.json()["invoices"][0]["id"].as_str().unwrap_or_else(|| panic!("{}", r.text())).to_owned();
        out.push((id, number));
    }
    out
}

/// Each entry is its invoice's PDF under its number (made safe as a file name), names unique.
fn assert_zip_of(zip: &[u8], invoices: &[(String, String)]) {
    let entries = unzip(zip);
    assert_eq!(entries.len(), invoices.len());
    let names: std::collections::HashSet<_> = entries.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(names.len(), entries.len(), "unique names: {names:?}");
    for ((name, pdf), (_, number)) in entries.iter().zip(invoices) {
        let safe: String = number
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' })
            .collect();
        assert!(name.starts_with(&safe) && name.ends_with(".pdf"), "{name} for {number}");
        assert!(!name.contains('/') && !name.contains('\\'), "{name}");
        let text = pdf_pages(pdf).join("\n");
        assert!(text.contains(number.as_str()), "{name}: {number} in\n{text}");
    }
}

async fn invoice_pdfs_in_bulk_as_zip(b: Backend) {
    let Some((_db, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let acc = login(&app, ACC_FULL).await;
    let invoices = three_samples(&app, &acc).await;
    let ids: Vec<&str> = invoices.iter().map(|(id, _)| id.as_str()).collect();
    let bulk = |body: serde_json::Value| TestRequest::post().uri("/api/v1/invoices/pdf").set_json(body);

    let r = call(&app, acc.apply(bulk(json!({"invoice_ids": ids})))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.headers.get("content-type").unwrap(), "application/zip");
    assert_zip_of(&r.body, &invoices);
    // An id given twice is one entry.
    let twice = [ids[0], ids[0]];
    let r = call(&app, acc.apply(bulk(json!({"invoice_ids": twice})))).await;
    assert_eq!(unzip(&r.body).len(), 1);

    // Someone of another client: not found, and no zip (not even the part before).
    let foreign = login(&app, BOARD_B).await;
    let r = call(&app, foreign.apply(bulk(json!({"invoice_ids": ids})))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "not_found");
    assert!(!r.body.starts_with(b"PK"));
    let r = call(&app, acc.apply(bulk(json!({"invoice_ids": [ids[0], "no-such-invoice"]})))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(!r.body.starts_with(b"PK"));
    let none = login(&app, ACC_NONE).await;
    assert_eq!(call(&app, none.apply(bulk(json!({"invoice_ids": ids})))).await.status, StatusCode::NOT_FOUND);

    // Bounds: nothing chosen, or more than one download may hold.
    let r = call(&app, acc.apply(bulk(json!({"invoice_ids": []})))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["error"]["code"], "invalid_input");
    assert_eq!(r.json()["error"]["details"][0]["reason"], "no_invoice_chosen");
    let many: Vec<String> = (0..501).map(|i| format!("id-{i}")).collect();
    let r = call(&app, acc.apply(bulk(json!({"invoice_ids": many})))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["error"]["details"][0]["reason"], "too_many_invoices");
}

async fn invoice_pdfs_zip_from_the_panel_list(b: Backend) {
    use actix_web::http::header;
    let Some((_db, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let acc = login(&app, ACC_FULL).await;
    let crate::office::Who::Session { cookie, csrf } = acc.clone() else { unreachable!() };
    let invoices = three_samples(&app, &acc).await;
    let cookie = format!("kgw_session={cookie}");

    let page = call(
        &app,
        TestRequest::get().uri(&format!("/klienci/{NIP_A}")).insert_header((header::COOKIE, cookie.clone())),
    )
    .await;
    let html = page.text();
    assert!(
        html.contains(&format!("formaction=\"/klienci/{NIP_A}/pdf\"")) && html.contains("Pobierz PDF (zip)"),
        "{html}"
    );
    let form = |fields: &[(&str, &str)]| {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        TestRequest::post()
            .uri(&format!("/klienci/{NIP_A}/pdf"))
            .insert_header((header::COOKIE, cookie.clone()))
            .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
            .set_payload(body)
    };
    // Sendable rows carry `ids`, the others `pdf_ids`: both are taken.
    let fields = [
        ("csrf", csrf.as_str()),
        ("tryb", "online"),
        ("ids", invoices[0].0.as_str()),
        ("ids", invoices[1].0.as_str()),
        ("pdf_ids", invoices[2].0.as_str()),
    ];
    let r = call(&app, form(&fields)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.headers.get("content-type").unwrap(), "application/zip");
    let disposition = r.headers.get("content-disposition").unwrap().to_str().unwrap();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert_zip_of(&r.body, &invoices);

    let r = call(&app, form(&[("csrf", csrf.as_str())])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("Zaznacz co najmniej jedną fakturę."), "{}", r.text());
    let r = call(&app, form(&[("ids", invoices[0].0.as_str())])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF token, no download");
    assert!(!r.body.starts_with(b"PK"));
}
