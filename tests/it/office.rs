//! A demo-like office for tests: two client companies, a person of each role, API keys, and
//! helpers to call the HTTP app in-process as any of them.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::test::{self, TestRequest};
use actix_web::App;
use secrecy::SecretString;
use serde_json::Value;

use ksef_gateway::auth::{PermissionSet, Role};
use ksef_gateway::db::models::Client;
use ksef_gateway::domain::{KsefTarget, Nip, SendPolicy};
use ksef_gateway::service::access::Caller;
use ksef_gateway::service::{clients, grants, users};
use ksef_gateway::state::AppState;

use crate::common::{Backend, TestDb};

/// Seller NIP of the official FA(3) samples.
pub const NIP_A: &str = "9999999999";
/// Another valid NIP (checksum), a client that nobody in A's team may see.
pub const NIP_B: &str = "5260250274";
pub const PASSWORD: &str = "correct horse battery staple";

/// An official sample invoice, byte for byte.
pub fn sample(n: u32) -> Vec<u8> {
    let path = format!(
        "{}/crates/ksef-client/tests/fixtures/examples/FA_3_Przyklad_{n}.xml",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Sample 1 with the seller's NIP and the invoice number replaced (the only changes).
pub fn invoice(seller_nip: &str, number: &str) -> Vec<u8> {
    let text = String::from_utf8(sample(1)).unwrap();
    let text = text.replacen("<NIP>9999999999</NIP>", &format!("<NIP>{seller_nip}</NIP>"), 1);
    text.replace("<P_2>FV2026/02/150</P_2>", &format!("<P_2>{number}</P_2>")).into_bytes()
}

/// Everyone in the test office.
pub struct Office {
    pub st: AppState,
    pub a: Client,
    pub b: Client,
    /// API keys of client A: (submit,read) and (send,read).
    pub key_a_submit: String,
    pub key_a_send: String,
    pub key_b: String,
}

/// The people, by e-mail; every one has `PASSWORD`.
pub const ADMIN: &str = "admin@biuro.test";
pub const ACC_FULL: &str = "pelna@biuro.test"; // every permission on A, may delegate
pub const ACC_READ: &str = "odczyt@biuro.test"; // read only on A
pub const ACC_NONE: &str = "nic@biuro.test"; // nothing anywhere
pub const BOARD_A: &str = "zarzad@firma-a.test";
pub const BOARD_B: &str = "zarzad@firma-b.test";

pub async fn office(b: Backend) -> Option<(TestDb, Office)> {
    office_with(b, SendPolicy::Manual).await
}

pub async fn office_with(b: Backend, policy_a: SendPolicy) -> Option<(TestDb, Office)> {
    office_tuned(b, policy_a, |_| ()).await
}

/// [`office_with`] with its settings adjusted by `tune` before the state is built.
pub async fn office_tuned(
    b: Backend,
    policy_a: SendPolicy,
    tune: impl FnOnce(&mut ksef_gateway::config::Settings),
) -> Option<(TestDb, Office)> {
    let t = TestDb::new(b)?;
    let mut settings = t.settings();
    settings.auth.cookie_secure = false;
    settings.auth.login_per_account_per_min = 1000;
    settings.auth.login_per_ip_per_min = 1000;
    tune(&mut settings);
    let st = t.state_with(settings);
    let ksef = KsefTarget::parse("http://127.0.0.1:9/v2").unwrap();
    let mk = |nip: &str, policy| clients::NewClientInput {
        nip: Nip::parse(nip).unwrap(),
        name: format!("Firma {nip}"),
        ksef: ksef.clone(),
        policy,
    };
    let token = |nip: &str| SecretString::from(format!("20261201-EC-TEST-{nip}-token-secret-value"));
    let a = clients::add_client(&st, mk(NIP_A, policy_a), token(NIP_A), None).await.unwrap();
    let bc = clients::add_client(&st, mk(NIP_B, SendPolicy::Manual), token(NIP_B), None).await.unwrap();
    let op = Caller::Operator;
    for (email, role, nip) in [
        (ADMIN, Role::OfficeAdmin, None),
        (ACC_FULL, Role::Accountant, None),
        (ACC_READ, Role::Accountant, None),
        (ACC_NONE, Role::Accountant, None),
        (BOARD_A, Role::BoardMember, Some(NIP_A)),
        (BOARD_B, Role::BoardMember, Some(NIP_B)),
    ] {
        let input = users::NewUserInput {
            email: email.into(),
            display_name: String::new(),
            role,
            nip: nip.map(|n| Nip::parse(n).unwrap()),
        };
        users::create_user(&st, &op, input, SecretString::from(PASSWORD)).await.unwrap();
    }
    for (email, perms, delegate) in
        [(ACC_FULL, "read,upload,send,approve,credentials,audit,users", true), (ACC_READ, "read", false)]
    {
        let input = grants::GrantInput {
            user_email: email.into(),
            client_id: a.id.clone(),
            permissions: PermissionSet::parse(perms).unwrap(),
            can_delegate: delegate,
        };
        grants::grant(&st, &op, input).await.unwrap();
    }
    let key = |nip: &'static str, scopes: &'static str| {
        let st = st.clone();
        async move { crate::common::erp_key(&st, nip, scopes).await }
    };
    let key_a_submit = key(NIP_A, "submit,read").await;
    let key_a_send = key(NIP_A, "send,read").await;
    let key_b = key(NIP_B, "submit,read,send").await;
    Some((t, Office { st, a, b: bc, key_a_submit, key_a_send, key_b }))
}

/// An HTTP response as tests look at it.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: header::HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub async fn call<S, B>(app: &S, req: TestRequest) -> Resp
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let res = match app.call(req.to_request()).await {
        Ok(res) => res,
        Err(e) => {
            let res = e.error_response();
            let status = res.status();
            let headers = res.headers().clone();
            let body =
                actix_web::body::to_bytes(res.into_body()).await.map(|b| b.to_vec()).unwrap_or_default();
            return Resp { status, headers, body };
        }
    };
    let status = res.status();
    let headers = res.headers().clone();
    let body = actix_web::body::to_bytes(res.into_body()).await.map(|b| b.to_vec()).unwrap_or_default();
    Resp { status, headers, body }
}

/// How a request authenticates.
#[derive(Debug, Clone)]
pub enum Who {
    Nobody,
    Key(String),
    /// Session cookie and CSRF token.
    Session {
        cookie: String,
        csrf: String,
    },
}

impl Who {
    pub fn apply(&self, mut req: TestRequest) -> TestRequest {
        match self {
            Who::Nobody => req,
            Who::Key(k) => req.insert_header((header::AUTHORIZATION, format!("Bearer {k}"))),
            Who::Session { cookie, csrf } => {
                req = req.insert_header((header::COOKIE, format!("kgw_session={cookie}")));
                req.insert_header(("X-CSRF-Token", csrf.clone()))
            }
        }
    }
}

/// Logs in through the API and returns the session.
pub async fn login<S, B>(app: &S, email: &str) -> Who
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    login_as(app, email, PASSWORD).await
}

