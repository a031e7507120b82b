//! Logging in and out, session tokens, CSRF, API keys, throttling, delegation, and secrets
//! that never appear in storage or logs.

use std::io::Write;
use std::sync::{Arc, Mutex};

use actix_web::http::{header, StatusCode};
use actix_web::test::TestRequest;
use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::json;

use crate::both_backends;
use crate::common::{Backend, TestDb};
use crate::office::{
    app, call, invoice, login, office, upload, Who, ACC_FULL, ACC_NONE, ACC_READ, ADMIN, BOARD_A, NIP_A,
    PASSWORD,
};

both_backends!(
    sessions_are_strict_and_logout_really_ends_them,
    forged_expired_and_foreign_tokens_are_refused,
    api_keys_are_shown_once_and_revocation_is_immediate,
    a_key_in_use_reads_while_a_writer_holds_the_keys,
    logins_are_throttled_per_account,
    delegation_derives_and_revocation_cascades,
    no_secret_in_storage_or_logs,
);

async fn sessions_are_strict_and_logout_really_ends_them(b: Backend) {
    let Some((_db, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let r = call(
        &app,
        TestRequest::post().uri("/api/v1/session").set_json(json!({"email": ADMIN, "password": PASSWORD})),
    )
    .await;
    let cookie = r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"),
        "{cookie}"
    );
    // Wrong password and unknown account: the same answer.
    for (email, pw) in [(ADMIN, "wrong password!!"), ("ghost@biuro.test", PASSWORD)] {
        let r = call(
            &app,
            TestRequest::post().uri("/api/v1/session").set_json(json!({"email": email, "password": pw})),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.json()["error"]["code"], "unauthenticated");
    }
    let who = login(&app, ACC_FULL).await;
    let Who::Session { cookie, csrf } = who.clone() else { unreachable!() };
    assert_eq!(call(&app, who.apply(TestRequest::get().uri("/api/v1/me"))).await.json()["email"], ACC_FULL);
    // A state-changing call with the cookie but without the CSRF token is refused.
    let no_csrf = TestRequest::post()
        .uri(&format!("/api/v1/invoices?nip={NIP_A}"))
        .insert_header((header::COOKIE, format!("kgw_session={cookie}")))
        .set_payload(invoice(NIP_A, "FV/CSRF/1"));
    let r = call(&app, no_csrf).await;
    assert_eq!((r.status, r.json()["error"]["code"].clone()), (StatusCode::FORBIDDEN, json!("csrf_failed")));
    let wrong = Who::Session { cookie: cookie.clone(), csrf: "00".repeat(32) };
    assert_eq!(
        upload(&app, &wrong, Some(NIP_A), invoice(NIP_A, "FV/CSRF/2")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        upload(&app, &who, Some(NIP_A), invoice(NIP_A, "FV/CSRF/3")).await.status,
        StatusCode::CREATED
    );
    // Logout: the same cookie, replayed, no longer works.
    assert_eq!(
        call(&app, who.apply(TestRequest::delete().uri("/api/v1/session"))).await.status,
        StatusCode::NO_CONTENT
    );
    let r = call(&app, who.apply(TestRequest::get().uri("/api/v1/me"))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let _ = csrf;
}

#[derive(serde::Serialize)]
struct Claims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: &'a str,
    sid: &'a str,
    iat: i64,
    nbf: i64,
    exp: i64,
}

async fn forged_expired_and_foreign_tokens_are_refused(b: Backend) {
    let Some((_db, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let Who::Session { cookie, csrf } = login(&app, ADMIN).await else { unreachable!() };
    let claims = o.st.session_keys.check(&cookie).unwrap();
    let now = chrono::Utc::now().timestamp();
    let mint = |key: &[u8], iss: &str, aud: &str, exp: i64| {
        encode(
            &Header::default(),
            &Claims { iss, aud, sub: &claims.sub, sid: &claims.sid, iat: now, nbf: now, exp },
            &EncodingKey::from_secret(key),
        )
        .unwrap()
    };
    let expired =
        o.st.session_keys
            .issue(&claims.user_id().unwrap(), &claims.session_id().unwrap(), now - 7200, 900)
            .unwrap();
    for (what, token) in [
        (
            "forged with another key",
            mint(b"not the gateway's key", "ksef-gateway/panel", "ksef-gateway", now + 600),
        ),
        ("expired", expired),
        ("tampered", format!("{cookie}x")),
        ("unsigned", format!("{}.", cookie.rsplit_once('.').unwrap().0)),
    ] {
        let who = Who::Session { cookie: token, csrf: csrf.clone() };
        let r = call(&app, who.apply(TestRequest::get().uri("/api/v1/me"))).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}");
    }
}

async fn api_keys_are_shown_once_and_revocation_is_immediate(b: Backend) {
    let Some((_db, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let admin = login(&app, ADMIN).await;
    let created = call(
        &app,
        admin.apply(
            TestRequest::post()
                .uri(&format!("/api/v1/clients/{NIP_A}/api-keys"))
                .set_json(json!({"name": "Sklep", "scopes": ["submit", "read"]})),
        ),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let key = created.json()["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("kgw_") && key.len() > 70);
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let listed =
        call(&app, admin.apply(TestRequest::get().uri(&format!("/api/v1/clients/{NIP_A}/api-keys")))).await;
    assert!(!listed.text().contains(&key[16..]), "the list never shows a key");
    let who = Who::Key(key.clone());
    assert_eq!(
        call(&app, who.apply(TestRequest::get().uri("/api/v1/invoices"))).await.status,
        StatusCode::OK
    );
    // A key with one character changed is refused, and so is a revoked key.
    let mut wrong = key.clone().into_bytes();
    let last = wrong.len() - 1;
    wrong[last] = if wrong[last] == b'0' { b'1' } else { b'0' };
    let r = call(
        &app,
        Who::Key(String::from_utf8(wrong).unwrap()).apply(TestRequest::get().uri("/api/v1/invoices")),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r =
        call(&app, admin.apply(TestRequest::delete().uri(&format!("/api/v1/clients/{NIP_A}/api-keys/{id}"))))
            .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        call(&app, who.apply(TestRequest::get().uri("/api/v1/invoices"))).await.status,
        StatusCode::UNAUTHORIZED
    );
    // An expired key is refused.
    let past = call(
        &app,
        admin.apply(
            TestRequest::post()
                .uri(&format!("/api/v1/clients/{NIP_A}/api-keys"))
                .set_json(json!({"scopes": ["read"], "expires_at": "2020-01-01"})),
        ),
    )
    .await;
    let old = Who::Key(past.json()["key"].as_str().unwrap().to_owned());
    assert_eq!(
        call(&app, old.apply(TestRequest::get().uri("/api/v1/invoices"))).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Another instance of the gateway revokes a key this one verified a moment ago (written
    // straight to the shared database): it is refused here within a second.
    let other = call(
        &app,
        admin.apply(
            TestRequest::post()
                .uri(&format!("/api/v1/clients/{NIP_A}/api-keys"))
                .set_json(json!({"scopes": ["read"]})),
        ),
    )
    .await;
    let other_id = ksef_gateway::domain::ApiKeyId::parse(other.json()["id"].as_str().unwrap()).unwrap();
    let other = Who::Key(other.json()["key"].as_str().unwrap().to_owned());
    assert_eq!(
        call(&app, other.apply(TestRequest::get().uri("/api/v1/invoices"))).await.status,
        StatusCode::OK
    );
    let client_a = o.a.id.clone();
    o.st.db
        .run(move |c| {
            let key = ksef_gateway::db::models::ApiKey::list_for_client(c, &client_a)?
                .into_iter()
                .find(|k| k.id == other_id)
                .unwrap();
            ksef_gateway::db::models::ApiKey::revoke(
                c,
                &key.client_id,
                &key.id,
                chrono::Utc::now().naive_utc(),
            )
        })
        .await
        .unwrap();
    tokio::time::sleep(ksef_gateway::auth::verified_keys::RECHECK_AFTER).await;
    assert_eq!(
        call(&app, other.apply(TestRequest::get().uri("/api/v1/invoices"))).await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// A key used within the last minute is not written to again: reading with it does not wait
/// for a writer (on SQLite even an UPDATE matching no row took the write lock, so every API
/// read queued behind every write).
async fn a_key_in_use_reads_while_a_writer_holds_the_keys(b: Backend) {
    let Some((db, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let who = Who::Key(o.key_a_submit.clone());
    let first = call(&app, who.apply(TestRequest::get().uri("/api/v1/invoices"))).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    let writer = hold_api_keys(&db, b);
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        call(&app, who.apply(TestRequest::get().uri("/api/v1/invoices"))),
    )
    .await;
    drop(writer);
    let Ok(read) = read else { panic!("the read waited for the writer") };
    assert_eq!(read.status, StatusCode::OK, "{}", read.text());
}

/// Another connection that holds a write lock covering `api_keys` until it is dropped.
fn hold_api_keys(db: &TestDb, b: Backend) -> Box<dyn diesel::connection::SimpleConnection> {
    use diesel::connection::SimpleConnection as _;
    use diesel::Connection as _;
    match b {
        Backend::Sqlite => {
            let mut c = diesel::SqliteConnection::establish(db.url.trim_start_matches("sqlite://")).unwrap();
            c.batch_execute("BEGIN IMMEDIATE").unwrap();
            Box::new(c)
        }
        Backend::Pg => {
            let mut c = diesel::PgConnection::establish(&db.url).unwrap();
            c.batch_execute("BEGIN; LOCK TABLE api_keys IN EXCLUSIVE MODE").unwrap();
            Box::new(c)
        }
    }
}

async fn logins_are_throttled_per_account(b: Backend) {
    let Some(t) = crate::common::TestDb::new(b) else { return };
    let mut settings = t.settings();
    settings.auth.login_per_account_per_min = 3;
    let st = t.state_with(settings);
    let app = app(&st).await;
    let body = json!({"email": "someone@biuro.test", "password": "guess guess guess"});
    for _ in 0..3 {
        let r = call(&app, TestRequest::post().uri("/api/v1/session").set_json(&body)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = call(&app, TestRequest::post().uri("/api/v1/session").set_json(&body)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers.get(header::RETRY_AFTER).is_some());
}

async fn delegation_derives_and_revocation_cascades(b: Backend) {
    let Some((_db, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let full = login(&app, ACC_FULL).await;
    let read = login(&app, ACC_READ).await;
    let none = login(&app, ACC_NONE).await;
    let grant = |perms: Vec<&str>, delegate: bool| {
        TestRequest::post()
            .uri(&format!("/api/v1/clients/{NIP_A}/grants"))
            .set_json(json!({"user_email": ACC_NONE, "permissions": perms, "can_delegate": delegate}))
    };
    // A read-only accountant cannot pass anything on.
    assert_eq!(call(&app, read.apply(grant(vec!["read"], false))).await.status, StatusCode::FORBIDDEN);
    // The delegating accountant passes on read+upload; the grant records its parent.
    let r = call(&app, full.apply(grant(vec!["read", "upload"], false))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert!(r.json()["parent_grant_id"].is_string());
    assert_eq!(
        upload(&app, &none, Some(NIP_A), invoice(NIP_A, "FV/DEL/1")).await.status,
        StatusCode::CREATED
    );
    // The board member of A revokes the office accountant's own grant: what derives from it goes too.
    let board = login(&app, BOARD_A).await;
    let grants = call(&app, board.apply(TestRequest::get().uri(&format!("/api/v1/clients/{NIP_A}/grants"))))
        .await
        .json();
    let root = grants["grants"].as_array().unwrap().iter().find(|g| g["user_email"] == ACC_FULL).unwrap()
        ["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = call(&app, board.apply(TestRequest::delete().uri(&format!("/api/v1/grants/{root}")))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["revoked"].as_array().unwrap().len(), 2);
    assert_eq!(
        upload(&app, &none, Some(NIP_A), invoice(NIP_A, "FV/DEL/2")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&app, full.apply(TestRequest::get().uri(&format!("/api/v1/invoices?nip={NIP_A}")))).await.status,
        StatusCode::NOT_FOUND
    );
    // Who did what is in the audit trail.
    let admin = login(&app, ADMIN).await;
    let trail =
        call(&app, admin.apply(TestRequest::get().uri(&format!("/api/v1/audit?nip={NIP_A}&format=json"))))
            .await
            .json();
    let actions: Vec<&str> =
        trail["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"grant.created") && actions.contains(&"grant.revoked"), "{actions:?}");
    assert_eq!(trail["chain"]["intact"], true);
}

/// A `MakeWriter` that keeps everything logged in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything this test binary logs at any level, from the moment the first secrets test runs.
/// A global subscriber, because a thread-local one misses events whose call sites other test
/// threads already registered while nobody listened.
fn captured_logs() -> Captured {
    static LOGS: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Captured::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        logs
    })
    .clone()
}

async fn no_secret_in_storage_or_logs(b: Backend) {
    let logs = captured_logs();
    let Some((db, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let admin = login(&app, ADMIN).await;
    let token = "20261201-EC-SECRET-token-f00dfeed-cafe";
    let r = call(
        &app,
        admin.apply(
            TestRequest::put()
                .uri(&format!("/api/v1/clients/{NIP_A}/credential"))
                .set_json(json!({"ksef_token": token})),
        ),
    )
    .await;
    // This office's KSeF cannot be reached, so the token fails its check and is not stored.
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!r.text().contains("f00dfeed"), "the credential route never repeats the secret");
    let key = call(
        &app,
        admin.apply(
            TestRequest::post()
                .uri(&format!("/api/v1/clients/{NIP_A}/api-keys"))
                .set_json(json!({"scopes": ["read"]})),
        ),
    )
    .await
    .json()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let secrets = [token, &key[16..], PASSWORD, &o.key_a_submit[16..]];
    let logged = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(!logged.is_empty(), "the capture works");
    for s in secrets {
        assert!(!logged.contains(s), "a secret was logged");
    }
    let dump = crate::common::dump(&db, b);
    assert!(crate::common::contains(&dump, "Firma 9999999999"), "the dump is readable");
    for s in secrets {
        assert!(!crate::common::contains(&dump, s), "a secret is stored in clear");
    }
    let _ = NIP_A;
}
