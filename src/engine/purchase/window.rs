//! The high-water-mark walk: windows on the permanent-storage date from the cursor, pages of
//! metadata stored with the cursor's move in one transaction.

use chrono::{DateTime, Utc};
use ksef_client::models::query::{DateRange, DateType, InvoiceMetadata, InvoiceQueryFilters};
use ksef_client::query::{SortOrder, MAX_METADATA_PAGE};

use super::{RoleReport, StepCx};
use crate::db::models::{ids, NewPurchaseInvoice, PurchaseInvoice, PurchaseSync};
use crate::domain::{minor_units, PurchaseRole};
use crate::engine::limits::EndpointClass;
use crate::engine::TurnError;

/// Longest window asked for, in days. KSeF allows 100 since 2.7.1 (3 months before); 90 fits both.
pub const MAX_WINDOW_DAYS: i64 = 90;

/// The window starting at `from`: `to` omitted (KSeF's high-water mark ends it) when the window
/// would reach now, else `from` + [`MAX_WINDOW_DAYS`].
pub fn window(from: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let to = from + chrono::Duration::days(MAX_WINDOW_DAYS);
    (to < now).then_some(to)
}

/// The filters of one window: permanent-storage dates, capped at KSeF's high-water mark.
pub fn filters(role: PurchaseRole, from: DateTime<Utc>, to: Option<DateTime<Utc>>) -> InvoiceQueryFilters {
    InvoiceQueryFilters::new(
        role.subject_type(),
        DateRange {
            date_type: DateType::PermanentStorage,
            from,
            to,
            restrict_to_permanent_storage_hwm_date: Some(true),
        },
    )
}

/// Walks the role's windows from its cursor until KSeF's high-water mark, the step's time or
/// a KSeF limit stops it.
pub async fn walk(cx: &mut StepCx<'_>, row: &PurchaseSync) -> Result<RoleReport, TurnError> {
    let role = row.subject_type;
    let mut from = row.cursor_from.and_utc();
    let mut report = RoleReport {
        role,
        stored: 0,
        from: row.cursor_from,
        to: row.cursor_from,
        complete_up_to: row.hwm,
        caught_up: false,
        gap_found: None,
    };
    // Pages follow one another only while records share one storage date (the cursor cannot
    // move past them); otherwise every query starts at page 0 of the moved cursor.
    let mut page = 0;
    while !cx.out_of_time() {
        let to = window(from, Utc::now());
        if !cx.acquire(EndpointClass::MetadataQuery).await {
            break;
        }
        let result = cx
            .client
            .ksef
            .query_metadata(&cx.token, &filters(role, from, to), page, MAX_METADATA_PAGE, SortOrder::Asc)
            .await?;
        let last = result.invoices.iter().filter_map(|i| i.permanent_storage_date).max();
        let (next_from, complete) = if result.has_more || result.is_truncated {
            match last {
                Some(last) if last > from => {
                    page = 0;
                    (last, None)
                }
                _ => {
                    page += 1;
                    (from, None)
                }
            }
        } else {
            page = 0;
            let hwm = result.permanent_storage_hwm_date.unwrap_or_else(Utc::now);
            let end = to.map_or(hwm, |t| t.min(hwm)).max(from);
            (end, Some(end))
        };
        let rows: Vec<NewPurchaseInvoice> =
            result.invoices.iter().filter_map(|m| new_row(&cx.client.client_id, role, m)).collect();
        let (sync_id, cid) = (row.id.clone(), cx.client.client_id.clone());
        let (cursor, complete_naive) = (next_from.naive_utc(), complete.map(|c| c.naive_utc()));
        let stored = cx
            .engine
            .st
            .db
            .tx(move |c| {
                let stored = PurchaseInvoice::insert_new(c, rows)?;
                PurchaseSync::advance(c, &sync_id, cursor, complete_naive, ids::now())?;
                crate::service::purchase_sync::announce_received(c, &cid, &stored)?;
                Ok::<_, crate::db::DbError>(stored)
            })
            .await?;
        report.stored += stored.len();
        report.to = cursor;
        if complete_naive.is_some() {
            report.complete_up_to = complete_naive;
        }
        from = next_from;
        if let Some(end) = complete {
            // The window ended at KSeF's high-water mark rather than at its own end: caught up.
            if to.is_none_or(|t| end < t) {
                report.caught_up = true;
                break;
            }
        }
    }
    Ok(report)
}

/// The row KSeF's metadata describes; None for a record without a permanent-storage date (KSeF
/// lists only stored invoices in a permanent-storage query, so this does not happen).
pub fn new_row(client_id: &str, role: PurchaseRole, m: &InvoiceMetadata) -> Option<NewPurchaseInvoice> {
    let stored_at = m.permanent_storage_date?.naive_utc();
    let buyer_nip = m.buyer.identifier.value.clone().filter(|_| m.buyer.identifier.kind == "Nip");
    Some(NewPurchaseInvoice {
        id: ids::new_id(),
        client_id: client_id.to_owned(),
        subject_type: role,
        ksef_number: m.ksef_number.clone(),
        invoice_number: m.invoice_number.clone(),
        invoice_type: m.invoice_type.clone().unwrap_or_else(|| "Vat".to_owned()),
        issue_date: m.issue_date,
        seller_nip: m.seller.nip.clone(),
        seller_name: m.seller.name.clone(),
        buyer_nip,
        buyer_name: m.buyer.name.clone(),
        net_amount: minor_units(m.net_amount.unwrap_or_default()),
        vat_amount: minor_units(m.vat_amount.unwrap_or_default()),
        gross_amount: minor_units(m.gross_amount.unwrap_or_default()),
        currency: m.currency.clone().unwrap_or_else(|| "PLN".to_owned()),
        invoice_hash: m.invoice_hash.clone().unwrap_or_default(),
        acquisition_date: m.acquisition_date.map_or(stored_at, |d| d.naive_utc()),
        permanent_storage_date: stored_at,
        xml: None,
        xml_fetched_at: None,
        synced_at: ids::now(),
    })
}
