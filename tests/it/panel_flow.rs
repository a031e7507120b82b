//! The four-eyes inbox in the panel: what a preparer uploads waits on the approver's dashboard
//! (never the preparer's), the approver reads the invoice's content, and returns it or rejects
//! it with a comment the preparer reads on the invoice page; every answer is audited. The send
//! confirmation repeats each invoice's warnings and refuses the decision until each is confirmed.

use actix_web::{test, App};
use secrecy::SecretString;

use ksef_gateway::auth::Role;
use ksef_gateway::service::access::Caller;
use ksef_gateway::service::findings::Lang;
use ksef_gateway::service::users::{self, NewUserInput};

use crate::both_backends;
use crate::common::{Backend, TestDb};
use crate::panel::{
    body, get, open_session_as, post_file, post_form, seed, text_after, EMAIL, PASSWORD, SAMPLE, SELLER_NIP,
};

both_backends!(
    panel_four_eyes_inbox_return_and_reject,
    panel_send_requires_confirming_warnings,
    panel_live_states_are_scoped_like_the_pages,
    panel_audit_csv_opens_in_polish_excel,
    panel_audit_screen_filters_pages_and_verdict
);

const ADMIN: &str = "szef@biuro.test";
const ADMIN_PW: &str = "Szef-ma-dlugie-haslo-2026";

/// The office's admin (who may approve and read the audit trail of every client).
async fn add_admin(st: &ksef_gateway::state::AppState) -> ksef_gateway::db::models::User {
    let input =
        NewUserInput { email: ADMIN.into(), display_name: "Szef".into(), role: Role::OfficeAdmin, nip: None };
    users::create_user(st, &Caller::Operator, input, SecretString::from(ADMIN_PW)).await.unwrap()
}

