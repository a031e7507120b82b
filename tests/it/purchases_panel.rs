//! "Faktury zakupowe" in the panel: the list across clients and per client with filters,
//! Polish formats, keyset pages with counts, the "nowe" badge between visits, completeness,
//! the invoice page with its XML and PDF, and the CSV export for a Polish spreadsheet.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use chrono::{Duration, NaiveDate};

use ksef_gateway::db::models::ids::now;
use ksef_gateway::domain::PurchaseRole;

use crate::both_backends;
use crate::common::Backend;
use crate::office::{app, call, login, office, ACC_READ, NIP_A, NIP_B};
use crate::purchases::{meta_row, sample_row, set_hwm, store, store_many, SAMPLE_KSEF};

both_backends!(purchase_panel_list_badge_and_invoice_page, purchase_panel_csv_for_polish_excel);

/// How many rows carry the "nowe" badge.
fn badges(html: &str) -> usize {
    html.matches("<span class=\"badge new\">nowe</span>").count()
}

/// The `href` of the element with this id, unescaped.
fn href_of(html: &str, id: &str) -> String {
    let at = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id}"));
    let start = html[..at].rfind("href=\"").unwrap() + 6;
    html[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&")
        .replace("&#38;", "&")
        .replace("&#x3D;", "=")
}

