//! Interactive (online) sessions: open with a fresh AES key, send invoices one by one, close.

use chrono::{DateTime, Utc};
use reqwest::Method;
use secrecy::SecretString;

use crate::client::KsefClient;
use crate::crypto::{self, SymmetricKey};
use crate::error::KsefError;
use crate::keys::PublicKeyUsage;
use crate::models::common::{FormCode, ReferenceResponse};
use crate::models::session::{
    EncryptionInfo, OpenOnlineSessionRequest, OpenOnlineSessionResponse, SendInvoiceRequest,
};

/// An open online session and its AES key (the key never leaves the process unwrapped).
#[derive(Debug)]
pub struct OnlineSession {
    /// Session reference (`…-SO-…`).
    pub reference_number: String,
    /// Session expiry (12 h after opening).
    pub valid_until: Option<DateTime<Utc>>,
    key: SymmetricKey,
}

impl OnlineSession {
    /// The session's AES key, e.g. to decrypt what was sent.
    pub fn key(&self) -> &SymmetricKey {
        &self.key
    }
}

/// Options of one invoice send.
#[derive(Clone, Debug, Default)]
pub struct SendOptions {
    /// The invoice was issued in an offline mode (offline24, KSeF unavailability, emergency).
    pub offline_mode: bool,
    /// Technical correction: SHA-256 (Base64) of the rejected offline original.
    pub hash_of_corrected_invoice: Option<String>,
}

/// What a send returns: the invoice reference and the hash to correlate statuses and build KOD I.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentInvoice {
    /// Invoice reference within the session (`…-EE-…`).
    pub reference_number: String,
    /// SHA-256 (Base64) of the XML bytes sent.
    pub invoice_hash: String,
    /// Length of the XML bytes sent.
    pub invoice_size: u64,
}

impl KsefClient {
    /// `key` wrapped with the MF `SymmetricKeyEncryption` key (RSA-OAEP-SHA256).
    pub(crate) async fn wrap_session_key(&self, key: &SymmetricKey) -> Result<EncryptionInfo, KsefError> {
        let mf_key = self.encryption_key(PublicKeyUsage::SymmetricKeyEncryption).await?;
        let wrapped = mf_key.encrypt(key.key_bytes())?;
        Ok(EncryptionInfo {
            encrypted_symmetric_key: crypto::b64(&wrapped),
            initialization_vector: crypto::b64(key.iv()),
            public_key_id: mf_key.public_key_id,
        })
    }

    /// `POST /sessions/online` with a fresh AES-256 key.
    pub async fn open_online_session(
        &self,
        access_token: &SecretString,
        form_code: &FormCode,
    ) -> Result<OnlineSession, KsefError> {
        self.with_key_refresh(|| async {
            let key = SymmetricKey::generate();
            let encryption = self.wrap_session_key(&key).await?;
            let body = OpenOnlineSessionRequest { form_code, encryption: &encryption };
            let rb = self.request(Method::POST, "/sessions/online", Some(access_token)).json(&body);
            let resp: OpenOnlineSessionResponse = self.json(rb, "open online session").await?;
            Ok(OnlineSession { reference_number: resp.reference_number, valid_until: resp.valid_until, key })
        })
        .await
    }

    /// Encrypts and sends the exact `xml` bytes (`POST /sessions/online/{ref}/invoices`).
    pub async fn send_invoice(
        &self,
        access_token: &SecretString,
        session: &OnlineSession,
        xml: &[u8],
        options: &SendOptions,
    ) -> Result<SentInvoice, KsefError> {
        let body = build_send_request(&session.key, xml, options);
        let path = format!("/sessions/online/{}/invoices", session.reference_number);
        let rb = self.request(Method::POST, &path, Some(access_token)).json(&body);
        let resp: ReferenceResponse = self.json(rb, "send invoice").await?;
        Ok(SentInvoice {
            reference_number: resp.reference_number,
            invoice_hash: body.invoice_hash,
            invoice_size: body.invoice_size,
        })
    }

    /// `POST /sessions/online/{ref}/close`: no more invoices; starts collective UPO generation.
    pub async fn close_online_session(
        &self,
        access_token: &SecretString,
        reference: &str,
    ) -> Result<(), KsefError> {
        let rb =
            self.request(Method::POST, &format!("/sessions/online/{reference}/close"), Some(access_token));
        self.no_content(rb, "close online session").await
    }
}

/// The send body for `xml` under `key`: hashes and sizes of plain and encrypted bytes.
pub fn build_send_request(key: &SymmetricKey, xml: &[u8], options: &SendOptions) -> SendInvoiceRequest {
    let encrypted = key.encrypt(xml);
    SendInvoiceRequest {
        invoice_hash: crypto::sha256_b64(xml),
        invoice_size: xml.len() as u64,
        encrypted_invoice_hash: crypto::sha256_b64(&encrypted),
        encrypted_invoice_size: encrypted.len() as u64,
        encrypted_invoice_content: crypto::b64(&encrypted),
        offline_mode: options.offline_mode,
        hash_of_corrected_invoice: options.hash_of_corrected_invoice.clone(),
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "test code")]
mod tests {
    use super::*;

    #[test]
    fn send_body_matches_official_sizes_and_decrypts() {
        let xml = include_bytes!("../tests/fixtures/examples/FA_3_Przyklad_1.xml");
        let key = SymmetricKey::generate();
        let body = build_send_request(&key, xml, &SendOptions::default());
        assert_eq!(body.invoice_hash, "X+wQflQVyRs1fImlI+xDPnWk1V37hys4O1lkx9iJbSA=");
        assert_eq!((body.invoice_size, body.encrypted_invoice_size), (3387, 3392));
        let ct = crypto::b64_decode(&body.encrypted_invoice_content).unwrap();
        assert_eq!(crypto::sha256_b64(&ct), body.encrypted_invoice_hash);
        assert_eq!(key.decrypt(&ct).unwrap(), xml);
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["offlineMode"], false);
        assert!(json.get("hashOfCorrectedInvoice").is_none());
    }
}
