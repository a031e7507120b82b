//! The office's certificate enrolled from the panel, in headless Chromium: the first step on the
//! office-credential page, KSeF's limits shown before confirming, the new certificate marked as
//! the one in use, and its revocation refused in Polish beside the list unless confirmed.

use ksef_client::csr::{CertificateKey, KeyAlgorithm};
use ksef_client::models::certificates::EnrollmentData;
use secrecy::{ExposeSecret, SecretString};

use ksef_gateway::auth::Role;
use ksef_gateway::domain::{KsefTarget, Nip};
use ksef_gateway::service::access::Caller;
use ksef_gateway::service::office::{self, OfficeCredentialInput, OfficeSecret};
use ksef_gateway::service::users::{self, NewUserInput};

use crate::common::{Backend, TestDb};
use crate::panel::PASSWORD;
use crate::panel_browser::{logged_in, start_gateway};

const OFFICE: &str = "1070002878";

#[actix_web::test]
async fn office_certificate_enrolled_from_the_panel_in_headless_chromium() {
    let t = TestDb::new(Backend::Sqlite).unwrap();
    let (gw, st) = start_gateway(&t);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let sim = ksef_simulator::start(ksef_simulator::SimulatorConfig::default(), listener).await.unwrap();
    // The office's first login: a self-signed certificate, as KSeF TEST accepts.
    let key = CertificateKey::generate(KeyAlgorithm::EcP256).unwrap();
    let dn = EnrollmentData::seal(OFFICE, "Biuro Rachunkowe Źródło");
    let der = key.self_signed_certificate(&dn, std::time::Duration::from_secs(86_400)).unwrap();
    let input = OfficeCredentialInput {
        nip: Nip::parse(OFFICE).unwrap(),
        ksef: Some(KsefTarget::parse(&sim.base_url()).unwrap()),
        secret: OfficeSecret::Certificate {
            certificate_pem: pem::encode(&pem::Pem::new("CERTIFICATE", der)),
            private_key_pem: SecretString::from(key.to_pkcs8_pem().unwrap().expose_secret().to_owned()),
        },
    };
    office::store(&st, &Caller::Operator, input).await.unwrap();
    let admin = NewUserInput {
        email: "szefowa@biuro.test".into(),
        display_name: "Szefowa".into(),
        role: Role::OfficeAdmin,
        nip: None,
    };
    users::create_user(&st, &Caller::Operator, admin, SecretString::from(PASSWORD)).await.unwrap();
    let Some((_driver, b, _profile)) = logged_in(&gw, "szefowa@biuro.test", PASSWORD).await else { return };

    b.goto(&format!("{gw}/biuro/poswiadczenie")).await;
    b.click("#certyfikaty-biura").await;
    let limits = b.text("#limity").await;
    assert!(limits.contains("pozostało 100 z 100") && limits.contains("pozostało 300 z 300"), "{limits}");
    b.screenshot("certificates-limits").await;
    b.click("#wystaw").await;
    let done = b.text("#wynik").await;
    assert!(done.contains("wystawiony przez KSeF"), "{done}");
    let list = b.text("#certyfikaty").await;
    assert!(list.contains("bramka loguje się nim") && list.contains("aktywny"), "{list}");
    assert!(b.text("#limity").await.contains("pozostało 99 z 100"));
    // Revoking the one in use without ticking the box: refused, in Polish, nothing revoked.
    b.click("#certyfikaty form button.danger").await;
    let why = b.text("#blad-seria").await;
    assert!(why.contains("Tego certyfikatu bramka właśnie używa"), "{why}");
    assert!(b.text("#certyfikaty").await.contains("aktywny"));
    b.screenshot("certificates-in-use").await;
    let stored = office::show(&st, &Caller::Operator).await.unwrap().unwrap();
    assert!(stored.validity.valid_until.is_some());
    drop(b);
    sim.stop().await;
}