async fn purchase_panel_list_badge_and_invoice_page(b: Backend) {
    let Some((_db, o)) = office(b).await else { return };
    store_many(&o.st, &o.a.id, 250).await;
    store(&o.st, vec![sample_row(&o.a.id, 1, SAMPLE_KSEF)]).await;
    store(&o.st, vec![meta_row(&o.b.id, 9_000, now() - Duration::hours(1))]).await;
    let app = app(&o.st).await;
    let acc = login(&app, ACC_READ).await;
    let page = |uri: &str| acc.apply(TestRequest::get().uri(uri));

    // First visit: the list of the clients she reads (A only), 100 a page, counted; no badge yet.
    let r = call(&app, page("/faktury-zakupowe")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = r.text();
    assert!(html.contains("href=\"/faktury-zakupowe\">Faktury zakupowe</a>"), "in the navigation");
    assert!(html.contains("1–100 z 251"), "{html}");
    assert_eq!(badges(&html), 0);
    assert!(html.contains("pobieranie z KSeF jeszcze nie objęło całości"), "no sync yet");
    // Page 2 by its link.
    let next = href_of(&html, "nastepna");
    let html = call(&app, page(&next)).await.text();
    assert!(html.contains("101–200 z 251"), "{html}");

    // The column headers sort, the other way round on a second click.
    let by_gross = href_of(&html, "sortuj-brutto");
    assert!(by_gross.contains("sortuj=-gross"), "{by_gross}");
    let html = call(&app, page(&by_gross)).await.text();
    assert!(
        html.contains("Brutto ↓") && href_of(&html, "sortuj-brutto").contains("sortuj=gross"),
        "{by_gross}: {html}"
    );
    let top = html.find("<tbody>").unwrap();
    assert!(html[top..].find("11 931,00 zł").is_some(), "the largest amount (97 × 123,00 zł) first");

    // Filters: the sample by its number, in Polish formats.
    let html = call(&app, page("/faktury-zakupowe?szukaj=fv2026&sortuj=-gross")).await.text();
    assert!(html.contains("1–1 z 1"), "{html}");
    for want in ["FV2026/02/150", "2 051,00 zł", "15.02.2026", "ABC AGD sp. z o. o."] {
        assert!(html.contains(want), "{want}");
    }
    assert!(html.contains("value=\"fv2026\""), "the form comes back filled in");
    let html = call(&app, page("/faktury-zakupowe?od=2026-01-01&do=2026-01-10&brutto_od=100&brutto_do=500"))
        .await
        .text();
    let want = (0..250)
        .filter(|i| i % 60 < 10 && (10_000..=50_000).contains(&(((i % 97) as i64 + 1) * 12_300)))
        .count();
    assert!(html.contains(&format!("z {want}</span>")), "{want}: {html}");
    // Bad input: a Polish sentence beside the form, not an error page.
    let r = call(&app, page("/faktury-zakupowe?od=2026-02-10&do=2026-02-01")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("Data początkowa jest późniejsza niż data końcowa"), "{}", r.text());
    let html = call(&app, page("/faktury-zakupowe?brutto_od=sto")).await.text();
    assert!(html.contains("Kwota „brutto od” musi być liczbą"), "{html}");

    // Two arrive; the next visit marks them, the one after does not.
    let mut fresh: Vec<_> = (0..2).map(|i| meta_row(&o.a.id, 7_000 + i, now())).collect();
    for r in &mut fresh {
        r.issue_date = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    }
    store(&o.st, fresh).await;
    let html = call(&app, page("/faktury-zakupowe")).await.text();
    assert_eq!(badges(&html), 2, "{html}");
    assert!(href_of(&html, "nastepna").contains("nowe_od="), "paging keeps this visit's baseline");
    let html = call(&app, page("/faktury-zakupowe")).await.text();
    assert_eq!(badges(&html), 0);

    // The client's own list says how complete it is; the foreign client does not exist for her.
    let hwm = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap().and_hms_opt(8, 0, 0).unwrap();
    set_hwm(&o.st, &o.a.id, PurchaseRole::Buyer, hwm).await;
    let client_page = call(&app, page(&format!("/klienci/{NIP_A}"))).await.text();
    assert_eq!(href_of(&client_page, "zakupowe"), format!("/klienci/{NIP_A}/faktury-zakupowe"));
    let html = call(&app, page(&format!("/klienci/{NIP_A}/faktury-zakupowe"))).await.text();
    assert!(html.contains("kompletne do 05.12.2026 09:00"), "Warsaw time: {html}");
    assert!(html.contains("1–100 z 253"));
    // Where the client's sync stands, per role and per month (the month of the HWM is complete up to it).
    let sync = &html[html.find("id=\"synchronizacja\"").unwrap()..];
    assert!(sync.contains("Pobieranie z KSeF") && sync.contains("nabywca"), "{sync}");
    let months = &sync[sync.find("id=\"miesiace\"").unwrap()..];
    assert!(months.contains("<td>12.2026</td><td>nabywca</td>"), "{months}");
    assert!(months.contains("kompletny do 05.12.2026 09:00"), "{months}");
    let r = call(&app, page(&format!("/klienci/{NIP_B}/faktury-zakupowe"))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.text().contains("Nie znaleziono"));

    // The invoice page, its XML and its PDF.
    let base = format!("/klienci/{NIP_A}/faktury-zakupowe/{SAMPLE_KSEF}");
    let html = call(&app, page(&base)).await.text();
    for want in [
        "FV2026/02/150",
        "2 051,00 zł",
        "15.02.2026",
        "F.H.U. Jan Kowalski",
        "nabywca",
        "kompletne do 05.12.2026 09:00",
    ] {
        assert!(html.contains(want), "{want}: {html}");
    }
    assert_eq!(href_of(&html, "xml"), format!("{base}/xml"));
    let xml = call(&app, page(&format!("{base}/xml"))).await;
    assert_eq!(xml.body, crate::office::sample(1));
    let pdf = call(&app, page(&format!("{base}/pdf"))).await;
    assert!(crate::reports::pdf_pages(&pdf.body).join("\n").contains("FV2026/02/150"));
    // One whose file is not downloaded yet says so, in Polish.
    let meta = meta_row(&o.a.id, 3, now()).ksef_number;
    let html = call(&app, page(&format!("/klienci/{NIP_A}/faktury-zakupowe/{meta}"))).await.text();
    assert!(html.contains("nie został jeszcze pobrany z KSeF"), "{html}");
    let r = call(&app, page(&format!("/klienci/{NIP_A}/faktury-zakupowe/{meta}/xml"))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.text().contains("Plik XML tej faktury nie został jeszcze pobrany"), "{}", r.text());
}

async fn purchase_panel_csv_for_polish_excel(b: Backend) {
    let Some((_db, o)) = office(b).await else { return };
    store_many(&o.st, &o.a.id, 1_200).await;
    store(&o.st, vec![sample_row(&o.a.id, 1, SAMPLE_KSEF)]).await;
    store(&o.st, vec![meta_row(&o.b.id, 9_000, now() - Duration::hours(1))]).await;
    let app = app(&o.st).await;
    let acc = login(&app, ACC_READ).await;
    let get = |uri: &str| acc.apply(TestRequest::get().uri(uri));
    // The list page links the export with its filters.
    let html = call(&app, get("/faktury-zakupowe?szukaj=FV2026")).await.text();
    let csv_link = href_of(&html, "eksport-csv");
    assert!(csv_link.contains("szukaj=FV2026"), "{csv_link}");
    let r = call(&app, get(&csv_link)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.headers.get("content-type").unwrap().to_str().unwrap().starts_with("text/csv"));
    assert!(r.body.starts_with("\u{feff}".as_bytes()), "UTF-8 BOM first");
    let text = String::from_utf8(r.body[3..].to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "NIP klienta;Klient;Numer KSeF;Numer faktury;Rodzaj;Data wystawienia;NIP sprzedawcy;Sprzedawca;Netto;VAT;Brutto;Waluta;Przyjęta w KSeF;Zapisana w bramce"
    );
    assert_eq!(lines.len(), 2, "{text}");
    let fields: Vec<&str> = lines[1].split(';').collect();
    assert_eq!(
        fields[..12].to_vec(),
        [
            NIP_A,
            "Firma 9999999999",
            SAMPLE_KSEF,
            "FV2026/02/150",
            "VAT",
            "15.02.2026",
            "9999999999",
            "ABC AGD sp. z o. o.",
            "1667,61",
            "383,38",
            "2051,00",
            "PLN"
        ]
    );
    // Without a filter: every invoice she may read (A's), over many pages, each once.
    let r = call(&app, get("/faktury-zakupowe/eksport.csv")).await;
    let text = String::from_utf8(r.body[3..].to_vec()).unwrap();
    let numbers: std::collections::HashSet<&str> =
        text.lines().skip(1).map(|l| l.split(';').nth(2).unwrap()).collect();
    assert_eq!((text.lines().count(), numbers.len()), (1_202, 1_201));
    // The client's own page exports that client; a foreign one is not found; bad input is Polish.
    let r = call(&app, get(&format!("/faktury-zakupowe/eksport.csv?nip={NIP_B}"))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = call(&app, get("/faktury-zakupowe/eksport.csv?brutto_do=du%C5%BCo")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("Kwota „brutto do” musi być liczbą"), "{}", r.text());
}
