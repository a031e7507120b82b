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

both_backends!(panel_and_api_delete_undecided_invoices_only);

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
