//! The API's contract at its edges (#19, #20): 403 for what a visible client's caller may not
//! do, 405 for a known route asked with another method, the JSON error shape for errors actix
//! raises itself, query strings checked strictly (unknown parameters, bounds, inverted ranges,
//! formats) while empty optional parameters mean "not given", the auth scheme read
//! case-insensitively, a foreign Origin refused on cookie-authenticated changes, login
//! throttles per account and source, and names and e-mails checked on input.

use actix_web::http::{header, StatusCode};
use actix_web::test::TestRequest;
use secrecy::SecretString;
use serde_json::json;

use ksef_gateway::auth::{PermissionSet, Role};
use ksef_gateway::domain::{KsefTarget, Nip, SendPolicy};
use ksef_gateway::service::access::Caller;
use ksef_gateway::service::{clients, grants, users};

use crate::both_backends;
use crate::common::{Backend, TestDb};
use crate::office::{
    app, call, invoice, login, office, upload, Resp, Who, ACC_NONE, ADMIN, NIP_A, NIP_B, PASSWORD,
};

both_backends!(
    visible_but_not_permitted_is_403,
    query_strings_are_checked_strictly,
    errors_keep_the_json_shape,
    origin_is_checked_on_cookie_changes,
    names_and_emails_are_checked_on_input
);

fn code(r: &Resp) -> String {
    r.json()["error"]["code"].as_str().unwrap_or_default().to_owned()
}

async fn key(st: &ksef_gateway::state::AppState, nip: &str, scopes: &str) -> Who {
    Who::Key(crate::common::erp_key(st, nip, scopes).await)
}

