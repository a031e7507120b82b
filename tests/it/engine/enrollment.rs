//! Certificates enrolled by the gateway (#14), against the simulator over HTTP: the office's
//! certificate enrolled from scratch (first login with a self-signed one, as on TEST) sends for
//! the clients that granted the office and not for the one that did not; the DN with Polish
//! letters survives; the certificate in use is not revoked without force; renewal switches the
//! login; a client's Offline certificate; the CLI and the API.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use diesel::prelude::*;
use ksef_client::csr::{CertificateKey, KeyAlgorithm};
use ksef_client::models::certificates::EnrollmentData;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use ksef_gateway::db::schema::certificate_enrollments as ce;
use ksef_gateway::db::DbError;
use ksef_gateway::domain::{CertificatePurpose, EnrollmentId, EnrollmentState, KeyChoice, RevokeReason};
use ksef_gateway::engine;
use ksef_gateway::service::access::Caller;
use ksef_gateway::service::certificates::CertificateUse;
use ksef_gateway::service::credentials::{check, CredentialHealth};
use ksef_gateway::service::enrollment::{self, Enrollment, Subject};
use ksef_gateway::service::office;
use ksef_simulator::SimulatorConfig;

use super::office_credential::{certificate, client, grant_in_ksef, input, office_client, why, OFFICE};
use super::rig::{nip, Rig};
use super::LIMIT;
use crate::both_backends;
use crate::common::Backend;

both_backends!(
    office_certificate_enrolled_from_scratch_sends_for_granting_clients_then_renews,
    client_offline_certificate_enrolled_and_bad_input_refused,
    enrollment_pending_when_the_process_ended_is_finished_not_repeated,
);

const OFFICE_NAME: &str = "Biuro Rachunkowe Żółć i Gęś Sp. z o.o.";

/// A self-signed certificate with `data` as its DN (what KSeF TEST takes for a first login): PEMs.
fn self_signed(data: &EnrollmentData) -> (String, String) {
    let (der, key) = self_signed_der(data);
    let pem = pem::encode(&pem::Pem::new("CERTIFICATE", der));
    (pem, key.to_pkcs8_pem().unwrap().expose_secret().to_owned())
}

fn self_signed_der(data: &EnrollmentData) -> (Vec<u8>, CertificateKey) {
    let key = CertificateKey::generate(KeyAlgorithm::EcP256).unwrap();
    (key.self_signed_certificate(data, Duration::from_secs(86_400)).unwrap(), key)
}

async fn enrollment_rows(rig: &Rig) -> Vec<(String, Option<Vec<u8>>)> {
    rig.st
        .db
        .tx(|c| ce::table.select((ce::state, ce::key_ciphertext)).load(c).map_err(DbError::from))
        .await
        .unwrap()
}

/// Enrolls (or renews) the office's login certificate as the operator.
async fn enroll_office(
    st: &ksef_gateway::state::AppState,
    key: KeyChoice,
    kind: Enrollment,
) -> Result<enrollment::Enrolled, ksef_gateway::error::AppError> {
    let (op, office) = (Caller::Operator, Subject::Office);
    enrollment::enroll(st, &op, &office, CertificatePurpose::Authentication, key, kind).await
}