async fn panel_four_eyes_inbox_return_and_reject(b: Backend) {
    let Some(t) = TestDb::new(b) else { return };
    let st = t.state();
    seed(&st).await;
    add_admin(&st).await;
    let app = test::init_service(App::new().configure(ksef_gateway::configure(st.clone()))).await;
    let admin = open_session_as(&app, ADMIN, ADMIN_PW).await;
    let anna = open_session_as(&app, EMAIL, PASSWORD).await;
    let policy = format!("/klienci/{SELLER_NIP}/polityka");
    let fields = [("csrf", admin.csrf.as_str()), ("polityka", "four-eyes")];
    assert_eq!(test::call_service(&app, post_form(&admin.cookie, &policy, &fields)).await.status(), 303);

    // Anna prepares two invoices; they wait for the admin, not for her.
    let sample = std::fs::read_to_string(SAMPLE).unwrap();
    let upload = format!("/klienci/{SELLER_NIP}/wgraj");
    for (name, number) in [("a.xml", "FV2026/02/150"), ("b.xml", "FV2026/02/151")] {
        let xml = sample.replace("<P_2>FV2026/02/150</P_2>", &format!("<P_2>{number}</P_2>"));
        let up = test::call_service(&app, post_file(&anna.cookie, &upload, &anna.csrf, name, xml.as_bytes()))
            .await;
        assert_eq!(up.status(), 200);
    }
    let own = body(test::call_service(&app, get(&anna.cookie, "/")).await).await;
    assert!(!own.contains("Czeka na Twoje zatwierdzenie"), "nobody approves their own: {own}");
    let dash = body(test::call_service(&app, get(&admin.cookie, "/")).await).await;
    assert!(dash.contains("Czeka na Twoje zatwierdzenie (2)"), "{dash}");
    assert!(dash.contains("class=\"inbox-count\">2<"), "{dash}");
    let ids: Vec<String> = dash
        .split("<a href=\"/faktury/")
        .skip(1)
        .filter(|s| s.contains("class=\"do-zatwierdzenia\""))
        .map(|s| s.split('"').next().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2, "{dash}");

    // The approver reads what they approve: parties, lines, the VAT summary.
    let page =
        body(test::call_service(&app, get(&admin.cookie, &format!("/faktury/{}", ids[0]))).await).await;
    assert!(page.contains("id=\"tresc-faktury\"") && page.contains("lodówka Zimnotech mk1"), "{page}");
    assert!(page.contains("id=\"zwroc\"") && page.contains("id=\"odrzuc\""), "{page}");

    // A return needs a comment: refused in Polish, nothing recorded.
    let answer = |id: &str| format!("/faktury/{id}/odpowiedz");
    let empty = [("csrf", admin.csrf.as_str()), ("odpowiedz", "return"), ("komentarz", "  ")];
    let refused = test::call_service(&app, post_form(&admin.cookie, &answer(&ids[0]), &empty)).await;
    assert_eq!(refused.status(), 422);
    assert!(body(refused).await.contains("Napisz komentarz dla osoby"));
    let dash = body(test::call_service(&app, get(&admin.cookie, "/")).await).await;
    assert!(dash.contains("Czeka na Twoje zatwierdzenie (2)"), "{dash}");

    // Returned with a comment: back with Anna, who reads why; out of the admin's inbox.
    let why = "Zła stawka VAT w pozycji 2";
    let ret = [("csrf", admin.csrf.as_str()), ("odpowiedz", "return"), ("komentarz", why)];
    assert_eq!(
        test::call_service(&app, post_form(&admin.cookie, &answer(&ids[0]), &ret)).await.status(),
        303
    );
    let seen = body(test::call_service(&app, get(&anna.cookie, &format!("/faktury/{}", ids[0]))).await).await;
    assert_eq!(text_after(&seen, "id=\"zwrocona-komentarz\">"), why, "{seen}");
    let dash = body(test::call_service(&app, get(&admin.cookie, "/")).await).await;
    assert!(dash.contains("Czeka na Twoje zatwierdzenie (1)") && !dash.contains(&ids[0]), "{dash}");
    // Anna cannot answer for the admin on her own invoice.
    let anna_ret = [("csrf", anna.csrf.as_str()), ("odpowiedz", "reject"), ("komentarz", "x")];
    let refused = test::call_service(&app, post_form(&anna.cookie, &answer(&ids[1]), &anna_ret)).await;
    assert!(refused.status() == 403 || refused.status() == 422, "{}", refused.status());

    // Rejected by the approver: never sent (invalid, not KSeF's "rejected"), the reason on its
    // timeline; the inbox is empty.
    let rej = [
        ("csrf", admin.csrf.as_str()),
        ("odpowiedz", "reject"),
        ("komentarz", "Faktura wystawiona omyłkowo"),
    ];
    assert_eq!(
        test::call_service(&app, post_form(&admin.cookie, &answer(&ids[1]), &rej)).await.status(),
        303
    );
    let id = ksef_gateway::domain::InvoiceId::parse(&ids[1]).unwrap();
    let inv = ksef_gateway::service::invoices::get(&st, &Caller::Operator, &id, Lang::Pl).await.unwrap();
    assert_eq!(inv.head.state, ksef_gateway::domain::InvoiceState::Invalid);
    assert!(inv.timeline.last().unwrap().note.as_deref().unwrap().contains("Faktura wystawiona omyłkowo"));
    let dash = body(test::call_service(&app, get(&admin.cookie, "/")).await).await;
    assert!(!dash.contains("Czeka na Twoje zatwierdzenie"), "{dash}");

    // Both answers are in the audit trail with the comment and the preparer.
    let report =
        test::call_service(&app, get(&admin.cookie, &format!("/api/v1/audit?nip={SELLER_NIP}&format=json")))
            .await;
    let report = body(report).await;
    assert!(report.contains("invoice.returned") && report.contains(why), "{report}");
    assert!(report.contains("invoice.rejected_by_approver"), "{report}");
}

