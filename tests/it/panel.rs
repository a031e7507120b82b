//! The web panel in-process, on both backends: session cookie flags, CSRF on forms, logout that
//! really ends the session, the same Polish 404 for foreign data, upload with findings, and the
//! send decision behind its confirmation page.

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header;
use actix_web::{test, App};
use secrecy::SecretString;

use ksef_gateway::auth::{PermissionSet, Role};
use ksef_gateway::domain::{KsefTarget, Nip, SendPolicy};
use ksef_gateway::service::access::Caller;
use ksef_gateway::service::clients::{add_client, NewClientInput};
use ksef_gateway::service::grants::{self, GrantInput};
use ksef_gateway::service::intake::{self, Source};
use ksef_gateway::service::users::{self, NewUserInput};
use ksef_gateway::state::AppState;

use crate::both_backends;
use crate::common::{Backend, TestDb};

/// The official sample FA(3) invoice; its seller (Podmiot1) has NIP 9999999999.
pub const SAMPLE: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/crates/ksef-client/tests/fixtures/examples/FA_3_Przyklad_1.xml");
pub const SELLER_NIP: &str = "9999999999";
pub const FOREIGN_NIP: &str = "5260250274";
pub const EMAIL: &str = "anna@biuro.test";
pub const PASSWORD: &str = "Anna-ma-dlugie-haslo-2026";

/// An office with the sample's seller as a client delegated to accountant Anna, and a foreign
/// client (with one invoice) she has no access to. Returns the foreign invoice's id.
pub async fn seed(st: &AppState) -> String {
    seed_at(st, "http://127.0.0.1:9/v2").await
}

/// [`seed`] with the clients' KSeF at `ksef` (a simulator's base URL).
pub async fn seed_at(st: &AppState, ksef: &str) -> String {
    let client = |nip: &str, name: &str| NewClientInput {
        nip: Nip::parse(nip).unwrap(),
        name: name.to_owned(),
        ksef: KsefTarget::parse(ksef).unwrap(),
        policy: SendPolicy::Manual,
    };
    let token = || SecretString::from("20261201-EC-TESTTOKEN-0000000001|nip|abc");
    let mine = add_client(st, client(SELLER_NIP, "ABC AGD sp. z o.o."), token(), None).await.unwrap();
    let foreign = add_client(st, client(FOREIGN_NIP, "Obca Spółka S.A."), token(), None).await.unwrap();
    let input =
        NewUserInput { email: EMAIL.into(), display_name: "Anna".into(), role: Role::Accountant, nip: None };
    users::create_user(st, &Caller::Operator, input, SecretString::from(PASSWORD)).await.unwrap();
    let grant = GrantInput {
        user_email: EMAIL.into(),
        client_id: mine.id,
        permissions: PermissionSet::parse("read,upload,send").unwrap(),
        can_delegate: false,
    };
    grants::grant(st, &Caller::Operator, grant).await.unwrap();
    let bytes = std::fs::read(SAMPLE).unwrap();
    let stored = intake::submit(st, &Caller::Operator, &foreign.id, bytes, Source::Api).await.unwrap();
    stored[0].invoice.id.to_string()
}

/// The value of the first hidden `csrf` field of a page.
pub fn csrf_in(html: &str) -> String {
    let start = html
        .find("name=\"csrf\" value=\"")
        .map(|i| i + 19)
        .unwrap_or_else(|| panic!("the page has a csrf field"));
    html[start..].split('"').next().unwrap().to_owned()
}

fn set_cookie(resp: &ServiceResponse, name: &str) -> Option<String> {
    resp.headers()
        .get_all(header::SET_COOKIE)
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

fn cookie_value(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().split_once('=').unwrap().1.to_owned()
}

pub(crate) async fn body(resp: ServiceResponse) -> String {
    String::from_utf8(test::read_body(resp).await.to_vec()).unwrap()
}

pub(crate) fn form(fields: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish()
}

/// Logs in through the form; returns the session cookie's `Set-Cookie` line and the response.
pub(crate) async fn login<S>(app: &S, email: &str, password: &str) -> ServiceResponse
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let page = test::call_service(app, test::TestRequest::get().uri("/login").to_request()).await;
    let nonce = cookie_value(
        &set_cookie(&page, "kgw_login").unwrap_or_else(|| panic!("the login page sets its nonce cookie")),
    );
    let csrf = csrf_in(&body(page).await);
    let req = test::TestRequest::post()
        .uri("/login")
        .insert_header((header::COOKIE, format!("kgw_login={nonce}")))
        .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
        .set_payload(form(&[("csrf", &csrf), ("email", email), ("password", password)]))
        .to_request();
    test::call_service(app, req).await
}

/// A session: the cookie header to send and the CSRF token of its forms.
pub(crate) struct Session {
    pub(crate) cookie: String,
    pub(crate) csrf: String,
}

async fn open_session<S>(app: &S) -> Session
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    open_session_as(app, EMAIL, PASSWORD).await
}

pub(crate) async fn open_session_as<S>(app: &S, email: &str, password: &str) -> Session
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let resp = login(app, email, password).await;
    assert_eq!(resp.status(), 303);
    let cookie = format!("kgw_session={}", cookie_value(&set_cookie(&resp, "kgw_session").unwrap()));
    let dash = test::call_service(app, get(&cookie, "/")).await;
    assert_eq!(dash.status(), 200);
    Session { csrf: csrf_in(&body(dash).await), cookie }
}

pub(crate) fn get(cookie: &str, uri: &str) -> actix_http::Request {
    test::TestRequest::get().uri(uri).insert_header((header::COOKIE, cookie.to_owned())).to_request()
}

pub(crate) fn post_form(cookie: &str, uri: &str, fields: &[(&str, &str)]) -> actix_http::Request {
    test::TestRequest::post()
        .uri(uri)
        .insert_header((header::COOKIE, cookie.to_owned()))
        .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
        .set_payload(form(fields))
        .to_request()
}

