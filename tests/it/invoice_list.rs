//! The sales invoice list an office works with, through the API: search by number, buyer name
//! or NIP; filters by states, issue dates and gross amount; every sort paged by keyset (each
//! invoice exactly once, in order, back and forth) with total counts; parameter errors as 400
//! with stable codes. Another client's invoices are never listed or counted.

use std::io::Write;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::Value;

use ksef_gateway::service::access::Caller;
use ksef_gateway::service::intake::{self, Source};

use crate::both_backends;
use crate::common::Backend;
use crate::office::{app, call, invoice, login, office, ACC_FULL, NIP_A, NIP_B};

both_backends!(search_filters_and_every_sort_page_by_keyset);
both_backends!(bad_list_parameters_are_400_with_stable_codes);

/// Buyers of the test invoices: (name, NIP as stored).
const BUYERS: [(&str, &str); 3] =
    [("Alfa Handel", "1111111111"), ("Beta Serwis", "5260250274"), ("Gamma Transport ŁÓDŹ", "7740001454")];

/// The facts of test invoice `i`: number, buyer, issue day (of February 2026), gross in grosze.
fn facts(i: usize) -> (String, usize, u32, i64) {
    (
        format!("FV-L-{i:03}"),
        i % 3,
        1 + u32::try_from(i % 10).unwrap(),
        10_000 + i64::try_from((i * 37) % 23).unwrap() * 1_000,
    )
}

/// Sample 1 with number, buyer, issue date and P_15 of test invoice `i` (the amount no longer
/// adds up: a warning, still a draft).
fn test_invoice(seller: &str, i: usize) -> Vec<u8> {
    let (number, buyer, day, gross) = facts(i);
    let (name, nip) = BUYERS[buyer];
    let text = String::from_utf8(invoice(seller, &number)).unwrap();
    text.replacen("<NIP>1111111111</NIP>", &format!("<NIP>{nip}</NIP>"), 1)
        .replacen("<Nazwa>F.H.U. Jan Kowalski</Nazwa>", &format!("<Nazwa>{name}</Nazwa>"), 1)
        .replacen("<P_1>2026-02-15</P_1>", &format!("<P_1>2026-02-{day:02}</P_1>"), 1)
        .replacen("<P_15>2051</P_15>", &format!("<P_15>{}.{:02}</P_15>", gross / 100, gross % 100), 1)
        .into_bytes()
}

