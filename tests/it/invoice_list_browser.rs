//! The client page's invoice list in headless Chromium: search, state filter and sorting by a
//! column header; "all on this page" and "all matching the filter" reaching the send
//! confirmation with the right count and a decision on exactly those; and the panel at 390 px
//! wide without the page scrolling sideways.

use ksef_gateway::service::access::Caller;
use ksef_gateway::service::intake::{self, Source};

use crate::common::{Backend, TestDb};
use crate::invoice_list::zip_of;
use crate::panel::{seed, EMAIL, PASSWORD, SELLER_NIP};
use crate::panel_browser::{logged_in, start_gateway, Browser};

/// Test invoices stored for the seed's client (plus the one broken file).
const STORED: usize = 160;

/// The gateway with the seed office and `STORED` varied invoices (buyers Alfa, Beta, Gamma in
/// turn, amounts 100–320 zł, issue days 1–10 February 2026); the invoice ids.
async fn office_with_invoices(t: &TestDb) -> (String, Vec<String>) {
    let (gw, st) = start_gateway(t);
    seed(&st).await;
    let client = crate::common::client_by_nip(&st, SELLER_NIP).await;
    let stored =
        intake::submit(&st, &Caller::Operator, &client.id, zip_of(SELLER_NIP, 0..STORED), Source::Api)
            .await
            .unwrap();
    (gw, stored.into_iter().map(|r| r.invoice.id.to_string()).collect())
}

/// The gross amounts shown on the page, in grosze, top to bottom (`2 051,00 zł`).
async fn amounts(b: &Browser) -> Vec<i64> {
    let cells = b
        .execute("return Array.from(document.querySelectorAll('#faktury td.brutto')).map(td => td.textContent.trim());")
        .await;
    cells
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let text = c.as_str().unwrap();
            assert!(text.ends_with(" zł"), "Polish amount: {text:?}");
            text.trim_end_matches(" zł").replace([' ', ','], "").parse().unwrap()
        })
        .collect()
}

#[actix_web::test]
async fn search_filter_sort_and_all_matching_in_headless_chromium() {
    let t = TestDb::new(Backend::Sqlite).unwrap();
    let (gw, _) = office_with_invoices(&t).await;
    let Some((_driver, b, _profile)) = logged_in(&gw, EMAIL, PASSWORD).await else { return };
    let page = format!("{gw}/klienci/{SELLER_NIP}");
    b.goto(&page).await;
    assert_eq!(b.text("#zakres").await, format!("1–50 z {}", STORED + 1));

    // Search by buyer name, then sort by the gross amount, highest first.
    b.type_into("#szukaj", "beta").await;
    b.click("#filtruj").await;
    b.find("#wyczysc").await;
    let betas = (0..STORED).filter(|i| i % 3 == 1).count();
    assert_eq!(b.text("#zakres").await, format!("1–50 z {betas}"));
    assert!(!b.source().await.contains("Alfa Handel"), "only Beta's invoices");
    b.click("#sortuj-brutto").await;
    b.find("#sortuj-brutto").await;
    let shown = amounts(&b).await;
    assert_eq!(shown.len(), 50);
    assert!(shown.windows(2).all(|w| w[0] >= w[1]), "highest first: {shown:?}");
    assert!(b.text("#sortuj-brutto").await.ends_with('↓'));
    assert_eq!(
        b.execute("return document.getElementById('szukaj').value;").await,
        "beta",
        "the form keeps the search"
    );

    // Issue dates and amounts filter; the broken upload is the only invalid one.
    b.goto(&format!("{page}?od=2026-02-03&do=2026-02-04&brutto_od=200")).await;
    let expected = (0..STORED)
        .filter(|i| (2..=3).contains(&(i % 10)) && 10_000 + ((i * 37) % 23) * 1_000 >= 20_000)
        .count();
    assert_eq!(b.text("#zakres").await, format!("1–{expected} z {expected}"));
    b.goto(&page).await;
    b.click("input[name='stan'][value='invalid']").await;
    b.click("#filtruj").await;
    b.find("#wyczysc").await;
    assert_eq!(b.text("#zakres").await, "1–1 z 1");
    b.goto(&format!("{page}?brutto_od=12a")).await;
    assert!(b.text("#filtr-blad").await.contains("musi być liczbą"), "the error beside the form, in Polish");

    // "All on this page" ticks the 50 rows.
    b.goto(&page).await;
    b.click("#zaznacz-strone").await;
    let ticked = b.execute("return document.querySelectorAll('#faktury input.wybor:checked').length;").await;
    assert_eq!(ticked, 50);

    // "All matching": every Alfa invoice (more than one page), confirmed with its count.
    b.goto(&format!("{page}?szukaj=alfa")).await;
    let alfas = (0..STORED).filter(|i| i % 3 == 0).count();
    assert!(alfas > 50);
    assert_eq!(b.text("#wszystkie-liczba").await, alfas.to_string());
    b.click("#wszystkie").await;
    b.click("#wyslij").await;
    assert_eq!(b.text("#liczba-pasujacych").await, alfas.to_string());
    let listed = b
        .execute("return document.querySelectorAll('#do-wyslania input[name=ostrzezenia_ok]').length;")
        .await;
    assert_eq!(listed, alfas, "each invoice's warnings are confirmed one by one");
    b.execute(
        "document.querySelectorAll('input[name=ostrzezenia_ok]').forEach(c => c.checked = true); return 0;",
    )
    .await;
    b.click("#potwierdz").await;
    b.find("#decyzja").await;
    assert!(
        b.source().await.contains(&format!("Faktur: <strong>{alfas}</strong>")),
        "the decision covers exactly those"
    );
    b.goto(&format!("{page}?szukaj=alfa&stan=queued")).await;
    assert_eq!(b.text("#zakres").await, format!("1–50 z {alfas}"));
    drop(b);
}

#[actix_web::test]
async fn panel_at_390_px_has_no_sideways_scroll_in_headless_chromium() {
    let t = TestDb::new(Backend::Sqlite).unwrap();
    let (gw, ids) = office_with_invoices(&t).await;
    let Some((_driver, b, _profile)) = logged_in(&gw, EMAIL, PASSWORD).await else { return };
    b.resize(390, 844).await;
    assert_eq!(b.execute("return window.innerWidth;").await, 390, "a phone-wide viewport");
    for (name, path) in [
        ("pulpit", "/".to_owned()),
        ("klient", format!("/klienci/{SELLER_NIP}")),
        ("faktura", format!("/faktury/{}", ids[1])),
        ("zakupowe", "/faktury-zakupowe".to_owned()),
    ] {
        b.goto(&format!("{gw}{path}")).await;
        b.find("main").await;
        let width = b.execute("return document.documentElement.scrollWidth;").await;
        b.screenshot(&format!("390-{name}")).await;
        if name == "klient" {
            b.execute("document.getElementById('faktury').scrollIntoView(); return 0;").await;
            b.screenshot("390-klient-lista").await;
        }
        assert!(width.as_i64().unwrap() <= 390, "{path}: the page is {width} px wide at 390 px");
    }
    drop(b);
}
