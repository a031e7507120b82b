//! A minimal KSeF client for driving the simulator over real HTTP (independent of ksef-client).

use std::io::Write;

use aes::cipher::{block_padding::Pkcs7, BlockEncryptMut, KeyIvInit};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ksef_simulator::{RunningSimulator, SimulatorConfig};
use rsa::pkcs8::DecodePublicKey;
use rsa::{Oaep, RsaPublicKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use x509_cert::der::{Decode, Encode};

pub const NIP: &str = "9999999999";
pub const TOKEN: &str = "20251010-EC-1DCE3E3000-12ECB5B36E-45|nip-9999999999|919f704466624ce29cd5ac7b65ded5e7cccc112eee314f2aaa76e02cd16df7b9";

pub fn b64(data: &[u8]) -> String {
    STANDARD.encode(data)
}

pub fn sha(data: &[u8]) -> String {
    b64(&Sha256::digest(data))
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Official sample `n` with its P_2 replaced, so that every copy is a distinct invoice.
pub fn numbered_sample(n: usize, number: &str) -> Vec<u8> {
    let xml = String::from_utf8(fixture(&format!("FA_3_Przyklad_{n}.xml"))).unwrap();
    let start = xml.find("<P_2>").unwrap() + 5;
    let end = xml.find("</P_2>").unwrap();
    format!("{}{number}{}", &xml[..start], &xml[end..]).into_bytes()
}

pub fn zip_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in files {
        w.start_file(name.as_str(), zip::write::SimpleFileOptions::default()).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

pub fn aes_encrypt(key: &[u8; 32], iv: &[u8; 16], plain: &[u8]) -> Vec<u8> {
    cbc::Encryptor::<aes::Aes256>::new(key.into(), iv.into()).encrypt_padded_vec_mut::<Pkcs7>(plain)
}

pub fn aes_decrypt(key: &[u8; 32], iv: &[u8; 16], cipher: &[u8]) -> Vec<u8> {
    use aes::cipher::BlockDecryptMut;
    cbc::Decryptor::<aes::Aes256>::new(key.into(), iv.into()).decrypt_padded_vec_mut::<Pkcs7>(cipher).unwrap()
}

/// A running simulator plus an HTTP client.
pub struct Sim {
    pub sim: RunningSimulator,
    pub http: reqwest::Client,
    pub base: String,
}

pub struct Session {
    pub reference: String,
    pub key: [u8; 32],
    pub iv: [u8; 16],
}

impl Sim {
    pub async fn start(config: SimulatorConfig) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let sim = ksef_simulator::start(config, listener).await.unwrap();
        let mut builder = reqwest::Client::builder();
        if let Some(der) = sim.root_cert_der() {
            builder = builder.add_root_certificate(reqwest::Certificate::from_der(&der).unwrap());
        }
        let base = sim.base_url();
        Self { sim, http: builder.build().unwrap(), base }
    }

    /// A simulator with the default test token for `NIP`.
    pub async fn with_token() -> Self {
        let config = SimulatorConfig { rate_limit_scale: 1000.0, ..SimulatorConfig::default() };
        let sim = Self::start(config).await;
        sim.sim.add_token(NIP, TOKEN, &["InvoiceWrite", "InvoiceRead", "CredentialsManage"]);
        sim
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str, bearer: &str) -> (u16, Value) {
        let res = self.http.get(self.url(path)).bearer_auth(bearer).send().await.unwrap();
        (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, bearer: Option<&str>, body: &Value) -> (u16, Value) {
        let mut req = self.http.post(self.url(path)).json(body);
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        let res = req.send().await.unwrap();
        (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
    }

    /// RSA public key of the certificate with `usage`, and its publicKeyId.
    pub async fn public_key(&self, usage: &str) -> (RsaPublicKey, String) {
        let certs: Value = self
            .http
            .get(self.url("/security/public-key-certificates"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let cert = certs.as_array().unwrap().iter().find(|c| c["usage"][0] == usage).unwrap();
        let der = STANDARD.decode(cert["certificate"].as_str().unwrap()).unwrap();
        let parsed = x509_cert::Certificate::from_der(&der).unwrap();
        let spki = parsed.tbs_certificate.subject_public_key_info.to_der().unwrap();
        (RsaPublicKey::from_public_key_der(&spki).unwrap(), cert["publicKeyId"].as_str().unwrap().to_owned())
    }

    /// Starts a token authentication; returns (reference, authenticationToken).
    pub async fn init_auth(&self, nip: &str, token: &str) -> (String, String) {
        let (_, ch) = self.post("/auth/challenge", None, &json!({})).await;
        let (key, key_id) = self.public_key("KsefTokenEncryption").await;
        let plain = format!("{token}|{}", ch["timestampMs"]);
        let enc = key.encrypt(&mut rand::rngs::OsRng, Oaep::new::<Sha256>(), plain.as_bytes()).unwrap();
        let body = json!({"challenge": ch["challenge"], "contextIdentifier": {"type": "Nip", "value": nip},
            "encryptedToken": b64(&enc), "publicKeyId": key_id});
        let (status, res) = self.post("/auth/ksef-token", None, &body).await;
        assert_eq!(status, 202, "{res}");
        (
            res["referenceNumber"].as_str().unwrap().to_owned(),
            res["authenticationToken"]["token"].as_str().unwrap().to_owned(),
        )
    }

    /// Final auth status code (polls while 100).
    pub async fn auth_status(&self, reference: &str, auth_token: &str) -> Value {
        loop {
            let (status, body) = self.get(&format!("/auth/{reference}"), auth_token).await;
            assert_eq!(status, 200, "{body}");
            if body["status"]["code"] != 100 {
                return body;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Full token auth; returns (accessToken, refreshToken).
    pub async fn login(&self, nip: &str, token: &str) -> (String, String) {
        let (reference, auth) = self.init_auth(nip, token).await;
        let st = self.auth_status(&reference, &auth).await;
        assert_eq!(st["status"]["code"], 200, "{st}");
        let (status, tokens) = self.post("/auth/token/redeem", Some(&auth), &json!(null)).await;
        assert_eq!(status, 200, "{tokens}");
        (
            tokens["accessToken"]["token"].as_str().unwrap().to_owned(),
            tokens["refreshToken"]["token"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn open_online(&self, access: &str) -> Session {
        let key: [u8; 32] = rand::random();
        let iv: [u8; 16] = rand::random();
        let (rsa_key, key_id) = self.public_key("SymmetricKeyEncryption").await;
        let wrapped = rsa_key.encrypt(&mut rand::rngs::OsRng, Oaep::new::<Sha256>(), &key).unwrap();
        let body = json!({"formCode": {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"},
            "encryption": {"encryptedSymmetricKey": b64(&wrapped), "initializationVector": b64(&iv), "publicKeyId": key_id}});
        let (status, res) = self.post("/sessions/online", Some(access), &body).await;
        assert_eq!(status, 201, "{res}");
        Session { reference: res["referenceNumber"].as_str().unwrap().to_owned(), key, iv }
    }

    /// The official send request for `xml`.
    pub fn send_body(session: &Session, xml: &[u8]) -> Value {
        let cipher = aes_encrypt(&session.key, &session.iv, xml);
        json!({"invoiceHash": sha(xml), "invoiceSize": xml.len(), "encryptedInvoiceHash": sha(&cipher),
            "encryptedInvoiceSize": cipher.len(), "encryptedInvoiceContent": b64(&cipher), "offlineMode": false})
    }

    pub async fn send(&self, access: &str, session: &Session, xml: &[u8]) -> (u16, Value) {
        let path = format!("/sessions/online/{}/invoices", session.reference);
        self.post(&path, Some(access), &Self::send_body(session, xml)).await
    }

    pub async fn close_online(&self, access: &str, session: &Session) -> u16 {
        let path = format!("/sessions/online/{}/close", session.reference);
        self.http.post(self.url(&path)).bearer_auth(access).send().await.unwrap().status().as_u16()
    }

    /// Polls an invoice until its status is final.
    pub async fn invoice_final(&self, access: &str, session: &str, invoice: &str) -> Value {
        loop {
            let (status, body) = self.get(&format!("/sessions/{session}/invoices/{invoice}"), access).await;
            assert_eq!(status, 200, "{body}");
            if !matches!(body["status"]["code"].as_u64(), Some(100 | 150)) {
                return body;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// A `POST /invoices/exports` body for `filters` with a fresh key; returns it with (key, IV).
    pub async fn export_body(&self, filters: &Value) -> (Value, [u8; 32], [u8; 16]) {
        let key: [u8; 32] = rand::random();
        let iv: [u8; 16] = rand::random();
        let (rsa_key, key_id) = self.public_key("SymmetricKeyEncryption").await;
        let wrapped = rsa_key.encrypt(&mut rand::rngs::OsRng, Oaep::new::<Sha256>(), &key).unwrap();
        let body = json!({"filters": filters,
            "encryption": {"encryptedSymmetricKey": b64(&wrapped), "initializationVector": b64(&iv), "publicKeyId": key_id}});
        (body, key, iv)
    }

    /// The `POST /sessions/batch` body for a ZIP of `files` split into `parts` encrypted parts.
    pub async fn batch_plan(&self, files: &[(String, Vec<u8>)], parts: usize) -> (Value, Vec<Vec<u8>>) {
        let archive = zip_of(files);
        let key: [u8; 32] = rand::random();
        let iv: [u8; 16] = rand::random();
        let chunk = archive.len().div_ceil(parts);
        let encrypted: Vec<Vec<u8>> = archive.chunks(chunk).map(|p| aes_encrypt(&key, &iv, p)).collect();
        let (rsa_key, key_id) = self.public_key("SymmetricKeyEncryption").await;
        let wrapped = rsa_key.encrypt(&mut rand::rngs::OsRng, Oaep::new::<Sha256>(), &key).unwrap();
        let declared: Vec<Value> = encrypted
            .iter()
            .enumerate()
            .map(|(i, p)| json!({"ordinalNumber": i + 1, "fileSize": p.len(), "fileHash": sha(p)}))
            .collect();
        let body = json!({
            "formCode": {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"},
            "batchFile": {"fileSize": archive.len(), "fileHash": sha(&archive), "compressionType": "Zip", "fileParts": declared},
            "encryption": {"encryptedSymmetricKey": b64(&wrapped), "initializationVector": b64(&iv), "publicKeyId": key_id},
        });
        (body, encrypted)
    }

    /// Uploads the parts to the pre-signed URLs of an open answer (no bearer token).
    pub async fn upload_parts(&self, opened: &Value, parts: &[Vec<u8>]) {
        for (upload, part) in opened["partUploadRequests"].as_array().unwrap().iter().zip(parts) {
            assert_eq!(upload["method"], "PUT");
            let res = self
                .http
                .put(upload["url"].as_str().unwrap())
                .header("x-ms-blob-type", "BlockBlob")
                .body(part.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201);
        }
    }

    /// Sends `files` in a batch session (open, upload, close); returns the session reference.
    pub async fn send_batch(&self, access: &str, files: &[(String, Vec<u8>)]) -> String {
        let (body, parts) = self.batch_plan(files, 1).await;
        let (status, opened) = self.post("/sessions/batch", Some(access), &body).await;
        assert_eq!(status, 201, "{opened}");
        self.upload_parts(&opened, &parts).await;
        let reference = opened["referenceNumber"].as_str().unwrap().to_owned();
        let (status, _) =
            self.post(&format!("/sessions/batch/{reference}/close"), Some(access), &json!(null)).await;
        assert_eq!(status, 204);
        reference
    }
}
