//! KSeF certificates: enrollment checks (25002–25011), the simulator CA, revocation and expiry.

use base64::Engine as _;
use p256::pkcs8::DecodePrivateKey;
use serde_json::{json, Value};

use crate::client::{b64, Sim, NIP, TOKEN};
use crate::xades::{named_seal, seal_login};

const NAME: &str = "Firma testowa";

fn code(res: &Value) -> Value {
    res["exception"]["exceptionDetailList"][0]["exceptionCode"].clone()
}

/// A CSR for the seal's DN (CN `cn`, organizationIdentifier, C=PL) with `key`, CN encoded as `cn_value`.
fn csr(key: &rcgen::KeyPair, cn_value: rcgen::DnValue) -> Vec<u8> {
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(rcgen::DnType::CommonName, cn_value);
    params.distinguished_name.push(rcgen::DnType::CustomDnType(vec![2, 5, 4, 97]), format!("VATPL-{NIP}"));
    params.distinguished_name.push(
        rcgen::DnType::CountryName,
        rcgen::DnValue::PrintableString(rcgen::PrintableString::try_from("PL").unwrap()),
    );
    params.serialize_request(key).unwrap().der().to_vec()
}

async fn enroll(sim: &Sim, access: &str, csr: &[u8]) -> (u16, Value) {
    let body =
        json!({"certificateName": "Pieczęć biura", "certificateType": "Authentication", "csr": b64(csr)});
    sim.post("/certificates/enrollments", Some(access), &body).await
}

