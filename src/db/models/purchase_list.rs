//! Lists of purchase invoices: filtered, sorted and paginated by keyset (never OFFSET), with
//! their counts, reading only the columns a list shows (never the invoice's bytes).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::list_sql::{
    beyond, coalesce, contains_pattern, count_before, in_list_order, issue_and_gross, keyset_mismatch, lower,
    ordered, IssueAndGross, ListOrder,
};
pub use super::list_sql::{RowKeyset as PurchaseKeyset, SortKey};
use super::scope::{in_scope, ClientScope};
use crate::db::schema::purchase_invoices as p;
use crate::db::schema::{clients, purchase_sync};
use crate::db::{AnyConn, DbError};
use crate::domain::{ClientId, Nip, PurchaseInvoiceId};

/// What a list shows of a purchase invoice, with its client's NIP and name.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = p)]
pub struct PurchaseRow {
    pub id: PurchaseInvoiceId,
    pub client_id: ClientId,
    pub ksef_number: String,
    pub invoice_number: String,
    pub invoice_type: String,
    pub issue_date: NaiveDate,
    pub seller_nip: String,
    pub seller_name: Option<String>,
    pub net_amount: i64,
    pub vat_amount: i64,
    pub gross_amount: i64,
    pub currency: String,
    pub acquisition_date: NaiveDateTime,
    pub permanent_storage_date: NaiveDateTime,
    /// When the gateway stored it: what "new since your last visit" and the ERP's `since`
    /// cursor go by.
    pub synced_at: NaiveDateTime,
    /// Set once the exact bytes are stored.
    pub xml_fetched_at: Option<NaiveDateTime>,
}

crate::text_enum! {
    /// What a purchase invoice list is ordered by (always then by id, so the order is total).
    pub enum PurchaseSort ("sort") {
        IssueDate = "issue_date",
        Gross = "gross",
        /// The seller's name (an invoice without one sorts as an empty name).
        Seller = "seller",
        /// The order the gateway stored them in: what an ERP pulls increments by.
        Stored = "stored"
    }
}

/// A purchase list's order: a key and a direction.
pub type PurchaseOrder = ListOrder<PurchaseSort>;

impl ListOrder<PurchaseSort> {
    /// The key of `row` in this order.
    pub fn key_of(self, row: &PurchaseRow) -> SortKey {
        match self.by {
            PurchaseSort::IssueDate => SortKey::Date(row.issue_date),
            PurchaseSort::Gross => SortKey::Amount(row.gross_amount),
            PurchaseSort::Seller => SortKey::Text(row.seller_name.clone().unwrap_or_default()),
            PurchaseSort::Stored => SortKey::Time(row.synced_at),
        }
    }
}

/// Filters of a purchase invoice list (all optional; the scope is not).
#[derive(Debug, Clone, Default)]
pub struct PurchaseFilter {
    pub client_id: Option<ClientId>,
    pub ranges: IssueAndGross,
    /// Digits: the seller's NIP starts with them; anything else: the seller's name contains it
    /// (case aside).
    pub seller: Option<String>,
    /// Contained (case aside) in the invoice number, the seller's name or the KSeF number.
    pub text: Option<String>,
    /// Only what was stored up to here (the ERP's increments leave out what may still be
    /// committing).
    pub stored_until: Option<NaiveDateTime>,
}

/// The scope and the filter's conditions on a boxed purchase_invoices query (joined or not), so
/// that a list and its counts always agree.
macro_rules! filtered {
    ($query:expr, $scope:expr, $filter:expr) => {{
        let filter: &PurchaseFilter = $filter;
        let mut query = in_scope!($query, $scope, p::client_id);
        if let Some(c) = &filter.client_id {
            query = query.filter(p::client_id.eq(c.clone()));
        }
        query = issue_and_gross!(query, &filter.ranges, p::issue_date, p::gross_amount);
        if let Some(s) = filter.seller.as_deref() {
            if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
                query = query.filter(p::seller_nip.like(format!("{s}%")));
            } else {
                query =
                    query.filter(lower(coalesce(p::seller_name, "")).like(contains_pattern(s)).escape('\\'));
            }
        }
        if let Some(t) = filter.text.as_deref() {
            let pattern = contains_pattern(t);
            query = query.filter(
                lower(p::invoice_number)
                    .like(pattern.clone())
                    .escape('\\')
                    .or(lower(coalesce(p::seller_name, "")).like(pattern.clone()).escape('\\'))
                    .or(lower(p::ksef_number).like(pattern).escape('\\')),
            );
        }
        if let Some(until) = filter.stored_until {
            query = query.filter(p::synced_at.le(until));
        }
        query
    }};
}

/// Applies "beyond the keyset" for the order's column; a keyset whose key does not fit the
/// order (a cursor of another list) is refused as `None`.
macro_rules! keyed {
    ($query:expr, $order:expr, $keyset:expr, $descending:expr) => {{
        let q = $query;
        match ($order.by, $keyset) {
            (_, None) => Some(q),
            (PurchaseSort::IssueDate, Some(PurchaseKeyset { key: SortKey::Date(k), id, .. })) => {
                Some(beyond!(q, p::issue_date, *k, p::id, id.clone(), $descending))
            }
            (PurchaseSort::Gross, Some(PurchaseKeyset { key: SortKey::Amount(k), id, .. })) => {
                Some(beyond!(q, p::gross_amount, *k, p::id, id.clone(), $descending))
            }
            (PurchaseSort::Seller, Some(PurchaseKeyset { key: SortKey::Text(k), id, .. })) => {
                Some(beyond!(q, coalesce(p::seller_name, ""), k.clone(), p::id, id.clone(), $descending))
            }
            (PurchaseSort::Stored, Some(PurchaseKeyset { key: SortKey::Time(k), id, .. })) => {
                Some(beyond!(q, p::synced_at, *k, p::id, id.clone(), $descending))
            }
            _ => None,
        }
    }};
}

