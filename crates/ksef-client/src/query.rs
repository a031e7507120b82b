//! Reading invoices: metadata query with paging, incremental sync, download by KSeF number.

use std::collections::HashSet;

use chrono::{DateTime, Months, Utc};
use reqwest::Method;
use secrecy::SecretString;

use crate::client::KsefClient;
use crate::error::KsefError;
use crate::models::query::{
    DateRange, DateType, InvoiceMetadata, InvoiceQueryFilters, MetadataPage, SubjectType,
};
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

/// Outcome of [`KsefClient::sync_invoices`].
#[derive(Clone, Debug)]
pub struct SyncResult {
    /// New invoices, oldest first, without duplicates.
    pub invoices: Vec<InvoiceMetadata>,
    /// Where the next sync should start (the latest permanent-storage date seen, or the old cursor).
    pub next_from: DateTime<Utc>,
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

    /// Incremental sync of invoices that reached permanent storage in `[from, to)`.
    ///
    /// Walks windows of at most 3 months, sorted ascending, following `hasMore` and restarting the
    /// window at the last record's date when `isTruncated` (the 10 000-record cap). Records seen twice
    /// at a window edge are dropped. Store `next_from` as the cursor of the next run.
    pub async fn sync_invoices(
        &self,
        access_token: &SecretString,
        subject_type: SubjectType,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        page_size: u32,
    ) -> Result<SyncResult, KsefError> {
        let mut seen = HashSet::new();
        let mut invoices = Vec::new();
        let mut next_from = from;
        let mut window_start = from;
        while window_start < to {
            let window_end = window_start.checked_add_months(Months::new(3)).map_or(to, |end| end.min(to));
            let mut start = window_start;
            let mut page = 0;
            loop {
                let filters = InvoiceQueryFilters::new(
                    subject_type,
                    DateRange {
                        date_type: DateType::PermanentStorage,
                        from: start,
                        to: Some(window_end),
                        restrict_to_permanent_storage_hwm_date: None,
                    },
                );
                let result =
                    self.query_metadata(access_token, &filters, page, page_size, SortOrder::Asc).await?;
                let last_date = result.invoices.iter().filter_map(|i| i.permanent_storage_date).max();
                if let Some(last) = last_date {
                    next_from = next_from.max(last);
                }
                invoices.extend(result.invoices.into_iter().filter(|i| seen.insert(i.ksef_number.clone())));
                match (result.has_more, result.is_truncated, last_date) {
                    (false, _, _) => break,
                    (true, true, Some(last)) if last > start => {
                        start = last;
                        page = 0;
                    }
                    (true, true, _) => {
                        return Err(KsefError::decode(
                            "query invoice metadata",
                            "truncated result without progress in permanentStorageDate",
                        ))
                    }
                    (true, false, _) => page += 1,
                }
            }
            window_start = window_end;
        }
        Ok(SyncResult { invoices, next_from })
    }
}
