//! Nobody hands on what they do not hold (#20): an API key's scopes and a delegated grant's
//! permissions must be covered by what their creator holds on that client. The matrix is
//! exhaustive: every role, every set of permissions an accountant may hold there (with and
//! without `users`), every set of scopes or permissions asked for; through the API and through
//! the panel's forms. A refusal is 403 `scope_not_held` (403 `forbidden` without `users`, 404
//! for a client the caller cannot see) and creates nothing.

use actix_web::http::{header, StatusCode};
use actix_web::test::TestRequest;
use serde_json::json;

use ksef_gateway::auth::{ApiScope, Permission, PermissionSet};
use ksef_gateway::db::models::{ApiKey, Grant, User};
use ksef_gateway::service::access::Caller;
use ksef_gateway::service::grants;

use crate::both_backends;
use crate::common::Backend;
use crate::office::{
    app, call, login, office, Office, Who, ACC_NONE, ACC_READ, ADMIN, BOARD_A, BOARD_B, NIP_A,
};

both_backends!(api_key_scopes_are_covered_by_the_creator, grants_are_covered_by_the_grantor);

/// Every non-empty subset of `items`.
fn subsets<T: Copy>(items: &[T]) -> Vec<Vec<T>> {
    (1..(1u32 << items.len()))
        .map(|mask| items.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, x)| *x).collect())
        .collect()
}

/// The permissions the accountant may hold on client A in the matrix: every subset of these
/// (the empty one included: nothing at all there).
const HELD_AXES: [Permission; 4] =
    [Permission::Read, Permission::Upload, Permission::Send, Permission::Users];

/// Replaces whatever ACC_READ holds on A (the office's own `read` grant included) by `held`
/// (nothing when empty).
async fn hold(o: &Office, held: &[Permission], can_delegate: bool) {
    let (st, client) = (o.st.clone(), o.a.id.clone());
    let user = st.db.tx(|c| User::find_by_email(c, ACC_READ)).await.unwrap().unwrap().id;
    let live = st.db.tx(move |c| Grant::live_for_user(c, &user, Some(&client))).await.unwrap();
    for g in live {
        grants::revoke(&o.st, &Caller::Operator, &g.id).await.unwrap();
    }
    if held.is_empty() {
        return;
    }
    let input = grants::GrantInput {
        user_email: ACC_READ.into(),
        client_id: o.a.id.clone(),
        permissions: held.iter().copied().collect(),
        can_delegate,
    };
    grants::grant(&o.st, &Caller::Operator, input).await.unwrap();
}

/// What the rule says: (status, code) of creating something that stands for `wanted` by a
/// caller holding `held` on the client.
fn expected(held: PermissionSet, wanted: PermissionSet) -> (StatusCode, &'static str) {
    if held.is_empty() {
        (StatusCode::NOT_FOUND, "not_found")
    } else if !held.contains(Permission::Users) {
        (StatusCode::FORBIDDEN, "forbidden")
    } else if !held.covers(wanted) {
        (StatusCode::FORBIDDEN, "scope_not_held")
    } else {
        (StatusCode::CREATED, "")
    }
}

fn cookie_and_csrf(who: &Who) -> (String, String) {
    match who {
        Who::Session { cookie, csrf } => (cookie.clone(), csrf.clone()),
        _ => unreachable!("a person's session"),
    }
}

/// A panel form POST as `who`.
fn panel_form(who: &Who, uri: &str, fields: &[(&str, &str)]) -> TestRequest {
    let (cookie, csrf) = cookie_and_csrf(who);
    let mut body = url::form_urlencoded::Serializer::new(String::new());
    body.append_pair("csrf", &csrf);
    for (k, v) in fields {
        body.append_pair(k, v);
    }
    TestRequest::post()
        .uri(uri)
        .insert_header((header::COOKIE, format!("kgw_session={cookie}")))
        .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
        .set_payload(body.finish())
}

async fn key_count(o: &Office) -> usize {
    let id = o.a.id.clone();
    o.st.db.tx(move |c| ApiKey::list_for_client(c, &id)).await.unwrap().len()
}

