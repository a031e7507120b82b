//! The permission matrix: every caller × every route × own and foreign client, generated from
//! what each caller holds and what each route needs. A caller that holds nothing on a client
//! gets 404 (as if it did not exist), one that holds something else gets 403; both in the same
//! error shape, and neither leaks the client's data.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::json;

use ksef_gateway::auth::Permission;

use crate::both_backends;
use crate::common::Backend;
use crate::office::{
    app, call, invoice, login, office, upload, Who, ACC_FULL, ACC_NONE, ACC_READ, ADMIN, BOARD_A, BOARD_B,
    NIP_A, NIP_B,
};

both_backends!(permission_matrix);

/// What each caller holds, per client (the rule the implementation must follow).
fn held(caller: &str, nip: &str) -> Vec<Permission> {
    let all = Permission::ALL.to_vec();
    match (caller, nip) {
        (ADMIN, _) => all,
        (ACC_FULL, NIP_A) => all,
        (ACC_READ, NIP_A) => vec![Permission::Read],
        (BOARD_A, NIP_A) | (BOARD_B, NIP_B) => all,
        ("key_a_submit", NIP_A) => vec![Permission::Read, Permission::Upload],
        ("key_a_send", NIP_A) => vec![Permission::Read, Permission::Send],
        ("key_b", NIP_B) => vec![Permission::Read, Permission::Upload, Permission::Send],
        _ => vec![],
    }
}

/// A route, the permission it needs, and how to call it on a client (given a fresh draft id).
struct Route {
    name: &'static str,
    needs: Permission,
    build: fn(nip: &str, draft: &str) -> TestRequest,
}

const ROUTES: &[Route] = &[
    Route {
        name: "list invoices",
        needs: Permission::Read,
        build: |nip, _| TestRequest::get().uri(&format!("/api/v1/invoices?nip={nip}")),
    },
    Route {
        name: "get invoice",
        needs: Permission::Read,
        build: |_, id| TestRequest::get().uri(&format!("/api/v1/invoices/{id}")),
    },
    Route {
        name: "invoice xml",
        needs: Permission::Read,
        build: |_, id| TestRequest::get().uri(&format!("/api/v1/invoices/{id}/xml")),
    },
    Route {
        name: "invoice qr",
        needs: Permission::Read,
        build: |_, id| TestRequest::get().uri(&format!("/api/v1/invoices/{id}/qr")),
    },
    Route {
        name: "upload",
        needs: Permission::Upload,
        build: |nip, id| {
            TestRequest::post()
                .uri(&format!("/api/v1/invoices?nip={nip}"))
                .set_payload(invoice(nip, &format!("FV/M/{id}")))
        },
    },
    Route {
        name: "send",
        needs: Permission::Send,
        build: |_, id| TestRequest::post().uri("/api/v1/invoices/send").set_json(json!({"ids": [id]})),
    },
    Route {
        name: "grants",
        needs: Permission::Users,
        build: |nip, _| TestRequest::get().uri(&format!("/api/v1/clients/{nip}/grants")),
    },
    Route {
        name: "api keys",
        needs: Permission::Users,
        build: |nip, _| TestRequest::get().uri(&format!("/api/v1/clients/{nip}/api-keys")),
    },
    Route {
        name: "policy",
        needs: Permission::Credentials,
        build: |nip, _| {
            TestRequest::put()
                .uri(&format!("/api/v1/clients/{nip}/policy"))
                .set_json(json!({"policy": "manual"}))
        },
    },
    Route {
        name: "credential",
        needs: Permission::Credentials,
        build: |nip, _| {
            TestRequest::put()
                .uri(&format!("/api/v1/clients/{nip}/credential"))
                .set_json(json!({"ksef_token": "20261201-EC-NEW-token-value-0001"}))
        },
    },
    Route {
        name: "webhooks",
        needs: Permission::Credentials,
        build: |nip, _| TestRequest::get().uri(&format!("/api/v1/clients/{nip}/webhooks")),
    },
    Route {
        name: "webhook create",
        needs: Permission::Credentials,
        build: |nip, _| {
            TestRequest::post()
                .uri(&format!("/api/v1/clients/{nip}/webhooks"))
                .set_json(json!({"url": "http://erp.example.com/hook", "events": ["invoice.state_changed"]}))
        },
    },
    Route {
        name: "collective identifiers",
        needs: Permission::Read,
        build: |nip, _| TestRequest::get().uri(&format!("/api/v1/collective-identifiers?nip={nip}")),
    },
    Route {
        name: "collective identifier create",
        needs: Permission::Send,
        build: |nip, id| {
            TestRequest::post()
                .uri("/api/v1/collective-identifiers")
                .set_json(json!({"nip": nip, "invoice_ids": [id]}))
        },
    },
    Route {
        name: "audit",
        needs: Permission::Audit,
        build: |nip, _| TestRequest::get().uri(&format!("/api/v1/audit?nip={nip}")),
    },
];