pub(crate) fn zip_of(seller: &str, range: std::ops::Range<usize>) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    if range.start == 0 {
        // Not an invoice at all: stored as invalid, without number, date, buyer or amount,
        // which every order still places (as the lowest key).
        w.start_file("zepsuta.xml", opts).unwrap();
        w.write_all(b"<nie-faktura/>").unwrap();
    }
    for i in range {
        w.start_file(format!("fv-{i}.xml"), opts).unwrap();
        w.write_all(&test_invoice(seller, i)).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Test invoices of client A; with the broken file, `ALL` rows.
const N: usize = 31;
const ALL: usize = N + 1;

fn ids(v: &Value) -> Vec<String> {
    v["invoices"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

/// A list row's value of a sort key, comparable across rows.
fn key(row: &Value, sort: &str) -> (i64, String) {
    let text = |f: &str| row[f].as_str().unwrap_or_default().to_owned();
    match sort {
        "gross" => (
            row["gross_total"].as_str().map_or(i64::MIN, |g| g.replace('.', "").parse().unwrap()),
            String::new(),
        ),
        "issue_date" => (0, text("issue_date")),
        "number" => (0, text("number")),
        "buyer" => (0, text("buyer_name")),
        "state" => (0, text("state")),
        _ => (0, text("created_at")),
    }
}

async fn search_filters_and_every_sort_page_by_keyset(b: Backend) {
    let Some((_db, o)) = office(b).await else { return };
    for (first, part) in [(true, 0..N / 2), (false, N / 2..N)] {
        let stored = intake::submit(&o.st, &Caller::Operator, &o.a.id, zip_of(NIP_A, part), Source::Api)
            .await
            .unwrap();
        let invalid =
            stored.iter().filter(|r| r.invoice.state == ksef_gateway::domain::InvoiceState::Invalid).count();
        assert_eq!(invalid, usize::from(first), "valid drafts and the one broken file");
    }
    // Client B buys from the same buyers: never in A's lists or counts.
    intake::submit(&o.st, &Caller::Operator, &o.b.id, zip_of(NIP_B, 0..4), Source::Api).await.unwrap();
    let app = app(&o.st).await;
    let acc = login(&app, ACC_FULL).await;
    let get = |query: String| {
        let acc = &acc;
        let app = &app;
        async move {
            let r = call(
                app,
                acc.apply(TestRequest::get().uri(&format!("/api/v1/invoices?nip={NIP_A}&{query}"))),
            )
            .await;
            assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.text());
            r.json()
        }
    };
    let expect_count = |pred: &dyn Fn(usize) -> bool| (0..N).filter(|i| pred(*i)).count();

    // Search: by number, by buyer name (case aside), by NIP as typed with dashes.
    let v = get("q=fv-l-00".into()).await;
    assert_eq!(v["total"], 10, "FV-L-000 … FV-L-009");
    let v = get("q=beta".into()).await;
    assert_eq!(v["total"], expect_count(&|i| facts(i).1 == 1));
    assert!(v["invoices"].as_array().unwrap().iter().all(|r| r["buyer_name"] == "Beta Serwis"));
    // Polish capitals fold like ASCII ones on both databases: typed either way, found.
    for typed in ["%C5%81%C3%B3d%C5%BA", "%C5%81%C3%93D%C5%B9", "%C5%82%C3%B3d%C5%BA"] {
        let v = get(format!("q={typed}")).await;
        assert_eq!(v["total"], expect_count(&|i| facts(i).1 == 2), "q={typed} (Łódź / ŁÓDŹ / łódź)");
    }
    let v = get("q=774-000-14-54".into()).await;
    assert_eq!(v["total"], expect_count(&|i| facts(i).1 == 2), "the buyer's NIP as people type it");
    // Issue dates (P_1), both ends inclusive; amounts in zł, both ends inclusive.
    let v = get("issued_from=2026-02-03&issued_to=2026-02-05".into()).await;
    assert_eq!(v["total"], expect_count(&|i| (3..=5).contains(&facts(i).2)));
    let v = get("min_gross=110&max_gross=120.00".into()).await;
    assert_eq!(v["total"], expect_count(&|i| (11_000..=12_000).contains(&facts(i).3)));
    // States: one or several.
    assert_eq!(get("state=draft,accepted".into()).await["total"], N);
    assert_eq!(get("state=invalid,draft".into()).await["total"], ALL);
    assert_eq!(get("state=accepted".into()).await["total"], 0);
    // Everything together.
    let v = get("q=alfa&issued_from=2026-02-02&min_gross=105&sort=-gross".into()).await;
    assert_eq!(v["total"], expect_count(&|i| facts(i).1 == 0 && facts(i).2 >= 2 && facts(i).3 >= 10_500));

    // Every sort, both directions, 7 a page: each invoice once, in order, with right offsets.
    for sort in ["received", "issue_date", "number", "buyer", "gross", "state"] {
        for desc in [false, true] {
            let s = if desc { format!("-{sort}") } else { sort.to_owned() };
            let mut seen: Vec<String> = Vec::new();
            let mut rows: Vec<Value> = Vec::new();
            let mut pages: Vec<Value> = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let c = cursor.as_deref().map(|c| format!("&cursor={c}")).unwrap_or_default();
                let v = get(format!("sort={s}&limit=7{c}")).await;
                assert_eq!(
                    (v["total"].as_u64(), v["offset"].as_u64()),
                    (Some(ALL as u64), Some(seen.len() as u64)),
                    "{s}"
                );
                assert_eq!(v["sort"], s.as_str());
                seen.extend(ids(&v));
                rows.extend(v["invoices"].as_array().unwrap().iter().cloned());
                cursor = v["next_cursor"].as_str().map(str::to_owned);
                pages.push(v);
                if cursor.is_none() {
                    break;
                }
                assert!(pages.len() <= ALL, "{s}: more pages than invoices");
            }
            let mut unique = seen.clone();
            unique.sort();
            unique.dedup();
            assert_eq!((seen.len(), unique.len()), (ALL, ALL), "{s}: every invoice exactly once");
            for pair in rows.windows(2) {
                let (a, b) = (key(&pair[0], sort), key(&pair[1], sort));
                assert!(if desc { a >= b } else { a <= b }, "{s}: {a:?} then {b:?}");
            }
            // Back from page 3 to page 2 exactly.
            let back = pages[2]["prev_cursor"].as_str().unwrap();
            let v = get(format!("cursor={back}&limit=7")).await;
            assert_eq!((ids(&v), v["offset"].as_u64()), (ids(&pages[1]), Some(7)), "{s}: previous page");
        }
    }
    // A cursor belongs to its order.
    let first = get("sort=gross&limit=5".into()).await;
    let c = first["next_cursor"].as_str().unwrap();
    let r = call(
        &app,
        acc.apply(TestRequest::get().uri(&format!("/api/v1/invoices?nip={NIP_A}&sort=number&cursor={c}"))),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("bad_cursor"), "{}", r.text());
}

async fn bad_list_parameters_are_400_with_stable_codes(b: Backend) {
    let Some((_db, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let acc = login(&app, ACC_FULL).await;
    for (query, code) in [
        ("state=draft,bogus", "invalid_query"),
        ("sort=price", "invalid_query"),
        ("sort=--gross", "invalid_query"),
        ("min_gross=12a", "invalid_query"),
        ("max_gross=1.234", "invalid_query"),
        ("min_gross=20&max_gross=10", "invalid_range"),
        ("issued_from=2026-03-01&issued_to=2026-02-01", "invalid_range"),
        ("issued_from=01.02.2026", "invalid_query"),
        ("number=FV1", "invalid_query"),
        ("limit=0", "invalid_query"),
    ] {
        let r =
            call(&app, acc.apply(TestRequest::get().uri(&format!("/api/v1/invoices?nip={NIP_A}&{query}"))))
                .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}: {}", r.text());
        assert_eq!(r.json()["error"]["code"], code, "{query}: {}", r.text());
    }
}

both_backends!(all_matching_is_only_what_the_caller_may_act_on);

/// The panel's caller for a person of the test office.
async fn person(st: &ksef_gateway::state::AppState, email: &'static str) -> Caller {
    use ksef_gateway::db::models::User;
    let u = st.db.tx(move |c| User::find_by_email(c, email)).await.unwrap().unwrap();
    Caller::User(ksef_gateway::service::access::UserCaller {
        role: ksef_gateway::auth::Role::parse(&u.role).unwrap(),
        id: u.id,
        email: u.email,
        client_id: None,
        session_id: ksef_gateway::domain::UserSessionId::new(),
    })
}

async fn all_matching_is_only_what_the_caller_may_act_on(b: Backend) {
    use ksef_gateway::error::{AppError, Refusal};
    use ksef_gateway::service::invoices::{matching_ids, BulkAction, ListQuery};
    let Some((_db, o)) = office(b).await else { return };
    let stored =
        intake::submit(&o.st, &Caller::Operator, &o.a.id, zip_of(NIP_A, 0..6), Source::Api).await.unwrap();
    intake::submit(&o.st, &Caller::Operator, &o.b.id, zip_of(NIP_B, 0..3), Source::Api).await.unwrap();
    let of = |nip: &str, states: &[&str]| ListQuery {
        nip: Some(nip.to_owned()),
        states: states.iter().map(|s| (*s).to_owned()).collect(),
        ..ListQuery::default()
    };
    let full = person(&o.st, ACC_FULL).await;
    let read_only = person(&o.st, crate::office::ACC_READ).await;
    // Sending takes the decidable ones only (the broken upload is left out), oldest first.
    let mut drafts: Vec<ksef_gateway::domain::InvoiceId> = stored
        .iter()
        .filter(|r| r.invoice.state == ksef_gateway::domain::InvoiceState::Draft)
        .map(|r| r.invoice.id.clone())
        .collect();
    let mut ids = matching_ids(&o.st, &full, of(NIP_A, &[]), BulkAction::Send, 100).await.unwrap();
    drafts.sort();
    ids.sort();
    assert_eq!(ids, drafts);
    assert_eq!(
        matching_ids(&o.st, &full, of(NIP_A, &["invalid"]), BulkAction::Pdf, 100).await.unwrap().len(),
        1
    );
    assert!(matching_ids(&o.st, &full, of(NIP_A, &["invalid"]), BulkAction::Send, 100)
        .await
        .unwrap()
        .is_empty());
    // Read-only: the PDFs, never a send; another client: not even its existence.
    assert_eq!(matching_ids(&o.st, &read_only, of(NIP_A, &[]), BulkAction::Pdf, 100).await.unwrap().len(), 7);
    let refused = matching_ids(&o.st, &read_only, of(NIP_A, &[]), BulkAction::Send, 100).await;
    assert!(matches!(refused, Err(AppError::Forbidden)), "{refused:?}");
    let foreign = matching_ids(&o.st, &full, of(NIP_B, &[]), BulkAction::Pdf, 100).await;
    assert!(matches!(foreign, Err(AppError::NotFound)), "{foreign:?}");
    // More than the action may take: refused whole, nothing chosen.
    let many = matching_ids(&o.st, &full, of(NIP_A, &[]), BulkAction::Send, 5).await;
    assert!(matches!(many, Err(AppError::Refused { refusal: Refusal::TooManyInvoices, .. })), "{many:?}");
}

both_backends!(a_changed_match_refuses_the_all_matching_decision);

/// "All matching" in the panel: the confirmation counts what the filter matches now; when more
/// invoices match by the time of the decision, nothing is decided and the person is told why.
async fn a_changed_match_refuses_the_all_matching_decision(b: Backend) {
    use crate::panel::{body, open_session_as, post_form, seed, EMAIL, PASSWORD, SELLER_NIP};
    use actix_web::{test, App};
    let Some(t) = crate::common::TestDb::new(b) else { return };
    let st = t.state();
    seed(&st).await;
    let client = crate::common::client_by_nip(&st, SELLER_NIP).await;
    intake::submit(&st, &Caller::Operator, &client.id, zip_of(SELLER_NIP, 1..7), Source::Api).await.unwrap();
    let app = test::init_service(App::new().configure(ksef_gateway::configure(st.clone()))).await;
    let s = open_session_as(&app, EMAIL, PASSWORD).await;
    let filter = "szukaj=alfa&stan=draft";
    let alfas = (1..7).filter(|i| i % 3 == 0).count();
    let fields = |extra: &[(&'static str, String)]| {
        let mut f: Vec<(&str, String)> = vec![
            ("csrf", s.csrf.clone()),
            ("wszystkie", "1".into()),
            ("filtr", filter.into()),
            ("tryb", "online".into()),
        ];
        f.extend(extra.iter().cloned());
        f
    };
    let send = format!("/klienci/{SELLER_NIP}/wyslij");
    let f = fields(&[]);
    let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let html = body(test::call_service(&app, post_form(&s.cookie, &send, &pairs)).await).await;
    assert!(html.contains(&format!("id=\"liczba-pasujacych\">{alfas}<")), "{html}");
    // Another Alfa invoice arrives before the decision.
    intake::submit(&st, &Caller::Operator, &client.id, zip_of(SELLER_NIP, 9..10), Source::Api).await.unwrap();
    let mut f = fields(&[("liczba", alfas.to_string())]);
    let every = ksef_gateway::service::invoices::ListQuery { limit: Some(100), ..Default::default() };
    let ids: Vec<String> = ksef_gateway::service::invoices::list(&st, &Caller::Operator, every)
        .await
        .unwrap()
        .invoices
        .into_iter()
        .map(|i| i.head.id.to_string())
        .collect();
    f.extend(ids.iter().map(|id| ("ostrzezenia_ok", id.clone())));
    let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let resp = test::call_service(&app, post_form(&s.cookie, &format!("{send}/potwierdz"), &pairs)).await;
    assert_eq!(resp.status(), 422);
    assert!(body(resp).await.contains("zmieniła się"), "the person is told the match changed");
    // Equal counts are not enough: the confirmed set (its digest) must be what matches now.
    let Some(digest) =
        html.split("name=\"dopasowanie\" value=\"").nth(1).and_then(|rest| rest.split('"').next())
    else {
        panic!("the confirmation carries the digest of what it showed: {html}");
    };
    let digest = digest.to_owned();
    let mut f = fields(&[("liczba", (alfas + 1).to_string()), ("dopasowanie", digest)]);
    f.extend(ids.iter().map(|id| ("ostrzezenia_ok", id.clone())));
    let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let resp = test::call_service(&app, post_form(&s.cookie, &format!("{send}/potwierdz"), &pairs)).await;
    assert_eq!(resp.status(), 422, "same count, other invoices: refused");
    assert!(body(resp).await.contains("zmieniła się"));
    let queued = ksef_gateway::service::invoices::list(
        &st,
        &Caller::Operator,
        ksef_gateway::service::invoices::ListQuery { states: vec!["queued".into()], ..Default::default() },
    )
    .await
    .unwrap();
    assert_eq!(queued.total, 0, "nothing was decided");
}

both_backends!(sales_pages_show_polish_amounts_and_dates);

/// The official sample (P_15 2051, P_13_1 1666.66, P_1 2026-02-15) on the client page and the
/// invoice page: `2 051,00 zł`, `1 666,66`, `15.02.2026`.
async fn sales_pages_show_polish_amounts_and_dates(b: Backend) {
    use crate::panel::{body, get, open_session_as, seed, EMAIL, PASSWORD, SELLER_NIP};
    use actix_web::{test, App};
    let Some(t) = crate::common::TestDb::new(b) else { return };
    let st = t.state();
    seed(&st).await;
    let client = crate::common::client_by_nip(&st, SELLER_NIP).await;
    let stored = intake::submit(&st, &Caller::Operator, &client.id, crate::office::sample(1), Source::Api)
        .await
        .unwrap();
    let app = test::init_service(App::new().configure(ksef_gateway::configure(st.clone()))).await;
    let s = open_session_as(&app, EMAIL, PASSWORD).await;
    let list = body(test::call_service(&app, get(&s.cookie, &format!("/klienci/{SELLER_NIP}"))).await).await;
    assert!(list.contains("brutto\">2 051,00 zł<"), "{list}");
    assert!(list.contains(">15.02.2026<"), "the issue-date column");
    let id = &stored[0].invoice.id;
    let page = body(test::call_service(&app, get(&s.cookie, &format!("/faktury/{id}"))).await).await;
    assert!(page.contains("id=\"brutto\">2 051,00 zł<"), "{page}");
    assert!(page.contains("id=\"tresc-brutto\">2 051,00 zł<"), "{page}");
    assert!(page.contains(">1 666,66<"), "the VAT summary's net");
}

both_backends!(unfiltered_totals_follow_every_insert_and_delete);

/// A list filtered by nothing but its client reads its total from the per-client totals the
/// database keeps, without counting rows: it must agree with a counted total (every state
/// named, which counts) after uploads, a delete and a replacement, per client and office-wide.
async fn unfiltered_totals_follow_every_insert_and_delete(b: Backend) {
    use crate::office::Who;
    use ksef_gateway::domain::InvoiceState;
    use ksef_gateway::service::invoices::{list, ListQuery};
    let Some((_db, o)) = office(b).await else { return };
    let st = &o.st;
    let totals = |nip: Option<&str>| {
        let q = ListQuery { nip: nip.map(str::to_owned), limit: Some(1), ..ListQuery::default() };
        let every_state = InvoiceState::ALL.iter().map(|s| s.as_str().to_owned()).collect();
        let counted = ListQuery { states: every_state, ..q.clone() };
        async move {
            let read = list(st, &Caller::Operator, q).await.unwrap().total;
            (read, list(st, &Caller::Operator, counted).await.unwrap().total)
        }
    };
    assert_eq!(totals(Some(NIP_A)).await, (0, 0));
    let stored =
        intake::submit(st, &Caller::Operator, &o.a.id, zip_of(NIP_A, 0..5), Source::Api).await.unwrap();
    intake::submit(st, &Caller::Operator, &o.b.id, zip_of(NIP_B, 1..3), Source::Api).await.unwrap();
    assert_eq!(totals(Some(NIP_A)).await, (6, 6), "five invoices and the broken file");
    assert_eq!(totals(Some(NIP_B)).await, (2, 2));
    assert_eq!(totals(None).await, (8, 8), "every client's");

    let drafts: Vec<&str> = stored
        .iter()
        .filter(|r| r.invoice.state == InvoiceState::Draft)
        .map(|r| r.invoice.id.as_str())
        .collect();
    let app = app(st).await;
    let key = Who::Key(o.key_a_submit.clone());
    let r =
        call(&app, key.apply(TestRequest::delete().uri(&format!("/api/v1/invoices/{}", drafts[0])))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let r = call(
        &app,
        key.apply(
            TestRequest::post()
                .uri(&format!("/api/v1/invoices/{}/replace", drafts[1]))
                .insert_header(("Content-Type", "application/xml"))
                .set_payload(test_invoice(NIP_A, 40)),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(totals(Some(NIP_A)).await, (5, 5), "one deleted, one replaced");
    assert_eq!(totals(Some(NIP_B)).await, (2, 2));
    assert_eq!(totals(None).await, (7, 7));
}
