//! What the keyset-paginated lists (purchase and sales invoices) share: SQL helpers for text
//! search and optional columns, the typed value of a row's sort key, a position in a list, and
//! the conditions and orders that page through it (never OFFSET: a page deep in a long list
//! costs what the first one does, and nothing shifts when new rows arrive).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::sql_types::{BigInt, Date, Nullable, Text};

diesel::define_sql_function! {
    /// SQL `COALESCE` of an optional text with a fallback.
    fn coalesce(x: Nullable<Text>, y: Text) -> Text;
}

diesel::define_sql_function! {
    /// SQL `COALESCE` of an optional date with a fallback (a list sorts rows without one).
    #[sql_name = "coalesce"]
    fn coalesce_date(x: Nullable<Date>, y: Date) -> Date;
}

diesel::define_sql_function! {
    /// SQL `COALESCE` of an optional number with a fallback.
    #[sql_name = "coalesce"]
    fn coalesce_bigint(x: Nullable<BigInt>, y: BigInt) -> BigInt;
}

diesel::define_sql_function! {
    /// SQL `LOWER`, Unicode on both databases (SQLite's connections replace the built-in
    /// ASCII-only one with Rust's folding, see `db::conn`).
    fn lower(x: Text) -> Text;
}

/// The value of a row's sort key, typed by the order it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKey {
    Date(NaiveDate),
    Amount(i64),
    Text(String),
    Time(NaiveDateTime),
}

/// Where a page starts: after (the next page) or before (the previous one) the row with this
/// key and id, in the list's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowKeyset {
    pub key: SortKey,
    pub id: String,
    pub before: bool,
}

/// A list's order: its sort key (each list has its own) and a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListOrder<S> {
    pub by: S,
    pub desc: bool,
}

impl<S> ListOrder<S> {
    /// How a page starting at `keyset` is read: whether it is a previous page, and whether the
    /// SQL reads descending (a previous page is read in the opposite direction, nearest rows
    /// first, then turned round by [`in_list_order`]).
    pub fn reading(&self, keyset: Option<&RowKeyset>) -> (bool, bool) {
        let before = keyset.is_some_and(|k| k.before);
        (before, self.desc != before)
    }
}

/// The ranges both lists filter by: issue date (P_1) and gross amount in minor units, both
/// ends inclusive (checked the right way round by `service::validate`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IssueAndGross {
    pub issued_from: Option<NaiveDate>,
    pub issued_to: Option<NaiveDate>,
    pub min_gross: Option<i64>,
    pub max_gross: Option<i64>,
}

impl IssueAndGross {
    /// No range is asked for.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The conditions of an [`IssueAndGross`] on a boxed query, on its issue date and gross
/// amount columns.
macro_rules! issue_and_gross {
    ($query:expr, $ranges:expr, $date_col:expr, $gross_col:expr) => {{
        let ranges: &IssueAndGross = $ranges;
        let mut query = $query;
        if let Some(d) = ranges.issued_from {
            query = query.filter($date_col.ge(d));
        }
        if let Some(d) = ranges.issued_to {
            query = query.filter($date_col.le(d));
        }
        if let Some(min) = ranges.min_gross {
            query = query.filter($gross_col.ge(min));
        }
        if let Some(max) = ranges.max_gross {
            query = query.filter($gross_col.le(max));
        }
        query
    }};
}

/// `%text%` for LIKE, with the text's own `%`, `_` and `\` matched literally (escape `\`).
pub fn contains_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Rows strictly beyond (`descending`: below, else above) the key and id, on one sort column.
macro_rules! beyond {
    ($query:expr, $col:expr, $key:expr, $id_col:expr, $id:expr, $descending:expr) => {{
        if $descending {
            $query.filter($col.lt($key.clone()).or($col.eq($key).and($id_col.lt($id))))
        } else {
            $query.filter($col.gt($key.clone()).or($col.eq($key).and($id_col.gt($id))))
        }
    }};
}

/// A boxed query ordered by one sort column then id, in either direction.
macro_rules! ordered {
    ($query:expr, $col:expr, $id_col:expr, $descending:expr) => {{
        if $descending {
            $query.order(($col.desc(), $id_col.desc()))
        } else {
            $query.order(($col.asc(), $id_col.asc()))
        }
    }};
}

/// How many rows of a list (its filtered, boxed query) come before `row` in `order`: where a
/// page starts, for "201–400 z 2000". "Beyond" the row going backwards, with the calling
/// list's `keyed!` (its sort columns): the rows before it.
macro_rules! count_before {
    ($conn:expr, $query:expr, $order:expr, $row:expr) => {{
        let (order, row) = ($order, $row);
        let keyset = $crate::db::models::list_sql::RowKeyset {
            key: order.key_of(row),
            id: row.id.to_string(),
            before: true,
        };
        let query = keyed!($query, order, Some(&keyset), !order.desc)
            .ok_or_else($crate::db::models::list_sql::keyset_mismatch)?;
        Ok(query.count().get_result($conn)?)
    }};
}

pub(crate) use {beyond, count_before, issue_and_gross, ordered};

/// A page read from a keyset, in the list's order: a previous page is read in the opposite
/// direction (nearest rows first), so it is turned round.
pub fn in_list_order<T>(mut rows: Vec<T>, before: bool) -> Vec<T> {
    if before {
        rows.reverse();
    }
    rows
}

/// The reason a keyset does not fit the order it was used with.
pub const KEYSET_MISMATCH: &str = "the cursor belongs to another order";

/// The error of a keyset used with an order it does not fit (a cursor of another list).
pub fn keyset_mismatch() -> crate::db::DbError {
    crate::db::DbError::Task(KEYSET_MISMATCH.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_match_wildcards_literally() {
        assert_eq!(contains_pattern("ABC"), "%abc%");
        assert_eq!(contains_pattern("50%_x\\"), "%50\\%\\_x\\\\%");
    }
}
