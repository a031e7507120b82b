//! Decisions to send under each policy: who may decide, on what, and what is recorded.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::{json, Value};

use ksef_gateway::db::models::{ClientScope, Invoice, SendDecision};
use ksef_gateway::domain::{Actor, InvoiceState, SendPolicy};

use crate::both_backends;
use crate::common::Backend;
use crate::office::{
    app, call, invoice, login, office, office_with, upload, Who, ACC_FULL, ACC_READ, BOARD_A, NIP_A,
};

both_backends!(
    a_person_decides_and_everything_is_recorded,
    four_eyes_needs_a_second_person_on_the_exact_bytes,
    api_auto_lets_the_clients_key_send,
    offline_issuing_is_recorded_with_its_deadline,
    failure_mode_needs_an_announcement_or_a_confirmation,
    a_move_the_state_table_does_not_allow_is_refused,
);

fn send(ids: &[&str]) -> TestRequest {
    TestRequest::post().uri("/api/v1/invoices/send").set_json(json!({"ids": ids}))
}

async fn draft<S, B>(app: &S, who: &Who, number: &str) -> (String, String)
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let r = upload(app, who, Some(NIP_A), invoice(NIP_A, number)).await;
    let item = &r.json()["invoices"][0];
    assert_eq!(item["state"], "draft", "{}", r.text());
    (item["id"].as_str().unwrap().to_owned(), item["sha256"].as_str().unwrap().to_owned())
}

