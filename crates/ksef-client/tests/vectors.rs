//! Official and derived KSeF test vectors (see tests/fixtures, copied from shared/ksef/test-vectors).
#![expect(clippy::unwrap_used, reason = "test code")]

use base64::Engine as _;
use chrono::NaiveDate;
use ksef_client::crypto::{self, SymmetricKey};
use ksef_client::ksef_number::{self, KsefNumber};
use ksef_client::qr::{self, CertificateLink, OfflineSigningKey};
use ksef_client::ContextIdentifier;
use rsa::pkcs1::DecodeRsaPrivateKey;
use serde_json::Value;
use url::Url;

const VECTORS: &str = include_str!("fixtures/test-vectors.json");
const CERT_B64: &str = include_str!("fixtures/kod2-test-cert.der.b64");
const KEY_B64: &str = include_str!("fixtures/kod2-test-key.pkcs1.der.b64");
const SAMPLE_1: &[u8] = include_bytes!("fixtures/examples/FA_3_Przyklad_1.xml");
const SAMPLE_1_AES: &[u8] = include_bytes!("fixtures/FA_3_Przyklad_1.aes256cbc.bin");

fn vectors() -> Value {
    serde_json::from_str(VECTORS).unwrap()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap()
}

fn cert_der() -> Vec<u8> {
    crypto::b64_decode(CERT_B64).unwrap()
}

