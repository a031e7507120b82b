//! The office's own KSeF credential (#14), against the simulator over HTTP: one certificate of
//! the office logs into every client that granted the office in KSeF; a client that did not is
//! paused with a Polish reason and resumes after granting and a health check, with nothing new
//! stored. A credential KSeF refuses is never stored; key rotation keeps it usable; credentials
//! near their end of validity are warned about.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use diesel::prelude::*;
use secrecy::SecretString;
use serde_json::json;

use ksef_gateway::auth::Role;
use ksef_gateway::db::models::{ids, Client};
use ksef_gateway::db::DbError;
use ksef_gateway::domain::{KsefTarget, Nip, OfficeCredentialKind, SendPolicy};
use ksef_gateway::engine;
use ksef_gateway::error::AppError;
use ksef_gateway::service::access::Caller;
use ksef_gateway::service::clients::{add_office_client, find_visible, NewClientInput};
use ksef_gateway::service::credentials::{check, CredentialHealth};
use ksef_gateway::service::lifetime::ExpiryWarning;
use ksef_gateway::service::office::{self, OfficeCredentialInput, OfficeSecret};
use ksef_simulator::SimulatorConfig;

use super::rig::{nip, Rig};
use super::{seal_pem, LIMIT};
use crate::both_backends;
use crate::common::Backend;

/// The office's NIP (valid checksum).
pub(super) const OFFICE: &str = "1070002878";

both_backends!(
    office_certificate_sends_for_granting_clients_and_pauses_the_one_that_did_not,
    office_credential_bad_input_is_refused_and_nothing_is_stored,
    office_credential_lifetimes_warn_on_dashboard_metrics_and_api,
);

/// The client grants the office InvoiceWrite and InvoiceRead in KSeF (`POST /testdata/permissions`).
pub(super) async fn grant_in_ksef(rig: &Rig, client_nip: &str) {
    let body = json!({
        "contextIdentifier": {"type": "Nip", "value": client_nip},
        "authorizedIdentifier": {"type": "Nip", "value": OFFICE},
        "permissions": [{"permissionType": "InvoiceWrite"}, {"permissionType": "InvoiceRead"}],
    });
    let url = format!("{}/testdata/permissions", rig.sim.base_url());
    let r = reqwest::Client::new().post(url).json(&body).send().await.unwrap();
    assert!(r.status().is_success(), "grant: {}", r.status());
}

pub(super) async fn office_client(rig: &Rig, client_nip: &str) -> Client {
    let input = NewClientInput {
        nip: Nip::parse(client_nip).unwrap(),
        name: format!("Klient biura {client_nip}"),
        ksef: rig.target.clone(),
        policy: SendPolicy::Manual,
    };
    add_office_client(&rig.st, input, None).await.unwrap()
}

pub(super) fn input(ksef: &KsefTarget, secret: OfficeSecret) -> OfficeCredentialInput {
    OfficeCredentialInput { nip: Nip::parse(OFFICE).unwrap(), ksef: Some(ksef.clone()), secret }
}

pub(super) fn certificate(cert: &str, key: &str) -> OfficeSecret {
    OfficeSecret::Certificate { certificate_pem: cert.to_owned(), private_key_pem: SecretString::from(key) }
}

pub(super) async fn client(rig: &Rig, id: &ksef_gateway::domain::ClientId) -> Client {
    let id = id.clone();
    rig.st.db.tx(move |c| Client::get(c, &id)).await.unwrap()
}

