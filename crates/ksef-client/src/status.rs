//! Session and invoice statuses, session invoice lists, and polling helpers.

use reqwest::Method;
use secrecy::SecretString;

use crate::client::KsefClient;
use crate::error::KsefError;
use crate::models::session::{SessionInvoiceStatus, SessionInvoicesPage, SessionStatus};
use crate::poll::poll;

/// Largest page the session invoice lists allow.
pub const MAX_SESSION_PAGE: u32 = 1000;

impl KsefClient {
    /// `GET /sessions/{ref}`.
    pub async fn session_status(
        &self,
        access_token: &SecretString,
        session: &str,
    ) -> Result<SessionStatus, KsefError> {
        let rb = self.request(Method::GET, &format!("/sessions/{session}"), Some(access_token));
        self.json(rb, "session status").await
    }

    /// `GET /sessions/{ref}/invoices/{invoiceRef}`.
    pub async fn invoice_status(
        &self,
        access_token: &SecretString,
        session: &str,
        invoice: &str,
    ) -> Result<SessionInvoiceStatus, KsefError> {
        let rb =
            self.request(Method::GET, &format!("/sessions/{session}/invoices/{invoice}"), Some(access_token));
        self.json(rb, "invoice status").await
    }

    /// One page of `GET /sessions/{ref}/invoices` (page size 10–1000).
    pub async fn session_invoices(
        &self,
        access_token: &SecretString,
        session: &str,
        page_size: u32,
        continuation: Option<&str>,
    ) -> Result<SessionInvoicesPage, KsefError> {
        self.invoice_page(access_token, &format!("/sessions/{session}/invoices"), page_size, continuation)
            .await
    }

    /// One page of `GET /sessions/{ref}/invoices/failed`.
    pub async fn failed_invoices(
        &self,
        access_token: &SecretString,
        session: &str,
        page_size: u32,
        continuation: Option<&str>,
    ) -> Result<SessionInvoicesPage, KsefError> {
        let path = format!("/sessions/{session}/invoices/failed");
        self.invoice_page(access_token, &path, page_size, continuation).await
    }

    /// All invoices of a session, following continuation tokens.
    pub async fn all_session_invoices(
        &self,
        access_token: &SecretString,
        session: &str,
    ) -> Result<Vec<SessionInvoiceStatus>, KsefError> {
        let mut all = Vec::new();
        let mut continuation: Option<String> = None;
        loop {
            let page = self
                .session_invoices(access_token, session, MAX_SESSION_PAGE, continuation.as_deref())
                .await?;
            all.extend(page.invoices);
            match page.continuation_token.filter(|t| !t.is_empty()) {
                Some(next) => continuation = Some(next),
                None => return Ok(all),
            }
        }
    }

    async fn invoice_page(
        &self,
        access_token: &SecretString,
        path: &str,
        page_size: u32,
        continuation: Option<&str>,
    ) -> Result<SessionInvoicesPage, KsefError> {
        let mut rb = self
            .request(Method::GET, path, Some(access_token))
            .query(&[("pageSize", page_size.clamp(10, MAX_SESSION_PAGE))]);
        if let Some(token) = continuation {
            rb = rb.header("x-continuation-token", token);
        }
        self.json(rb, "session invoices").await
    }

    /// Polls an invoice until it leaves 100/150 (accepted with a KSeF number, or rejected).
    pub async fn wait_for_invoice(
        &self,
        access_token: &SecretString,
        session: &str,
        invoice: &str,
    ) -> Result<SessionInvoiceStatus, KsefError> {
        poll(
            &self.options().poll,
            "invoice processing",
            || self.invoice_status(access_token, session, invoice),
            |s: &SessionInvoiceStatus| s.is_pending().then_some(s.status.code),
        )
        .await
    }

    /// Polls a closed session until it is processed (200) or failed; pending codes are 100/150/170.
    pub async fn wait_for_session(
        &self,
        access_token: &SecretString,
        session: &str,
    ) -> Result<SessionStatus, KsefError> {
        poll(
            &self.options().poll,
            "session processing",
            || self.session_status(access_token, session),
            |s: &SessionStatus| s.is_pending().then_some(s.status.code),
        )
        .await
    }
}