async fn a_person_decides_and_everything_is_recorded(b: Backend) {
    let Some((_db, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let acc = login(&app, ACC_FULL).await;
    let (id1, sha1) = draft(&app, &acc, "FV/D/1").await;
    let (id2, sha2) = draft(&app, &acc, "FV/D/2").await;
    // Read-only people cannot decide.
    let reader = login(&app, ACC_READ).await;
    assert_eq!(call(&app, reader.apply(send(&[&id1]))).await.status, StatusCode::FORBIDDEN);
    let r = call(&app, acc.apply(send(&[&id1, &id2]))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    let decision = &r.json()["decisions"][0];
    assert_eq!((decision["nip"].as_str(), decision["state"].as_str()), (Some(NIP_A), Some("queued")));
    let decision_id: ksef_gateway::domain::DecisionId =
        decision["decision_id"].as_str().unwrap().parse().unwrap();
    let stored = o.st.db.tx(move |c| SendDecision::find(c, &decision_id)).await.unwrap().unwrap();
    let hashes: Vec<String> = serde_json::from_str(&stored.invoice_hashes).unwrap();
    let mut expected = vec![sha1, sha2];
    expected.sort();
    let mut got = hashes.clone();
    got.sort();
    assert_eq!(got, expected, "the decision names the exact bytes");
    assert_eq!(stored.policy, ksef_gateway::domain::SendPolicy::Manual);
    assert!(stored.actor_id.to_string().starts_with("user:"));
    for id in [&id1, &id2] {
        let v = call(&app, acc.apply(TestRequest::get().uri(&format!("/api/v1/invoices/{id}")))).await.json();
        assert_eq!((v["state"].as_str(), v["status_letter"].as_str()), (Some("queued"), Some("W")));
        let states: Vec<&str> =
            v["timeline"].as_array().unwrap().iter().map(|e| e["state"].as_str().unwrap()).collect();
        assert_eq!(states, ["draft", "queued"]);
    }
    // Deciding twice is refused: an invoice is sent at most once.
    let again = call(&app, acc.apply(send(&[&id1]))).await;
    assert_eq!(again.json()["error"]["code"], "invoice_not_sendable");
    let trail =
        call(&app, acc.apply(TestRequest::get().uri(&format!("/api/v1/audit?nip={NIP_A}")))).await.json();
    let decided: Vec<&Value> =
        trail["events"].as_array().unwrap().iter().filter(|e| e["action"] == "send.decided").collect();
    assert_eq!(decided.len(), 1);
    assert_eq!(o.a.nip, NIP_A);
}

async fn four_eyes_needs_a_second_person_on_the_exact_bytes(b: Backend) {
    let Some((_db, o)) = office_with(b, SendPolicy::FourEyes).await else { return };
    let app = app(&o.st).await;
    let preparer = login(&app, ACC_FULL).await;
    let board = login(&app, BOARD_A).await;
    let (id, sha) = draft(&app, &preparer, "FV/4E/1").await;
    let r = call(&app, preparer.apply(send(&[&id]))).await;
    assert_eq!(r.json()["error"]["code"], "approval_required", "{}", r.text());
    let approve =
        |body: Value| TestRequest::post().uri(&format!("/api/v1/invoices/{id}/approve")).set_json(body);
    let r = call(&app, preparer.apply(approve(json!({"sha256": sha})))).await;
    assert_eq!(r.json()["error"]["code"], "approver_is_preparer", "{}", r.text());
    let r = call(&app, board.apply(approve(json!({"sha256": "AAAA"})))).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "approving other bytes than those seen is refused");
    let r = call(&app, board.apply(approve(json!({"sha256": sha})))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["state"], "approved");
    let r = call(&app, preparer.apply(send(&[&id]))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    assert_eq!(r.json()["decisions"][0]["policy"], "four-eyes");
}

async fn api_auto_lets_the_clients_key_send(b: Backend) {
    let Some((_db, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let submit = Who::Key(o.key_a_submit.clone());
    let sender = Who::Key(o.key_a_send.clone());
    let r = upload(&app, &submit, None, invoice(NIP_A, "FV/API/1")).await;
    let id = r.json()["invoices"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        call(&app, sender.apply(send(&[&id]))).await.json()["error"]["code"],
        "policy_requires_person"
    );
    // Changing the policy is a permission of its own, and audited.
    let acc = login(&app, ACC_FULL).await;
    let policy = TestRequest::put()
        .uri(&format!("/api/v1/clients/{NIP_A}/policy"))
        .set_json(json!({"policy": "api-auto"}));
    assert_eq!(call(&app, acc.apply(policy)).await.status, StatusCode::OK);
    assert_eq!(
        call(&app, submit.apply(send(&[&id]))).await.status,
        StatusCode::FORBIDDEN,
        "a key without the send scope"
    );
    let r = call(&app, sender.apply(send(&[&id]))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    let trail =
        call(&app, acc.apply(TestRequest::get().uri(&format!("/api/v1/audit?nip={NIP_A}")))).await.json();
    let actions: Vec<&str> =
        trail["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"client.policy_changed") && actions.contains(&"send.decided"), "{actions:?}");
    let decided = trail["events"].as_array().unwrap().iter().find(|e| e["action"] == "send.decided").unwrap();
    assert_eq!(decided["actor_kind"], "api_key");
    assert_eq!(o.b.nip, crate::office::NIP_B);
}

async fn offline_issuing_is_recorded_with_its_deadline(b: Backend) {
    let Some((_db, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let acc = login(&app, ACC_FULL).await;
    let (id, _) = draft(&app, &acc, "FV/OFF/1").await;
    let req = TestRequest::post()
        .uri("/api/v1/invoices/send")
        .set_json(json!({"ids": [id], "offline": true, "offline_mode": "offline24"}));
    let r = call(&app, acc.apply(req)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    let v = call(&app, acc.apply(TestRequest::get().uri(&format!("/api/v1/invoices/{id}")))).await.json();
    assert_eq!(
        (v["state"].as_str(), v["status_letter"].as_str(), v["offline"].as_bool()),
        (Some("offline"), Some("W"), Some(true))
    );
    // Counted from the invoice's issue date (P_1 = Sunday 15.02.2026), not from today: the end
    // of Monday 16.02 in Warsaw, written with its offset.
    assert_eq!(v["offline_deadline"], "2026-02-16T22:59:59Z", "{v}");
    assert!(v["created_at"].as_str().unwrap().ends_with('Z'), "API times carry their offset: {v}");
    let qr = call(&app, acc.apply(TestRequest::get().uri(&format!("/api/v1/invoices/{id}/qr")))).await.json();
    assert_eq!(qr["label"], "OFFLINE");
    assert!(qr["kod1"].as_str().unwrap().contains(&format!("/{NIP_A}/")), "{qr}");
}

/// The failure (awaria) mode is there only when KSeF announced a failure or the caller
/// consciously confirms one; its deadline is 7 business days after the failure's end.
async fn failure_mode_needs_an_announcement_or_a_confirmation(b: Backend) {
    let Some((_db, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let acc = login(&app, ACC_FULL).await;
    let (id, _) = draft(&app, &acc, "FV/AWARIA/1").await;
    let send = |body: serde_json::Value| TestRequest::post().uri("/api/v1/invoices/send").set_json(body);
    let r =
        call(&app, acc.apply(send(json!({"ids": [id], "offline": true, "offline_mode": "emergency"})))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "failure_not_announced");
    let body = json!({"ids": [id], "offline": true, "offline_mode": "emergency",
        "failure_confirmed": true, "offline_period_end": "2026-02-20"});
    let r = call(&app, acc.apply(send(body))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    // Failure ended Friday 20.02.2026: 23, 24, 25, 26, 27 Feb, 2, 3 Mar.
    assert_eq!(r.json()["decisions"][0]["offline_deadline"], "2026-03-03T22:59:59Z", "{}", r.text());
}

/// A draft cannot skip its decision: moving it straight into `sending` (the guarded UPDATE alone
/// would let it, the invoice is in the `from` state) is refused by the state table, and neither
/// its state nor its timeline changes.
async fn a_move_the_state_table_does_not_allow_is_refused(b: Backend) {
    let Some((_db, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let acc = login(&app, ACC_FULL).await;
    let (id, _) = draft(&app, &acc, "FV/T/1").await;
    let id = ksef_gateway::domain::InvoiceId::parse(&id).unwrap();
    let i = id.clone();
    let moved = o
        .st
        .db
        .tx(move |c| {
            Invoice::transition(c, &i, &[InvoiceState::Draft], InvoiceState::Sending, &Actor::Operator, None)
        })
        .await;
    assert!(moved.is_err(), "draft -> sending was not refused: {moved:?}");
    let i = id.clone();
    let (inv, events) =
        o.st.db
            .tx(move |c| {
                Ok::<_, ksef_gateway::db::DbError>((
                    Invoice::get(c, &ClientScope::All, &i)?,
                    Invoice::events(c, &i)?,
                ))
            })
            .await
            .unwrap();
    assert_eq!(inv.state, InvoiceState::Draft);
    assert_eq!(events.len(), 1, "only the upload's step: {events:?}");
}