async fn panel_send_requires_confirming_warnings(b: Backend) {
    let Some(t) = TestDb::new(b) else { return };
    let st = t.state();
    seed(&st).await;
    let app = test::init_service(App::new().configure(ksef_gateway::configure(st.clone()))).await;
    let anna = open_session_as(&app, EMAIL, PASSWORD).await;
    // Two invoices: one whose total does not add up (P_15 one złoty too high) on top of the
    // sample's past issue date, and one issued today without any finding.
    let sample = std::fs::read_to_string(SAMPLE).unwrap();
    let today = ksef_gateway::local_time::today().format("%Y-%m-%d").to_string();
    let wrong_sum = sample.replace("<P_15>2051</P_15>", "<P_15>2052</P_15>");
    let clean = sample
        .replace("<P_2>FV2026/02/150</P_2>", "<P_2>FV2026/02/151</P_2>")
        .replace("<P_1>2026-02-15</P_1>", &format!("<P_1>{today}</P_1>"));
    let upload = format!("/klienci/{SELLER_NIP}/wgraj");
    for (name, xml) in [("a.xml", &wrong_sum), ("b.xml", &clean)] {
        let up = test::call_service(&app, post_file(&anna.cookie, &upload, &anna.csrf, name, xml.as_bytes()))
            .await;
        assert_eq!(up.status(), 200);
    }
    let all =
        ksef_gateway::service::invoices::list(&st, &Caller::Operator, Default::default()).await.unwrap();
    let id_of =
        |n: &str| all.invoices.iter().find(|i| i.head.number.as_deref() == Some(n)).unwrap().head.id.clone();
    let (warned, plain) = (id_of("FV2026/02/150"), id_of("FV2026/02/151"));

    // The confirmation repeats the warnings of the one invoice that has them, with its checkbox.
    let send = format!("/klienci/{SELLER_NIP}/wyslij");
    let ids = [("csrf", anna.csrf.as_str()), ("ids", &warned), ("ids", &plain)];
    let page = body(test::call_service(&app, post_form(&anna.cookie, &send, &ids)).await).await;
    assert!(page.contains("2052") && page.contains("Ostrzeżenie:"), "the sum warning is repeated: {page}");
    assert!(page.contains(&format!("id=\"ostrzezenia-{warned}\"")), "{page}");
    assert!(!page.contains(&format!("id=\"ostrzezenia-{plain}\"")), "no warning, no checkbox: {page}");

    // Without the confirmation (or confirming another invoice) the decision is refused in
    // Polish and nothing is recorded.
    let decide = format!("{send}/potwierdz");
    for extra in [None, Some(plain.as_str())] {
        let mut fields =
            vec![("csrf", anna.csrf.as_str()), ("ids", &warned), ("ids", &plain), ("tryb", "online")];
        if let Some(id) = extra {
            fields.push(("ostrzezenia_ok", id));
        }
        let refused = test::call_service(&app, post_form(&anna.cookie, &decide, &fields)).await;
        assert_eq!(refused.status(), 422);
        assert!(body(refused).await.contains("ma ostrzeżenia"));
    }
    for id in [&warned, &plain] {
        let inv = ksef_gateway::service::invoices::get(&st, &Caller::Operator, id, Lang::Pl).await.unwrap();
        assert_eq!(inv.head.state, ksef_gateway::domain::InvoiceState::Draft, "nothing recorded");
    }

    // Confirmed: both are decided, and the decision's audit event names the confirmation.
    let fields = [
        ("csrf", anna.csrf.as_str()),
        ("ids", &warned),
        ("ids", &plain),
        ("tryb", "online"),
        ("ostrzezenia_ok", &warned),
    ];
    let done = test::call_service(&app, post_form(&anna.cookie, &decide, &fields)).await;
    assert_eq!(done.status(), 200);
    for id in [&warned, &plain] {
        let inv = ksef_gateway::service::invoices::get(&st, &Caller::Operator, id, Lang::Pl).await.unwrap();
        assert_eq!(inv.head.state, ksef_gateway::domain::InvoiceState::Queued);
    }
    let events = st.db.tx(|c| ksef_gateway::db::models::audit::AuditEvent::page(c, 0, 10_000)).await.unwrap();
    let decided = events.iter().find(|e| e.action == "send.decided").unwrap();
    let payload: serde_json::Value = serde_json::from_str(&decided.payload).unwrap();
    assert_eq!(payload["warnings_confirmed"], serde_json::json!([warned]), "{payload}");
}

