//! Amounts of money: minor units (grosze) inside, decimal text at the edges. Shared by the sales
//! and the purchase side (the API writes `2051.00`, a Polish page `2 051,00 zł`).

/// An amount in minor units (grosze for PLN) from KSeF's decimal number, rounded half away from
/// zero: KSeF reports amounts with at most two decimals, so this is exact for every real invoice.
pub fn minor_units(amount: f64) -> i64 {
    // Rounded before the cast, which saturates: no invoice amount is anywhere near i64's range.
    (amount * 100.0).round() as i64
}

/// An amount in minor units as text with two decimals: `decimal` between the whole units and
/// the grosze, and `group` (if any) between each three digits of the whole units. The API
/// writes `2051.00`, a Polish spreadsheet reads `2051,00`, a Polish page shows `2 051,00`.
pub fn amount_text(minor: i64, decimal: char, group: Option<char>) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let units = (abs / 100).to_string();
    let mut grouped = String::with_capacity(units.len() + units.len() / 3);
    for (i, c) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            if let Some(g) = group {
                grouped.push(g);
            }
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}{decimal}{:02}", abs % 100)
}

/// The reverse of [`amount_text`] for input (a filter): `2051`, `2051.5`, `2051,50`, `-3`;
/// at most two decimals, no grouping. None for anything else.
pub fn parse_amount(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    let (negative, digits) = match raw.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    let (units, cents) = match digits.split_once(['.', ',']) {
        Some((u, c)) => (u, c),
        None => (digits, ""),
    };
    let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if units.is_empty() || units.len() > 15 || cents.len() > 2 || !all_digits(units) || !all_digits(cents) {
        return None;
    }
    let cents = format!("{cents:0<2}");
    let value = units.parse::<i64>().ok()? * 100 + cents.parse::<i64>().ok()?;
    Some(if negative { -value } else { value })
}

/// A decimal number as the invoice states it (`1666.6`, `-12`, `0.12345678`) the way Polish
/// pages show it: digits grouped by thousands with a space, a decimal comma, at least
/// `min_decimals` decimals (`1 666,60`). Text that is not a plain decimal comes back unchanged.
pub fn decimal_pl(raw: &str, min_decimals: usize) -> String {
    let (sign, digits) = raw.strip_prefix('-').map_or(("", raw), |rest| ("-", rest));
    let (units, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let plain = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if units.is_empty() || !plain(units) || !plain(fraction) || (digits.contains('.') && fraction.is_empty())
    {
        return raw.to_owned();
    }
    let mut out = String::from(sign);
    for (i, c) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    let fraction = format!("{fraction:0<min_decimals$}");
    if !fraction.is_empty() {
        out.push(',');
        out.push_str(&fraction);
    }
    out
}

/// A whole number with `sep` between each three digits (`2 013`): counts on Polish pages.
pub fn grouped(n: i64, sep: char) -> String {
    let text = amount_text(n.saturating_mul(100), ',', Some(sep));
    text.split(',').next().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_as_text_and_back() {
        assert_eq!(amount_text(205_100, ',', Some(' ')), "2 051,00");
        assert_eq!(amount_text(205_100, '.', None), "2051.00");
        assert_eq!(amount_text(-1235, ',', Some(' ')), "-12,35");
        assert_eq!(amount_text(12_345_678_901, ',', Some(' ')), "123 456 789,01");
        assert_eq!(amount_text(5, '.', None), "0.05");
        assert_eq!(parse_amount("2051"), Some(205_100));
        assert_eq!(parse_amount("2051,5"), Some(205_150));
        assert_eq!(parse_amount(" -12.35 "), Some(-1235));
        for bad in ["", "-", "1.234", "12a", "1 000", ".5", "1e3"] {
            assert_eq!(parse_amount(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn minor_units_round_decimal_amounts() {
        assert_eq!(minor_units(2051.0), 205_100);
        assert_eq!(minor_units(0.1 + 0.2), 30);
        assert_eq!(minor_units(-12.345), -1235);
        assert_eq!(minor_units(1234.56), 123_456);
    }

    #[test]
    fn decimals_as_polish_pages_show_them() {
        assert_eq!(decimal_pl("2051", 2), "2 051,00");
        assert_eq!(decimal_pl("1666.6", 2), "1 666,60");
        assert_eq!(decimal_pl("-12.35", 2), "-12,35");
        assert_eq!(decimal_pl("0.12345678", 2), "0,12345678");
        assert_eq!(decimal_pl("3", 0), "3");
        assert_eq!(decimal_pl("1000.5", 0), "1 000,5");
        for odd in ["", "1.", ".5", "1e3", "12 zł", "--1"] {
            assert_eq!(decimal_pl(odd, 2), odd, "{odd:?} unchanged");
        }
    }

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(grouped(2013, ' '), "2 013");
        assert_eq!(grouped(50, ' '), "50");
        assert_eq!(grouped(1_000_000, ' '), "1 000 000");
    }
}
