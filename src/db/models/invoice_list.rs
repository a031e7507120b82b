//! The sales invoice list: filtered (text, states, issue and receipt dates, gross amount),
//! sorted by one of its columns and paginated by keyset, with its counts; the same conditions
//! resolve "every matching invoice" for a bulk action.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::list_sql::{
    beyond, coalesce, coalesce_bigint, coalesce_date, contains_pattern, count_before, in_list_order,
    issue_and_gross, keyset_mismatch, lower, ordered, IssueAndGross, ListOrder, RowKeyset, SortKey,
};
use super::scope::{in_scope, ClientScope};
use super::Invoice;
use crate::db::schema::{clients, invoice_totals as t, invoices as i};
use crate::db::{AnyConn, DbError};
use crate::domain::{ClientId, InvoiceId, InvoiceState, Nip};

crate::text_enum! {
    /// What the sales invoice list is ordered by (always then by id, so the order is total).
    pub enum InvoiceSort ("sort") {
        /// P_1 (an invoice without one sorts as the oldest).
        IssueDate = "issue_date",
        /// P_2 (without one: as an empty number).
        Number = "number",
        /// The buyer's name (without one: as an empty name).
        Buyer = "buyer",
        /// Gross amount (without one: below every amount).
        Gross = "gross",
        State = "state",
        /// When the gateway received it: the list's default, newest first.
        Received = "received"
    }
}

/// The sort value of an invoice without an issue date or an amount: before every real one
/// (1 January of year 1: within what both databases store as a date).
fn no_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or(NaiveDate::MIN)
}
const NO_AMOUNT: i64 = i64::MIN;

/// What the list pages and the API's list show of an invoice, and what they order and page it
/// by: a list reads these columns only, not the whole row (the KSeF session and status, the
/// offline facts, who approved it, …).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = i)]
pub struct InvoiceListRow {
    pub id: InvoiceId,
    pub client_id: ClientId,
    pub number: Option<String>,
    pub sha256: String,
    pub state: InvoiceState,
    pub ksef_number: Option<String>,
    pub issue_date: Option<NaiveDate>,
    pub buyer_name: Option<String>,
    pub currency: Option<String>,
    pub gross_total: Option<String>,
    pub gross_minor: Option<i64>,
    /// The pre-flight findings (JSON), which the list counts.
    pub findings: String,
    pub created_at: NaiveDateTime,
}

/// The sales list's order: a key and a direction.
pub type InvoiceOrder = ListOrder<InvoiceSort>;

impl ListOrder<InvoiceSort> {
    /// The key of `inv` in this order (what the SQL order compares).
    pub fn key_of(self, inv: &InvoiceListRow) -> SortKey {
        match self.by {
            InvoiceSort::IssueDate => SortKey::Date(inv.issue_date.unwrap_or_else(no_date)),
            InvoiceSort::Number => SortKey::Text(inv.number.clone().unwrap_or_default()),
            InvoiceSort::Buyer => SortKey::Text(inv.buyer_name.clone().unwrap_or_default()),
            InvoiceSort::Gross => SortKey::Amount(inv.gross_minor.unwrap_or(NO_AMOUNT)),
            InvoiceSort::State => SortKey::Text(inv.state.as_str().to_owned()),
            InvoiceSort::Received => SortKey::Time(inv.created_at),
        }
    }
}

/// Filters of the sales invoice list (all optional; the scope is not).
#[derive(Debug, Clone, Default)]
pub struct InvoiceFilter {
    pub client_id: Option<ClientId>,
    /// Any of these states (none: every state).
    pub states: Vec<InvoiceState>,
    /// When the gateway received it: `from` inclusive, `to` exclusive.
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    pub ranges: IssueAndGross,
    /// Contained (case aside) in the number or the buyer's name; digits (dashes and spaces
    /// aside) also in the buyer's NIP.
    pub text: Option<String>,
}

/// The digits of a NIP as people type it (`123-456-32-18`), None when it is not one.
fn nip_digits(text: &str) -> Option<String> {
    let digits: String = text.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
    (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())).then_some(digits)
}

