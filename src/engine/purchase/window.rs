//! The high-water-mark walk: windows on the permanent-storage date from the cursor, pages of
//! metadata stored with the cursor's move in one transaction.

use chrono::{DateTime, Utc};
use ksef_client::crypto::sha256_b64;
use ksef_client::export::ExportedPackage;
use ksef_client::hwm::{self, WindowAdvance, WindowResult};
use ksef_client::models::query::InvoiceMetadata;
use ksef_client::query::{SortOrder, MAX_METADATA_PAGE};
use ksef_client::KsefError;

use super::export::Exported;
use super::{RoleReport, StepCx};
use crate::db::models::{ids, NewPurchaseInvoice, PurchaseInvoice, PurchaseSync};
use crate::domain::{minor_units, ClientId, PurchaseInvoiceId, PurchaseRole};
use crate::engine::limits::EndpointClass;
use crate::engine::TurnError;

/// What one request of the walk brought: rows to store, where the cursor goes, and whether the
/// window was closed there (Some: complete up to that moment).
struct Fetched {
    rows: Vec<NewPurchaseInvoice>,
    next_from: DateTime<Utc>,
    complete: Option<DateTime<Utc>>,
    caught_up: bool,
}

/// Walks the role's windows from its cursor until KSeF's high-water mark, the step's time or a
/// KSeF limit stops it. A first sync, older history (a window capped at 100 days) and a large
/// increment (more than one page of metadata) go through exports when `[purchase] exports` is
/// on; small increments through the metadata query.
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
    // Exports stay off for the rest of the step once one failed its checks or was late.
    let mut exports = cx.engine.st.settings.purchase.exports;
    let mut volume = row.hwm.is_none();
    // Pages follow one another only while records share one storage date (the cursor cannot
    // move past them); otherwise every query starts at page 0 of the moved cursor.
    let mut page = 0;
    while !cx.out_of_time() {
        let range = hwm::window_range(from, Utc::now());
        let fetched = if exports && (volume || range.to.is_some()) {
            match super::export::window(cx, role, from).await {
                Ok(Exported::Done(package, advance)) => from_package(cx, role, package, advance),
                Ok(Exported::Yielded) => break,
                Ok(Exported::NotReady(reference)) => {
                    tracing::info!(client.id = %cx.client.client_id, ksef.export = %reference, "Export not ready; using the metadata query");
                    cx.report.warnings.push(format!(
                        "eksport KSeF {reference} nie był gotowy na czas; pobrano przez zapytanie o metadane"
                    ));
                    exports = false;
                    continue;
                }
                Err(TurnError::Ksef(KsefError::Integrity(why))) => {
                    // A corrupt package: the metadata path fetches the window instead.
                    tracing::warn!(client.id = %cx.client.client_id, error = %why, "Export package failed its checks; using the metadata query");
                    cx.report.warnings.push(format!("paczka eksportu KSeF nie przeszła kontroli ({why}); pobrano przez zapytanie o metadane"));
                    exports = false;
                    continue;
                }
                Err(e) => return Err(e),
            }
        } else {
            if !cx.acquire(EndpointClass::MetadataQuery).await {
                break;
            }
            let filters = hwm::window(role.subject_type(), from, Utc::now());
            let result = cx
                .client
                .ksef
                .query_metadata(&cx.token, &filters, page, MAX_METADATA_PAGE, SortOrder::Asc)
                .await?;
            let rows =
                result.invoices.iter().filter_map(|m| new_row(&cx.client.client_id, role, m)).collect();
            let last = result.invoices.iter().filter_map(|i| i.permanent_storage_date).max();
            if result.has_more {
                // More than a page of news: the rest of the window comes as a package.
                volume = true;
                let moved = last.filter(|l| *l > from);
                page = if moved.is_some() { 0 } else { page + 1 };
                Fetched { rows, next_from: moved.unwrap_or(from), complete: None, caught_up: false }
            } else {
                page = 0;
                let window = WindowResult {
                    is_truncated: result.is_truncated,
                    last_permanent_storage_date: last,
                    permanent_storage_hwm_date: result.permanent_storage_hwm_date,
                };
                let advance = hwm::advance(&filters.date_range, &window)?;
                Fetched { rows, ..closed(advance, result.is_truncated) }
            }
        };
        let (sync_id, cid) = (row.id.clone(), cx.client.client_id.clone());
        let (cursor, complete) = (fetched.next_from.naive_utc(), fetched.complete.map(|c| c.naive_utc()));
        let rows = fetched.rows;
        let stored = cx
            .engine
            .st
            .db
            .tx(move |c| {
                let with_xml: Vec<(String, Vec<u8>)> =
                    rows.iter().filter_map(|r| Some((r.ksef_number.clone(), r.xml.clone()?))).collect();
                let stored = PurchaseInvoice::insert_received(c, rows)?;
                // Invoices known from metadata before their package: their bytes now.
                for (number, xml) in with_xml {
                    PurchaseInvoice::fill_xml(c, &cid, &number, &xml, ids::now())?;
                }
                PurchaseSync::advance(c, &sync_id, cursor, complete, ids::now())?;
                crate::service::purchase_sync::announce_received(c, &cid, &stored)?;
                Ok::<_, crate::db::DbError>(stored)
            })
            .await?;
        report.stored += stored.len();
        report.to = cursor;
        if complete.is_some() {
            report.complete_up_to = complete;
        }
        // A page offset belongs to the cursor it was counted from: a moved cursor (by an export
        // too) starts again at page 0, or the first records at the new cursor would be skipped.
        if fetched.next_from != from {
            page = 0;
        }
        from = fetched.next_from;
        if fetched.caught_up {
            report.caught_up = true;
            break;
        }
    }
    Ok(report)
}

/// The cursor after a window KSeF answered in full (truncated: from its last record).
fn closed(advance: WindowAdvance, truncated: bool) -> Fetched {
    Fetched {
        rows: Vec::new(),
        next_from: advance.next_from,
        complete: (!truncated).then_some(advance.next_from),
        caught_up: advance.caught_up,
    }
}

/// A package's invoices as rows with their bytes (the client crate checked every invoice's
/// SHA-256 against `_metadata.json`).
fn from_package(
    cx: &mut StepCx<'_>,
    role: PurchaseRole,
    package: ExportedPackage,
    advance: WindowAdvance,
) -> Fetched {
    let at = ids::now();
    let rows = package
        .invoices
        .into_iter()
        .filter_map(|inv| {
            let mut row = new_row(&cx.client.client_id, role, &inv.metadata)?;
            if sha256_b64(&inv.xml) == row.invoice_hash {
                row.xml = Some(inv.xml);
                row.xml_fetched_at = Some(at);
            } else {
                cx.report.hash_mismatches.push(row.ksef_number.clone());
            }
            Some(row)
        })
        .collect();
    Fetched { rows, ..closed(advance, package.is_truncated) }
}

/// The row KSeF's metadata describes; None for a record without a permanent-storage date (KSeF
/// lists only stored invoices in a permanent-storage query, so this does not happen).
pub fn new_row(client_id: &ClientId, role: PurchaseRole, m: &InvoiceMetadata) -> Option<NewPurchaseInvoice> {
    let stored_at = m.permanent_storage_date?.naive_utc();
    let buyer_nip = m.buyer.identifier.value.clone().filter(|_| m.buyer.identifier.kind == "Nip");
    Some(NewPurchaseInvoice {
        id: PurchaseInvoiceId::new(),
        client_id: client_id.clone(),
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