async fn office_certificate_enrolled_from_scratch_sends_for_granting_clients_then_renews(b: Backend) {
    let Some(rig) = Rig::new(b, SimulatorConfig::default()).await else { return };
    let st = &rig.st;
    let op = Caller::Operator;
    // Nothing to log in with yet: enrolling needs a certificate login.
    let e = enroll_office(st, KeyChoice::Ec, Enrollment::New).await.unwrap_err();
    assert_eq!(why(&e), ("refused".into(), "certificate_login_needed".into()), "{e}");
    // The first login: a self-signed seal of the office, as KSeF TEST accepts.
    let (cert, key) = self_signed(&EnrollmentData::seal(OFFICE, OFFICE_NAME));
    let first = office::store(st, &op, input(&rig.target, certificate(&cert, &key))).await.unwrap();

    let limits = enrollment::limits(st, &op, &Subject::Office).await.unwrap();
    assert_eq!((limits.active_limit, limits.enrollments_limit), (100, 300));
    let enrolled = enroll_office(st, KeyChoice::Ec, Enrollment::New).await.unwrap();
    assert_eq!(enrolled.limits_before, Some(limits), "the limits were read before enrolling");
    assert!(!enrolled.resumed);
    let stored = office::show(st, &op).await.unwrap().unwrap();
    assert_ne!(stored.fingerprint, first.fingerprint, "the login switched to the enrolled certificate");
    assert!(
        stored.validity.valid_until.unwrap()
            > ksef_gateway::db::models::ids::now() + chrono::Duration::days(300)
    );
    // The key was sealed while pending and is cleared once the certificate is stored.
    assert_eq!(enrollment_rows(&rig).await, vec![(EnrollmentState::Issued.as_str().to_owned(), None)]);

    let listed = enrollment::list(st, &op, &Subject::Office).await.unwrap();
    assert_eq!(listed.limits.active_remaining, 99);
    let row = listed.certificates.iter().find(|c| c.serial_number == enrolled.serial_number).unwrap();
    assert_eq!(row.in_use, Some(CertificatePurpose::Authentication));
    assert_eq!(row.common_name, OFFICE_NAME, "the DN with Polish letters survives, as KSeF gave it");
    assert_eq!(row.status, "active");

    // The enrolled certificate sends for three clients that granted the office, not for the fourth.
    let clients = [
        office_client(&rig, &nip(61)).await,
        office_client(&rig, &nip(62)).await,
        office_client(&rig, &nip(63)).await,
        office_client(&rig, &nip(64)).await,
    ];
    let mut granted_ids = Vec::new();
    for c in &clients[..3] {
        grant_in_ksef(&rig, &c.nip).await;
        let ids = rig.invoices(c, 1, "enrolled").await;
        rig.decide(c, &ids, false).await;
        granted_ids.extend(ids);
    }
    let refused = &clients[3];
    let refused_ids = rig.invoices(refused, 1, "no-grant").await;
    rig.decide(refused, &refused_ids, false).await;
    let running = engine::start(st.clone());
    rig.wait_for(&granted_ids, "accepted", LIMIT).await;
    let start = std::time::Instant::now();
    while client(&rig, &refused.id).await.paused_reason.is_none() {
        assert!(start.elapsed() < LIMIT, "the client that did not grant was never paused");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    running.stop().await;
    assert_eq!(
        rig.invoice(&refused_ids[0]).await.state,
        ksef_gateway::domain::InvoiceState::Queued,
        "nothing of it went out"
    );

    // The certificate in use is not revoked without force, and the refusal says why.
    let e = enrollment::revoke(
        st,
        &op,
        &Subject::Office,
        &enrolled.serial_number,
        RevokeReason::Superseded,
        false,
    )
    .await
    .unwrap_err();
    assert_eq!(why(&e), ("refused".into(), "certificate_in_use".into()));
    assert!(e.to_string().contains("logs in to KSeF with"), "{e}");

    // Renewal: a new certificate, switched to; then the old one is revoked as superseded.
    let renewed = enroll_office(st, KeyChoice::Rsa, Enrollment::Renewal).await.unwrap();
    assert_ne!(renewed.serial_number, enrolled.serial_number);
    assert_eq!(renewed.replaces.as_deref(), Some(enrolled.serial_number.as_str()));
    enrollment::revoke(st, &op, &Subject::Office, &enrolled.serial_number, RevokeReason::Superseded, false)
        .await
        .unwrap();
    // Logins now use the renewed one: the old one, revoked, would be refused.
    let granted = client(&rig, &clients[0].id).await;
    assert_eq!(check(st, &granted).await.unwrap(), CredentialHealth::Ok);
    let listed = enrollment::list(st, &op, &Subject::Office).await.unwrap();
    let status = |serial: &str| {
        listed.certificates.iter().find(|c| c.serial_number == serial).map(|c| (c.status.clone(), c.in_use))
    };
    assert_eq!(status(&enrolled.serial_number), Some(("revoked".to_owned(), None)));
    assert_eq!(
        status(&renewed.serial_number),
        Some(("active".to_owned(), Some(CertificatePurpose::Authentication)))
    );
    assert_eq!(rig.count_audit("certificate.enrolled").await, 1);
    assert_eq!(rig.count_audit("certificate.renewed").await, 1);
    assert_eq!(rig.count_audit("certificate.revoked").await, 1);
    assert_eq!(rig.count_audit("office_credential.replaced").await, 3, "self-signed, enrolled, renewed");
    let dump = crate::common::dump(&rig.db, b);
    assert!(!crate::common::contains(&dump, "PRIVATE KEY"), "no private key is stored in clear");
    assert!(!crate::common::contains(&dump, key.lines().nth(1).unwrap()), "not even the first login's");

    // The CLI: the list with the limits and the certificate in use; revoking it is refused (exit 2).
    let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let (code, text) = rig.cli(args(&["certificate", "list", "--office"]), "").await.unwrap();
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("active certificates 99 of 100 left"), "{text}");
    assert!(text.contains(&renewed.serial_number) && text.contains("used by the gateway"), "{text}");
    let revoke_in_use = args(&[
        "certificate",
        "revoke",
        "--office",
        "--serial",
        &renewed.serial_number,
        "--reason",
        "superseded",
    ]);
    let (code, text) = rig.cli(revoke_in_use, "").await.unwrap();
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("--force"), "{text}");
    rig.sim.stop().await;
}