impl InvoiceFilter {
    /// Nothing but (at most) the client is asked for: every invoice of the clients read matches.
    fn only_clients(&self) -> bool {
        let Self { client_id: _, states, from, to, ranges, text } = self;
        states.is_empty() && from.is_none() && to.is_none() && ranges.is_empty() && text.is_none()
    }
}

/// The clients a filtered query reads: the scope, narrowed to the filter's client when it
/// names one (none at all when that client is outside the scope).
fn read_clients(scope: &ClientScope, filter: &InvoiceFilter) -> ClientScope {
    match &filter.client_id {
        Some(c) => scope.narrow_to(c),
        None => scope.clone(),
    }
}

/// The scope and the filter's conditions on a boxed invoices query (joined or not), so that a
/// list, its counts and a bulk action on "all matching" always agree.
macro_rules! filtered {
    ($query:expr, $scope:expr, $filter:expr) => {{
        let filter: &InvoiceFilter = $filter;
        // The filter's client narrows the scope first, so one client's list filters with `=`.
        let mut query = in_scope!($query, &read_clients($scope, filter), i::client_id);
        if !filter.states.is_empty() {
            query = query.filter(i::state.eq_any(filter.states.clone()));
        }
        if let Some(from) = filter.from {
            query = query.filter(i::created_at.ge(from));
        }
        if let Some(to) = filter.to {
            query = query.filter(i::created_at.lt(to));
        }
        query = issue_and_gross!(query, &filter.ranges, i::issue_date, i::gross_minor);
        if let Some(t) = filter.text.as_deref() {
            let pattern = contains_pattern(t);
            let by_text = lower(coalesce(i::number, "")).like(pattern.clone()).escape('\\').or(lower(
                coalesce(i::buyer_name, ""),
            )
            .like(pattern)
            .escape('\\'));
            query = match nip_digits(t) {
                Some(d) => query
                    .filter(by_text.or(coalesce(i::buyer_nip, "").like(contains_pattern(&d)).escape('\\'))),
                None => query.filter(by_text),
            };
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
            (InvoiceSort::IssueDate, Some(RowKeyset { key: SortKey::Date(k), id, .. })) => {
                Some(beyond!(q, coalesce_date(i::issue_date, no_date()), *k, i::id, id.clone(), $descending))
            }
            (InvoiceSort::Number, Some(RowKeyset { key: SortKey::Text(k), id, .. })) => {
                Some(beyond!(q, coalesce(i::number, ""), k.clone(), i::id, id.clone(), $descending))
            }
            (InvoiceSort::Buyer, Some(RowKeyset { key: SortKey::Text(k), id, .. })) => {
                Some(beyond!(q, coalesce(i::buyer_name, ""), k.clone(), i::id, id.clone(), $descending))
            }
            (InvoiceSort::Gross, Some(RowKeyset { key: SortKey::Amount(k), id, .. })) => Some(beyond!(
                q,
                coalesce_bigint(i::gross_minor, NO_AMOUNT),
                *k,
                i::id,
                id.clone(),
                $descending
            )),
            (InvoiceSort::State, Some(RowKeyset { key: SortKey::Text(k), id, .. })) => {
                Some(beyond!(q, i::state, k.clone(), i::id, id.clone(), $descending))
            }
            (InvoiceSort::Received, Some(RowKeyset { key: SortKey::Time(k), id, .. })) => {
                Some(beyond!(q, i::created_at, *k, i::id, id.clone(), $descending))
            }
            _ => None,
        }
    }};
}

/// A list row with its client's NIP.
pub type ListedInvoice = (InvoiceListRow, Nip);

