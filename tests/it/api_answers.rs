//! The API's parity with the panel for four-eyes answers and uploads that went wrong:
//! `POST /api/v1/invoices/{id}/return|reject` with a comment (the preparer reads it as
//! `approver_answer`) and `POST /api/v1/invoices/{id}/replace` with a corrected XML. Same
//! permissions, rules and audit events as the panel: the preparer cannot answer on their own
//! invoice, a foreign client's invoice is 404, a key without the permission 403, a blank or
//! hostile comment is refused with its reason, and a refused replace changes nothing.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use secrecy::ExposeSecret;
use serde_json::{json, Value};

use ksef_gateway::auth::ScopeSet;
use ksef_gateway::db::models::audit::AuditEvent;
use ksef_gateway::db::models::User;
use ksef_gateway::domain::SendPolicy;
use ksef_gateway::service::access::Caller;
use ksef_gateway::service::apikeys;
use ksef_gateway::state::AppState;

use crate::both_backends;
use crate::common::Backend;
use crate::office::{
    app, call, invoice, login, office, office_with, upload, Who, ACC_FULL, ACC_READ, BOARD_A, BOARD_B, NIP_A,
};
use crate::panel_people::form;

both_backends!(api_four_eyes_return_and_reject, api_replaces_an_upload_that_went_wrong);

/// A key of client A that may only read.
async fn read_only_key(st: &AppState) -> Who {
    let scopes = ScopeSet::parse("read").unwrap();
    let k = apikeys::create(st, &Caller::Operator, &crate::common::typed_nip(NIP_A), "Podgląd", scopes, None)
        .await
        .unwrap();
    Who::Key(k.plaintext.expose_secret().to_owned())
}

fn post_json(uri: &str, body: Value) -> TestRequest {
    TestRequest::post().uri(uri).set_json(body)
}

fn get(id: &str) -> TestRequest {
    TestRequest::get().uri(&format!("/api/v1/invoices/{id}"))
}

async fn events(st: &AppState, action: &str) -> Vec<AuditEvent> {
    let all = st.db.run(|c| AuditEvent::page(c, 0, 10_000)).await.unwrap();
    all.into_iter().filter(|e| e.action == action).collect()
}