async fn visible_but_not_permitted_is_403(b: Backend) {
    let Some((_db, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let admin = login(&app, ADMIN).await;
    let up = upload(&app, &admin, Some(NIP_A), invoice(NIP_A, "FV/403/1")).await;
    let id = up.json()["invoices"][0]["id"].as_str().unwrap().to_owned();
    let up = upload(&app, &admin, Some(NIP_B), invoice(NIP_B, "FV/403/2")).await;
    let foreign = up.json()["invoices"][0]["id"].as_str().unwrap().to_owned();

    // A key that may only upload sees its own client, but may not read its invoices.
    let submit = key(&o.st, NIP_A, "submit").await;
    for uri in [format!("/api/v1/invoices/{id}"), format!("/api/v1/invoices/{id}/xml")] {
        let r = call(&app, submit.apply(TestRequest::get().uri(&uri))).await;
        assert_eq!((r.status, code(&r)), (StatusCode::FORBIDDEN, "forbidden".into()), "{uri}: {}", r.text());
        assert!(!r.text().contains("FV/403/1"));
    }
    // ... while another client's invoice stays as if it did not exist.
    let r = call(&app, submit.apply(TestRequest::get().uri(&format!("/api/v1/invoices/{foreign}")))).await;
    assert_eq!((r.status, code(&r)), (StatusCode::NOT_FOUND, "not_found".into()));
    // A read-only key may not decide to send its client's invoice: 403, not 404.
    let read = key(&o.st, NIP_A, "read").await;
    let r = call(
        &app,
        read.apply(TestRequest::post().uri("/api/v1/invoices/send").set_json(json!({"ids": [id]}))),
    )
    .await;
    assert_eq!((r.status, code(&r)), (StatusCode::FORBIDDEN, "forbidden".into()), "{}", r.text());
    // "Statusy w KSeF" sets the senders going: a write scope, not a read one.
    let refresh = format!("/api/v1/clients/{NIP_A}/status-refresh");
    let r = call(&app, read.apply(TestRequest::post().uri(&refresh))).await;
    assert_eq!((r.status, code(&r)), (StatusCode::FORBIDDEN, "forbidden".into()), "{}", r.text());
    let r = call(&app, submit.apply(TestRequest::post().uri(&refresh))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    let r =
        call(&app, read.apply(TestRequest::post().uri(&format!("/api/v1/clients/{NIP_B}/status-refresh"))))
            .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // An accountant who manages access to A without reading its invoices: A is visible (the
    // API's key list, the panel's dashboard and pages), its invoices are 403, B stays 404.
    let input = grants::GrantInput {
        user_email: ACC_NONE.into(),
        client_id: o.a.id.clone(),
        permissions: PermissionSet::parse("users").unwrap(),
        can_delegate: false,
    };
    grants::grant(&o.st, &Caller::Operator, input).await.unwrap();
    let manager = login(&app, ACC_NONE).await;
    let r =
        call(&app, manager.apply(TestRequest::get().uri(&format!("/api/v1/clients/{NIP_A}/api-keys")))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = call(&app, manager.apply(TestRequest::get().uri("/api/v1/clients"))).await;
    assert_eq!(r.json()["clients"].as_array().map(Vec::len), Some(1), "{}", r.text());
    let r = call(&app, manager.apply(TestRequest::get().uri(&format!("/api/v1/invoices?nip={NIP_A}")))).await;
    assert_eq!((r.status, code(&r)), (StatusCode::FORBIDDEN, "forbidden".into()));
    let r = call(&app, manager.apply(TestRequest::get().uri(&format!("/api/v1/invoices/{id}")))).await;
    assert_eq!((r.status, code(&r)), (StatusCode::FORBIDDEN, "forbidden".into()));
    let r =
        call(&app, manager.apply(TestRequest::get().uri(&format!("/api/v1/clients/{NIP_B}/api-keys")))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = call(&app, manager.apply(TestRequest::get().uri("/"))).await;
    assert!(r.status == StatusCode::OK && r.text().contains(NIP_A), "{}", r.text());
    let r = call(&app, manager.apply(TestRequest::get().uri(&format!("/klienci/{NIP_A}")))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(!r.text().contains("FV/403/1") && !r.text().contains("id=\"statusy\""), "{}", r.text());
    let r = call(&app, manager.apply(TestRequest::get().uri(&format!("/klienci/{NIP_A}/dostepy")))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // Its forms offer only what the manager holds: `users` to delegate, no key scope at all.
    let page = r.text();
    assert!(page.contains("id=\"p-users\"") && !page.contains("id=\"p-read\""), "{page}");
    assert!(!page.contains("id=\"z-read\"") && !page.contains("id=\"z-send\""), "{page}");

    // The auth scheme is case-insensitive.
    let Who::Key(k) = &read else { unreachable!() };
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let r = call(
            &app,
            TestRequest::get()
                .uri("/api/v1/me")
                .insert_header((header::AUTHORIZATION, format!("{scheme} {k}"))),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{scheme}: {}", r.text());
    }
    // A CSRF failure is a refusal (403), with its own code.
    let Who::Session { cookie, .. } = &admin else { unreachable!() };
    let r = call(
        &app,
        TestRequest::post()
            .uri(&refresh)
            .insert_header((header::COOKIE, format!("kgw_session={cookie}")))
            .insert_header(("X-CSRF-Token", "00")),
    )
    .await;
    assert_eq!((r.status, code(&r)), (StatusCode::FORBIDDEN, "csrf_failed".into()));
}

async fn query_strings_are_checked_strictly(b: Backend) {
    let Some((_db, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let admin = login(&app, ADMIN).await;
    let get = |uri: &str| admin.apply(TestRequest::get().uri(uri));
    for (uri, status, expected) in [
        ("/api/v1/invoices?limit=abc", StatusCode::BAD_REQUEST, "invalid_query"),
        ("/api/v1/invoices?limit=-1", StatusCode::BAD_REQUEST, "invalid_query"),
        ("/api/v1/invoices?limit=0", StatusCode::BAD_REQUEST, "invalid_query"),
        ("/api/v1/invoices?limit=1001", StatusCode::BAD_REQUEST, "invalid_query"),
        ("/api/v1/invoices?number=FV1", StatusCode::BAD_REQUEST, "invalid_query"),
        ("/api/v1/invoices?from=2026-12-02&to=2026-12-01", StatusCode::BAD_REQUEST, "invalid_range"),
        ("/api/v1/audit?format=xlsx", StatusCode::BAD_REQUEST, "unsupported_format"),
        ("/api/v1/audit?from=2026-12-02&to=2026-12-01", StatusCode::BAD_REQUEST, "invalid_range"),
        ("/api/v1/audit?number=1", StatusCode::BAD_REQUEST, "invalid_query"),
    ] {
        let r = call(&app, get(uri)).await;
        assert_eq!((r.status, code(&r)), (status, expected.to_owned()), "{uri}: {}", r.text());
        assert!(r.json()["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{uri}");
        assert!(r.json()["error"]["details"].is_array(), "{uri}");
    }
    // Empty optional parameters (as forms send them) mean "not given".
    for uri in [
        format!("/api/v1/invoices?nip={NIP_A}&state=&from=&to=&limit=&cursor="),
        "/api/v1/invoices?limit=1".to_owned(),
        "/api/v1/invoices?limit=1000".to_owned(),
        "/api/v1/audit?from=&to=&nip=&user=&format=".to_owned(),
        "/api/v1/audit?from=2026-12-01&to=2026-12-01&format=csv".to_owned(),
    ] {
        let r = call(&app, get(&uri)).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text());
    }
    // The panel's export form says so in Polish before sending the browser to the API.
    let r = call(&app, get("/audyt/pobierz?from=2026-12-05&to=2026-12-01&format=csv")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(r.text().contains("Data początkowa jest późniejsza"), "{}", r.text());
    let r = call(&app, get("/audyt/pobierz?from=2026-12-01&to=2026-12-01&format=csv")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "one day is a valid range");
    let r = call(&app, get("/api/v1/audit?format=json")).await;
    assert!(r.headers.get(header::CONTENT_TYPE).unwrap().to_str().unwrap().starts_with("application/json"));
}

async fn errors_keep_the_json_shape(b: Backend) {
    let Some(t) = TestDb::new(b) else { return };
    let mut settings = t.settings();
    settings.intake.max_upload_bytes = 4096;
    let st = t.state_with(settings);
    let ksef = KsefTarget::parse("http://127.0.0.1:9/v2").unwrap();
    let input = clients::NewClientInput {
        nip: Nip::parse(NIP_A).unwrap(),
        name: "Firma A".into(),
        ksef,
        policy: SendPolicy::Manual,
    };
    clients::add_client(&st, input, SecretString::from("20261201-EC-TEST-token-secret-value"), None)
        .await
        .unwrap();
    let submit = key(&st, NIP_A, "submit,read").await;
    let app = app(&st).await;
    // A body over the upload limit: 413, in the error shape, not actix's plain text.
    let r = upload(&app, &submit, None, vec![b'x'; 10_000]).await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large".into()),
        "{}",
        r.text()
    );
    // A JSON body over its limit likewise.
    let big = json!({"email": "a@b.pl", "password": "x".repeat(2 << 20)});
    let r = call(&app, TestRequest::post().uri("/api/v1/session").set_json(big)).await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large".into()),
        "{}",
        r.text()
    );
    // Known routes asked with a method they do not take: 405; unknown routes: 404.
    for (method, uri) in [
        ("DELETE", "/api/v1/invoices".to_owned()),
        ("PUT", format!("/api/v1/clients/{NIP_A}/grants")),
        ("GET", format!("/api/v1/clients/{NIP_A}/status-refresh")),
        ("PATCH", "/api/v1/session".to_owned()),
    ] {
        let r =
            call(&app, submit.apply(TestRequest::default().method(method.parse().unwrap()).uri(&uri))).await;
        assert_eq!(
            (r.status, code(&r)),
            (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed".into()),
            "{method} {uri}: {}",
            r.text()
        );
    }
    let r = call(&app, submit.apply(TestRequest::delete().uri("/api/v1/nothing-here"))).await;
    assert_eq!((r.status, code(&r)), (StatusCode::NOT_FOUND, "not_found".into()));

    // Five wrong passwords from one address: that address waits, the owner elsewhere does not.
    let input = users::NewUserInput {
        email: "owner@biuro.test".into(),
        display_name: String::new(),
        role: Role::Accountant,
        nip: None,
    };
    users::create_user(&st, &Caller::Operator, input, SecretString::from(PASSWORD)).await.unwrap();
    let attempt = |ip: &str, password: &str| {
        TestRequest::post()
            .uri("/api/v1/session")
            .peer_addr(format!("{ip}:40000").parse().unwrap())
            .set_json(json!({"email": "owner@biuro.test", "password": password}))
    };
    for _ in 0..5 {
        assert_eq!(
            call(&app, attempt("198.51.100.66", "wrong password here")).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let r = call(&app, attempt("198.51.100.66", PASSWORD)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "the guessing address is throttled");
    let r = call(&app, attempt("192.0.2.10", PASSWORD)).await;
    assert_eq!(r.status, StatusCode::OK, "the owner from a clean address logs in: {}", r.text());
}

async fn origin_is_checked_on_cookie_changes(b: Backend) {
    let Some((_db, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let admin = login(&app, ADMIN).await;
    let Who::Session { cookie, csrf } = admin.clone() else { unreachable!() };
    let panel = |origin: Option<(&'static str, &'static str)>| {
        let mut req = TestRequest::post()
            .uri(&format!("/klienci/{NIP_A}/statusy"))
            .insert_header((header::HOST, "gw.biuro.test"))
            .insert_header((header::COOKIE, format!("kgw_session={cookie}")))
            .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
            .set_payload(format!("csrf={csrf}"));
        if let Some(h) = origin {
            req = req.insert_header(h);
        }
        req
    };
    for (origin, status) in [
        (None, StatusCode::SEE_OTHER),
        (Some(("Origin", "https://gw.biuro.test")), StatusCode::SEE_OTHER),
        (Some(("Referer", "https://gw.biuro.test/klienci")), StatusCode::SEE_OTHER),
        (Some(("Origin", "https://evil.example")), StatusCode::FORBIDDEN),
        (Some(("Origin", "https://gw.biuro.test.evil.example")), StatusCode::FORBIDDEN),
        (Some(("Referer", "https://evil.example/gw.biuro.test")), StatusCode::FORBIDDEN),
        (Some(("Origin", "null")), StatusCode::FORBIDDEN),
    ] {
        let r = call(&app, panel(origin)).await;
        assert_eq!(r.status, status, "{origin:?}: {}", r.text());
    }
    // The API with the cookie and a valid token, from another site: refused with its own code.
    let r = call(
        &app,
        admin.apply(
            TestRequest::post()
                .uri(&format!("/api/v1/clients/{NIP_A}/status-refresh"))
                .insert_header((header::ORIGIN, "https://evil.example")),
        ),
    )
    .await;
    assert_eq!((r.status, code(&r)), (StatusCode::FORBIDDEN, "origin_mismatch".into()), "{}", r.text());
    // API keys carry no ambient credential: no Origin check for them.
    let r = call(
        &app,
        Who::Key(o.key_a_submit.clone()).apply(
            TestRequest::post()
                .uri(&format!("/api/v1/clients/{NIP_A}/status-refresh"))
                .insert_header((header::ORIGIN, "https://erp.example")),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
}

async fn names_and_emails_are_checked_on_input(b: Backend) {
    let Some((_db, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let admin = login(&app, ADMIN).await;
    let user = |email: &str, name: &str| {
        admin.apply(TestRequest::post().uri("/api/v1/users").set_json(json!({
            "email": email, "display_name": name, "role": "accountant", "password": "a long enough password 1",
        })))
    };
    for (email, name) in [
        ("\"><script>@x", "Anna"),
        ("anna@x", "Anna"),
        ("anna@biuro.test", "Anna\u{0}Nowak"),
        ("anna@biuro.test", "Anna\u{202E}kawoN"),
        ("anna@biuro.test", "Anna\u{2066}Nowak"),
        ("anna@biuro.test", "Anna\u{1b}[31m"),
    ] {
        let r = call(&app, user(email, name)).await;
        assert_eq!(
            (r.status, code(&r)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input".into()),
            "{email:?} {name:?}"
        );
    }
    let r = call(&app, user("Anna@Biuro.Test", "Anna Nowak-Żółć")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["email"], "anna@biuro.test");
    // An API key's name, and a client's name (CLI and service).
    let r = call(
        &app,
        admin.apply(
            TestRequest::post()
                .uri(&format!("/api/v1/clients/{NIP_A}/api-keys"))
                .set_json(json!({"name": "ERP\u{202E}", "scopes": ["read"]})),
        ),
    )
    .await;
    assert_eq!((r.status, code(&r)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input".into()));
    let input = clients::NewClientInput {
        nip: Nip::parse("1132853869").unwrap(),
        name: "Firma\u{0}C".into(),
        ksef: KsefTarget::parse("http://127.0.0.1:9/v2").unwrap(),
        policy: SendPolicy::Manual,
    };
    let refused =
        clients::add_client(&o.st, input, SecretString::from("20261201-EC-TEST-token-secret-value"), None)
            .await;
    assert!(matches!(refused, Err(ksef_gateway::error::AppError::Invalid { .. })));
}