fn qr_test() -> Url {
    Url::parse("https://qr-test.ksef.mf.gov.pl").unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn ksef_numbers_official_checksums() {
    let v = vectors();
    let list = v["ksef_number_crc8"].as_array().unwrap();
    assert_eq!(list.len(), 11);
    for case in list {
        let number = s(&case["ksefNumber"]);
        assert_eq!(ksef_number::checksum(s(&case["data32"])), s(&case["crc8_computed"]), "{number}");
        assert_eq!(KsefNumber::is_valid(number), case["valid"].as_bool().unwrap(), "{number}");
    }
}

#[test]
fn aes_vector_matches_official_client_layout() {
    let v = &vectors()["aes_vector_self_generated"];
    let key: [u8; 32] = core::array::from_fn(|i| i as u8);
    let iv: [u8; 16] = core::array::from_fn(|i| i as u8);
    let sym = SymmetricKey::from_parts(key, iv);
    let ct = sym.encrypt(SAMPLE_1);
    assert_eq!(SAMPLE_1.len() as u64, v["invoiceSize"].as_u64().unwrap());
    assert_eq!(crypto::sha256_b64(SAMPLE_1), s(&v["invoiceHash"]));
    assert_eq!(ct.len() as u64, v["encryptedInvoiceSize"].as_u64().unwrap());
    assert_eq!(crypto::sha256_b64(&ct), s(&v["encryptedInvoiceHash"]));
    assert_eq!(hex(&ct[..32]), s(&v["ciphertext_first32_hex"]));
    assert_eq!(ct, SAMPLE_1_AES);
    assert_eq!(sym.decrypt(SAMPLE_1_AES).unwrap(), SAMPLE_1);
}

#[test]
fn certificate_identifiers_and_serial() {
    let v = &vectors()["test_cert"];
    let info = crypto::parse_certificate(&cert_der()).unwrap();
    assert_eq!(info.serial_hex, s(&v["serial_hex"]));
    assert_eq!(info.certificate_id, s(&v["sha256_der_b64 (certificateId-style)"]));
    assert_eq!(info.public_key_id, s(&v["sha256_spki_b64 (publicKeyId-style)"]));
}

#[test]
fn rsa_oaep_sha256_round_trip_with_official_test_key() {
    let v = &vectors()["rsa_oaep_sha256_decrypt_vector_self_generated"];
    let key = rsa::RsaPrivateKey::from_pkcs1_der(&crypto::b64_decode(KEY_B64).unwrap()).unwrap();
    let oaep = || rsa::Oaep::new::<sha2::Sha256>();
    // The stored vector decrypts with OAEP-SHA256/MGF1-SHA256 …
    let stored = crypto::b64_decode(s(&v["ciphertext_b64"])).unwrap();
    assert_eq!(key.decrypt(oaep(), &stored).unwrap(), s(&v["plaintext_utf8"]).as_bytes());
    // … and what we encrypt with the certificate decrypts the same way (and not with SHA-1 OAEP).
    let ct = crypto::rsa_oaep_sha256_encrypt(&cert_der(), s(&v["plaintext_utf8"]).as_bytes()).unwrap();
    assert_eq!(ct.len(), 256);
    assert_eq!(key.decrypt(oaep(), &ct).unwrap(), s(&v["plaintext_utf8"]).as_bytes());
    // OAEP with another digest must not decrypt it (catches the usual SHA-1 interop bug).
    assert!(key.decrypt(rsa::Oaep::new::<sha2::Sha512>(), &ct).is_err());
}

#[test]
fn kod1_links_official_and_samples() {
    let v = vectors();
    let doc = &v["kod1_doc_example"];
    let date = NaiveDate::from_ymd_opt(2026, 2, 1).unwrap();
    assert_eq!(
        qr::invoice_link_for_hash(&qr_test(), "1111111111", date, s(&doc["hash_b64"])),
        s(&doc["url"])
    );
    assert_eq!(
        qr::invoice_link_for_hash(&qr_test(), "1111111111", date, s(&doc["hash_b64url"])),
        s(&doc["url"])
    );
    let date = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
    for case in v["kod1_unit_test_inputs"].as_array().unwrap() {
        let Some(url) = case.get("kod1_url_nip1234567890_2026-01-05") else {
            continue;
        };
        let link = qr::invoice_link(&qr_test(), "1234567890", date, s(&case["xml_utf8"]).as_bytes());
        assert_eq!(link, s(url));
    }
    let first = &v["official_examples_hashes"][0];
    let p1 = NaiveDate::parse_from_str(s(&first["P_1"]), "%Y-%m-%d").unwrap();
    assert_eq!(qr::invoice_link(&qr_test(), "9999999999", p1, SAMPLE_1), s(&first["kod1_url_test"]));
}

fn doc_link() -> (ContextIdentifier, &'static str) {
    (ContextIdentifier::nip("1111111111"), "UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE")
}

#[test]
fn kod2_official_signature_verifies_and_ours_too() {
    let v = &vectors()["kod2_doc_example"];
    let (ctx, hash) = doc_link();
    let link = CertificateLink {
        context: &ctx,
        seller_nip: "1111111111",
        certificate_serial: "01F20A5D352AE590",
        invoice_hash: hash,
    };
    assert_eq!(link.signed_string(&qr_test()), s(&v["signed_string"]));
    qr::verify_certificate_link_signature(s(&v["signed_string"]), s(&v["signature_b64url"]), &cert_der())
        .unwrap();

    let key = OfflineSigningKey::from_der(&crypto::b64_decode(KEY_B64).unwrap()).unwrap();
    let url = link.sign(&qr_test(), &key);
    let (prefix, signature) = url.rsplit_once('/').unwrap();
    assert_eq!(prefix, format!("https://{}", s(&v["signed_string"])));
    assert_eq!(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(signature).unwrap().len(), 256);
    qr::verify_certificate_link_signature(s(&v["signed_string"]), signature, &cert_der()).unwrap();
    // A signature over another invoice hash must not verify.
    let other = s(&v["signed_string"]).replace("UtQp9", "UtQp8");
    assert!(qr::verify_certificate_link_signature(&other, signature, &cert_der()).is_err());
    assert!(!format!("{key:?}").contains("MII"));
}

#[test]
fn kod2_ecdsa_p256_signature_is_r_concat_s() {
    use p256::pkcs8::EncodePrivateKey;
    let secret = p256::SecretKey::random(&mut rand_core::OsRng);
    let der = secret.to_pkcs8_der().unwrap();
    let key = OfflineSigningKey::from_der(der.as_bytes()).unwrap();
    let sig = key.sign_pss_or_ecdsa(b"qr-test.ksef.mf.gov.pl/certificate/Nip/1111111111/1111111111/01/abc");
    assert_eq!(sig.len(), 64);
    let vk = p256::ecdsa::VerifyingKey::from(secret.public_key());
    let parsed = p256::ecdsa::Signature::from_slice(&sig).unwrap();
    use p256::ecdsa::signature::Verifier;
    vk.verify(b"qr-test.ksef.mf.gov.pl/certificate/Nip/1111111111/1111111111/01/abc", &parsed).unwrap();
}

#[test]
fn xades_auth_request_is_signed_over_canonical_bytes() {
    use ksef_client::signing::SigningKey;
    use ksef_client::xades::{self, SubjectIdentifierType};
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::signature::Verifier;

    let ctx = ContextIdentifier::nip("5265877635");
    let unsigned = xades::auth_token_request_xml(
        "20250514-CR-226FB7B000-3ACF9BE4C0-10",
        &ctx,
        SubjectIdentifierType::CertificateSubject,
        None,
    );
    let key = SigningKey::from_der(&crypto::b64_decode(KEY_B64).unwrap()).unwrap();
    let time = "2026-11-21T12:00:00Z".parse().unwrap();
    let signed = xades::sign_auth_token_request(&unsigned, &cert_der(), &key, time).unwrap();
    println!("{signed}");

    let between = |start: &str, end: &str| -> String {
        let s = signed.find(start).unwrap();
        let e = signed[s..].find(end).unwrap() + s + end.len();
        signed[s..e].to_owned()
    };
    let value = |tag: &str, nth: usize| -> String {
        let open = format!("<{tag}>");
        let part = signed.split(&open).nth(nth).unwrap();
        part[..part.find('<').unwrap()].to_owned()
    };
    // Enveloped transform: the document without ds:Signature is the unsigned request.
    let signature = between("<ds:Signature ", "</ds:Signature>");
    let body =
        signed.trim_start_matches("<?xml version=\"1.0\" encoding=\"utf-8\"?>").replace(&signature, "");
    assert_eq!(body, unsigned);
    assert_eq!(value("ds:DigestValue", 1), crypto::sha256_b64(unsigned.as_bytes()));
    let props = between("<xades:SignedProperties ", "</xades:SignedProperties>");
    assert_eq!(value("ds:DigestValue", 2), crypto::sha256_b64(props.as_bytes()));
    assert!(props.contains("<xades:SigningTime>2026-11-21T12:00:00Z</xades:SigningTime>"));
    assert!(props.contains(">140185933842146704</ds:X509SerialNumber>"));
    assert!(props.contains(&crypto::sha256_b64(&cert_der())));
    // RSA-SHA256 (PKCS#1 v1.5) over SignedInfo with the certificate's key.
    let signed_info = between("<ds:SignedInfo ", "</ds:SignedInfo>");
    let sig = crypto::b64_decode(&value("ds:SignatureValue", 1)).unwrap();
    let info = crypto::parse_certificate(&cert_der()).unwrap();
    let public = crypto::rsa_public_key_from_spki(&info.spki_der).unwrap();
    let verifier = VerifyingKey::<sha2::Sha256>::new(public);
    verifier.verify(signed_info.as_bytes(), &Signature::try_from(sig.as_slice()).unwrap()).unwrap();
}