async fn client_offline_certificate_enrolled_and_bad_input_refused(b: Backend) {
    use crate::office::{app, call, login, PASSWORD};
    let Some(rig) = Rig::new(b, SimulatorConfig::default()).await else { return };
    let st = &rig.st;
    let op = Caller::Operator;
    // A client logging in with its own token cannot enroll: KSeF needs a certificate login.
    let own = rig.client(&nip(71), true).await;
    let subject = Subject::Client(own.id.clone());
    let e =
        enrollment::enroll(st, &op, &subject, CertificatePurpose::Offline, KeyChoice::Ec, Enrollment::New)
            .await
            .unwrap_err();
    assert_eq!(why(&e), ("refused".into(), "certificate_login_needed".into()), "{e}");
    // With its self-signed seal it enrolls an Offline certificate, kept beside the login one.
    let (cert, key) = self_signed(&EnrollmentData::seal(&own.nip, "Piekarnia Złoty Kłos"));
    ksef_gateway::service::clients::store_certificate(
        st,
        &op,
        &own.id,
        CertificateUse::Authentication,
        &cert,
        &SecretString::from(key),
    )
    .await
    .unwrap();
    let e = enrollment::enroll(
        st,
        &op,
        &subject,
        CertificatePurpose::Offline,
        KeyChoice::Ec,
        Enrollment::Renewal,
    )
    .await
    .unwrap_err();
    assert_eq!(why(&e), ("type".into(), "nothing_to_renew".into()), "{e}");
    let offline =
        enrollment::enroll(st, &op, &subject, CertificatePurpose::Offline, KeyChoice::Ec, Enrollment::New)
            .await
            .unwrap();
    assert_eq!(offline.certificate_type, CertificatePurpose::Offline);
    let listed = enrollment::list(st, &op, &subject).await.unwrap();
    let row = listed.certificates.iter().find(|c| c.serial_number == offline.serial_number).unwrap();
    assert_eq!(row.in_use, Some(CertificatePurpose::Offline));
    assert_eq!(row.certificate_type, CertificatePurpose::Offline);
    let seen = ksef_gateway::service::clients::find_visible(st, &op, &own.nip).await.unwrap();
    assert_eq!(seen.credential.unwrap().kind, "ksef_certificate", "the login credential stays");
    // The office never gets an Offline certificate; a bad serial is named.
    let e = enrollment::enroll(
        st,
        &op,
        &Subject::Office,
        CertificatePurpose::Offline,
        KeyChoice::Ec,
        Enrollment::New,
    )
    .await
    .unwrap_err();
    assert_eq!(why(&e), ("type".into(), "office_offline".into()));
    let e =
        enrollment::revoke(st, &op, &subject, "zz-12", RevokeReason::Unspecified, false).await.unwrap_err();
    assert_eq!(why(&e), ("serial".into(), "bad_serial".into()));

    // The CLI: bad flags exit 2 naming the flag.
    let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    for (line, flag) in [
        (args(&["certificate", "enroll", "--office", "--type", "seal"]), "--type"),
        (args(&["certificate", "enroll", "--office", "--key", "dsa"]), "--key"),
        (args(&["certificate", "enroll"]), "--office or --nip"),
        (args(&["certificate", "list", "--nip", "1234567890"]), "--nip"),
        (args(&["certificate", "list", "--nip", &nip(99)]), "--nip"),
        (args(&["certificate", "revoke", "--office", "--serial", "AB", "--reason", "lost"]), "--reason"),
        (
            args(&["certificate", "revoke", "--nip", &own.nip, "--serial", "G1", "--reason", "superseded"]),
            "--serial",
        ),
        (args(&["certificate", "enroll", "--office", "--type", "offline"]), "--type"),
    ] {
        let (code, text) = rig.cli(line.clone(), "").await.unwrap();
        assert_eq!(code, Some(2), "{line:?}: {text}");
        assert!(text.contains(flag), "{line:?}: {text}");
    }
    // Bad input at once: `client add` with a URL that is not KSeF, `client certificate` with a
    // key that is not the certificate's or an expired certificate; nothing stored.
    let bare = rig.sim.base_url().trim_end_matches("/v2").to_owned();
    let new_nip = nip(72);
    let add = |ksef: &str| args(&["client", "add", "--nip", &new_nip, "--name", "Nowa", "--ksef", ksef]);
    let (code, text) = rig.cli(add(&bare), "").await.unwrap();
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("--ksef") && text.contains("does not answer as KSeF"), "{text}");
    let seen =
        ksef_gateway::service::clients::find_visible(st, &op, &crate::common::typed_nip(&new_nip)).await;
    assert!(matches!(seen, Err(ksef_gateway::error::AppError::NotFound)), "nothing stored");
    let (code, text) = rig.cli(add(&rig.sim.base_url()), "").await.unwrap();
    assert_eq!(code, Some(0), "{text}");
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let (good_cert, _) = self_signed(&EnrollmentData::seal(&own.nip, "Piekarnia"));
    let (_, other_key) = self_signed(&EnrollmentData::seal(&own.nip, "Piekarnia"));
    let (cert_path, other_path) = (write("c.pem", &good_cert), write("k.pem", &other_key));
    let line =
        args(&["client", "certificate", "--nip", &own.nip, "--cert", &cert_path, "--key", &other_path]);
    let (code, text) = rig.cli(line, "").await.unwrap();
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("--key") && text.contains("does not belong"), "{text}");
    let (old_cert, old_key) = super::seal_pem(&own.nip, -1);
    let (old_cert, old_key) = (write("old.pem", &old_cert), write("oldk.pem", &old_key));
    let line = args(&["client", "certificate", "--nip", &own.nip, "--cert", &old_cert, "--key", &old_key]);
    let (code, text) = rig.cli(line, "").await.unwrap();
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("--cert") && text.contains("not valid now"), "{text}");

    let (code, text) = rig.cli(args(&["certificate", "list", "--nip", &own.nip]), "").await.unwrap();
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(&offline.serial_number) && text.contains("used by the gateway (offline)"),
        "{text}"
    );

    // The API: the client's list needs the credentials permission; the office's, an office admin.
    let person = |email: &str, role| ksef_gateway::service::users::NewUserInput {
        email: email.into(),
        display_name: String::new(),
        role,
        nip: None,
    };
    for (email, role) in [
        ("admin@biuro.test", ksef_gateway::auth::Role::OfficeAdmin),
        ("ksiegowa@biuro.test", ksef_gateway::auth::Role::Accountant),
    ] {
        ksef_gateway::service::users::create_user(st, &op, person(email, role), SecretString::from(PASSWORD))
            .await
            .unwrap();
    }
    let app = app(st).await;
    let admin = login(&app, "admin@biuro.test").await;
    let accountant = login(&app, "ksiegowa@biuro.test").await;
    let uri = format!("/api/v1/clients/{}/certificates", own.nip);
    let r = call(&app, admin.apply(TestRequest::get().uri(&uri))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["limits"]["active_limit"], 100);
    assert!(
        r.json()["certificates"].as_array().unwrap().iter().any(|c| c["in_use"] == "offline"),
        "{}",
        r.text()
    );
    let r = call(&app, accountant.apply(TestRequest::get().uri(&uri))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "a client the accountant holds nothing on: {}", r.text());
    let r = call(&app, accountant.apply(TestRequest::get().uri("/api/v1/office/certificates"))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(&app, admin.apply(TestRequest::post().uri(&uri).set_json(json!({"type": "seal"})))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = call(
        &app,
        admin.apply(
            TestRequest::post()
                .uri(&format!("{uri}/{}/revoke", offline.serial_number))
                .set_json(json!({"reason": "superseded"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "in use: {}", r.text());
    assert_eq!(r.json()["error"]["code"], "certificate_in_use");
    let r = call(
        &app,
        admin.apply(
            TestRequest::post()
                .uri(&format!("{uri}/{}/revoke", offline.serial_number))
                .set_json(json!({"reason": "key-compromise", "force": true})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["revoked"]["was_in_use"], "offline");
    // The revoked certificate is out of use at once: no active Offline certificate signs KOD II.
    let id = own.id.clone();
    let still = st
        .db
        .tx(move |c| {
            ksef_gateway::db::models::Credential::find_active(
                c,
                &id,
                ksef_gateway::service::certificates::KSEF_OFFLINE_CERTIFICATE,
            )
        })
        .await
        .unwrap();
    assert!(still.is_none(), "a revoked certificate stays in use: {still:?}");
    let r = call(&app, admin.apply(TestRequest::get().uri(&uri))).await;
    assert!(
        !r.json()["certificates"].as_array().unwrap().iter().any(|c| c["in_use"] == "offline"),
        "{}",
        r.text()
    );
    rig.sim.stop().await;
}

/// A process ended after KSeF took an enrollment and before the certificate was stored: the row
/// (KSeF's reference, the sealed key) is what the next enrollment of the office finishes, without
/// a second enrollment at KSeF; a row KSeF never took is marked abandoned.
async fn enrollment_pending_when_the_process_ended_is_finished_not_repeated(b: Backend) {
    use ksef_gateway::db::models::{ids, CertificateEnrollment, NewCertificateEnrollment};
    // KSeF's request limits are not what this test is about (the first test meets them).
    let quick = SimulatorConfig { rate_limit_scale: 1000.0, ..SimulatorConfig::default() };
    let Some(rig) = Rig::new(b, quick).await else { return };
    let st = &rig.st;
    let op = Caller::Operator;
    let (der, first_key) = self_signed_der(&EnrollmentData::seal(OFFICE, OFFICE_NAME));
    let (cert, key_pem) = (
        pem::encode(&pem::Pem::new("CERTIFICATE", der.clone())),
        first_key.to_pkcs8_pem().unwrap().expose_secret().to_owned(),
    );
    office::store(st, &op, input(&rig.target, certificate(&cert, &key_pem))).await.unwrap();
    // What the gateway did before it stopped: a key, a CSR, KSeF's reference.
    let ksef = crate::common::outside_ksef(&rig.sim.base_url());
    let tokens = ksef
        .authenticate_with_xades(
            &ksef_client::ContextIdentifier::nip(OFFICE),
            ksef_client::xades::SubjectIdentifierType::CertificateSubject,
            &der,
            &first_key.signing_key().unwrap(),
            false,
        )
        .await
        .unwrap();
    let access = tokens.access_token.token;
    let data = ksef.certificate_enrollment_data(&access).await.unwrap();
    let new_key = CertificateKey::generate(KeyAlgorithm::EcP256).unwrap();
    let request = ksef_client::models::certificates::EnrollCertificateRequest {
        certificate_name: "Bramka KSeF przerwana".to_owned(),
        certificate_type: ksef_client::models::certificates::CertificateType::Authentication,
        csr: ksef_client::crypto::b64(&new_key.build_csr(&data).unwrap()),
        valid_from: None,
    };
    let started = ksef.enroll_certificate(&access, &request).await.unwrap();
    let office = crate::common::typed_nip(OFFICE);
    let sealed = ksef_gateway::vault::seal(
        &st.keys,
        &office,
        enrollment::KEY_KIND,
        new_key.pkcs8_der().expose_secret(),
    )
    .unwrap();
    let (reference, environment) = (started.reference_number.clone(), rig.target.as_str().to_owned());
    st.db
        .tx(move |c| {
            let rows = [
                // Taken by KSeF; never sent to it; taken by another KSeF.
                (EnrollmentId::new(), Some(reference.clone()), environment.as_str()),
                (EnrollmentId::new(), None, environment.as_str()),
                (EnrollmentId::new(), Some(reference), "test"),
            ];
            for (id, reference, environment) in rows {
                CertificateEnrollment::insert(
                    c,
                    &NewCertificateEnrollment {
                        id: &id,
                        client_id: None,
                        subject_nip: &office,
                        ksef_environment: environment,
                        certificate_type: CertificatePurpose::Authentication,
                        key_algorithm: KeyChoice::Ec,
                        state: EnrollmentState::Pending,
                        key_version: Some(i64::from(sealed.key_version)),
                        key_nonce: Some(&sealed.nonce),
                        key_ciphertext: Some(&sealed.ciphertext),
                        created_by: None,
                        // Without KSeF's reference and older than a request can wait for
                        // KSeF's answer: left by a gateway that stopped, not on its way.
                        created_at: if reference.is_none() {
                            ids::now() - chrono::TimeDelta::minutes(11)
                        } else {
                            ids::now()
                        },
                    },
                )?;
                if let Some(r) = reference {
                    CertificateEnrollment::set_reference(c, &id, &r)?;
                }
            }
            Ok::<_, DbError>(())
        })
        .await
        .unwrap();
    // Reported while pending.
    let listed = enrollment::list(st, &op, &Subject::Office).await.unwrap();
    assert_eq!(listed.pending.len(), 3);
    assert_eq!(listed.limits.enrollments_remaining, 299);
    // A master-key rotation meanwhile re-seals the pending key.
    let rotated = ksef_gateway::service::keys::rotate(st).await.unwrap();
    assert!(rotated.resealed >= 4, "office credential and the three pending keys: {rotated:?}");

    let done = enroll_office(st, KeyChoice::Ec, Enrollment::New).await.unwrap();
    assert!(done.resumed, "the pending enrollment was finished");
    assert_eq!(done.reference_number, started.reference_number);
    let listed = enrollment::list(st, &op, &Subject::Office).await.unwrap();
    assert_eq!(listed.limits.enrollments_remaining, 299, "no second enrollment at KSeF");
    assert!(listed.pending.is_empty());
    let row = listed.certificates.iter().find(|c| c.serial_number == done.serial_number).unwrap();
    assert_eq!(row.in_use, Some(CertificatePurpose::Authentication), "the login switched to it");
    let mut states: Vec<String> = enrollment_rows(&rig)
        .await
        .into_iter()
        .map(|(s, k)| {
            assert!(k.is_none(), "no sealed key is kept once an enrollment ends");
            s
        })
        .collect();
    states.sort();
    assert_eq!(states, ["abandoned", "abandoned", "issued"], "never sent; another KSeF; finished");

    // KSeF's limit reached (TEST lets a subject lower its own): the CLI prints the limits first,
    // then the refusal; nothing is generated, sealed or sent.
    let url = format!("{}/testdata/limits/subject/certificate", rig.sim.base_url());
    let r = reqwest::Client::new()
        .post(url)
        .bearer_auth(access.expose_secret())
        .json(&json!({"certificate": {"maxCertificates": 1}}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let e = enroll_office(st, KeyChoice::Ec, Enrollment::New).await.unwrap_err();
    assert_eq!(why(&e), ("refused".into(), "certificate_limit_reached".into()), "{e}");
    let line = ["certificate", "enroll", "--office"].map(String::from).to_vec();
    let (code, text) = rig.cli(line, "").await.unwrap();
    assert_eq!(code, Some(1), "{text}");
    let (limits_at, refusal_at) =
        (text.find("active certificates 0 of 1 left").unwrap(), text.find("takes no more").unwrap());
    assert!(limits_at < refusal_at, "the limits are shown before the refusal: {text}");
    assert_eq!(enrollment_rows(&rig).await.len(), 3, "no new enrollment row");
    rig.sim.stop().await;
}
