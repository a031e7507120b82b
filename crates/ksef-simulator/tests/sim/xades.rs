//! XAdES authentication with a self-signed seal certificate (as on TE).

use p256::ecdsa::signature::Signer;
use p256::pkcs8::DecodePrivateKey;
use serde_json::json;

use crate::client::{b64, sha, Sim, NIP};

const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

/// A self-signed ECDSA P-256 seal certificate for `nip` (organizationIdentifier VATPL-nip).
fn seal(nip: &str) -> (Vec<u8>, p256::ecdsa::SigningKey) {
    named_seal(nip, "Pieczęć testowa")
}

/// The same with the common name `name`.
pub fn named_seal(nip: &str, name: &str) -> (Vec<u8>, p256::ecdsa::SigningKey) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name.push(rcgen::DnType::CommonName, name);
    params.distinguished_name.push(rcgen::DnType::CustomDnType(vec![2, 5, 4, 97]), format!("VATPL-{nip}"));
    let cert = params.self_signed(&key).unwrap();
    let signing = p256::ecdsa::SigningKey::from_pkcs8_der(&key.serialize_der()).unwrap();
    (cert.der().to_vec(), signing)
}

/// An `AuthTokenRequest` with an enveloped signature; the document has indentation (text nodes
/// the canonicaliser must keep) and `SignedInfo` inherits `xmlns:ds` (which exc-C14N must render).
fn signed_request(challenge: &str, context: &str, cert: &[u8], key: &p256::ecdsa::SigningKey) -> String {
    signed_request_c14n(challenge, context, cert, key, EXC_C14N)
}

/// The same with another canonicalisation (for SignedInfo and the document reference).
fn signed_request_c14n(
    challenge: &str,
    context: &str,
    cert: &[u8],
    key: &p256::ecdsa::SigningKey,
    c14n: &str,
) -> String {
    let head = format!(
        "<AuthTokenRequest xmlns=\"http://ksef.mf.gov.pl/auth/token/2.1\">\n  <Challenge>{challenge}</Challenge>\n  \
         <ContextIdentifier><Nip>{context}</Nip></ContextIdentifier>\n  <SubjectIdentifierType>certificateSubject</SubjectIdentifierType>\n"
    );
    let tail = "</AuthTokenRequest>";
    let digest = sha(format!("{head}{tail}").as_bytes());
    let inner = format!(
        "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"></ds:CanonicalizationMethod>\
         <ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256\"></ds:SignatureMethod>\
         <ds:Reference URI=\"\"><ds:Transforms><ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"></ds:Transform>\
         <ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"></ds:Transform></ds:Transforms>\
         <ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"></ds:DigestMethod><ds:DigestValue>{digest}</ds:DigestValue></ds:Reference>"
    );
    let inner = inner.replace(EXC_C14N, c14n);
    // Inclusive forms also carry the bindings SignedInfo inherits: the document's default namespace.
    let inherited = if c14n == EXC_C14N { "" } else { " xmlns=\"http://ksef.mf.gov.pl/auth/token/2.1\"" };
    let canonical_signed_info =
        format!("<ds:SignedInfo{inherited} xmlns:ds=\"{DS}\">{inner}</ds:SignedInfo>");
    let signature: p256::ecdsa::Signature = key.sign(canonical_signed_info.as_bytes());
    format!(
        "{head}<ds:Signature xmlns:ds=\"{DS}\"><ds:SignedInfo>{inner}</ds:SignedInfo><ds:SignatureValue>{}</ds:SignatureValue>\
         <ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>{tail}",
        b64(&signature.to_bytes()),
        b64(cert)
    )
}

