//! How long a stored KSeF credential stays valid, and how soon a person has to act.
//!
//! Certificates carry their `validTo`. Tokens: KSeF may report an end of validity (the announced
//! token endpoint with limited lifetimes); until it does, the API team's statement holds: tokens
//! issued by 31.12.2026 stay valid until 30.11.2027. A token issued later has no known end.

use chrono::{NaiveDate, NaiveDateTime};

use crate::local_time::end_of_day_utc;

/// The last day of the announced validity of tokens issued by 31.12.2026.
fn announced_token_end() -> NaiveDateTime {
    end_of_day_utc(NaiveDate::from_ymd_opt(2027, 11, 30).unwrap_or_default())
}

/// The last moment a token may be issued to fall under the announced end.
fn last_issue_with_announced_end() -> NaiveDateTime {
    end_of_day_utc(NaiveDate::from_ymd_opt(2026, 12, 31).unwrap_or_default())
}

/// A token's end of validity: what KSeF reports, else the announced 30.11.2027 for a token
/// issued by 31.12.2026 (`issued`: KSeF's `dateCreated`, or when the gateway first saw it).
pub fn token_valid_until(reported: Option<NaiveDateTime>, issued: NaiveDateTime) -> Option<NaiveDateTime> {
    reported.or_else(|| (issued <= last_issue_with_announced_end()).then(announced_token_end))
}

crate::text_enum! {
    /// How close a credential is to the end of its validity: warnings 30, 14 and 7 days ahead.
    pub enum ExpiryWarning ("expiry warning") {
        /// No longer valid: KSeF refuses it.
        Expired = "expired",
        /// 7 days or fewer left.
        Days7 = "7d",
        /// 14 days or fewer left.
        Days14 = "14d",
        /// 30 days or fewer left.
        Days30 = "30d"
    }
}

impl ExpiryWarning {
    /// The warning for a credential valid until `valid_until`, as of `now`; None when more than
    /// 30 days are left or the end is unknown.
    pub fn of(valid_until: Option<NaiveDateTime>, now: NaiveDateTime) -> Option<Self> {
        let left = valid_until? - now;
        Some(if left <= chrono::Duration::zero() {
            Self::Expired
        } else if left <= chrono::Duration::days(7) {
            Self::Days7
        } else if left <= chrono::Duration::days(14) {
            Self::Days14
        } else if left <= chrono::Duration::days(30) {
            Self::Days30
        } else {
            return None;
        })
    }

    /// What a person should read, in Polish.
    pub fn label_pl(self) -> &'static str {
        match self {
            Self::Expired => "wygasło – KSeF go nie przyjmie; zapisz nowe poświadczenie",
            Self::Days7 => "wygasa w ciągu 7 dni – zapisz nowe poświadczenie teraz",
            Self::Days14 => "wygasa w ciągu 14 dni – przygotuj nowe poświadczenie",
            Self::Days30 => "wygasa w ciągu 30 dni",
        }
    }
}

/// How many stored credentials (the clients' active ones and the office's) are within each
/// warning, every warning listed (zero included) so that the metric's series always exist.
pub async fn warning_counts(
    st: &crate::state::AppState,
) -> Result<Vec<(ExpiryWarning, i64)>, crate::error::AppError> {
    use crate::db::models::{Credential, OfficeCredential};
    let mut ends = st.db.tx(Credential::active_valid_until).await?;
    ends.extend(st.db.tx(OfficeCredential::find_active).await?.and_then(|o| o.valid_until));
    let now = crate::db::models::ids::now();
    Ok(ExpiryWarning::ALL
        .iter()
        .map(|w| {
            (*w, ends.iter().filter(|end| ExpiryWarning::of(Some(**end), now) == Some(*w)).count() as i64)
        })
        .collect())
}

/// A stored credential's end of validity as people and scripts read it: the end, the whole days
/// left, and the warning (flattened into the credential's view).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Validity {
    #[serde(serialize_with = "crate::local_time::rfc3339_opt")]
    pub valid_until: Option<NaiveDateTime>,
    pub expires_in_days: Option<i64>,
    /// `30d`, `14d`, `7d` or `expired` once the end is that near.
    pub expiry_warning: Option<ExpiryWarning>,
}

impl Validity {
    pub fn of(valid_until: Option<NaiveDateTime>) -> Self {
        let now = crate::db::models::ids::now();
        Self {
            valid_until,
            expires_in_days: days_left(valid_until, now),
            expiry_warning: ExpiryWarning::of(valid_until, now),
        }
    }
}

/// Whole days left until `valid_until` (negative once past), as of `now`.
pub fn days_left(valid_until: Option<NaiveDateTime>, now: NaiveDateTime) -> Option<i64> {
    valid_until.map(|v| (v - now).num_days())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default().and_hms_opt(12, 0, 0).unwrap_or_default()
    }

    #[test]
    fn tokens_issued_by_the_end_of_2026_end_on_30_november_2027() {
        let end = token_valid_until(None, at(2026, 12, 6)).unwrap_or_default();
        assert_eq!(crate::local_time::display(end), "30.11.2027 23:59");
        assert_eq!(token_valid_until(None, at(2027, 1, 2)), None, "issued later: no known end");
        let reported = at(2027, 3, 1);
        assert_eq!(token_valid_until(Some(reported), at(2026, 1, 1)), Some(reported), "KSeF's word wins");
    }

    #[test]
    fn warnings_at_30_14_and_7_days() {
        let now = at(2027, 11, 1);
        let w = |d: i64| ExpiryWarning::of(Some(now + chrono::Duration::days(d)), now);
        assert_eq!(w(31), None);
        assert_eq!(w(30), Some(ExpiryWarning::Days30));
        assert_eq!(w(14), Some(ExpiryWarning::Days14));
        assert_eq!(w(8), Some(ExpiryWarning::Days14));
        assert_eq!(w(7), Some(ExpiryWarning::Days7));
        assert_eq!(w(0), Some(ExpiryWarning::Expired));
        assert_eq!(ExpiryWarning::of(None, now), None);
    }
}
