//! The four-eyes inbox in the panel: what a preparer uploads waits on the approver's dashboard
//! (never the preparer's), the approver reads the invoice's content, and returns it or rejects
//! it with a comment the preparer reads on the invoice page; every answer is audited.

use actix_web::{test, App};
use secrecy::SecretString;

use ksef_gateway::auth::Role;
use ksef_gateway::service::access::Caller;
use ksef_gateway::service::users::{self, NewUserInput};

use crate::both_backends;
use crate::common::{Backend, TestDb};
use crate::panel::{
    body, get, open_session_as, post_file, post_form, seed, text_after, EMAIL, PASSWORD, SAMPLE, SELLER_NIP,
};

both_backends!(panel_four_eyes_inbox_return_and_reject);

const ADMIN: &str = "szef@biuro.test";
const ADMIN_PW: &str = "Szef-ma-dlugie-haslo-2026";

async fn panel_four_eyes_inbox_return_and_reject(b: Backend) {
    let Some(t) = TestDb::new(b) else { return };
    let st = t.state();
    seed(&st).await;
    let input =
        NewUserInput { email: ADMIN.into(), display_name: "Szef".into(), role: Role::OfficeAdmin, nip: None };
    users::create_user(&st, &Caller::Operator, input, SecretString::from(ADMIN_PW)).await.unwrap();
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
    assert!(page.contains("id=\"tresc\"") && page.contains("lodówka Zimnotech mk1"), "{page}");
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
    let inv = ksef_gateway::service::invoices::get(
        &st,
        &Caller::Operator,
        &ids[1],
        ksef_gateway::service::findings::Lang::Pl,
    )
    .await
    .unwrap();
    assert_eq!(inv.state, "invalid");
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
