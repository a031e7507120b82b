//! Checks of free text and ranges that come from people and client systems, in one place so
//! that the API, the panel and the CLI refuse the same things with the same words.
//!
//! Names end up in HTML pages, CSV exports and audit reports: control characters and Unicode
//! bidirectional overrides there can hide or reorder what a reader sees (a name that displays
//! as one company while being another), so they are refused on input rather than escaped on
//! every output.

use chrono::NaiveDateTime;

use crate::db::models::list_sql::IssueAndGross;
use crate::error::{AppError, Refusal};

/// The longest name accepted (client, person, API key).
pub const MAX_NAME_CHARS: usize = 200;

/// The longest e-mail address (RFC 5321 path limit).
const MAX_EMAIL_CHARS: usize = 254;

/// Characters that reorder or hide text when displayed: the bidi embeddings and overrides
/// U+202A–U+202E, the isolates U+2066–U+2069, and the implicit marks U+200E/U+200F/U+061C.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// The first character free text must not carry: a control character (line breaks and tabs
/// allowed when `multiline`, as in a comment typed into a text area) or a bidi control.
pub fn forbidden_char(text: &str, multiline: bool) -> Option<char> {
    text.chars()
        .find(|c| (c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t'))) || is_bidi_control(*c))
}

/// A name as typed (trimmed); refused when empty, too long, or carrying control characters.
pub fn name(field: &str, raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(AppError::invalid(format!("{field}: must not be empty")));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::invalid(format!("{field}: at most {MAX_NAME_CHARS} characters")));
    }
    if let Some(c) = forbidden_char(name, false) {
        return Err(AppError::invalid(format!(
            "{field}: contains the control character U+{:04X}; type the name without it",
            u32::from(c)
        )));
    }
    Ok(name.to_owned())
}

/// An optional name: empty stays empty, anything else is checked as [`name`].
pub fn optional_name(field: &str, raw: &str) -> Result<String, AppError> {
    if raw.trim().is_empty() {
        Ok(String::new())
    } else {
        name(field, raw)
    }
}

/// An e-mail address, lower-cased: `local@domain` with the characters addresses of people
/// actually use (RFC 5322 atoms, no quoted local parts) and a domain of dot-separated labels.
pub fn email(raw: &str) -> Result<String, AppError> {
    let email = raw.trim().to_lowercase();
    let refuse =
        || AppError::invalid(format!("e-mail address {email:?} is not valid (expected name@domain.tld)"));
    if email.chars().count() > MAX_EMAIL_CHARS {
        return Err(refuse());
    }
    let Some((local, domain)) = email.split_once('@') else { return Err(refuse()) };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if local_ok && domain_ok {
        Ok(email)
    } else {
        Err(refuse())
    }
}

/// A period `from`..`to`: refused when it ends before it begins (it could only ever be empty,
/// which would pass for "nothing happened").
pub fn range(from: Option<NaiveDateTime>, to: Option<NaiveDateTime>) -> Result<(), AppError> {
    match (from, to) {
        (Some(f), Some(t)) if f > t => Err(AppError::Refused {
            refusal: Refusal::InvalidRange,
            message: format!("from ({f}) is after to ({t})"),
        }),
        _ => Ok(()),
    }
}

/// A list filter's issue-date range (P_1, both days inclusive) and gross amount range (minor
/// units), each the right way round (otherwise 400 `invalid_range`), as the lists filter by them.
pub fn issue_and_gross_ranges(
    (issued_from, issued_to): (Option<chrono::NaiveDate>, Option<chrono::NaiveDate>),
    (min_gross, max_gross): (Option<i64>, Option<i64>),
) -> Result<IssueAndGross, AppError> {
    let day = |d: Option<chrono::NaiveDate>| d.and_then(|d| d.and_hms_opt(0, 0, 0));
    range(day(issued_from), day(issued_to))?;
    match (min_gross, max_gross) {
        (Some(min), Some(max)) if min > max => Err(AppError::Refused {
            refusal: Refusal::InvalidRange,
            message: format!("min_gross ({min}) is above max_gross ({max}) (minor units)"),
        }),
        _ => Ok(IssueAndGross { issued_from, issued_to, min_gross, max_gross }),
    }
}

/// An optional number of the query string within `min..=max`.
pub fn bounded(field: &str, value: Option<i64>, min: i64, max: i64) -> Result<Option<i64>, AppError> {
    match value {
        Some(v) if !(min..=max).contains(&v) => {
            let bound = if max == i64::MAX { format!("at least {min}") } else { format!("{min}..={max}") };
            Err(AppError::bad_query(format!("{field}: expected {bound}, got {v}")))
        }
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_control_or_bidi_characters_are_refused() {
        assert_eq!(name("name", "  Firma ABC sp. z o.o. ").ok().as_deref(), Some("Firma ABC sp. z o.o."));
        assert!(name("name", "Zażółć gęślą jaźń").is_ok());
        for bad in ["a\u{0}b", "a\u{7}b", "Firma\u{202E}cba", "x\u{2066}y", "a\nb", "", "   "] {
            assert!(name("name", bad).is_err(), "{bad:?}");
        }
        assert!(name("name", &"a".repeat(MAX_NAME_CHARS + 1)).is_err());
    }

    #[test]
    fn multiline_text_keeps_line_breaks_but_not_other_controls() {
        assert_eq!(forbidden_char("Zła stawka\r\nw pozycji 2\t(23%)", true), None);
        assert_eq!(forbidden_char("a\nb", false), Some('\n'));
        for (bad, c) in [("a\u{0}b", '\u{0}'), ("x\u{1b}[31m", '\u{1b}'), ("x\u{202E}y", '\u{202E}')] {
            assert_eq!(forbidden_char(bad, true), Some(c), "{bad:?}");
        }
    }

    #[test]
    fn emails_are_plain_addresses() {
        assert_eq!(email(" Anna@Biuro.Test ").ok().as_deref(), Some("anna@biuro.test"));
        assert!(email("zarzad@firma-a.test").is_ok());
        for bad in [
            "\"><script>@x",
            "a@x",
            "a@@b.pl",
            "a b@c.pl",
            "@b.pl",
            "a@.pl",
            "a@b..pl",
            "a\u{202E}@b.pl",
            "noat",
        ] {
            assert!(email(bad).is_err(), "{bad:?}");
        }
    }
}