async fn final_enrollment(sim: &Sim, access: &str, reference: &str) -> Value {
    loop {
        let (status, body) = sim.get(&format!("/certificates/enrollments/{reference}"), access).await;
        assert_eq!(status, 200, "{body}");
        if body["status"]["code"] != 100 {
            return body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn enrollment_checks_the_csr_and_issued_certificates_follow_their_status() {
    let sim = Sim::with_token().await;
    let (seal, seal_key) = named_seal(NIP, NAME);
    let (st, access) = seal_login(&sim, NIP, &seal, &seal_key).await;
    let access = access.unwrap_or_else(|| panic!("{st}"));
    let (status, data) = sim.get("/certificates/enrollments/data", &access).await;
    assert_eq!(status, 200);
    assert_eq!(
        data,
        json!({"commonName": NAME, "organizationIdentifier": format!("VATPL-{NIP}"), "countryName": "PL"})
    );

    let key = rcgen::KeyPair::generate().unwrap();
    // A name as PrintableString where KSeF expects UTF8String: 25004.
    let printable = rcgen::DnValue::PrintableString(rcgen::PrintableString::try_from(NAME).unwrap());
    let (status, res) = enroll(&sim, &access, &csr(&key, printable)).await;
    assert_eq!((status, code(&res)), (400, json!(25004)), "{res}");
    // Another DN: 25003. A broken signature: 25004. A P-384 key: 25010.
    let (_, res) = enroll(&sim, &access, &csr(&key, "Inna firma".into())).await;
    assert_eq!(code(&res), json!(25003), "{res}");
    let mut tampered = csr(&key, NAME.into());
    let at = tampered.len() - 40;
    tampered[at] ^= 1;
    let (_, res) = enroll(&sim, &access, &tampered).await;
    assert_eq!(code(&res), json!(25004), "{res}");
    let p384 = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
    let (_, res) = enroll(&sim, &access, &csr(&p384, NAME.into())).await;
    assert_eq!(code(&res), json!(25010), "{res}");

    // A good CSR: 202, then 200 with the serial; the certificate comes from the simulator CA.
    let (status, res) = enroll(&sim, &access, &csr(&key, NAME.into())).await;
    assert_eq!(status, 202, "{res}");
    let done = final_enrollment(&sim, &access, res["referenceNumber"].as_str().unwrap()).await;
    assert_eq!(done["status"]["code"], 200, "{done}");
    let serial = done["certificateSerialNumber"].as_str().unwrap().to_owned();
    let (_, got) = sim
        .post("/certificates/retrieve", Some(&access), &json!({"certificateSerialNumbers": [serial]}))
        .await;
    let der = base64::engine::general_purpose::STANDARD
        .decode(got["certificates"][0]["certificate"].as_str().unwrap())
        .unwrap();
    let signing = p256::ecdsa::SigningKey::from_pkcs8_der(&key.serialize_der()).unwrap();
    let (st, enrolled_access) = seal_login(&sim, NIP, &der, &signing).await;
    assert_eq!(st["authenticationMethod"], "InternalCertificate", "{st}");
    assert!(enrolled_access.is_some());
    // The same key for another subject: refused in the enrollment status.
    let (other, other_key) = named_seal("5265877635", NAME);
    let other_access = seal_login(&sim, "5265877635", &other, &other_key).await.1.unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(rcgen::DnType::CommonName, NAME);
    params.distinguished_name.push(rcgen::DnType::CustomDnType(vec![2, 5, 4, 97]), "VATPL-5265877635");
    params.distinguished_name.push(
        rcgen::DnType::CountryName,
        rcgen::DnValue::PrintableString(rcgen::PrintableString::try_from("PL").unwrap()),
    );
    let reused = params.serialize_request(&key).unwrap().der().to_vec();
    let (status, res) = enroll(&sim, &other_access, &reused).await;
    assert_eq!(status, 202, "{res}");
    let refused = final_enrollment(&sim, &other_access, res["referenceNumber"].as_str().unwrap()).await;
    assert_eq!(refused["status"]["code"], 400, "{refused}");

    // validTo may only move earlier; once in the past the certificate is Expired and refused (460).
    let path = format!("/testdata/certificates/{serial}");
    let later = sim
        .http
        .put(sim.url(&path))
        .bearer_auth(&access)
        .json(&json!({"validTo": "2099-01-01T00:00:00Z"}))
        .send()
        .await
        .unwrap();
    assert_eq!(later.status(), 400);
    let past = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    let res = sim
        .http
        .put(sim.url(&path))
        .bearer_auth(&access)
        .json(&json!({"validTo": past}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (st, _) = seal_login(&sim, NIP, &der, &signing).await;
    assert_eq!(st["status"]["code"], 460, "{st}");
    let (_, listed) = sim.post("/certificates/query", Some(&access), &json!({"status": "Expired"})).await;
    assert_eq!(listed["certificates"][0]["certificateSerialNumber"], json!(serial), "{listed}");
    let (_, res) = sim
        .post(
            &format!("/certificates/{serial}/revoke"),
            Some(&access),
            &json!({"revocationReason": "KeyCompromise"}),
        )
        .await;
    assert_eq!(code(&res), json!(25009), "{res}");
}

#[tokio::test]
async fn limits_and_token_refusals() {
    let sim = Sim::with_token().await;
    let (token_access, _) = sim.login(NIP, TOKEN).await;
    let (status, res) = sim.get("/certificates/enrollments/data", &token_access).await;
    assert_eq!((status, code(&res)), (400, json!(25001)));
    let (status, limits) = sim.get("/certificates/limits", &token_access).await;
    assert_eq!(status, 200);
    assert_eq!(
        limits,
        json!({"canRequest": true, "enrollment": {"limit": 300, "remaining": 300}, "certificate": {"limit": 100, "remaining": 100}})
    );

    let (seal, seal_key) = named_seal(NIP, NAME);
    let access = seal_login(&sim, NIP, &seal, &seal_key).await.1.unwrap();
    let (status, _) = sim
        .post(
            "/testdata/limits/subject/certificate",
            Some(&access),
            &json!({"certificate": {"maxCertificates": 1}}),
        )
        .await;
    assert_eq!(status, 200);
    let key = rcgen::KeyPair::generate().unwrap();
    let (status, _) = enroll(&sim, &access, &csr(&key, NAME.into())).await;
    assert_eq!(status, 202);
    let (_, limits) = sim.get("/certificates/limits", &access).await;
    assert_eq!(
        (limits["canRequest"].clone(), limits["certificate"]["remaining"].clone()),
        (json!(false), json!(0))
    );
    let (_, res) = enroll(&sim, &access, &csr(&rcgen::KeyPair::generate().unwrap(), NAME.into())).await;
    assert_eq!(code(&res), json!(25007), "{res}");
    let reset = sim
        .http
        .delete(sim.url("/testdata/limits/subject/certificate"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    let (_, limits) = sim.get("/certificates/limits", &access).await;
    assert_eq!(limits["certificate"]["limit"], 100);
}