/// The live-progress endpoint answers only what the person may read (a foreign invoice is left
/// out, as if it did not exist), needs the session, and refuses an oversized question.
async fn panel_live_states_are_scoped_like_the_pages(b: Backend) {
    let Some(t) = TestDb::new(b) else { return };
    let st = t.state();
    let foreign = seed(&st).await;
    let app = test::init_service(App::new().configure(ksef_gateway::configure(st.clone()))).await;
    let anna = open_session_as(&app, EMAIL, PASSWORD).await;
    let sample = std::fs::read(SAMPLE).unwrap();
    let upload = format!("/klienci/{SELLER_NIP}/wgraj");
    assert_eq!(
        test::call_service(&app, post_file(&anna.cookie, &upload, &anna.csrf, "a.xml", &sample))
            .await
            .status(),
        200
    );
    let all =
        ksef_gateway::service::invoices::list(&st, &Caller::Operator, Default::default()).await.unwrap();
    let mine = all.invoices.iter().find(|i| i.head.nip == SELLER_NIP).unwrap().head.id.clone();

    let resp =
        test::call_service(&app, get(&anna.cookie, &format!("/stany-faktur?ids={mine},{foreign}"))).await;
    assert_eq!(resp.status(), 200);
    let v: serde_json::Value = serde_json::from_str(&body(resp).await).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"invoices": [{"id": mine, "state": "draft", "label": "szkic", "letter": "", "on_its_way": false, "ksef_number": null}]})
    );
    let anonymous = test::call_service(
        &app,
        test::TestRequest::get().uri(&format!("/stany-faktur?ids={mine}")).to_request(),
    )
    .await;
    assert_ne!(anonymous.status(), 200, "no session, no states");
    assert!(!body(anonymous).await.contains("szkic"));
    let many = vec![mine.as_str(); 501].join(",");
    let refused = test::call_service(&app, get(&anna.cookie, &format!("/stany-faktur?ids={many}"))).await;
    assert_eq!(refused.status(), 422);
}

/// The panel's CSV for Polish Excel: UTF-8 BOM, `;`, Polish headers, people by e-mail and
/// clients by NIP (never internal ids), Warsaw time; the API's CSV keeps its own contract.
async fn panel_audit_csv_opens_in_polish_excel(b: Backend) {
    let Some(t) = TestDb::new(b) else { return };
    let st = t.state();
    seed(&st).await;
    let admin_user = add_admin(&st).await;
    let app = test::init_service(App::new().configure(ksef_gateway::configure(st.clone()))).await;
    let admin = open_session_as(&app, ADMIN, ADMIN_PW).await;
    let policy = format!("/klienci/{SELLER_NIP}/polityka");
    let fields = [("csrf", admin.csrf.as_str()), ("polityka", "four-eyes")];
    assert_eq!(test::call_service(&app, post_form(&admin.cookie, &policy, &fields)).await.status(), 303);

    let page = body(test::call_service(&app, get(&admin.cookie, "/audyt")).await).await;
    assert!(page.contains("value=\"excel\""), "{page}");
    let today = ksef_gateway::local_time::today().format("%Y-%m-%d").to_string();
    let uri = format!("/audyt/pobierz?nip={SELLER_NIP}&user=&from={today}&to={today}&format=excel");
    let resp = test::call_service(&app, get(&admin.cookie, &uri)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers().get("content-type").unwrap(), "text/csv; charset=utf-8");
    let bytes = test::read_body(resp).await;
    assert!(bytes.starts_with("\u{feff}".as_bytes()), "UTF-8 BOM first");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "Nr;Czas (Warszawa);Kto;Klient (NIP);Zdarzenie;Szczegóły;Skrót poprzedniego zdarzenia;Skrót zdarzenia"
    );
    let policy_row = lines.find(|l| l.contains(ADMIN)).unwrap_or_else(|| panic!("the admin's event: {text}"));
    let cells: Vec<&str> = policy_row.split(';').collect();
    assert_eq!(cells[2], ADMIN, "{policy_row}");
    assert_eq!(cells[3], SELLER_NIP, "{policy_row}");
    assert!(!text.contains(admin_user.id.as_str()), "no internal user ids: {text}");

    // A period ending before it starts is refused in Polish; the API's CSV is unchanged.
    let bad = "/audyt/pobierz?nip=&user=&from=2026-12-02&to=2026-12-01&format=excel";
    let refused = test::call_service(&app, get(&admin.cookie, bad)).await;
    assert_eq!(refused.status(), 400);
    assert!(body(refused).await.contains("Data początkowa jest późniejsza"));
    let api =
        test::call_service(&app, get(&admin.cookie, &format!("/api/v1/audit?nip={SELLER_NIP}&format=csv")))
            .await;
    let api = body(api).await;
    assert!(api.starts_with("seq,at_utc,actor_kind,actor_id,client_id,action"), "{api}");
}