pub(crate) fn post_file(
    cookie: &str,
    uri: &str,
    csrf: &str,
    name: &str,
    bytes: &[u8],
) -> actix_http::Request {
    let b = "----kgwtestboundary";
    let mut payload = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{b}\r\nContent-Disposition: form-data; name=\"plik\"; filename=\"{name}\"\r\nContent-Type: application/xml\r\n\r\n"
    )
    .into_bytes();
    payload.extend_from_slice(bytes);
    payload.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
    test::TestRequest::post()
        .uri(uri)
        .insert_header((header::COOKIE, cookie.to_owned()))
        .insert_header((header::CONTENT_TYPE, format!("multipart/form-data; boundary={b}")))
        .set_payload(payload)
        .to_request()
}

/// Uploads the official sample for the seller through the panel as the session's user, and
/// returns it as the invoice list shows it.
async fn upload_sample<S>(
    app: &S,
    s: &Session,
    st: &AppState,
) -> ksef_gateway::service::invoices::InvoiceSummary
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let sample = std::fs::read(SAMPLE).unwrap();
    let up = test::call_service(
        app,
        post_file(&s.cookie, &format!("/klienci/{SELLER_NIP}/wgraj"), &s.csrf, "a.xml", &sample),
    )
    .await;
    assert_eq!(up.status(), 200);
    let invoices =
        ksef_gateway::service::invoices::list(st, &Caller::Operator, Default::default()).await.unwrap();
    invoices.invoices.into_iter().find(|i| i.head.nip == SELLER_NIP).unwrap()
}

fn location(resp: &ServiceResponse) -> &str {
    resp.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
}

both_backends!(
    panel_lists_invoices_stuck_on_their_way,
    panel_login_cookie_csrf_and_logout,
    panel_foreign_data_is_the_same_404,
    panel_upload_shows_drafts_and_findings,
    panel_upload_of_many_files_lists_those_with_remarks,
    panel_send_goes_through_confirmation,
    panel_access_keys_policy_and_four_eyes,
    panel_explains_a_ksef_outage_and_offers_offline,
    panel_warns_about_offline_deadlines,
    panel_replaces_a_paused_clients_credential,
);

/// An office admin replaces a paused client's KSeF token from the access page: a token KSeF
/// accepts resumes the sender and shows the successful login; a too short one is refused in
/// Polish; the token never appears on a page; an accountant without the credentials
/// permission cannot do it.
async fn panel_replaces_a_paused_clients_credential(b: Backend) {
    use ksef_gateway::db::models::Client;
    let Some(t) = TestDb::new(b) else { return };
    let st = t.state();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let sim = ksef_simulator::start(ksef_simulator::SimulatorConfig::default(), listener).await.unwrap();
    seed_at(&st, &sim.base_url()).await;
    let admin = NewUserInput {
        email: "szefowa@biuro.test".into(),
        display_name: "Szefowa".into(),
        role: Role::OfficeAdmin,
        nip: None,
    };
    users::create_user(&st, &Caller::Operator, admin, SecretString::from(PASSWORD)).await.unwrap();
    let client = crate::common::client_by_nip(&st, SELLER_NIP).await;
    let cid = client.id.clone();
    st.db.tx(move |c| Client::set_paused(c, &cid, Some("KSeF odrzucił token (401)"))).await.unwrap();
    let app = test::init_service(App::new().configure(ksef_gateway::configure(st.clone()))).await;
    let s = open_session_as(&app, "szefowa@biuro.test", PASSWORD).await;
    let page_uri = format!("/klienci/{SELLER_NIP}/dostepy");
    let page = body(test::call_service(&app, get(&s.cookie, &page_uri)).await).await;
    assert!(page.contains("id=\"wstrzymana\"") && page.contains("poswiadczenie-h"), "{page}");

    let post = format!("/klienci/{SELLER_NIP}/poswiadczenie/token");
    let short =
        test::call_service(&app, post_form(&s.cookie, &post, &[("csrf", &s.csrf), ("token", "krotki")]))
            .await;
    assert_eq!(short.status(), 422);
    let short = body(short).await;
    assert!(
        short.contains("id=\"blad-token\"") && short.contains("za krótki"),
        "Polish, beside the field: {short}"
    );
    assert!(
        short.contains("Wyloguj") && short.contains("Dziennik audytu"),
        "inside the page with navigation"
    );

    // A token KSeF refuses (the simulator does not know it) is never stored: the previous
    // credential stays, and the page says why in Polish beside the field.
    let before = {
        let cid = client.id.clone();
        st.db
            .tx(move |c| ksef_gateway::db::models::Credential::find_preferred(c, &cid))
            .await
            .unwrap()
            .unwrap()
    };
    let wrong = "20261202-EC-NIEZNANY-TOKEN-01|nip-9999999999|0123456789abcdef";
    let refused =
        test::call_service(&app, post_form(&s.cookie, &post, &[("csrf", &s.csrf), ("token", wrong)])).await;
    assert_eq!(refused.status(), 422);
    let refused = body(refused).await;
    assert!(
        refused.contains("id=\"blad-token\"") && refused.contains("KSeF nie przyjął tego poświadczenia"),
        "{refused}"
    );
    assert!(!refused.contains("0123456789abcdef"), "the token typed never comes back");
    let after = {
        let cid = client.id.clone();
        st.db
            .tx(move |c| ksef_gateway::db::models::Credential::find_preferred(c, &cid))
            .await
            .unwrap()
            .unwrap()
    };
    assert_eq!((after.id, after.fingerprint), (before.id, before.fingerprint), "the previous one stays");
    let token = format!("20261202-EC-{SELLER_NIP}-NOWYTOKEN-01|nip-{SELLER_NIP}|fedcba9876543210");
    sim.add_token(SELLER_NIP, &token, &["InvoiceWrite", "InvoiceRead"]);
    let stored =
        test::call_service(&app, post_form(&s.cookie, &post, &[("csrf", &s.csrf), ("token", &token)])).await;
    assert_eq!(stored.status(), 303);
    let page = body(test::call_service(&app, get(&s.cookie, &page_uri)).await).await;
    assert!(!page.contains("id=\"wstrzymana\""), "the sender is resumed: {page}");
    assert!(
        !page.contains("jeszcze nie było") && !page.contains("blad-poswiadczenia"),
        "KSeF accepted it: {page}"
    );
    assert!(!page.contains("fedcba9876543210"), "the token is never shown");
    let client = crate::common::client_by_nip(&st, SELLER_NIP).await;
    assert_eq!(client.paused_reason, None);

    // An offline certificate (for KOD II) is stored beside the token, which stays the login.
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.not_before = rcgen::date_time_ymd(2026, 1, 1);
    params.not_after = rcgen::date_time_ymd(2030, 1, 1);
    let cert = params.self_signed(&key).unwrap().pem();
    let key_pem = key.serialize_pem();
    let cert_uri = format!("/klienci/{SELLER_NIP}/poswiadczenie/certyfikat");
    let fields = [("csrf", s.csrf.as_str()), ("certyfikat", &cert), ("klucz", &key_pem), ("offline", "tak")];
    let stored = test::call_service(&app, post_form(&s.cookie, &cert_uri, &fields)).await;
    assert_eq!(stored.status(), 303);
    let cid = client.id.clone();
    let (offline, login) = st
        .db
        .tx(move |c| {
            use ksef_gateway::db::models::Credential;
            Ok::<_, ksef_gateway::db::DbError>((
                Credential::find_active(c, &cid, "ksef_offline_certificate")?,
                Credential::find_preferred(c, &cid)?,
            ))
        })
        .await
        .unwrap();
    assert!(offline.is_some(), "the offline certificate is stored");
    assert_eq!(login.unwrap().kind, "ksef_token", "and never becomes the login credential");
    let page = body(test::call_service(&app, get(&s.cookie, &page_uri)).await).await;
    assert!(!page.contains(key_pem.lines().nth(1).unwrap()), "the key is never shown");

    let anna = open_session(&app).await;
    let refused =
        test::call_service(&app, post_form(&anna.cookie, &post, &[("csrf", &anna.csrf), ("token", &token)]))
            .await;
    assert_eq!(refused.status(), 403, "read, upload and send do not include the credential");
    sim.stop().await;
}