async fn wait_paused(rig: &Rig, id: &ksef_gateway::domain::ClientId) -> String {
    let start = std::time::Instant::now();
    loop {
        if let Some(reason) = client(rig, id).await.paused_reason {
            return reason;
        }
        assert!(start.elapsed() < LIMIT, "the client was never paused");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn office_certificate_sends_for_granting_clients_and_pauses_the_one_that_did_not(b: Backend) {
    let Some(rig) = Rig::new(b, SimulatorConfig::default()).await else { return };
    let (cert, key) = seal_pem(OFFICE, 1);
    let view = office::store(&rig.st, &Caller::Operator, input(&rig.target, certificate(&cert, &key)))
        .await
        .unwrap();
    assert_eq!(view.kind, OfficeCredentialKind::Certificate);
    assert!(view.last_auth_ok_at.is_some(), "stored only after KSeF accepted it");

    let clients = [
        office_client(&rig, &nip(41)).await,
        office_client(&rig, &nip(42)).await,
        office_client(&rig, &nip(43)).await,
        office_client(&rig, &nip(44)).await,
    ];
    for c in &clients[..3] {
        grant_in_ksef(&rig, &c.nip).await;
    }
    let mut granted_ids = Vec::new();
    for c in &clients[..3] {
        let ids = rig.invoices(c, 2, "biuro").await;
        rig.decide(c, &ids, false).await;
        granted_ids.extend(ids);
    }
    let refused = &clients[3];
    let refused_ids = rig.invoices(refused, 2, "bez-zgody").await;
    rig.decide(refused, &refused_ids, false).await;

    let engine = engine::start(rig.st.clone());
    rig.wait_for(&granted_ids, "accepted", LIMIT).await;
    rig.assert_accepted(&granted_ids).await;
    let reason = wait_paused(&rig, &refused.id).await;
    assert!(reason.contains(&format!("Klient nie nadał biuru (NIP {OFFICE}) uprawnień w KSeF")), "{reason}");
    assert!(reason.contains("InvoiceWrite") && reason.contains("InvoiceRead"), "{reason}");
    for c in &clients[..3] {
        assert!(client(&rig, &c.id).await.paused_reason.is_none(), "only the client that did not grant");
    }
    for id in &refused_ids {
        assert_eq!(
            rig.invoice(id).await.state,
            ksef_gateway::domain::InvoiceState::Queued,
            "nothing of it went out"
        );
    }
    let seen = find_visible(&rig.st, &Caller::Operator, &refused.nip).await.unwrap();
    let access = seen.office_access.unwrap();
    assert!(!access.ok);
    assert!(access.explanation_pl.unwrap().contains("InvoiceWrite"));
    let check_before = check(&rig.st, refused).await.unwrap();
    assert!(
        matches!(&check_before, CredentialHealth::Failed(why) if why.contains("Klient nie nadał biuru")),
        "{check_before:?}"
    );

    // The master key is rotated meanwhile: the office's certificate is re-sealed and still opens.
    let rotated = ksef_gateway::service::keys::rotate(&rig.st).await.unwrap();
    assert!(rotated.resealed >= 1);

    // The client grants the office in KSeF; a health check, nothing new stored, resumes it.
    grant_in_ksef(&rig, &refused.nip).await;
    let refused_now = client(&rig, &refused.id).await;
    assert_eq!(check(&rig.st, &refused_now).await.unwrap(), CredentialHealth::Ok);
    assert!(client(&rig, &refused.id).await.paused_reason.is_none());
    rig.wait_for(&refused_ids, "accepted", LIMIT).await;
    engine.stop().await;
    rig.assert_accepted(&refused_ids).await;

    let seen = find_visible(&rig.st, &Caller::Operator, &refused.nip).await.unwrap();
    let access = seen.office_access.unwrap();
    assert!(access.ok && access.explanation_pl.is_none());
    assert_eq!(access.ksef_permissions.as_deref(), Some("InvoiceRead,InvoiceWrite"), "what KSeF reports");
    assert_eq!(rig.count_audit("office_credential.replaced").await, 1);
    assert_eq!(rig.count_audit("send.client_resumed").await, 1);
    let dump = crate::common::dump(&rig.db, b);
    let key_line = key.lines().nth(1).unwrap();
    assert!(!crate::common::contains(&dump, key_line), "the office's private key is never stored in clear");
    rig.sim.stop().await;
}

/// The field and reason of an invalid-input error, or the code of a refusal.
pub(super) fn why(e: &AppError) -> (String, String) {
    match e {
        AppError::Refused { refusal, .. } => ("refused".into(), refusal.code().to_owned()),
        other => {
            let (f, r) = other.field_reason().unwrap_or(("?", "?"));
            (f.to_owned(), r.to_owned())
        }
    }
}

async fn office_credential_bad_input_is_refused_and_nothing_is_stored(b: Backend) {
    let Some(rig) = Rig::new(b, SimulatorConfig::default()).await else { return };
    let st = &rig.st;
    let store =
        |ksef: KsefTarget, secret: OfficeSecret| office::store(st, &Caller::Operator, input(&ksef, secret));
    let token = |t: &str| OfficeSecret::Token(SecretString::from(t));
    let good_token = "20261201-EC-OFFICE0000-TOKEN00000-01|nip-1070002878|0123456789abcdef";
    // A URL that does not answer as KSeF (the simulator without /v2).
    let not_ksef = KsefTarget::parse(rig.sim.base_url().trim_end_matches("/v2")).unwrap();
    let e = store(not_ksef, token(good_token)).await.unwrap_err();
    assert_eq!(why(&e), ("ksef".into(), "not_ksef".into()), "{e}");
    // A token KSeF does not know.
    let e = store(rig.target.clone(), token(good_token)).await.unwrap_err();
    assert_eq!(why(&e), ("refused".into(), "credential_refused".into()), "{e}");
    assert!(!e.to_string().contains("0123456789abcdef"), "the refusal never repeats the token: {e}");
    // A certificate with someone else's key, and an expired one.
    let (cert, _) = seal_pem(OFFICE, 1);
    let (_, other_key) = seal_pem(OFFICE, 1);
    let e = store(rig.target.clone(), certificate(&cert, &other_key)).await.unwrap_err();
    assert_eq!(why(&e), ("private_key_pem".into(), "key_mismatch".into()), "{e}");
    let (old_cert, old_key) = seal_pem(OFFICE, -1);
    let e = store(rig.target.clone(), certificate(&old_cert, &old_key)).await.unwrap_err();
    assert_eq!(why(&e), ("certificate_pem".into(), "certificate_not_valid_now".into()), "{e}");
    assert!(office::show(st, &Caller::Operator).await.unwrap().is_none(), "nothing stored half-way");
    assert_eq!(rig.count_audit("office_credential.replaced").await, 0);

    // The CLI says the same with exit code 2, naming the option.
    let cli = |args: Vec<String>, stdin: &'static str| rig.cli(args, stdin);
    let set = |ksef: &str| {
        ["office", "credential", "set", "--nip", OFFICE, "--ksef", ksef, "--token"].map(String::from).to_vec()
    };
    let bare = rig.sim.base_url().trim_end_matches("/v2").to_owned();
    let (code, text) =
        cli(set(&bare), "20261201-EC-OFFICE0000-TOKEN00000-01|nip-1070002878|0123456789abcdef\n")
            .await
            .unwrap();
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("--ksef") && text.contains("does not answer as KSeF"), "{text}");
    let (code, text) = cli(
        set(&rig.sim.base_url()),
        "20261201-EC-OFFICE0000-TOKEN00000-01|nip-1070002878|0123456789abcdef\n",
    )
    .await
    .unwrap();
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("--token") && text.contains("KSeF did not accept"), "{text}");
    let mut bad_nip = set(&rig.sim.base_url());
    bad_nip[4] = "1234567890".into();
    let (code, text) = cli(bad_nip, "x\n").await.unwrap();
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("--nip"), "{text}");
    let show = ["office", "credential", "show"].map(String::from).to_vec();
    let (code, text) = cli(show.clone(), "").await.unwrap();
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("has not stored"), "{text}");

    // A token KSeF knows is stored, with its announced end of validity.
    rig.sim.add_token(OFFICE, good_token, &["InvoiceWrite", "InvoiceRead"]);
    let (code, text) = cli(
        set(&rig.sim.base_url()),
        "20261201-EC-OFFICE0000-TOKEN00000-01|nip-1070002878|0123456789abcdef\n",
    )
    .await
    .unwrap();
    assert_eq!(code, Some(0), "{text}");
    let (_, text) = cli(show, "").await.unwrap();
    assert!(text.contains("valid until 30.11.2027 23:59"), "tokens issued by 31.12.2026: {text}");
    let stored = office::show(st, &Caller::Operator).await.unwrap().unwrap();
    assert_eq!(stored.kind, OfficeCredentialKind::Token);
    // A refused one later leaves it in place.
    let e =
        store(rig.target.clone(), token("20261201-EC-OFFICE0000-TOKEN00000-02|nip-1070002878|ffff")).await;
    assert!(e.is_err());
    assert_eq!(office::show(st, &Caller::Operator).await.unwrap().unwrap().fingerprint, stored.fingerprint);
    let dump = crate::common::dump(&rig.db, b);
    assert!(!crate::common::contains(&dump, "0123456789abcdef"), "the token is never stored in clear");
    rig.sim.stop().await;
}