async fn api_four_eyes_return_and_reject(b: Backend) {
    let Some((_t, o)) = office_with(b, SendPolicy::FourEyes).await else { return };
    let app = app(&o.st).await;
    let preparer = login(&app, ACC_FULL).await;
    let approver = login(&app, BOARD_A).await;
    let mut ids = Vec::new();
    for number in ["FV/R/1", "FV/R/2"] {
        let r = upload(&app, &preparer, Some(NIP_A), invoice(NIP_A, number)).await;
        assert_eq!(r.json()["invoices"][0]["state"], "draft", "{}", r.text());
        ids.push(r.json()["invoices"][0]["id"].as_str().unwrap().to_owned());
    }
    let (first, second) = (ids[0].as_str(), ids[1].as_str());
    let answer = |who: &Who, id: &str, verb: &str, body: Value| {
        who.apply(post_json(&format!("/api/v1/invoices/{id}/{verb}"), body))
    };
    let why = json!({"comment": "Zła stawka VAT\nw pozycji 2"});

    // Who may not: a key that only reads (403), someone with read only (403), another client's
    // key or board member (404, as if it did not exist), the preparer (as in the panel).
    for verb in ["return", "reject"] {
        for (who, status) in [
            (read_only_key(&o.st).await, StatusCode::FORBIDDEN),
            (login(&app, ACC_READ).await, StatusCode::FORBIDDEN),
            (Who::Key(o.key_b.clone()), StatusCode::NOT_FOUND),
            (login(&app, BOARD_B).await, StatusCode::NOT_FOUND),
        ] {
            let r = call(&app, answer(&who, first, verb, why.clone())).await;
            assert_eq!(r.status, status, "{verb} as {who:?}: {}", r.text());
        }
        let own = call(&app, answer(&preparer, first, verb, why.clone())).await;
        assert_eq!(own.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", own.text());
        assert_eq!(own.json()["error"]["code"], "approver_is_preparer", "{}", own.text());
    }

    // A comment is required (missing, blank, too long) and may not hide or reorder text.
    let too_long = "x".repeat(1001);
    for (body, reason) in [
        (json!({}), "comment_required"),
        (json!({"comment": " \n "}), "comment_required"),
        (json!({"comment": too_long}), "comment_required"),
        (json!({"comment": "Zła\u{1b}[8m stawka"}), "comment_control_character"),
        (json!({"comment": "kwota \u{202E}00,1"}), "comment_control_character"),
    ] {
        let r = call(&app, answer(&approver, first, "return", body.clone())).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", r.text());
        assert_eq!(r.json()["error"]["code"], "invalid_input", "{}", r.text());
        assert_eq!(r.json()["error"]["details"][0]["reason"], reason, "{body}: {}", r.text());
    }
    // The panel's form goes through the same check and says why in Polish, beside the field.
    let hostile = [("odpowiedz", "return"), ("komentarz", "Zła\u{1b}[8m stawka")];
    let panel = call(&app, form(&approver, &format!("/faktury/{first}/odpowiedz"), &hostile)).await;
    assert_eq!(panel.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(panel.text().contains("nie może zawierać znaków sterujących"), "{}", panel.text());
    let untouched = call(&app, approver.apply(get(first))).await.json();
    assert_eq!(untouched["timeline"].as_array().unwrap().len(), 1, "nothing recorded: {untouched}");
    assert_eq!(untouched["approver_answer"], Value::Null);
    assert!(events(&o.st, "invoice.returned").await.is_empty());

    // Returned: still a draft, and the preparer (or their system) reads why.
    let r = call(&app, answer(&approver, first, "return", why.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["state"], "draft");
    let seen = call(&app, preparer.apply(get(first))).await.json();
    let board_id = o.st.db.run(|c| User::find_by_email(c, BOARD_A)).await.unwrap().unwrap().id;
    assert_eq!(seen["approver_answer"]["answer"], "return", "{seen}");
    assert_eq!(seen["approver_answer"]["comment"], why["comment"], "{seen}");
    assert_eq!(seen["approver_answer"]["by"], format!("user:{board_id}"), "{seen}");
    assert_eq!(seen["approver_answer"]["at"], seen["timeline"][1]["at"], "the return's step: {seen}");

    // Rejected: invalid (never sent), the comment shown; a second answer finds no draft.
    let r = call(&app, answer(&approver, second, "reject", json!({"comment": "Wystawiona omyłkowo"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        (&r.json()["state"], &r.json()["approver_answer"]["answer"]),
        (&json!("invalid"), &json!("reject"))
    );
    assert_eq!(r.json()["approver_answer"]["comment"], "Wystawiona omyłkowo");
    let again = call(&app, answer(&approver, second, "return", why.clone())).await;
    assert_eq!(again.json()["error"]["code"], "invoice_not_draft", "{}", again.text());

    // Audited as in the panel: who answered, on which bytes, the preparer and the comment.
    let preparer_id = o.st.db.run(|c| User::find_by_email(c, ACC_FULL)).await.unwrap().unwrap().id;
    for (action, id, comment) in [
        ("invoice.returned", first, why["comment"].as_str().unwrap()),
        ("invoice.rejected_by_approver", second, "Wystawiona omyłkowo"),
    ] {
        let found = events(&o.st, action).await;
        assert_eq!(found.len(), 1, "{action}");
        assert_eq!(
            (found[0].subject.as_deref(), found[0].actor_id.as_deref()),
            (Some(id), Some(board_id.as_str()))
        );
        let payload: Value = serde_json::from_str(&found[0].payload).unwrap();
        assert_eq!(payload["comment"], comment, "{payload}");
        assert_eq!(payload["preparer"], format!("user:{preparer_id}"), "{payload}");
    }
}

async fn api_replaces_an_upload_that_went_wrong(b: Backend) {
    let Some((_t, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let submit = Who::Key(o.key_a_submit.clone());
    let first = upload(&app, &submit, None, invoice(NIP_A, "FV/1")).await.json();
    let draft = first["invoices"][0]["id"].as_str().unwrap().to_owned();
    let again = upload(&app, &submit, None, invoice(NIP_A, "FV/1")).await.json();
    let dup = again["invoices"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(again["invoices"][0]["state"], "invalid", "a duplicate: {again}");
    let replace = |who: &Who, id: &str, body: Vec<u8>| {
        who.apply(
            TestRequest::post()
                .uri(&format!("/api/v1/invoices/{id}/replace"))
                .insert_header(("Content-Type", "application/xml"))
                .set_payload(body),
        )
    };
    let all = |st: AppState| async move {
        let list = ksef_gateway::service::invoices::list(&st, &Caller::Operator, Default::default());
        let mut rows: Vec<(String, String, String)> = list
            .await
            .unwrap()
            .invoices
            .into_iter()
            .map(|i| (i.head.id.to_string(), i.head.number.unwrap_or_default(), i.head.state.to_string()))
            .collect();
        rows.sort();
        rows
    };
    let before = all(o.st.clone()).await;

    // Without the upload permission, or for another client: refused, nothing changes.
    for (who, status) in [
        (read_only_key(&o.st).await, StatusCode::FORBIDDEN),
        (Who::Key(o.key_a_send.clone()), StatusCode::FORBIDDEN),
        (Who::Key(o.key_b.clone()), StatusCode::NOT_FOUND),
    ] {
        let r = call(&app, replace(&who, &dup, invoice(NIP_A, "FV/1/K"))).await;
        assert_eq!(r.status, status, "{who:?}: {}", r.text());
    }
    assert_eq!(all(o.st.clone()).await, before);

    // The duplicate replaced by a corrected file: 201 with the new invoice, the old one gone.
    let r = call(&app, replace(&submit, &dup, invoice(NIP_A, "FV/1/K"))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let body = r.json();
    assert_eq!(body["replaced"], dup.as_str());
    assert_eq!((&body["invoice"]["state"], &body["invoice"]["number"]), (&json!("draft"), &json!("FV/1/K")));
    let new = body["invoice"]["id"].as_str().unwrap().to_owned();
    assert_eq!(call(&app, submit.apply(get(&dup))).await.status, StatusCode::NOT_FOUND);
    let view = call(&app, submit.apply(get(&new))).await.json();
    assert_eq!(view["source"], "api");
    assert!(view.to_string().contains(&format!("zastępuje fakturę FV/1 (id {dup}")), "{view}");
    let replaced = events(&o.st, "invoice.replaced").await;
    assert_eq!(replaced.len(), 1);
    let payload: Value = serde_json::from_str(&replaced[0].payload).unwrap();
    assert_eq!((replaced[0].subject.as_deref(), &payload["replaced_by"]), (Some(dup.as_str()), &json!(new)));
    assert_eq!(payload["sha256"], again["invoices"][0]["sha256"], "{payload}");

    // Past a decision, or with a zip: refused with its code, and nothing changes.
    let acc = login(&app, ACC_FULL).await;
    let sent = call(&app, acc.apply(post_json("/api/v1/invoices/send", json!({"ids": [draft]})))).await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.text());
    let before = all(o.st.clone()).await;
    let late = call(&app, replace(&submit, &draft, invoice(NIP_A, "FV/9"))).await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.text());
    assert_eq!(late.json()["error"]["code"], "invoice_decided");
    let zip = call(&app, replace(&acc, &new, b"PK\x05\x06rest".to_vec())).await;
    assert_eq!(zip.json()["error"]["code"], "replacement_one_xml", "{}", zip.text());
    assert_eq!(all(o.st.clone()).await, before, "nothing stored, nothing removed");
    assert_eq!(events(&o.st, "invoice.replaced").await.len(), 1);
}
