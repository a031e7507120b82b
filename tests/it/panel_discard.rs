//! Uploads that went wrong: a duplicate (stored invalid) is deleted from the panel behind its
//! confirmation page, a draft through `DELETE /api/v1/invoices/{id}`; both leave an audit event
//! with the file's hash and who deleted it; past a decision the answer is 409
//! `invoice_decided`; without the upload permission (scope `submit`) it is refused.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::json;

use ksef_gateway::db::models::audit::AuditEvent;
use ksef_gateway::db::models::User;

use crate::both_backends;
use crate::common::Backend;
use crate::office::{app, call, invoice, login, office, upload, Who, ACC_FULL, ACC_READ, NIP_A};
use crate::panel_people::{form, page};

both_backends!(panel_and_api_delete_undecided_invoices_only, panel_replaces_an_upload_with_a_corrected_one);

async fn panel_and_api_delete_undecided_invoices_only(b: Backend) {
    let Some((_t, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let submit = Who::Key(o.key_a_submit.clone());
    let first = upload(&app, &submit, None, invoice(NIP_A, "FV/1")).await.json();
    let draft = first["invoices"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(first["invoices"][0]["state"], "draft", "{first}");
    let again = upload(&app, &submit, None, invoice(NIP_A, "FV/1")).await.json();
    let dup = again["invoices"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(again["invoices"][0]["state"], "invalid", "the same number again is a duplicate");

    // The duplicate, from the panel: a link on its page, a confirmation page, then gone.
    let acc = login(&app, ACC_FULL).await;
    let inv_page = call(&app, page(&acc, &format!("/faktury/{dup}"))).await.text();
    assert!(inv_page.contains("id=\"usun-fakture\""), "{inv_page}");
    let confirm = call(&app, page(&acc, &format!("/faktury/{dup}/usun"))).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.text().contains("duplikat") && confirm.text().contains("id=\"potwierdz-usuniecie\""));
    let reader = login(&app, ACC_READ).await;
    let refused = call(&app, form(&reader, &format!("/faktury/{dup}/usun"), &[])).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "reading is not uploading");
    assert!(!call(&app, page(&reader, &format!("/faktury/{dup}"))).await.text().contains("usun-fakture"));
    let gone = call(&app, form(&acc, &format!("/faktury/{dup}/usun"), &[])).await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER, "{}", gone.text());
    let api_get = |id: &str| submit.apply(TestRequest::get().uri(&format!("/api/v1/invoices/{id}")));
    assert_eq!(call(&app, api_get(&dup)).await.status, StatusCode::NOT_FOUND);
    let acc_id = o.st.db.run(|c| User::find_by_email(c, ACC_FULL)).await.unwrap().unwrap().id;
    let events = o.st.db.run(|c| AuditEvent::page(c, 0, 10_000)).await.unwrap();
    let deleted: Vec<_> = events.iter().filter(|e| e.action == "invoice.deleted").collect();
    assert_eq!(deleted.len(), 1);
    assert_eq!(
        (deleted[0].subject.as_deref(), deleted[0].actor_id.as_deref()),
        (Some(dup.as_str()), Some(acc_id.as_str()))
    );
    let payload: serde_json::Value = serde_json::from_str(&deleted[0].payload).unwrap();
    assert_eq!(payload["sha256"], again["invoices"][0]["sha256"], "{payload}");
    assert_eq!(payload["state"], "invalid");

    // The API: a key without `submit` may not; one with it deletes a draft (204).
    let del = |who: &Who, id: &str| who.apply(TestRequest::delete().uri(&format!("/api/v1/invoices/{id}")));
    let send_key = Who::Key(o.key_a_send.clone());
    assert_eq!(call(&app, del(&send_key, &draft)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(call(&app, del(&Who::Key(o.key_b.clone()), &draft)).await.status, StatusCode::NOT_FOUND);
    let second = upload(&app, &submit, None, invoice(NIP_A, "FV/2")).await.json();
    let other = second["invoices"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(call(&app, del(&submit, &other)).await.status, StatusCode::NO_CONTENT);
    assert_eq!(call(&app, api_get(&other)).await.status, StatusCode::NOT_FOUND);

    // Past a decision: 409 with a stable code, and the panel says so in Polish.
    let sent = call(
        &app,
        acc.apply(TestRequest::post().uri("/api/v1/invoices/send").set_json(json!({"ids": [draft]}))),
    )
    .await;
    assert!(sent.status.is_success(), "{}", sent.text());
    let late = call(&app, del(&submit, &draft)).await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert_eq!(late.json()["error"]["code"], "invoice_decided", "{}", late.text());
    let late = call(&app, form(&acc, &format!("/faktury/{draft}/usun"), &[])).await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert!(late.text().contains("nie można już usunąć"), "{}", late.text());
    assert_eq!(call(&app, page(&acc, &format!("/faktury/{draft}/usun"))).await.status, StatusCode::CONFLICT);
    assert_eq!(call(&app, api_get(&draft)).await.status, StatusCode::OK, "it stays");
}

/// A file posted to a panel upload form (multipart, with the session's CSRF field).
fn post_file(who: &Who, uri: &str, bytes: &[u8]) -> TestRequest {
    let Who::Session { cookie, csrf } = who else { panic!("a session") };
    let b = "----kgwtestboundary";
    let mut payload = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{b}\r\nContent-Disposition: form-data; name=\"plik\"; filename=\"poprawiona.xml\"\r\nContent-Type: application/xml\r\n\r\n"
    )
    .into_bytes();
    payload.extend_from_slice(bytes);
    payload.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
    TestRequest::post()
        .uri(uri)
        .insert_header((actix_web::http::header::COOKIE, format!("kgw_session={cookie}")))
        .insert_header((actix_web::http::header::CONTENT_TYPE, format!("multipart/form-data; boundary={b}")))
        .set_payload(payload)
}

async fn panel_replaces_an_upload_with_a_corrected_one(b: Backend) {
    let Some((_t, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let submit = Who::Key(o.key_a_submit.clone());
    let draft = upload(&app, &submit, None, invoice(NIP_A, "FV/1")).await.json()["invoices"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let again = upload(&app, &submit, None, invoice(NIP_A, "FV/1")).await.json();
    let dup = again["invoices"][0]["id"].as_str().unwrap().to_owned();
    let acc = login(&app, ACC_FULL).await;
    let list = |o: &crate::office::Office| {
        let st = o.st.clone();
        async move {
            ksef_gateway::service::invoices::list(
                &st,
                &ksef_gateway::service::access::Caller::Operator,
                Default::default(),
            )
            .await
            .unwrap()
            .invoices
            .into_iter()
            .map(|i| (i.head.id, i.head.number.unwrap_or_default(), i.head.state))
            .collect::<Vec<_>>()
        }
    };

    // The duplicate replaced by a corrected file with its own number.
    let r = call(&app, post_file(&acc, &format!("/faktury/{dup}/zastap"), &invoice(NIP_A, "FV/1/K"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let now = list(&o).await;
    assert!(now.iter().all(|(id, _, _)| id != &dup), "the replaced one is gone from the lists: {now:?}");
    let new = now.iter().find(|(_, n, _)| n == "FV/1/K").unwrap().clone();
    assert_eq!(new.2, ksef_gateway::domain::InvoiceState::Draft);
    let view =
        call(&app, submit.apply(TestRequest::get().uri(&format!("/api/v1/invoices/{}", new.0)))).await.json();
    assert!(view.to_string().contains(&format!("zastępuje fakturę FV/1 (id {dup}")), "{view}");
    let events = o.st.db.run(|c| AuditEvent::page(c, 0, 10_000)).await.unwrap();
    let replaced = events.iter().find(|e| e.action == "invoice.replaced").unwrap();
    let payload: serde_json::Value = serde_json::from_str(&replaced.payload).unwrap();
    assert_eq!((replaced.subject.as_deref(), &payload["replaced_by"]), (Some(dup.as_str()), &json!(new.0)));
    assert_eq!(payload["sha256"], again["invoices"][0]["sha256"]);

    // A draft replaced by a file with the same number is not a duplicate of itself.
    let r = call(&app, post_file(&acc, &format!("/faktury/{draft}/zastap"), &invoice(NIP_A, "FV/1"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let now = list(&o).await;
    let fv1: Vec<_> = now.iter().filter(|(_, n, _)| n == "FV/1").collect();
    assert_eq!(fv1.len(), 1, "{now:?}");
    assert_eq!(
        fv1[0].2,
        ksef_gateway::domain::InvoiceState::Draft,
        "not flagged as a duplicate of the one it replaced"
    );
    let current = fv1[0].0.clone();

    // A zip is refused; past a decision the replacement is refused and nothing is stored.
    let zip = call(&app, post_file(&acc, &format!("/faktury/{current}/zastap"), b"PK\x05\x06rest")).await;
    assert_eq!(zip.status, StatusCode::UNPROCESSABLE_ENTITY);
    let sent =
        acc.apply(TestRequest::post().uri("/api/v1/invoices/send").set_json(json!({"ids": [current]})));
    assert!(call(&app, sent).await.status.is_success());
    let late =
        call(&app, post_file(&acc, &format!("/faktury/{current}/zastap"), &invoice(NIP_A, "FV/9"))).await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert!(list(&o).await.iter().all(|(_, n, _)| n != "FV/9"));
}
