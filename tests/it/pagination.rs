//! Long invoice lists: 2,000 invoices of one client are all reachable page by page (keyset
//! pagination, newest first), each exactly once and in order, with the right total counts; a
//! foreign client's invoices are neither listed nor counted.

use std::io::Write;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::Value;

use ksef_gateway::service::access::Caller;
use ksef_gateway::service::intake::{self, Source};
use ksef_gateway::state::AppState;

use crate::both_backends;
use crate::common::Backend;
use crate::office::{app, call, invoice, login, office, ACC_FULL, NIP_A, NIP_B};

both_backends!(two_thousand_invoices_page_by_page);

pub const MANY: usize = 2_000;

/// A zip of the invoices of `nip` numbered FV/P/{first} … FV/P/{first + n - 1}.
pub fn many_invoices(nip: &str, first: usize, n: usize) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for i in first..first + n {
        w.start_file(format!("fv-{i}.xml"), opts).unwrap();
        w.write_all(&invoice(nip, &format!("FV/P/{i}"))).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Stores `n` invoices for the client in two uploads (so that the list's order rests on both
/// the time and the id); returns the ids as the list must show them, newest first, from the
/// stored rows the uploads answered, sorted here, independently of the list's own query.
pub async fn store_many(
    st: &AppState,
    client_id: &ksef_gateway::domain::ClientId,
    nip: &str,
    n: usize,
) -> Vec<String> {
    let half = n / 2;
    let mut rows = Vec::new();
    for (first, part) in [(0, half), (half, n - half)] {
        let zip = many_invoices(nip, first, part);
        let stored = intake::submit(st, &Caller::Operator, client_id, zip, Source::Api).await.unwrap();
        assert!(
            stored.iter().all(|r| r.invoice.state == ksef_gateway::domain::InvoiceState::Draft),
            "all valid drafts"
        );
        rows.extend(stored.into_iter().map(|r| (r.invoice.created_at, r.invoice.id)));
    }
    rows.sort_by(|a, b| b.cmp(a));
    rows.into_iter().map(|(_, id)| id.to_string()).collect()
}

async fn two_thousand_invoices_page_by_page(b: Backend) {
    let Some((_db, o)) = office(b).await else { return };
    let expected = store_many(&o.st, &o.a.id, NIP_A, MANY).await;
    assert_eq!(expected.len(), MANY);
    // The other client's invoices must not count.
    intake::submit(&o.st, &Caller::Operator, &o.b.id, many_invoices(NIP_B, 0, 3), Source::Api).await.unwrap();
    let app = app(&o.st).await;
    let acc = login(&app, ACC_FULL).await;
    let page = |cursor: Option<&str>| {
        let mut uri = format!("/api/v1/invoices?nip={NIP_A}&limit=200");
        if let Some(c) = cursor {
            uri.push_str(&format!("&cursor={c}"));
        }
        TestRequest::get().uri(&uri)
    };
    let mut seen: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages: Vec<Value> = Vec::new();
    loop {
        let r = call(&app, acc.apply(page(cursor.as_deref()))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let v = r.json();
        assert_eq!(v["total"], MANY, "the total counts every page: {}", v["total"]);
        assert_eq!(v["offset"], seen.len(), "where this page starts");
        seen.extend(v["invoices"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()));
        cursor = v["next_cursor"].as_str().map(str::to_owned);
        pages.push(v);
        if cursor.is_none() {
            break;
        }
        assert!(pages.len() <= MANY / 200, "more pages than invoices");
    }
    assert_eq!(pages.len(), MANY / 200);
    assert_eq!(seen, expected, "every invoice once, newest first, and page 2 is the second 200");
    assert!(pages[0]["prev_cursor"].is_null() && pages[9]["next_cursor"].is_null());
    // Back from page 2 to page 1 exactly.
    let back = pages[1]["prev_cursor"].as_str().unwrap().to_owned();
    let first = call(&app, acc.apply(page(Some(&back)))).await.json();
    let ids = |v: &Value| -> Vec<String> {
        v["invoices"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(ids(&first), expected[..200].to_vec());
    assert_eq!(first["offset"], 0);
    // Counts follow the filter.
    let accepted = call(
        &app,
        acc.apply(TestRequest::get().uri(&format!("/api/v1/invoices?nip={NIP_A}&state=accepted"))),
    )
    .await
    .json();
    assert_eq!((accepted["total"].as_i64(), accepted["next_cursor"].is_null()), (Some(0), true));
    // A made-up cursor is bad input, not a 500.
    let r = call(&app, acc.apply(page(Some("bm90LWEtY3Vyc29y")))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
}