async fn post_xml(sim: &Sim, xml: String) -> (u16, serde_json::Value) {
    let res = sim
        .http
        .post(sim.url("/auth/xades-signature"))
        .header("content-type", "application/xml")
        .body(xml)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn challenge(sim: &Sim) -> String {
    sim.post("/auth/challenge", None, &json!(null)).await.1["challenge"].as_str().unwrap().to_owned()
}

/// XAdES login into `context` with `cert`; the auth status and, on success, the access token.
pub async fn seal_login(
    sim: &Sim,
    context: &str,
    cert: &[u8],
    key: &p256::ecdsa::SigningKey,
) -> (serde_json::Value, Option<String>) {
    let (status, res) = post_xml(sim, signed_request(&challenge(sim).await, context, cert, key)).await;
    assert_eq!(status, 202, "{res}");
    let auth = res["authenticationToken"]["token"].as_str().unwrap();
    let st = sim.auth_status(res["referenceNumber"].as_str().unwrap(), auth).await;
    if st["status"]["code"] != 200 {
        return (st, None);
    }
    let (_, tokens) = sim.post("/auth/token/redeem", Some(auth), &json!(null)).await;
    (st, tokens["accessToken"]["token"].as_str().map(str::to_owned))
}

#[tokio::test]
async fn owner_seal_authenticates_and_tampering_is_refused() {
    let sim = Sim::with_token().await;
    let (cert, key) = seal(NIP);
    let (status, res) = post_xml(&sim, signed_request(&challenge(&sim).await, NIP, &cert, &key)).await;
    assert_eq!(status, 202, "{res}");
    let auth = res["authenticationToken"]["token"].as_str().unwrap();
    let st = sim.auth_status(res["referenceNumber"].as_str().unwrap(), auth).await;
    assert_eq!(st["status"]["code"], 200, "{st}");
    assert_eq!(st["authenticationMethodInfo"]["category"], "XadesSignature");
    let (status, tokens) = sim.post("/auth/token/redeem", Some(auth), &json!(null)).await;
    assert_eq!(status, 200);
    let session = sim.open_online(tokens["accessToken"]["token"].as_str().unwrap()).await;
    assert_eq!(session.reference.len(), 36);
    // Changing a signed byte breaks the document digest.
    let fresh = challenge(&sim).await;
    let tampered = signed_request(&fresh, NIP, &cert, &key)
        .replace(&format!("<Nip>{NIP}</Nip>"), "<Nip>5265877635</Nip>");
    let (status, res) = post_xml(&sim, tampered).await;
    assert_eq!(
        (status, res["exception"]["exceptionDetailList"][0]["exceptionCode"].clone()),
        (400, json!(21001)),
        "{res}"
    );
    // A signature by another key does not verify.
    let (_, other_key) = seal(NIP);
    let (status, _) = post_xml(&sim, signed_request(&challenge(&sim).await, NIP, &cert, &other_key)).await;
    assert_eq!(status, 400);
    // Hostile input is refused before anything else.
    let (status, res) = post_xml(&sim, "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>".to_owned()).await;
    assert_eq!(
        (status, res["exception"]["exceptionDetailList"][0]["exceptionCode"].clone()),
        (400, json!(21001))
    );
}

#[tokio::test]
async fn foreign_seal_needs_a_grant() {
    let sim = Sim::with_token().await;
    let (cert, key) = seal("5265877635");
    let (_, res) = post_xml(&sim, signed_request(&challenge(&sim).await, NIP, &cert, &key)).await;
    let st = sim
        .auth_status(
            res["referenceNumber"].as_str().unwrap(),
            res["authenticationToken"]["token"].as_str().unwrap(),
        )
        .await;
    assert_eq!(st["status"]["code"], 415);
    let grant = json!({"contextIdentifier": {"type": "Nip", "value": NIP}, "authorizedIdentifier": {"type": "Nip", "value": "5265877635"},
        "permissions": [{"permissionType": "InvoiceRead", "description": "biuro rachunkowe"}]});
    sim.post("/testdata/permissions", None, &grant).await;
    let (_, res) = post_xml(&sim, signed_request(&challenge(&sim).await, NIP, &cert, &key)).await;
    let auth = res["authenticationToken"]["token"].as_str().unwrap();
    let st = sim.auth_status(res["referenceNumber"].as_str().unwrap(), auth).await;
    assert_eq!(st["status"]["code"], 200);
    // The permissions the office holds in the client's context, held by the certificate's NIP.
    let (_, tokens) = sim.post("/auth/token/redeem", Some(auth), &json!(null)).await;
    let access = tokens["accessToken"]["token"].as_str().unwrap();
    let (status, page) = sim.post("/permissions/query/personal/grants", Some(access), &json!({})).await;
    assert_eq!(status, 200, "{page}");
    let held = &page["permissions"];
    assert_eq!(held.as_array().map(Vec::len), Some(1), "{page}");
    assert_eq!(held[0]["permissionScope"], "InvoiceRead");
    assert_eq!(held[0]["authorizedIdentifier"], json!({"type": "Nip", "value": "5265877635"}));
    assert_eq!(held[0]["contextIdentifier"], json!({"type": "Nip", "value": NIP}));
    // Withdrawn grants end the refresh as well.
    sim.post("/testdata/permissions/revoke", None, &grant).await;
    let refresh = tokens["refreshToken"]["token"].as_str().unwrap();
    let (status, res) = sim.post("/auth/token/refresh", Some(refresh), &json!(null)).await;
    assert_eq!(
        (status, res["exception"]["exceptionDetailList"][0]["exceptionCode"].clone()),
        (400, json!(21301)),
        "{res}"
    );
}

/// KSeF allows inclusive C14N 1.0 and 1.1 besides the exclusive form (ksef-docs auth/podpis-xades.md);
/// signxml (the ksef2 SDK) signs with C14N 1.1 by default. WithComments variants and other transforms are refused.
#[tokio::test]
async fn inclusive_canonicalisation_is_accepted() {
    let sim = Sim::with_token().await;
    let (cert, key) = seal(NIP);
    for c14n in ["http://www.w3.org/2006/12/xml-c14n11", "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"] {
        let (status, res) =
            post_xml(&sim, signed_request_c14n(&challenge(&sim).await, NIP, &cert, &key, c14n)).await;
        assert_eq!(status, 202, "{c14n}: {res}");
        let st = sim
            .auth_status(
                res["referenceNumber"].as_str().unwrap(),
                res["authenticationToken"]["token"].as_str().unwrap(),
            )
            .await;
        assert_eq!(st["status"]["code"], 200, "{c14n}: {st}");
    }
    // Signed as inclusive but declared exclusive: SignedInfo bytes differ, so the signature fails.
    let mislabelled =
        signed_request_c14n(&challenge(&sim).await, NIP, &cert, &key, "http://www.w3.org/2006/12/xml-c14n11")
            .replace("http://www.w3.org/2006/12/xml-c14n11", EXC_C14N);
    let (status, _) = post_xml(&sim, mislabelled).await;
    assert_eq!(status, 400);
    let with_comments = "http://www.w3.org/2006/12/xml-c14n11#WithComments";
    let (status, res) =
        post_xml(&sim, signed_request_c14n(&challenge(&sim).await, NIP, &cert, &key, with_comments)).await;
    assert_eq!(
        (status, res["exception"]["exceptionDetailList"][0]["exceptionCode"].clone()),
        (400, json!(21001))
    );
}