/// The dashboard lists offline invoices whose deadline for reaching KSeF is near or past, and
/// only the caller's: a foreign client's overdue invoice stays invisible.
async fn panel_warns_about_offline_deadlines(b: Backend) {
    use ksef_gateway::db::models::{ids, ClientScope, Invoice};
    use ksef_gateway::offline::OfflineMode;
    use ksef_gateway::service::decisions::{decide_send, SendRequest};
    let Some(t) = TestDb::new(b) else { return };
    let st = t.state();
    let foreign = ksef_gateway::domain::InvoiceId::parse(&seed(&st).await).unwrap();
    let app = test::init_service(App::new().configure(ksef_gateway::configure(st.clone()))).await;
    let s = open_session(&app).await;
    let calm = body(test::call_service(&app, get(&s.cookie, "/")).await).await;
    assert!(!calm.contains("terminy-offline"), "nothing offline yet");

    let mine = upload_sample(&app, &s, &st).await.head.id;
    let req = SendRequest {
        invoice_ids: vec![mine.clone()],
        offline: Some(OfflineMode::Offline24.into()),
        failure_confirmed: false,
        source_ip: None,
    };
    decide_send(&st, &Caller::Operator, req).await.unwrap();
    // The foreign client's invoice (the sample under another NIP) is put offline directly.
    let f = foreign.clone();
    put_in_state(&st, f, ksef_gateway::domain::InvoiceState::Offline).await;
    // Both were issued offline long ago: their deadlines passed an hour ago.
    let passed = ids::now() - chrono::Duration::hours(1);
    for id in [mine.clone(), foreign.clone()] {
        st.db.tx(move |c| Invoice::mark_all_offline(c, &[&id], passed)).await.unwrap();
    }
    let dash = body(test::call_service(&app, get(&s.cookie, "/")).await).await;
    assert!(dash.contains("terminy-offline") && dash.contains(&format!("/faktury/{mine}")), "{dash}");
    assert!(dash.contains("termin minął"), "{dash}");
    assert!(!dash.contains(foreign.as_str()), "a foreign client's invoice is never listed");
    let inv = st.db.tx(move |c| Invoice::get(c, &ClientScope::All, &mine)).await.unwrap();
    assert_eq!(inv.state, ksef_gateway::domain::InvoiceState::Offline);

    // More than the dashboard lists: it says how many there are in all.
    let client = crate::common::client_by_nip(&st, SELLER_NIP).await;
    let ids = crate::pagination::store_many(&st, &client.id, SELLER_NIP, 120).await;
    let req = SendRequest {
        invoice_ids: ids.iter().map(|id| id.parse().unwrap()).collect(),
        offline: Some(OfflineMode::Offline24.into()),
        failure_confirmed: false,
        source_ip: None,
    };
    decide_send(&st, &Caller::Operator, req).await.unwrap();
    let dash = body(test::call_service(&app, get(&s.cookie, "/")).await).await;
    assert!(dash.contains("Pokazano 100 z 121"), "{dash}");
}

/// Puts an invoice straight into `state`, past the state machine: a fixture for a foreign
/// client's invoice in a state its flow would take long to reach.
async fn put_in_state(
    st: &ksef_gateway::state::AppState,
    id: ksef_gateway::domain::InvoiceId,
    state: ksef_gateway::domain::InvoiceState,
) {
    use diesel::prelude::*;
    use ksef_gateway::db::schema::invoices;
    st.db
        .tx(move |c| {
            diesel::update(invoices::table.find(&id)).set(invoices::state.eq(state)).execute(c)?;
            Ok::<_, ksef_gateway::db::DbError>(())
        })
        .await
        .unwrap();
}