/// A list row with its client's NIP and name.
pub type ListedPurchase = (PurchaseRow, Nip, String);

impl PurchaseRow {
    /// One page of at most `limit` invoices (the caller bounds it) in the scope matching the
    /// filter, in `order` from the keyset on (the first page without one).
    pub fn list(
        conn: &mut AnyConn,
        scope: &ClientScope,
        filter: &PurchaseFilter,
        order: PurchaseOrder,
        keyset: Option<&PurchaseKeyset>,
        limit: i64,
    ) -> Result<Vec<ListedPurchase>, DbError> {
        let (before, descending) = order.reading(keyset);
        let query = filtered!(p::table.inner_join(clients::table).into_boxed(), scope, filter).select((
            Self::as_select(),
            clients::nip,
            clients::name,
        ));
        let query = keyed!(query, order, keyset, descending).ok_or_else(keyset_mismatch)?;
        let query = match order.by {
            PurchaseSort::IssueDate => ordered!(query, p::issue_date, p::id, descending),
            PurchaseSort::Gross => ordered!(query, p::gross_amount, p::id, descending),
            PurchaseSort::Seller => ordered!(query, coalesce(p::seller_name, ""), p::id, descending),
            PurchaseSort::Stored => ordered!(query, p::synced_at, p::id, descending),
        };
        let rows: Vec<ListedPurchase> = query.limit(limit.max(1)).load(conn)?;
        Ok(in_list_order(rows, before))
    }

    /// How many invoices match the filter.
    pub fn count(conn: &mut AnyConn, scope: &ClientScope, filter: &PurchaseFilter) -> Result<i64, DbError> {
        Ok(filtered!(p::table.into_boxed(), scope, filter).count().get_result(conn)?)
    }

    /// How many matching invoices come before `row` in `order`: where a page starts, for
    /// "201–400 z 2000".
    pub fn count_before(
        conn: &mut AnyConn,
        scope: &ClientScope,
        filter: &PurchaseFilter,
        order: PurchaseOrder,
        row: &PurchaseRow,
    ) -> Result<i64, DbError> {
        count_before!(conn, filtered!(p::table.into_boxed(), scope, filter), order, row)
    }

    /// The invoices with this KSeF number among the scope's clients (one per client that holds
    /// it: the same invoice may concern two clients of the office), with the client's NIP.
    pub fn by_ksef_number(
        conn: &mut AnyConn,
        scope: &ClientScope,
        ksef_number: &str,
    ) -> Result<Vec<(ClientId, Nip)>, DbError> {
        let query = p::table.inner_join(clients::table).filter(p::ksef_number.eq(ksef_number)).into_boxed();
        let query = in_scope!(query, scope, p::client_id);
        Ok(query.select((p::client_id, clients::nip)).order(clients::nip.asc()).load(conn)?)
    }
}

/// "Complete up to": the high-water mark below which every invoice of the client is stored,
/// the earliest over its subject types (None while any has none, or before the first sync).
pub fn complete_up_to(conn: &mut AnyConn, client_id: &ClientId) -> Result<Option<NaiveDateTime>, DbError> {
    let marks: Vec<Option<NaiveDateTime>> = purchase_sync::table
        .filter(purchase_sync::client_id.eq(client_id))
        .select(purchase_sync::hwm)
        .load(conn)?;
    Ok(earliest(marks))
}

/// [`complete_up_to`] for every client in the scope that has a sync, by client id.
pub fn complete_up_to_all(
    conn: &mut AnyConn,
    scope: &ClientScope,
) -> Result<Vec<(ClientId, Option<NaiveDateTime>)>, DbError> {
    let query = in_scope!(purchase_sync::table.into_boxed(), scope, purchase_sync::client_id);
    let rows: Vec<(ClientId, Option<NaiveDateTime>)> = query
        .select((purchase_sync::client_id, purchase_sync::hwm))
        .order(purchase_sync::client_id)
        .load(conn)?;
    let mut out: Vec<(ClientId, Option<NaiveDateTime>)> = Vec::new();
    for chunk in rows.chunk_by(|a, b| a.0 == b.0) {
        out.push((chunk[0].0.clone(), earliest(chunk.iter().map(|(_, h)| *h).collect())));
    }
    Ok(out)
}

fn earliest(marks: Vec<Option<NaiveDateTime>>) -> Option<NaiveDateTime> {
    if marks.is_empty() {
        return None;
    }
    marks.into_iter().collect::<Option<Vec<_>>>()?.into_iter().min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completeness_is_the_earliest_mark_and_needs_all() {
        let t = |h| NaiveDate::from_ymd_opt(2026, 12, 1).and_then(|d| d.and_hms_opt(h, 0, 0));
        assert_eq!(earliest(vec![]), None);
        assert_eq!(earliest(vec![t(5), t(3)]), t(3));
        assert_eq!(earliest(vec![t(5), None]), None);
    }
}