/// The page's rows with their clients' NIPs, read by the clients' ids after the page. Not a
/// join: joined with `clients`, SQLite with statistics (after `ANALYZE` or `PRAGMA optimize`)
/// puts the one-row clients table first and sorts every invoice of the client on each page
/// instead of walking the list's index.
fn with_nips(conn: &mut AnyConn, rows: Vec<InvoiceListRow>) -> Result<Vec<ListedInvoice>, DbError> {
    let mut ids: Vec<&ClientId> = rows.iter().map(|r| &r.client_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let nips: std::collections::HashMap<ClientId, Nip> = clients::table
        .filter(clients::id.eq_any(ids))
        .select((clients::id, clients::nip))
        .load(conn)?
        .into_iter()
        .collect();
    // Every invoice has its client (a foreign key, read in the same transaction): one without
    // is a broken database, not a row to show with no NIP.
    rows.into_iter()
        .map(|inv| {
            let nip = nips.get(&inv.client_id).cloned().ok_or(DbError::NotFound)?;
            Ok((inv, nip))
        })
        .collect()
}

impl Invoice {
    /// One page of at most `limit` invoices (the caller bounds it) in the scope matching the
    /// filter, in `order` from the keyset on (the first page without one).
    pub fn list(
        conn: &mut AnyConn,
        scope: &ClientScope,
        filter: &InvoiceFilter,
        order: InvoiceOrder,
        keyset: Option<&RowKeyset>,
        limit: i64,
    ) -> Result<Vec<ListedInvoice>, DbError> {
        let (before, descending) = order.reading(keyset);
        let query = filtered!(i::table.into_boxed(), scope, filter).select(InvoiceListRow::as_select());
        let query = keyed!(query, order, keyset, descending).ok_or_else(keyset_mismatch)?;
        let query = match order.by {
            InvoiceSort::IssueDate => {
                ordered!(query, coalesce_date(i::issue_date, no_date()), i::id, descending)
            }
            InvoiceSort::Number => ordered!(query, coalesce(i::number, ""), i::id, descending),
            InvoiceSort::Buyer => ordered!(query, coalesce(i::buyer_name, ""), i::id, descending),
            InvoiceSort::Gross => {
                ordered!(query, coalesce_bigint(i::gross_minor, NO_AMOUNT), i::id, descending)
            }
            InvoiceSort::State => ordered!(query, i::state, i::id, descending),
            InvoiceSort::Received => ordered!(query, i::created_at, i::id, descending),
        };
        let rows: Vec<InvoiceListRow> = query.limit(limit.max(1)).load(conn)?;
        Ok(in_list_order(with_nips(conn, rows)?, before))
    }

    /// How many invoices match the filter. Without a condition beyond the client, read from
    /// `invoice_totals` (one row per client, which the database's triggers keep in step with
    /// every insert and delete) instead of counting the rows.
    pub fn count(conn: &mut AnyConn, scope: &ClientScope, filter: &InvoiceFilter) -> Result<i64, DbError> {
        if filter.only_clients() {
            let totals = t::table.select(t::invoice_count).into_boxed();
            let totals = match read_clients(scope, filter) {
                ClientScope::All => totals,
                ClientScope::Only(ids) => totals.filter(t::client_id.eq_any(ids)),
            };
            return Ok(totals.load::<i64>(conn)?.into_iter().sum());
        }
        Ok(filtered!(i::table.into_boxed(), scope, filter).count().get_result(conn)?)
    }

    /// How many matching invoices come before `inv` in `order`: where a page starts, for
    /// "201–400 z 2000".
    pub fn count_before(
        conn: &mut AnyConn,
        scope: &ClientScope,
        filter: &InvoiceFilter,
        order: InvoiceOrder,
        inv: &InvoiceListRow,
    ) -> Result<i64, DbError> {
        count_before!(conn, filtered!(i::table.into_boxed(), scope, filter), order, inv)
    }

    /// The ids of every invoice matching the filter, oldest first, at most `cap` (the caller
    /// counts first and refuses more): what a bulk action on "all matching" acts on.
    pub fn matching_ids(
        conn: &mut AnyConn,
        scope: &ClientScope,
        filter: &InvoiceFilter,
        cap: i64,
    ) -> Result<Vec<crate::domain::InvoiceId>, DbError> {
        Ok(filtered!(i::table.into_boxed(), scope, filter)
            .order((i::created_at.asc(), i::id.asc()))
            .select(i::id)
            .limit(cap)
            .load(conn)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nips_as_typed_are_digits() {
        assert_eq!(nip_digits("123-456-32-18").as_deref(), Some("1234563218"));
        assert_eq!(nip_digits("52 1"), Some("521".to_owned()));
        assert_eq!(nip_digits("FV/1"), None);
        assert_eq!(nip_digits("--"), None);
    }
}