async fn api_key_scopes_are_covered_by_the_creator(b: Backend) {
    let Some((_db, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let acc = login(&app, ACC_READ).await;
    hold(&o, &[], false).await;
    let scope_sets = subsets(&ApiScope::ALL);
    let mut created = key_count(&o).await;
    let mut checked = 0;
    // The accountant: every held set × every scope set, by the API and by the panel form.
    let mut held_sets = subsets(&HELD_AXES);
    held_sets.push(Vec::new());
    for held in &held_sets {
        hold(&o, held, false).await;
        let held: PermissionSet = held.iter().copied().collect();
        for scopes in &scope_sets {
            let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
            // The rule, spelled out here rather than taken from the code under test.
            let wanted: PermissionSet = scopes.iter().map(|s| s.permission()).collect();
            let (status, code) = expected(held, wanted);
            let ctx = format!("accountant holding [{held}] asks for a key with [{}]", names.join(","));

            let r = call(
                &app,
                acc.apply(
                    TestRequest::post()
                        .uri(&format!("/api/v1/clients/{NIP_A}/api-keys"))
                        .set_json(json!({"name": "ERP", "scopes": names})),
                ),
            )
            .await;
            assert_eq!(r.status, status, "API: {ctx}: {}", r.text());
            if status.is_success() {
                created += 1;
            } else {
                assert_eq!(r.json()["error"]["code"], code, "API: {ctx}");
                assert!(r.json()["key"].is_null(), "API: {ctx}");
            }

            let mut fields = vec![("nazwa", "ERP")];
            fields.extend(names.iter().map(|n| ("zakresy", *n)));
            let r = call(&app, panel_form(&acc, &format!("/klienci/{NIP_A}/klucze"), &fields)).await;
            let panel_status = if status.is_success() { StatusCode::OK } else { status };
            assert_eq!(r.status, panel_status, "panel: {ctx}: {}", r.text());
            if status.is_success() {
                created += 1;
                assert!(r.text().contains("kgw_"), "panel: {ctx}");
            } else {
                assert!(!r.text().contains("kgw_"), "panel: {ctx}");
                if code == "scope_not_held" {
                    assert!(r.text().contains("których sam nie masz"), "panel: {ctx}: {}", r.text());
                }
            }
            assert_eq!(key_count(&o).await, created, "nothing created on refusal: {ctx}");
            checked += 2;
        }
    }
    assert_eq!(checked, 2 * 16 * 15);

    // Office admins and a client's own board members hold everything there: every scope set
    // passes; a board member of another company does not even see the client.
    let admin = login(&app, ADMIN).await;
    let board_a = login(&app, BOARD_A).await;
    let board_b = login(&app, BOARD_B).await;
    for scopes in &scope_sets {
        let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
        for (who, status) in [
            (&admin, StatusCode::CREATED),
            (&board_a, StatusCode::CREATED),
            (&board_b, StatusCode::NOT_FOUND),
        ] {
            let r = call(
                &app,
                who.apply(
                    TestRequest::post()
                        .uri(&format!("/api/v1/clients/{NIP_A}/api-keys"))
                        .set_json(json!({"scopes": names})),
                ),
            )
            .await;
            assert_eq!(r.status, status, "{names:?}: {}", r.text());
        }
    }
    // A key itself never mints keys.
    let r = call(
        &app,
        Who::Key(o.key_a_submit.clone()).apply(
            TestRequest::post()
                .uri(&format!("/api/v1/clients/{NIP_A}/api-keys"))
                .set_json(json!({"scopes": ["read"]})),
        ),
    )
    .await;
    assert_eq!((r.status, r.json()["error"]["code"].clone()), (StatusCode::FORBIDDEN, json!("forbidden")));

    // The escalation of #20, end to end: `users` alone, a key asking for everything, refused;
    // and nothing that was refused ever worked.
    hold(&o, &[Permission::Users], false).await;
    let r = call(
        &app,
        acc.apply(
            TestRequest::post()
                .uri(&format!("/api/v1/clients/{NIP_A}/api-keys"))
                .set_json(json!({"scopes": ["read", "submit", "send", "purchase"]})),
        ),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["error"]["code"].clone()),
        (StatusCode::FORBIDDEN, json!("scope_not_held"))
    );
}

async fn grants_are_covered_by_the_grantor(b: Backend) {
    let Some((_db, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let acc = login(&app, ACC_READ).await;
    let wanted_sets = subsets(&HELD_AXES);
    let mut held_sets = subsets(&HELD_AXES);
    held_sets.push(Vec::new());
    let mut checked = 0;
    for held in &held_sets {
        hold(&o, held, true).await;
        let held: PermissionSet = held.iter().copied().collect();
        for wanted in &wanted_sets {
            let wanted: PermissionSet = wanted.iter().copied().collect();
            let (status, code) = expected(held, wanted);
            let ctx = format!("accountant holding [{held}] delegates [{wanted}]");
            let names: Vec<String> = wanted.iter().map(|p| p.as_str().to_owned()).collect();
            let r = call(
                &app,
                acc.apply(
                    TestRequest::post()
                        .uri(&format!("/api/v1/clients/{NIP_A}/grants"))
                        .set_json(json!({"user_email": ACC_NONE, "permissions": names})),
                ),
            )
            .await;
            assert_eq!(r.status, status, "API: {ctx}: {}", r.text());
            if !status.is_success() {
                assert_eq!(r.json()["error"]["code"], code, "API: {ctx}");
            }
            let mut fields = vec![("email", ACC_NONE)];
            fields.extend(names.iter().map(|n| ("uprawnienia", n.as_str())));
            let r = call(&app, panel_form(&acc, &format!("/klienci/{NIP_A}/dostepy/nadaj"), &fields)).await;
            let panel_status = if status.is_success() { StatusCode::SEE_OTHER } else { status };
            assert_eq!(r.status, panel_status, "panel: {ctx}: {}", r.text());
            checked += 2;
        }
    }
    assert_eq!(checked, 2 * 16 * 15);
    // Everything ACC_NONE ever got derived from the grantor's grant, and went with it.
    let none_id = o.st.db.tx(|c| User::find_by_email(c, ACC_NONE)).await.unwrap().unwrap().id;
    let live = o.st.db.tx(move |c| Grant::live_for_user(c, &none_id, None)).await.unwrap();
    assert!(live.is_empty(), "{live:?}");
}
