//! What the panel's filtered lists (sales and purchase invoices) share: reading their form
//! fields with Polish messages, links that keep the filter, and the column headers that sort.

use chrono::NaiveDate;

use crate::domain::parse_amount;

/// A form field's text, trimmed; None when blank.
pub fn filled(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// A day typed as `dd.mm.rrrr` (or sent by a date field as `rrrr-mm-dd`), or what is wrong.
pub fn day_field(label: &str, v: &Option<String>) -> Result<Option<NaiveDate>, String> {
    filled(v)
        .map(|raw| {
            NaiveDate::parse_from_str(&raw, "%Y-%m-%d")
                .or_else(|_| NaiveDate::parse_from_str(&raw, "%d.%m.%Y"))
                .map_err(|_| format!("Data „{label}” ma niepoprawny format – podaj dzień jako dd.mm.rrrr."))
        })
        .transpose()
}

/// An amount typed the Polish way (`2 051,00`, spaces allowed) in minor units, or what is wrong.
pub fn amount_field(label: &str, v: &Option<String>) -> Result<Option<i64>, String> {
    filled(v)
        .map(|raw| {
            parse_amount(&raw.replace([' ', '\u{a0}'], ""))
                .ok_or_else(|| format!("Kwota „{label}” musi być liczbą, np. 2051,00."))
        })
        .transpose()
}

/// Both ends of a date and an amount range the right way round, or what is wrong.
pub fn check_ranges(
    days: (Option<NaiveDate>, Option<NaiveDate>),
    amounts: (Option<i64>, Option<i64>),
) -> Result<(), String> {
    if let (Some(f), Some(t)) = days {
        if f > t {
            return Err("Data początkowa jest późniejsza niż data końcowa. Popraw zakres dat.".into());
        }
    }
    if let (Some(min), Some(max)) = amounts {
        if min > max {
            return Err("Kwota „brutto od” jest większa niż kwota „brutto do”. Popraw zakres kwot.".into());
        }
    }
    Ok(())
}

/// A URL with query pairs.
pub fn link(base: &str, pairs: &[(&str, String)]) -> String {
    if pairs.is_empty() {
        return base.to_owned();
    }
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    format!("{base}?{}", q.finish())
}

/// A column header that sorts the list by its column (the other way round when it already does).
pub struct SortHeader {
    pub id: &'static str,
    pub label: &'static str,
    pub href: String,
    pub arrow: &'static str,
}

/// A sortable column: (element id, label, the order's name, whether it first sorts descending).
pub type SortColumn = (&'static str, &'static str, &'static str, bool);

/// The sorting headers of a list for the current order (`chosen`, as `sort` spells it); the
/// links keep the filter `pairs` and drop the page (a new order starts at its first page).
pub fn sort_headers(
    action: &str,
    pairs: &[(&'static str, String)],
    chosen: &str,
    columns: &[SortColumn],
) -> Vec<SortHeader> {
    columns
        .iter()
        .map(|&(id, label, key, newest_first)| {
            let (asc, desc) = (key.to_owned(), format!("-{key}"));
            let (next, arrow) = if chosen == desc {
                (asc, " ↓")
            } else if chosen == asc {
                (desc, " ↑")
            } else if newest_first {
                (desc, "")
            } else {
                (asc, "")
            };
            let mut p: Vec<(&str, String)> = pairs.iter().filter(|(k, _)| *k != "sortuj").cloned().collect();
            p.push(("sortuj", next));
            SortHeader { id, label, href: link(action, &p), arrow }
        })
        .collect()
}