/// Invoices waiting on their way to KSeF beyond the watchdog's limit are listed on the
/// dashboard per client and state; a foreign client's never are.
async fn panel_lists_invoices_stuck_on_their_way(b: Backend) {
    use diesel::prelude::*;
    use ksef_gateway::db::models::ids;
    use ksef_gateway::db::schema::invoices;
    use ksef_gateway::service::decisions::{decide_send, SendRequest};
    let Some(t) = TestDb::new(b) else { return };
    let st = t.state();
    let foreign = ksef_gateway::domain::InvoiceId::parse(&seed(&st).await).unwrap();
    let app = test::init_service(App::new().configure(ksef_gateway::configure(st.clone()))).await;
    let s = open_session(&app).await;
    let mine = upload_sample(&app, &s, &st).await.head.id;
    let req = SendRequest {
        invoice_ids: vec![mine.clone()],
        offline: None,
        failure_confirmed: false,
        source_ip: None,
    };
    decide_send(&st, &Caller::Operator, req).await.unwrap();
    let calm = body(test::call_service(&app, get(&s.cookie, "/")).await).await;
    assert!(!calm.contains("utkniete"), "just queued is not stuck");
    let f = foreign.clone();
    put_in_state(&st, f, ksef_gateway::domain::InvoiceState::Queued).await;
    // Both have waited in the queue for two hours.
    let long_ago = ids::now() - chrono::Duration::hours(2);
    for id in [mine.clone(), foreign.clone()] {
        st.db
            .tx(move |c| {
                diesel::update(invoices::table.find(id)).set(invoices::updated_at.eq(long_ago)).execute(c)?;
                Ok::<_, ksef_gateway::db::DbError>(())
            })
            .await
            .unwrap();
    }
    let dash = body(test::call_service(&app, get(&s.cookie, "/")).await).await;
    assert!(dash.contains("id=\"utkniete\"") && dash.contains(&format!("NIP {SELLER_NIP}")), "{dash}");
    assert!(dash.contains("w kolejce"), "{dash}");
    assert!(!dash.contains(&format!("NIP {FOREIGN_NIP}")), "a foreign client's invoices are never listed");
}

/// Latarnia (here the simulator's) announces a total failure: the dashboard and the send
/// confirmation explain it and offer the offline mode with the emergency deadline preselected;
/// once KSeF is back the notice is gone.
async fn panel_explains_a_ksef_outage_and_offers_offline(b: Backend) {
    use ksef_gateway::service::latarnia::check_latarnia;
    let Some(t) = TestDb::new(b) else { return };
    let st = t.state();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let sim = ksef_simulator::start(ksef_simulator::SimulatorConfig::default(), listener).await.unwrap();
    seed_at(&st, &sim.base_url()).await;
    let app = test::init_service(App::new().configure(ksef_gateway::configure(st.clone()))).await;
    let s = open_session(&app).await;

    check_latarnia(&st).await;
    let calm = body(test::call_service(&app, get(&s.cookie, "/")).await).await;
    assert!(!calm.contains("ksef-notice"), "no notice while Latarnia says AVAILABLE");

    let hour = std::time::Duration::from_secs(3600);
    sim.faults().outage(ksef_simulator::OutageScope::All, std::time::Duration::ZERO, hour);
    check_latarnia(&st).await;
    let dash = body(test::call_service(&app, get(&s.cookie, "/")).await).await;
    assert!(dash.contains("id=\"ksef-awaria\"") && dash.contains("Awaria całkowita KSeF"), "{dash}");
    assert!(dash.contains("Niedostępność KSeF (symulator)"), "Latarnia's own message is shown: {dash}");
    let client_page =
        body(test::call_service(&app, get(&s.cookie, &format!("/klienci/{SELLER_NIP}"))).await).await;
    assert!(client_page.contains("ksef-notice"), "{client_page}");
    // The same through the API, for a client's own system.
    let status_uri = format!("/api/v1/clients/{SELLER_NIP}/ksef-status");
    let status: serde_json::Value =
        test::read_body_json(test::call_service(&app, get(&s.cookie, &status_uri)).await).await;
    assert_eq!(
        (status["available"].as_bool(), status["notice"]["kind"].as_str()),
        (Some(false), Some("awaria"))
    );
    assert_eq!(status["notice"]["offline_mode"], "emergency");
    let foreign_status = format!("/api/v1/clients/{FOREIGN_NIP}/ksef-status");
    assert_eq!(test::call_service(&app, get(&s.cookie, &foreign_status)).await.status(), 404);

    let mine = &upload_sample(&app, &s, &st).await;
    let send = format!("/klienci/{SELLER_NIP}/wyslij");
    let online = body(
        test::call_service(
            &app,
            post_form(&s.cookie, &send, &[("csrf", &s.csrf), ("ids", &mine.head.id), ("tryb", "online")]),
        )
        .await,
    )
    .await;
    assert!(online.contains("ksef-notice") && online.contains("id=\"zamiast-offline\""), "{online}");
    let offline = body(
        test::call_service(
            &app,
            post_form(&s.cookie, &send, &[("csrf", &s.csrf), ("ids", &mine.head.id), ("tryb", "offline")]),
        )
        .await,
    )
    .await;
    assert!(offline.contains("value=\"emergency\" checked"), "the emergency mode is preselected: {offline}");
    assert!(!offline.contains("value=\"offline24\" checked"), "{offline}");

    // "Statusy w KSeF": nothing of this client is in flight (the invoice is a draft), and a
    // foreign client's statuses are as unknown as the client itself.
    let statusy = format!("/klienci/{SELLER_NIP}/statusy");
    let asked = test::call_service(&app, post_form(&s.cookie, &statusy, &[("csrf", &s.csrf)])).await;
    assert_eq!(asked.status(), 303);
    let back_to = location(&asked).to_owned();
    assert!(back_to.contains("statusy=0"), "{back_to}");
    let page = body(test::call_service(&app, get(&s.cookie, &back_to)).await).await;
    assert!(page.contains("id=\"statusy-info\"") && page.contains("nie czeka na status"), "{page}");
    let foreign = format!("/klienci/{FOREIGN_NIP}/statusy");
    let refused = test::call_service(&app, post_form(&s.cookie, &foreign, &[("csrf", &s.csrf)])).await;
    assert_eq!(refused.status(), 404);
    let no_csrf = test::call_service(&app, post_form(&s.cookie, &statusy, &[])).await;
    assert_eq!(no_csrf.status(), 403);

    sim.faults().end_outage();
    check_latarnia(&st).await;
    let back = body(test::call_service(&app, get(&s.cookie, "/")).await).await;
    assert!(!back.contains("ksef-notice"), "KSeF is back: {back}");
    let status: serde_json::Value =
        test::read_body_json(test::call_service(&app, get(&s.cookie, &status_uri)).await).await;
    assert_eq!((status["available"].as_bool(), status["notice"].is_null()), (Some(true), true));
    sim.stop().await;
}

