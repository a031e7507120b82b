//! Reading invoices: metadata query with paging, incremental sync by the HWM rule, download by
//! KSeF number.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use reqwest::Method;
use secrecy::SecretString;

use crate::client::KsefClient;
use crate::error::KsefError;
use crate::hwm::{self, WindowAdvance, WindowResult};
use crate::models::query::{InvoiceMetadata, InvoiceQueryFilters, MetadataPage, SubjectType};
use crate::upo::Document;

/// Largest metadata page.
pub const MAX_METADATA_PAGE: u32 = 250;

/// Sort order of metadata results.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortOrder {
    /// Oldest first (use for incremental sync).
    Asc,
    /// Newest first.
    Desc,
}

/// One window of a metadata-based incremental sync ([`KsefClient::sync_window`]).
#[derive(Clone, Debug)]
pub struct MetadataWindow {
    /// The filters the window used.
    pub filters: InvoiceQueryFilters,
    /// The invoices of the window, ascending by permanent-storage date, without duplicates.
    pub invoices: Vec<InvoiceMetadata>,
    /// The next cursor and whether the window reached the HWM.
    pub advance: WindowAdvance,
}

/// Outcome of [`KsefClient::sync_invoices`].
#[derive(Clone, Debug)]
pub struct SyncResult {
    /// New invoices, oldest first, without duplicates.
    pub invoices: Vec<InvoiceMetadata>,
    /// Where the next sync starts (the cursor of the HWM rule, see [`crate::hwm`]).
    pub next_from: DateTime<Utc>,
    /// Everything up to this HWM has been returned.
    pub permanent_storage_hwm_date: Option<DateTime<Utc>>,
}

impl KsefClient {
    /// One page of `POST /invoices/query/metadata` (`page_offset` is the page index, size 10–250).
    pub async fn query_metadata(
        &self,
        access_token: &SecretString,
        filters: &InvoiceQueryFilters,
        page_offset: u32,
        page_size: u32,
        sort: SortOrder,
    ) -> Result<MetadataPage, KsefError> {
        let sort = match sort {
            SortOrder::Asc => "Asc",
            SortOrder::Desc => "Desc",
        };
        let size = page_size.clamp(10, MAX_METADATA_PAGE).to_string();
        let rb = self
            .request(Method::POST, "/invoices/query/metadata", Some(access_token))
            .query(&[
                ("pageOffset", page_offset.to_string().as_str()),
                ("pageSize", &size),
                ("sortOrder", sort),
            ])
            .json(filters);
        self.json(rb, "query invoice metadata").await
    }

    /// `GET /invoices/ksef/{ksefNumber}`: the invoice XML (hash header verified when present).
    pub async fn download_invoice(
        &self,
        access_token: &SecretString,
        ksef_number: &str,
    ) -> Result<Document, KsefError> {
        let rb = self.request(Method::GET, &format!("/invoices/ksef/{ksef_number}"), Some(access_token));
        self.get_document(rb, "download invoice").await
    }

    /// One window of the HWM rule through the metadata query: the window starting at the cursor
    /// `from` ([`hwm::window`]), every page (`Asc`, up to the 10 000-record cap), and the next
    /// cursor ([`hwm::advance`]). Store the invoices and `advance.next_from` together.
    pub async fn sync_window(
        &self,
        access_token: &SecretString,
        subject_type: SubjectType,
        from: DateTime<Utc>,
        page_size: u32,
    ) -> Result<MetadataWindow, KsefError> {
        let filters = hwm::window(subject_type, from, Utc::now());
        let mut seen = HashSet::new();
        let mut invoices = Vec::new();
        let mut page = 0;
        let result = loop {
            let result = self.query_metadata(access_token, &filters, page, page_size, SortOrder::Asc).await?;
            let last = result.invoices.last().and_then(|i| i.permanent_storage_date);
            invoices.extend(result.invoices.into_iter().filter(|i| seen.insert(i.ksef_number.clone())));
            if !result.has_more || result.is_truncated {
                break WindowResult {
                    is_truncated: result.is_truncated,
                    last_permanent_storage_date: last,
                    permanent_storage_hwm_date: result.permanent_storage_hwm_date,
                };
            }
            page += 1;
        };
        let advance = hwm::advance(&filters.date_range, &result)?;
        Ok(MetadataWindow { filters, invoices, advance })
    }

    /// Incremental sync from the cursor `from` up to KSeF's current HWM: [`Self::sync_window`]
    /// until a window is caught up, deduplicated across windows by KSeF number. Store `next_from`
    /// as the next cursor. An error loses the windows fetched so far; a caller that must resume
    /// exactly calls [`Self::sync_window`] and stores each window with its cursor.
    pub async fn sync_invoices(
        &self,
        access_token: &SecretString,
        subject_type: SubjectType,
        from: DateTime<Utc>,
        page_size: u32,
    ) -> Result<SyncResult, KsefError> {
        let mut seen = HashSet::new();
        let mut invoices = Vec::new();
        let mut cursor = from;
        loop {
            let window = self.sync_window(access_token, subject_type, cursor, page_size).await?;
            invoices.extend(window.invoices.into_iter().filter(|i| seen.insert(i.ksef_number.clone())));
            cursor = window.advance.next_from;
            if window.advance.caught_up {
                return Ok(SyncResult {
                    invoices,
                    next_from: cursor,
                    permanent_storage_hwm_date: window.advance.permanent_storage_hwm_date,
                });
            }
        }
    }
}
