//! Collective identifiers (identyfikator zbiorczy, IZ; KSeF 2.7.1+): one payment reference for up
//! to [`MAX_INVOICES`] accepted invoices of one seller. Refusals: 71001 (an invoice that is not the
//! context's seller's accepted invoice), 71002 (an invoice already in 132 identifiers), 403 without
//! `InvoiceRead`, `InvoiceWrite` or `CollectiveIdentifierManage`; see
//! [`crate::KsefError::collective_refusal`].

use reqwest::Method;
use secrecy::SecretString;

use crate::client::KsefClient;
use crate::error::KsefError;
use crate::models::collective::{
    CollectiveInvoice, CollectiveMembersPage, CollectivePage, CollectiveQuery, GenerateCollectiveRequest,
    GeneratedCollective,
};

/// Most invoices in one collective identifier (`collectiveIdentifier.maxInvoices`).
pub const MAX_INVOICES: usize = 500;
/// Most identifiers one `POST /collective-identifiers/invoices` asks about.
pub const MAX_PER_MEMBERS_QUERY: usize = 10;
/// KSeF's published limits of the `collectiveIdentifier` group (req/s, /min, /h).
pub const RATE_LIMITS: [u32; 3] = [10, 60, 120];

/// Why KSeF refused a collective identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CollectiveRefusal {
    /// 71001: an invoice is not an accepted invoice of the context's seller.
    NotAssignable,
    /// 71002: an invoice is already in the most identifiers KSeF allows (132).
    TooManyIdentifiers,
    /// 403: none of `InvoiceRead`, `InvoiceWrite`, `CollectiveIdentifierManage` in the context.
    MissingPermission,
}

impl KsefClient {
    /// `POST /collective-identifiers`: creates one for 1..=500 invoices (refused here above 500,
    /// before any call).
    pub async fn create_collective_identifier(
        &self,
        access_token: &SecretString,
        invoices: Vec<CollectiveInvoice>,
    ) -> Result<GeneratedCollective, KsefError> {
        if invoices.is_empty() || invoices.len() > MAX_INVOICES {
            return Err(KsefError::InvalidInput(format!(
                "a collective identifier holds 1 to {MAX_INVOICES} invoices, not {}",
                invoices.len()
            )));
        }
        let body = GenerateCollectiveRequest { invoices };
        let rb = self.request(Method::POST, "/collective-identifiers", Some(access_token)).json(&body);
        self.json(rb, "create collective identifier").await
    }

    /// One page of `POST /collective-identifiers/query` (page size 10–200).
    pub async fn query_collective_identifiers(
        &self,
        access_token: &SecretString,
        query: &CollectiveQuery,
        page_size: u32,
        continuation: Option<&str>,
    ) -> Result<CollectivePage, KsefError> {
        let mut rb = self
            .request(Method::POST, "/collective-identifiers/query", Some(access_token))
            .query(&[("pageSize", page_size.clamp(10, 200))])
            .json(query);
        if let Some(token) = continuation {
            rb = rb.header("x-continuation-token", token);
        }
        self.json(rb, "query collective identifiers").await
    }

    /// One page of `GET /collective-identifiers/ksef/{ksefNumber}`: the identifiers an invoice is in.
    pub async fn collective_identifiers_of(
        &self,
        access_token: &SecretString,
        ksef_number: &str,
        page_size: u32,
        continuation: Option<&str>,
    ) -> Result<CollectivePage, KsefError> {
        let path = format!("/collective-identifiers/ksef/{ksef_number}");
        let mut rb = self
            .request(Method::GET, &path, Some(access_token))
            .query(&[("pageSize", page_size.clamp(10, 200))]);
        if let Some(token) = continuation {
            rb = rb.header("x-continuation-token", token);
        }
        self.json(rb, "collective identifiers of an invoice").await
    }

    /// One page of `POST /collective-identifiers/invoices` (2.7.1): the invoices of up to 10
    /// identifiers (page size 10–500).
    pub async fn collective_identifier_invoices(
        &self,
        access_token: &SecretString,
        numbers: &[&str],
        page_size: u32,
        continuation: Option<&str>,
    ) -> Result<CollectiveMembersPage, KsefError> {
        if numbers.is_empty() || numbers.len() > MAX_PER_MEMBERS_QUERY {
            return Err(KsefError::InvalidInput(format!(
                "ask about 1 to {MAX_PER_MEMBERS_QUERY} collective identifiers at a time, not {}",
                numbers.len()
            )));
        }
        let body = serde_json::json!({"collectiveIdentifierNumbers": numbers});
        let mut rb = self
            .request(Method::POST, "/collective-identifiers/invoices", Some(access_token))
            .query(&[("pageSize", page_size.clamp(10, 500))])
            .json(&body);
        if let Some(token) = continuation {
            rb = rb.header("x-continuation-token", token);
        }
        self.json(rb, "invoices of collective identifiers").await
    }
}