async fn panel_login_cookie_csrf_and_logout(b: Backend) {
    let Some(t) = TestDb::new(b) else { return };
    let st = t.state();
    seed(&st).await;
    let app = test::init_service(App::new().configure(ksef_gateway::configure(st))).await;

    let anon =
        test::call_service(&app, test::TestRequest::get().uri("/klienci/9999999999").to_request()).await;
    assert_eq!(anon.status(), 303, "unauthenticated panel pages send the browser to the login page");
    assert_eq!(location(&anon), "/login");

    let wrong = login(&app, EMAIL, "not-the-password-at-all").await;
    assert_eq!(wrong.status(), 401);
    assert!(set_cookie(&wrong, "kgw_session").is_none());
    assert!(body(wrong).await.contains("Nieprawidłowy e-mail lub hasło"));

    let ok = login(&app, EMAIL, PASSWORD).await;
    assert_eq!(ok.status(), 303);
    assert_eq!(location(&ok), "/");
    let line = set_cookie(&ok, "kgw_session").unwrap_or_else(|| panic!("login sets the session cookie"));
    assert!(line.contains("HttpOnly"), "{line}");
    assert!(line.contains("SameSite=Strict"), "{line}");
    assert!(line.contains("Secure"), "{line}");
    let cookie = format!("kgw_session={}", cookie_value(&line));

    let dash = test::call_service(&app, get(&cookie, "/")).await;
    assert_eq!(dash.status(), 200);
    assert!(dash.headers().get("content-security-policy").is_some());
    let html = body(dash).await;
    assert!(html.contains("Pulpit") && html.contains(SELLER_NIP) && html.contains("ABC AGD"), "{html}");
    assert!(!html.contains(FOREIGN_NIP), "the dashboard lists only the caller's clients");
    assert!(html.contains("O – przyjęta do przetwarzania, czeka na numer KSeF"));
    assert!(!html.contains("<script") && !html.contains(" style="), "no scripts, no inline styles (CSP)");
    let css = text_after(&html, "<link rel=\"stylesheet\" href=\"").split('"').next().unwrap().to_owned();
    let resp = test::call_service(&app, test::TestRequest::get().uri(&css).to_request()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers().get(header::CACHE_CONTROL).unwrap(), "public, max-age=31536000, immutable");
    assert!(body(resp).await.contains("@media print"));
    let csrf = csrf_in(&html);

    // A POST form without its CSRF field, or with another one, is refused and changes nothing.
    for fields in [vec![], vec![("csrf", "0123abcd")]] {
        let resp = test::call_service(&app, post_form(&cookie, "/logout", &fields)).await;
        assert_eq!(resp.status(), 403);
        assert!(body(resp).await.contains("Formularz wygasł"));
    }
    let still = test::call_service(&app, get(&cookie, "/")).await;
    assert_eq!(still.status(), 200, "a refused logout leaves the session alive");

    let out = test::call_service(&app, post_form(&cookie, "/logout", &[("csrf", &csrf)])).await;
    assert_eq!(out.status(), 303);
    assert_eq!(location(&out), "/login");
    let after = test::call_service(&app, get(&cookie, "/")).await;
    assert_eq!(after.status(), 303, "the old cookie no longer works after logout");
    assert_eq!(location(&after), "/login");
    let api = test::call_service(&app, get(&cookie, "/api/v1/me")).await;
    assert_eq!(api.status(), 401, "nor on the API");

    // Throttling: more attempts on one account than the limit allows get the 429 message.
    let mut last = None;
    for _ in 0..6 {
        last = Some(login(&app, EMAIL, "guessing-again-and-again").await);
    }
    let throttled = last.unwrap();
    assert_eq!(throttled.status(), 429);
    assert!(throttled.headers().get(header::RETRY_AFTER).is_some());
    assert!(body(throttled).await.contains("Zbyt wiele prób logowania"));
}

async fn panel_foreign_data_is_the_same_404(b: Backend) {
    let Some(t) = TestDb::new(b) else { return };
    let st = t.state();
    let foreign_invoice = seed(&st).await;
    let app = test::init_service(App::new().configure(ksef_gateway::configure(st))).await;
    let s = open_session(&app).await;

    let mut pages = Vec::new();
    for uri in [
        format!("/klienci/{FOREIGN_NIP}"),
        format!("/klienci/{FOREIGN_NIP}/dostepy"),
        format!("/faktury/{foreign_invoice}"),
        format!("/faktury/{foreign_invoice}/kod-qr.svg"),
        "/faktury/00000000-0000-0000-0000-000000000000".to_owned(),
    ] {
        let resp = test::call_service(&app, get(&s.cookie, &uri)).await;
        assert_eq!(resp.status(), 404, "{uri}");
        assert!(resp.headers().get(header::CONTENT_TYPE).unwrap().to_str().unwrap().starts_with("text/html"));
        pages.push(body(resp).await);
    }
    assert!(pages[0].contains("Nie znaleziono") && pages[0].contains("lang=\"pl\""), "{}", pages[0]);
    assert!(pages.iter().all(|p| *p == pages[0]), "foreign and missing data answer the very same page");
    assert!(
        pages[0].contains("id=\"wyloguj\"") && pages[0].contains("href=\"/audyt\""),
        "an error page keeps the navigation of the person logged in: {}",
        pages[0]
    );
    assert!(!pages[0].contains(FOREIGN_NIP) && !pages[0].contains("Obca"));

    // A foreign invoice cannot be sent through the panel either.
    let resp = test::call_service(
        &app,
        post_form(
            &s.cookie,
            &format!("/klienci/{SELLER_NIP}/wyslij"),
            &[("csrf", &s.csrf), ("ids", &foreign_invoice)],
        ),
    )
    .await;
    assert_eq!(resp.status(), 404);
}