/// The audit screen: events filtered by client, person and period (Warsaw days), newest first in
/// keyset pages of 50, with the chain's verdict, which turns to "NARUSZONY" once an event is
/// altered in the database.
async fn panel_audit_screen_filters_pages_and_verdict(b: Backend) {
    use diesel::prelude::*;
    use ksef_gateway::db::schema::audit_events;
    let Some(t) = TestDb::new(b) else { return };
    let st = t.state();
    seed(&st).await;
    add_admin(&st).await;
    let app = test::init_service(App::new().configure(ksef_gateway::configure(st.clone()))).await;
    let admin = open_session_as(&app, ADMIN, ADMIN_PW).await;
    let policy = format!("/klienci/{SELLER_NIP}/polityka");
    for i in 0..55 {
        let p = if i % 2 == 0 { "four-eyes" } else { "manual" };
        let fields = [("csrf", admin.csrf.as_str()), ("polityka", p)];
        assert_eq!(test::call_service(&app, post_form(&admin.cookie, &policy, &fields)).await.status(), 303);
    }
    let rows = |html: &str| -> Vec<String> {
        let Some(table) = html.split("id=\"zdarzenia\"").nth(1) else { return Vec::new() };
        let table = table.split("</table>").next().unwrap();
        table
            .split("<tr><td class=\"n mono\">")
            .skip(1)
            .map(|r| r.split('<').next().unwrap().to_owned())
            .collect()
    };
    let today = ksef_gateway::local_time::today();
    let page = |uri: String| {
        let (app, cookie) = (&app, admin.cookie.clone());
        async move { body(test::call_service(app, get(&cookie, &uri)).await).await }
    };

    // The client's events: 50 newest, then the rest behind "Starsze", no event twice.
    let first = page(format!("/audyt?nip={SELLER_NIP}&user=&from=&to=")).await;
    assert!(first.contains("id=\"werdykt\"") && first.contains("nienaruszony"), "{first}");
    let one = rows(&first);
    assert_eq!(one.len(), 50, "{first}");
    let table = first.split("id=\"zdarzenia\"").nth(1).unwrap().split("</table>").next().unwrap();
    assert!(!table.contains(crate::panel::FOREIGN_NIP), "only the chosen client's events");
    let older = first
        .split("id=\"starsze\"")
        .next()
        .unwrap()
        .rsplit("href=\"")
        .next()
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&#38;", "&");
    let second = page(older).await;
    let two = rows(&second);
    assert!(!two.is_empty() && two.iter().all(|s| !one.contains(s)), "{second}");
    let seqs: Vec<i64> = one.iter().chain(&two).map(|s| s.parse().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "newest first, no repeats: {seqs:?}");
    assert!(!second.contains("id=\"starsze\""), "the last page: {second}");

    // By person and by Warsaw day.
    let by_admin = page(format!("/audyt?nip=&user={ADMIN}&from=&to=")).await;
    assert!(rows(&by_admin).len() == 50 && !by_admin.contains("system (bramka)"), "{by_admin}");
    let by_anna = page(format!("/audyt?nip=&user={EMAIL}&from=&to=")).await;
    assert!(by_anna.contains("id=\"brak-zdarzen\""), "{by_anna}");
    let yesterday = today.pred_opt().unwrap();
    let past = page(format!("/audyt?nip={SELLER_NIP}&user=&from={yesterday}&to={yesterday}")).await;
    assert!(past.contains("id=\"brak-zdarzen\""), "{past}");
    let now = page(format!("/audyt?nip={SELLER_NIP}&user=&from={today}&to={today}")).await;
    assert_eq!(rows(&now).len(), 50);

    // An event altered behind the gateway's back: the screen says the chain is broken.
    st.db
        .tx(|c| {
            diesel::update(audit_events::table.filter(audit_events::seq.eq(3)))
                .set(audit_events::payload.eq("{}"))
                .execute(c)
                .map_err(ksef_gateway::db::DbError::from_diesel)
        })
        .await
        .unwrap();
    let broken = page(format!("/audyt?nip={SELLER_NIP}&user=&from=&to=")).await;
    assert!(broken.contains("NARUSZONY przy zdarzeniu nr 3"), "{broken}");
}
