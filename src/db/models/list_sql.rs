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

pub(crate) use {beyond, ordered};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_match_wildcards_literally() {
        assert_eq!(contains_pattern("ABC"), "%abc%");
        assert_eq!(contains_pattern("50%_x\\"), "%50\\%\\_x\\\\%");
    }
}