async fn panel_upload_shows_drafts_and_findings(b: Backend) {
    let Some(t) = TestDb::new(b) else { return };
    let st = t.state();
    seed(&st).await;
    let app = test::init_service(App::new().configure(ksef_gateway::configure(st))).await;
    let s = open_session(&app).await;
    let uri = format!("/klienci/{SELLER_NIP}/wgraj");
    let sample = std::fs::read_to_string(SAMPLE).unwrap();

    let refused =
        test::call_service(&app, post_file(&s.cookie, &uri, "wrong", "a.xml", sample.as_bytes())).await;
    assert_eq!(refused.status(), 403, "an upload without this session's CSRF token is refused");

    let resp = test::call_service(
        &app,
        post_file(&s.cookie, &uri, &s.csrf, "FA_3_Przyklad_1.xml", sample.as_bytes()),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let html = body(resp).await;
    assert!(html.contains("FA_3_Przyklad_1.xml") && html.contains("FV2026/02/150"), "{html}");
    assert!(html.contains("szkic"), "{html}");

    let list = body(test::call_service(&app, get(&s.cookie, &format!("/klienci/{SELLER_NIP}"))).await).await;
    assert!(
        list.contains("FV2026/02/150") && list.contains("szkic") && list.contains("F.H.U. Jan Kowalski"),
        "{list}"
    );
    assert!(list.contains("name=\"ids\""), "a draft can be chosen for sending");

    // A broken variant: an amount that is not a number, on a known line.
    let broken = sample
        .replace("<P_2>FV2026/02/150</P_2>", "<P_2>FV2026/02/151</P_2>")
        .replace("<P_13_1>1666.66</P_13_1>", "<P_13_1>tysiąc</P_13_1>");
    let line = broken.lines().position(|l| l.contains("<P_13_1>tysiąc")).unwrap() + 1;
    let resp =
        test::call_service(&app, post_file(&s.cookie, &uri, &s.csrf, "zla.xml", broken.as_bytes())).await;
    assert_eq!(resp.status(), 200);
    let html = body(resp).await;
    assert!(html.contains("błędna"), "{html}");
    assert!(html.contains(&format!("<td class=\"n\">{line}</td>")), "the finding names line {line}: {html}");
    assert!(html.contains("P_13_1") && html.contains("430"), "{html}");

    let filtered =
        body(test::call_service(&app, get(&s.cookie, &format!("/klienci/{SELLER_NIP}?stan=invalid"))).await)
            .await;
    assert!(filtered.contains("FV2026/02/151") && !filtered.contains("FV2026/02/150"), "{filtered}");
}

/// An upload of more files than a page shows (500) lists 500 with remarks, the invalid ones
/// first, and counts the rest, with links to the client's list; the totals cover every file.
async fn panel_upload_of_many_files_lists_those_with_remarks(b: Backend) {
    use std::io::Write as _;
    let Some(t) = TestDb::new(b) else { return };
    let st = t.state();
    seed(&st).await;
    let app = test::init_service(App::new().configure(ksef_gateway::configure(st))).await;
    let s = open_session(&app).await;
    let sample = std::fs::read_to_string(SAMPLE).unwrap();
    let today = ksef_gateway::local_time::today().format("%Y-%m-%d").to_string();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    // Two drafts with a warning (an issue date long past), 505 files that are no invoice at
    // all, then 10 clean invoices (issued today).
    for i in 0..2 {
        zip.start_file(format!("ostrzezenie-{i}.xml"), opts).unwrap();
        zip.write_all(sample.replace("<P_2>FV2026/02/150</P_2>", &format!("<P_2>FW/{i}</P_2>")).as_bytes())
            .unwrap();
    }
    for i in 0..505 {
        zip.start_file(format!("zepsuta-{i}.xml"), opts).unwrap();
        zip.write_all(b"<nie-faktura/>").unwrap();
    }
    for i in 0..10 {
        zip.start_file(format!("fv-{i}.xml"), opts).unwrap();
        let xml = sample
            .replace("<P_2>FV2026/02/150</P_2>", &format!("<P_2>FV/{i}</P_2>"))
            .replace("<P_1>2026-02-15</P_1>", &format!("<P_1>{today}</P_1>"));
        zip.write_all(xml.as_bytes()).unwrap();
    }
    let zip = zip.finish().unwrap().into_inner();
    let uri = format!("/klienci/{SELLER_NIP}/wgraj");
    let resp = test::call_service(&app, post_file(&s.cookie, &uri, &s.csrf, "paczka.zip", &zip)).await;
    assert_eq!(resp.status(), 200);
    let html = body(resp).await;
    let summary = "Plików: 517, poprawnych (szkice): <strong>12</strong>, błędnych: <strong>505</strong>.";
    assert!(html.contains(summary), "{html}");
    assert_eq!(html.matches("<section class=\"card file").count(), 500);
    assert!(html.contains("zepsuta-499.xml") && !html.contains("zepsuta-500.xml"), "the first 500 in order");
    assert!(!html.contains("ostrzezenie-0.xml"), "invalid files come before drafts with warnings");
    assert!(!html.contains("fv-0.xml"), "files without remarks are counted, not listed");
    assert!(html.contains("kolejnych z uwagami: 7") && html.contains("Plików bez uwag (niewypisanych): 10"));
    assert!(html.contains(&format!("href=\"/klienci/{SELLER_NIP}?stan=invalid\"")), "{html}");
}

async fn panel_send_goes_through_confirmation(b: Backend) {
    let Some(t) = TestDb::new(b) else { return };
    let st = t.state();
    seed(&st).await;
    let app = test::init_service(App::new().configure(ksef_gateway::configure(st.clone()))).await;
    let s = open_session(&app).await;
    let mine = &upload_sample(&app, &s, &st).await;

    let send = format!("/klienci/{SELLER_NIP}/wyslij");
    let confirm = test::call_service(
        &app,
        post_form(&s.cookie, &send, &[("csrf", &s.csrf), ("ids", &mine.head.id), ("tryb", "online")]),
    )
    .await;
    assert_eq!(confirm.status(), 200);
    let html = body(confirm).await;
    assert!(
        html.contains("FV2026/02/150") && html.contains(&mine.head.sha256),
        "the confirmation lists number and hash: {html}"
    );
    let page =
        body(test::call_service(&app, get(&s.cookie, &format!("/faktury/{}", mine.head.id))).await).await;
    assert!(page.contains("szkic"), "the confirmation page records nothing");
    // The invoice page links its PDF visualisation, which the panel session may download.
    let pdf = format!("/api/v1/invoices/{}/pdf", mine.head.id);
    assert!(page.contains(&format!("href=\"{pdf}\"")), "{page}");
    let resp = test::call_service(&app, get(&s.cookie, &pdf)).await;
    assert_eq!(resp.status(), 200);
    assert!(test::read_body(resp).await.starts_with(b"%PDF-"));

    // Offline needs the conscious confirmation ticked.
    let offline = test::call_service(
        &app,
        post_form(&s.cookie, &send, &[("csrf", &s.csrf), ("ids", &mine.head.id), ("tryb", "offline")]),
    )
    .await;
    let html = body(offline).await;
    assert!(html.contains("następnego dnia roboczego") && html.contains("name=\"swiadomie\""), "{html}");
    let decide = format!("{send}/potwierdz");
    let unticked = test::call_service(
        &app,
        post_form(&s.cookie, &decide, &[("csrf", &s.csrf), ("ids", &mine.head.id), ("tryb", "offline")]),
    )
    .await;
    assert_eq!(unticked.status(), 422);

    // The sample's past P_1 is a warning: confirmed consciously at the decision.
    let done = test::call_service(
        &app,
        post_form(
            &s.cookie,
            &decide,
            &[
                ("csrf", &s.csrf),
                ("ids", &mine.head.id),
                ("tryb", "online"),
                ("ostrzezenia_ok", &mine.head.id),
            ],
        ),
    )
    .await;
    assert_eq!(done.status(), 200);
    assert!(body(done).await.contains("Decyzja zapisana"));
    let page =
        body(test::call_service(&app, get(&s.cookie, &format!("/faktury/{}", mine.head.id))).await).await;
    assert!(page.contains("w kolejce") && page.contains("class=\"letter W\""), "{page}");
    assert!(page.contains(EMAIL), "the timeline names the person who decided: {page}");

    let again = test::call_service(
        &app,
        post_form(&s.cookie, &decide, &[("csrf", &s.csrf), ("ids", &mine.head.id), ("tryb", "online")]),
    )
    .await;
    assert_eq!(again.status(), 422, "an invoice is decided once");
    assert!(body(again).await.contains("nie może zostać wysłana"));
}

/// The text between `start` and the next `<` (an element's content).
pub(crate) fn text_after<'a>(html: &'a str, start: &str) -> &'a str {
    let from = html.find(start).map(|i| i + start.len()).unwrap_or_else(|| panic!("{start:?} not in page"));
    html[from..].split('<').next().unwrap()
}