/// A self-signed certificate of the office valid for `days` more days.
fn short_lived(days: u64) -> (String, String) {
    use chrono::Datelike;
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name.push(rcgen::DnType::CustomDnType(vec![2, 5, 4, 97]), format!("VATPL-{OFFICE}"));
    let today = chrono::Utc::now().date_naive();
    let (from, until) = (today - chrono::Days::new(1), today + chrono::Days::new(days));
    params.not_before = rcgen::date_time_ymd(from.year(), from.month() as u8, from.day() as u8);
    params.not_after = rcgen::date_time_ymd(until.year(), until.month() as u8, until.day() as u8);
    (params.self_signed(&key).unwrap().pem(), key.serialize_pem())
}

async fn office_credential_lifetimes_warn_on_dashboard_metrics_and_api(b: Backend) {
    use crate::office::{app, call, login, PASSWORD};
    let Some(rig) = Rig::new(b, SimulatorConfig::default()).await else { return };
    let st = &rig.st;
    // A client with its own token: valid until 30.11.2027, no warning yet.
    let own = rig.client(&nip(45), true).await;
    let view = find_visible(st, &Caller::Operator, &own.nip).await.unwrap().credential.unwrap();
    assert_eq!(
        view.validity.valid_until.map(ksef_gateway::local_time::display).as_deref(),
        Some("30.11.2027 23:59")
    );
    assert_eq!(view.validity.expiry_warning, None);
    // Five days left on it; the office's certificate has ten.
    let id = own.id.clone();
    st.db
        .tx(move |c| {
            use ksef_gateway::db::schema::credentials;
            diesel::update(credentials::table.filter(credentials::client_id.eq(id)))
                .set(credentials::valid_until.eq(Some(ids::now() + chrono::Duration::days(5))))
                .execute(c)
                .map_err(DbError::from)
        })
        .await
        .unwrap();
    let (cert, key) = short_lived(10);
    let office_view =
        office::store(st, &Caller::Operator, input(&rig.target, certificate(&cert, &key))).await.unwrap();
    assert_eq!(office_view.validity.expiry_warning, Some(ExpiryWarning::Days14));
    let view = find_visible(st, &Caller::Operator, &own.nip).await.unwrap().credential.unwrap();
    assert_eq!(view.validity.expiry_warning, Some(ExpiryWarning::Days7));

    let person = |email: &str, role| ksef_gateway::service::users::NewUserInput {
        email: email.into(),
        display_name: String::new(),
        role,
        nip: None,
    };
    for (email, role) in [("admin@biuro.test", Role::OfficeAdmin), ("ksiegowa@biuro.test", Role::Accountant)]
    {
        ksef_gateway::service::users::create_user(
            st,
            &Caller::Operator,
            person(email, role),
            SecretString::from(PASSWORD),
        )
        .await
        .unwrap();
    }
    let app = app(st).await;
    let metrics = call(&app, TestRequest::get().uri("/metrics")).await.text();
    assert!(metrics.contains("ksef_gateway_credentials_expiring{within=\"7d\"} 1"), "{metrics}");
    assert!(metrics.contains("ksef_gateway_credentials_expiring{within=\"14d\"} 1"), "{metrics}");
    assert!(metrics.contains("ksef_gateway_credentials_expiring{within=\"expired\"} 0"), "{metrics}");

    let admin = login(&app, "admin@biuro.test").await;
    let page = call(&app, admin.apply(TestRequest::get().uri("/"))).await.text();
    assert!(page.contains("Poświadczenia KSeF wygasają"), "{page}");
    assert!(page.contains("wygasa w ciągu 7 dni") && page.contains("wygasa w ciągu 14 dni"), "{page}");
    assert!(page.contains(&format!("biuro (NIP {OFFICE})")), "{page}");
    assert!(!page.contains("2026-12-31"), "the fixed sunset text is gone");
    // The office's expiring certificate links to renewing it (the gateway enrolls a new one).
    assert!(page.contains("href=\"/biuro/certyfikaty?typ=authentication\""), "{page}");
    let page = call(&app, admin.apply(TestRequest::get().uri("/biuro/poswiadczenie"))).await.text();
    assert!(page.contains("id=\"wygasa-biuro\""), "{page}");
    // The panel's office form: a refused token and a URL that is not KSeF, in Polish, nothing stored.
    let crate::office::Who::Session { csrf, .. } = &admin else { panic!("a session") };
    let form = |ksef: &str| {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("csrf", csrf)
            .append_pair("nip", OFFICE)
            .append_pair("ksef", ksef)
            .append_pair("token", "20261201-EC-OFFICE0000-TOKEN00000-09|nip-1070002878|deadbeefdeadbeef")
            .finish();
        TestRequest::post()
            .uri("/biuro/poswiadczenie/token")
            .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
            .set_payload(body)
    };
    let r = call(&app, admin.apply(form(&rig.sim.base_url()))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("KSeF nie przyjął tego poświadczenia"), "{}", r.text());
    let bare = rig.sim.base_url().trim_end_matches("/v2").to_owned();
    let r = call(&app, admin.apply(form(&bare))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("Pod tym adresem nie odpowiada KSeF"), "{}", r.text());
    let kept = office::show(st, &Caller::Operator).await.unwrap().unwrap();
    assert_eq!(kept.fingerprint, office_view.fingerprint, "the certificate stays");

    // The API: the office's credential for office admins only; a client switched to it, checked.
    let r = call(&app, admin.apply(TestRequest::get().uri("/api/v1/office/credential"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["credential"]["expiry_warning"], "14d");
    assert_eq!(r.json()["credential"]["office_nip"], OFFICE);
    let accountant = login(&app, "ksiegowa@biuro.test").await;
    let r = call(&app, accountant.apply(TestRequest::get().uri("/api/v1/office/credential"))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let uri = format!("/api/v1/clients/{}/credential-mode", own.nip);
    let r = call(&app, admin.apply(TestRequest::put().uri(&uri).set_json(json!({"mode": "biuro"})))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = call(&app, admin.apply(TestRequest::put().uri(&uri).set_json(json!({"mode": "office"})))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let uri = format!("/api/v1/clients/{}/credential/check", own.nip);
    let r = call(&app, admin.apply(TestRequest::post().uri(&uri))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    assert_eq!(body["ok"], false, "{body}");
    assert_eq!(body["credential_mode"], "office");
    assert!(
        body["office_access"]["explanation_pl"].as_str().unwrap().contains("Klient nie nadał biuru"),
        "{body}"
    );
    grant_in_ksef(&rig, &own.nip).await;
    let r = call(&app, admin.apply(TestRequest::post().uri(&uri))).await;
    assert_eq!(r.json()["ok"], true, "{}", r.text());
    assert_eq!(r.json()["office_access"]["missing_permissions"], json!([]));
    let page = call(&app, admin.apply(TestRequest::get().uri(&format!("/klienci/{}/dostepy", own.nip))))
        .await
        .text();
    assert!(page.contains("id=\"dostep-jest\""), "{page}");
    assert!(page.contains("id=\"certyfikat-krok1\""), "the first step of enrolling a client's certificate");
    rig.sim.stop().await;
}
