//! UPO (official receipt) downloads: per invoice, per KSeF number, per session page, and from
//! pre-signed links (plain GET without bearer; `x-ms-meta-hash` = Base64 SHA-256 of the bytes).

use reqwest::{Method, Response};
use secrecy::SecretString;

use crate::client::{header_str, KsefClient};
use crate::crypto;
use crate::error::KsefError;

/// Header with the Base64 SHA-256 of a downloaded document.
pub const HASH_HEADER: &str = "x-ms-meta-hash";

/// A downloaded document (UPO or invoice XML) with its integrity status.
#[derive(Clone, Debug)]
pub struct Document {
    /// The exact bytes received.
    pub bytes: Vec<u8>,
    /// SHA-256 (Base64) of `bytes`.
    pub sha256: String,
    /// True when the answer carried `x-ms-meta-hash` and it matched; a mismatch is an error.
    pub hash_verified: bool,
}

impl KsefClient {
    /// `GET /sessions/{ref}/invoices/{invoiceRef}/upo`.
    pub async fn invoice_upo(
        &self,
        access_token: &SecretString,
        session: &str,
        invoice: &str,
    ) -> Result<Document, KsefError> {
        let path = format!("/sessions/{session}/invoices/{invoice}/upo");
        self.get_document(self.request(Method::GET, &path, Some(access_token)), "invoice UPO").await
    }

    /// `GET /sessions/{ref}/invoices/ksef/{ksefNumber}/upo`.
    pub async fn invoice_upo_by_ksef_number(
        &self,
        access_token: &SecretString,
        session: &str,
        ksef_number: &str,
    ) -> Result<Document, KsefError> {
        let path = format!("/sessions/{session}/invoices/ksef/{ksef_number}/upo");
        self.get_document(self.request(Method::GET, &path, Some(access_token)), "invoice UPO by KSeF number")
            .await
    }

    /// `GET /sessions/{ref}/upo/{upoRef}`: one page of the session's collective UPO.
    pub async fn session_upo(
        &self,
        access_token: &SecretString,
        session: &str,
        upo_reference: &str,
    ) -> Result<Document, KsefError> {
        let path = format!("/sessions/{session}/upo/{upo_reference}");
        self.get_document(self.request(Method::GET, &path, Some(access_token)), "session UPO").await
    }

    /// Downloads a pre-signed link (UPO `downloadUrl`/`upoDownloadUrl`) without any bearer token.
    pub async fn download_presigned(&self, url: &str) -> Result<Document, KsefError> {
        self.get_document(self.raw_request(Method::GET, url, None), "pre-signed download").await
    }

    pub(crate) async fn get_document(
        &self,
        rb: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<Document, KsefError> {
        let resp = self.execute(rb.header(reqwest::header::ACCEPT, "application/xml, */*"), what).await?;
        read_document(resp, what).await
    }
}

async fn read_document(resp: Response, what: &str) -> Result<Document, KsefError> {
    let declared = header_str(resp.headers(), HASH_HEADER);
    let bytes = resp.bytes().await?.to_vec();
    let sha256 = crypto::sha256_b64(&bytes);
    let hash_verified = match declared {
        Some(declared) if declared.trim() == sha256 => true,
        Some(declared) => {
            return Err(KsefError::Integrity(format!(
                "{what}: {HASH_HEADER} {declared} does not match the received bytes ({sha256})"
            )))
        }
        None => false,
    };
    Ok(Document { bytes, sha256, hash_verified })
}
