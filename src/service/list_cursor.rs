//! Page cursors of the keyset-paginated lists (purchase and sales invoices): opaque, URL-safe
//! text holding the order the cursor belongs to, its side (after or before) and the row's sort
//! key and id, so that a cursor of one order is never read in another.

use chrono::NaiveDateTime;

use crate::db::models::{RowKeyset, SortKey};
use crate::error::AppError;

/// One page of a list (sales or purchase invoices), with what it takes to show "201–400 of
/// 2000" and go on.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ListPage<T> {
    pub invoices: Vec<T>,
    /// Every invoice matching the filter, on all pages.
    pub total: i64,
    /// How many matching invoices come before this page (0 on the first).
    pub offset: i64,
    /// The next page, None on the last.
    pub next_cursor: Option<String>,
    /// The previous page, None on the first.
    pub prev_cursor: Option<String>,
    /// The order the page is in (`-received`, `gross`, …).
    pub sort: String,
}

impl<T> Default for ListPage<T> {
    fn default() -> Self {
        Self {
            invoices: Vec::new(),
            total: 0,
            offset: 0,
            next_cursor: None,
            prev_cursor: None,
            sort: String::new(),
        }
    }
}

impl<T> ListPage<T> {
    /// The page of `rows` (read in the list's order, `offset` matching rows before the first, of
    /// `total`), each shown as `show` makes it; `cursor_at(row, before)` spells the cursor of
    /// the page after (false) or before (true) a row.
    pub fn of<R>(
        rows: Vec<R>,
        (total, offset): (i64, i64),
        sort: String,
        cursor_at: impl Fn(&R, bool) -> String,
        show: impl FnMut(R) -> T,
    ) -> Self {
        let shown = i64::try_from(rows.len()).unwrap_or(i64::MAX);
        let next_cursor = rows.last().filter(|_| offset + shown < total).map(|r| cursor_at(r, false));
        let prev_cursor = rows.first().filter(|_| offset > 0).map(|r| cursor_at(r, true));
        Self { invoices: rows.into_iter().map(show).collect(), total, offset, next_cursor, prev_cursor, sort }
    }
}

/// How a sort key is spelled in a cursor, by the order's column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Date,
    Amount,
    Text,
    Time,
}

pub fn bad_cursor() -> AppError {
    AppError::invalid_field("cursor", "bad_cursor", "cursor: not one this list gave out")
}

pub(crate) fn b64(raw: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

pub(crate) fn unb64(raw: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(raw.trim()).ok()?;
    String::from_utf8(bytes).ok()
}

/// Nanoseconds: SQLite keeps a stored time to the nanosecond, and the key must match exactly.
pub(crate) fn nanos(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp_nanos_opt().unwrap_or_default()
}

pub(crate) fn from_nanos(raw: &str) -> Option<NaiveDateTime> {
    Some(chrono::DateTime::from_timestamp_nanos(raw.parse().ok()?).naive_utc())
}

/// `-name` (descending) or `name` as the direction and the name.
pub fn split_sort(raw: &str) -> (bool, &str) {
    match raw.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, raw),
    }
}

/// A cursor for the row at `keyset` in the order spelled `sort`.
pub fn encode(sort: &str, keyset: &RowKeyset) -> String {
    let key = match &keyset.key {
        SortKey::Date(d) => d.to_string(),
        SortKey::Amount(a) => a.to_string(),
        SortKey::Time(t) => nanos(*t).to_string(),
        SortKey::Text(t) => t.clone(),
    };
    let side = if keyset.before { 'b' } else { 'a' };
    // The key comes last: a name may hold any character.
    b64(&format!("{sort}|{side}|{}|{key}", keyset.id))
}

/// The order (as `parse_order` reads its spelling) and position of a cursor; `kind` tells how
/// the order's key is spelled (None: the order has no cursors).
pub fn decode<O: Copy>(
    raw: &str,
    parse_order: impl Fn(&str) -> Option<O>,
    kind: impl Fn(O) -> Option<KeyKind>,
) -> Result<(O, RowKeyset), AppError> {
    let text = unb64(raw).ok_or_else(bad_cursor)?;
    let mut parts = text.splitn(4, '|');
    let (Some(sort), Some(side), Some(id), Some(key)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad_cursor());
    };
    let order = parse_order(sort).ok_or_else(bad_cursor)?;
    let key = match kind(order).ok_or_else(bad_cursor)? {
        KeyKind::Date => SortKey::Date(key.parse().map_err(|_| bad_cursor())?),
        KeyKind::Amount => SortKey::Amount(key.parse().map_err(|_| bad_cursor())?),
        KeyKind::Text => SortKey::Text(key.to_owned()),
        KeyKind::Time => SortKey::Time(from_nanos(key).ok_or_else(bad_cursor)?),
    };
    let before = match side {
        "a" => false,
        "b" => true,
        _ => return Err(bad_cursor()),
    };
    if id.is_empty() {
        return Err(bad_cursor());
    }
    Ok((order, RowKeyset { key, id: id.to_owned(), before }))
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_foreign_text() {
        let at = chrono::DateTime::from_timestamp_nanos(1_765_000_000_123_456_789).naive_utc();
        for key in [SortKey::Time(at), SortKey::Text("A|b c".into()), SortKey::Amount(-5)] {
            let k = RowKeyset { key: key.clone(), id: "id-1".into(), before: true };
            let kind = match key {
                SortKey::Time(_) => KeyKind::Time,
                SortKey::Text(_) => KeyKind::Text,
                _ => KeyKind::Amount,
            };
            let raw = encode("-x", &k);
            let (order, back) = decode(&raw, |s| (s == "-x").then_some(1), |_| Some(kind)).unwrap();
            assert_eq!((order, back), (1, k));
            assert!(decode(&raw, |s| (s == "y").then_some(1), |_| Some(kind)).is_err(), "another order");
        }
        assert!(decode::<u8>("bm90LWEtY3Vyc29y", |_| Some(1), |_| Some(KeyKind::Text)).is_err());
    }
}