async fn panel_access_keys_policy_and_four_eyes(b: Backend) {
    let Some(t) = TestDb::new(b) else { return };
    let st = t.state();
    seed(&st).await;
    let admin_pw = "Szef-ma-dlugie-haslo-2026";
    let input = NewUserInput {
        email: "szef@biuro.test".into(),
        display_name: "Szef".into(),
        role: Role::OfficeAdmin,
        nip: None,
    };
    users::create_user(&st, &Caller::Operator, input, SecretString::from(admin_pw)).await.unwrap();
    let app = test::init_service(App::new().configure(ksef_gateway::configure(st.clone()))).await;
    let admin = open_session_as(&app, "szef@biuro.test", admin_pw).await;
    let anna = open_session(&app).await;

    // Delegating to an e-mail nobody has: the form comes back filled in, the Polish reason
    // beside the e-mail field, inside the page with its navigation; nothing is granted.
    let grant_uri = format!("/klienci/{SELLER_NIP}/dostepy/nadaj");
    let fields = [("csrf", admin.csrf.as_str()), ("email", "nikt@biuro.test"), ("uprawnienia", "read")];
    let refused = test::call_service(&app, post_form(&admin.cookie, &grant_uri, &fields)).await;
    assert_eq!(refused.status(), 422);
    let refused = body(refused).await;
    assert!(
        refused.contains("id=\"blad-email\"") && refused.contains("nie ma użytkownika o tym adresie"),
        "{refused}"
    );
    assert!(
        refused.contains("value=\"nikt@biuro.test\"") && refused.contains("id=\"p-read\" checked"),
        "{refused}"
    );
    assert!(refused.contains("id=\"wyloguj\"") && !refused.contains("no user with"), "{refused}");
    let access = format!("/klienci/{SELLER_NIP}/dostepy");

    let page = body(test::call_service(&app, get(&admin.cookie, &access)).await).await;
    assert!(page.contains(EMAIL) && page.contains("wysyłka do KSeF"), "{page}");

    // An API key is shown once, on the answer that creates it, and works on the API.
    let keys = format!("/klienci/{SELLER_NIP}/klucze");
    let fields =
        [("csrf", admin.csrf.as_str()), ("nazwa", "Sklep"), ("zakresy", "submit"), ("zakresy", "read")];
    let created = test::call_service(&app, post_form(&admin.cookie, &keys, &fields)).await;
    assert_eq!(created.status(), 200);
    let html = body(created).await;
    assert!(html.contains("jedyny raz"));
    let key = text_after(&html, "id=\"klucz\">").to_owned();
    assert!(key.starts_with("kgw_"), "{key}");
    let page = body(test::call_service(&app, get(&admin.cookie, &access)).await).await;
    assert!(!page.contains(&key), "the key is never shown again");
    let api = |key: &str| {
        test::TestRequest::get()
            .uri("/api/v1/invoices")
            .insert_header((header::AUTHORIZATION, format!("Bearer {key}")))
            .to_request()
    };
    assert_eq!(test::call_service(&app, api(&key)).await.status(), 200);
    let revoke = text_after(&page, &format!("href=\"{keys}/")).split('"').next().unwrap().to_owned();
    let gone = test::call_service(
        &app,
        post_form(&admin.cookie, &format!("{keys}/{revoke}"), &[("csrf", &admin.csrf)]),
    )
    .await;
    assert_eq!(gone.status(), 303);
    let refused = match test::try_call_service(&app, api(&key)).await {
        Ok(resp) => resp.status(),
        Err(e) => e.error_response().status(),
    };
    assert_eq!(refused, 401, "a revoked key stops working");

    // The accountant may not manage access: the page says so, the service refuses the POST.
    let page = body(test::call_service(&app, get(&anna.cookie, &access)).await).await;
    assert!(page.contains("Nie masz uprawnienia do zarządzania dostępami"), "{page}");
    let refused = test::call_service(
        &app,
        post_form(&anna.cookie, &keys, &[("csrf", &anna.csrf), ("zakresy", "read")]),
    )
    .await;
    assert_eq!(refused.status(), 403);
    assert!(body(refused).await.contains("Brak uprawnień"));

    // Four eyes: Anna prepares, she cannot choose it for sending; the admin approves the hash.
    let policy = format!("/klienci/{SELLER_NIP}/polityka");
    let changed = test::call_service(
        &app,
        post_form(&admin.cookie, &policy, &[("csrf", &admin.csrf), ("polityka", "four-eyes")]),
    )
    .await;
    assert_eq!(changed.status(), 303);
    let sample = std::fs::read(SAMPLE).unwrap();
    let up = test::call_service(
        &app,
        post_file(&anna.cookie, &format!("/klienci/{SELLER_NIP}/wgraj"), &anna.csrf, "a.xml", &sample),
    )
    .await;
    assert_eq!(up.status(), 200);
    let list =
        body(test::call_service(&app, get(&anna.cookie, &format!("/klienci/{SELLER_NIP}"))).await).await;
    assert!(list.contains("do zatwierdzenia") && !list.contains("name=\"ids\""), "{list}");
    assert!(!list.contains("id=\"wyslij\""), "nothing to choose, so no send button: {list}");
    let id = text_after(&list, "<td data-label=\"Numer\"><a href=\"/faktury/")
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let own = body(test::call_service(&app, get(&anna.cookie, &format!("/faktury/{id}"))).await).await;
    assert!(!own.contains("id=\"zatwierdz\""), "nobody approves their own invoice");
    let seen = body(test::call_service(&app, get(&admin.cookie, &format!("/faktury/{id}"))).await).await;
    assert!(seen.contains("id=\"zatwierdz\""), "{seen}");
    let sha = text_after(&seen, "id=\"sha256\">").to_owned();
    let stale = test::call_service(
        &app,
        post_form(
            &admin.cookie,
            &format!("/faktury/{id}/zatwierdz"),
            &[("csrf", &admin.csrf), ("sha256", "b3RoZXI=")],
        ),
    )
    .await;
    assert_eq!(stale.status(), 409, "approval names the exact bytes seen");
    let ok = test::call_service(
        &app,
        post_form(
            &admin.cookie,
            &format!("/faktury/{id}/zatwierdz"),
            &[("csrf", &admin.csrf), ("sha256", &sha)],
        ),
    )
    .await;
    assert_eq!(ok.status(), 303);
    let list =
        body(test::call_service(&app, get(&anna.cookie, &format!("/klienci/{SELLER_NIP}"))).await).await;
    assert!(list.contains("zatwierdzona") && list.contains("name=\"ids\""), "{list}");

    // The audit form leads to the API's report; the API checks the permission.
    let to = test::call_service(
        &app,
        get(&anna.cookie, &format!("/audyt/pobierz?nip={SELLER_NIP}&from=&to=2026-12-01&format=csv")),
    )
    .await;
    assert_eq!(to.status(), 303);
    // "To 1 December" includes that whole Warsaw day: up to midnight at its end, with offset.
    assert_eq!(
        location(&to),
        format!("/api/v1/audit?nip={SELLER_NIP}&to=2026-12-02T00%3A00%3A00%2B01%3A00&format=csv")
    );
    let report = test::call_service(&app, get(&anna.cookie, location(&to))).await;
    assert_eq!(report.status(), 403, "Anna has no audit permission on the client");
    let report =
        test::call_service(&app, get(&admin.cookie, &format!("/api/v1/audit?nip={SELLER_NIP}&format=csv")))
            .await;
    assert_eq!(report.status(), 200);
    // The PDF report for one person, from the same form.
    let admin_email = "szef@biuro.test";
    let to = test::call_service(
        &app,
        get(
            &admin.cookie,
            &format!("/audyt/pobierz?nip={SELLER_NIP}&user={admin_email}&from=&to=&format=pdf"),
        ),
    )
    .await;
    assert_eq!(
        location(&to),
        format!("/api/v1/audit?nip={SELLER_NIP}&user={}&format=pdf", admin_email.replace('@', "%40"))
    );
    let report = test::call_service(&app, get(&admin.cookie, location(&to))).await;
    assert_eq!(report.status(), 200);
    assert!(test::read_body(report).await.starts_with(b"%PDF-"));
}