/// [`login`] with another password than the office's.
pub async fn login_as<S, B>(app: &S, email: &str, password: &str) -> Who
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let r = call(
        app,
        TestRequest::post()
            .uri("/api/v1/session")
            .set_json(serde_json::json!({"email": email, "password": password})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "login {email}: {}", r.text());
    let cookie = r
        .headers
        .get_all(header::SET_COOKIE)
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            c.strip_prefix("kgw_session=").map(|rest| rest.split(';').next().unwrap_or("").to_owned())
        })
        .unwrap();
    Who::Session { cookie, csrf: r.json()["csrf_token"].as_str().unwrap().to_owned() }
}

/// The app for an office, in-process.
pub async fn app(
    st: &AppState,
) -> impl Service<actix_http::Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>
{
    test::init_service(App::new().configure(ksef_gateway::configure(st.clone()))).await
}

/// Uploads bytes as `who` for `nip` (None: the API key's own client).
pub async fn upload<S, B>(app: &S, who: &Who, nip: Option<&str>, body: Vec<u8>) -> Resp
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let uri = match nip {
        Some(n) => format!("/api/v1/invoices?nip={n}"),
        None => "/api/v1/invoices".to_owned(),
    };
    let req = TestRequest::post()
        .uri(&uri)
        .insert_header((header::CONTENT_TYPE, "application/xml"))
        .set_payload(body);
    call(app, who.apply(req)).await
}