async fn permission_matrix(b: Backend) {
    let Some((_db, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let admin = login(&app, ADMIN).await;
    let mut callers: Vec<(&str, Who)> = Vec::new();
    for email in [ADMIN, ACC_FULL, ACC_READ, ACC_NONE, BOARD_A, BOARD_B] {
        callers.push((email, login(&app, email).await));
    }
    callers.push(("key_a_submit", Who::Key(o.key_a_submit.clone())));
    callers.push(("key_a_send", Who::Key(o.key_a_send.clone())));
    callers.push(("key_b", Who::Key(o.key_b.clone())));
    callers.push(("nobody", Who::Nobody));
    let mut checked = 0;
    let mut serial = 0;
    for nip in [NIP_A, NIP_B] {
        for (name, who) in &callers {
            for route in ROUTES {
                serial += 1;
                // A fresh draft of this client for routes that take an invoice.
                let up = upload(&app, &admin, Some(nip), invoice(nip, &format!("FV/MATRIX/{serial}"))).await;
                let draft = up.json()["invoices"][0]["id"].as_str().unwrap().to_owned();
                let r = call(&app, who.apply((route.build)(nip, &draft))).await;
                let ctx = format!("{name} × {} × {nip}: {} {}", route.name, r.status, r.text());
                let holds = held(name, nip);
                if matches!(who, Who::Nobody) {
                    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{ctx}");
                } else if holds.contains(&route.needs) && route.name == "send" && matches!(who, Who::Key(_)) {
                    // Authorised, but the office's clients here use the manual policy: a key
                    // may not decide; that is a business rule, not a permission denial.
                    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{ctx}");
                    assert_eq!(r.json()["error"]["code"], "policy_requires_person", "{ctx}");
                } else if holds.contains(&route.needs) && route.name == "credential" {
                    // Authorised, but this office's KSeF cannot be reached: a credential that
                    // fails its check is never stored.
                    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{ctx}");
                    assert_eq!(r.json()["error"]["code"], "credential_refused", "{ctx}");
                } else if holds.contains(&route.needs) && route.name == "webhook create" {
                    // Authorised, but plain http is not allowed by this office's configuration:
                    // the permission is checked before the URL, and the refusal stores nothing.
                    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{ctx}");
                    assert_eq!(r.json()["error"]["details"][0]["reason"], "url_http_not_allowed", "{ctx}");
                } else if holds.contains(&route.needs) && route.name == "collective identifier create" {
                    // Authorised, but a draft has no KSeF number: refused before KSeF is called.
                    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{ctx}");
                    assert_eq!(r.json()["error"]["code"], "collective_invoice_not_accepted", "{ctx}");
                } else if holds.contains(&route.needs) {
                    assert!(r.status.is_success(), "{ctx}");
                } else {
                    let expected =
                        if holds.is_empty() { StatusCode::NOT_FOUND } else { StatusCode::FORBIDDEN };
                    assert_eq!(r.status, expected, "{ctx}");
                    let body = r.json();
                    let code = body["error"]["code"].as_str().unwrap_or_default();
                    assert_eq!(code, if holds.is_empty() { "not_found" } else { "forbidden" }, "{ctx}");
                    assert!(
                        body["error"]["message"].is_string() && body["error"]["details"].is_array(),
                        "{ctx}"
                    );
                    let text = r.text();
                    assert!(
                        !text.contains(&format!("FV/MATRIX/{serial}")) && !text.contains(&draft)
                            || holds.contains(&Permission::Read),
                        "{ctx}"
                    );
                    assert!(!text.contains(&format!("Firma {nip}")), "{ctx}");
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 2 * callers.len() * ROUTES.len());
}
