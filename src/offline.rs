//! Offline issuing: legal deadlines for sending an invoice issued while KSeF could not take it.
//!
//! - offline24 (the issuer's choice, any reason): send by the end of the next business day;
//! - KSeF unavailability announced by the Ministry: the next business day after it ends;
//! - emergency (awaria) declared by the Ministry: within 7 business days after it ends.
//!
//! Business days skip Saturdays, Sundays and Polish public holidays (ustawa o dniach wolnych od
//! pracy), Easter-dependent ones included.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

pub use crate::domain::OfflineMode;

/// Business days after the start day within which the invoice must reach KSeF.
fn business_days(mode: OfflineMode) -> u32 {
    match mode {
        OfflineMode::Offline24 | OfflineMode::Unavailability => 1,
        OfflineMode::Emergency => 7,
    }
}

/// Easter Sunday (Gregorian, anonymous algorithm).
fn easter(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).unwrap_or_default()
}

/// True on Polish statutory public holidays.
pub fn is_public_holiday(d: NaiveDate) -> bool {
    let fixed = [(1, 1), (1, 6), (5, 1), (5, 3), (8, 15), (11, 1), (11, 11), (12, 25), (12, 26)];
    if fixed.contains(&(d.month(), d.day())) {
        return true;
    }
    // Christmas Eve is a public holiday from 2025 on.
    if d.year() >= 2025 && d.month() == 12 && d.day() == 24 {
        return true;
    }
    let e = easter(d.year());
    // Easter Sunday, Easter Monday, Pentecost Sunday (+49), Corpus Christi (+60).
    [0, 1, 49, 60].iter().any(|off| e + Duration::days(*off) == d)
}

pub fn is_business_day(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !is_public_holiday(d)
}

/// How an invoice was issued offline: the mode, and for the Ministry's unavailability or
/// failure the day it ended (as announced, or as the person confirmed it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfflineIssue {
    pub mode: OfflineMode,
    /// The last day of the announced unavailability or failure; None while it is not known
    /// (it goes on). Ignored for offline24, which counts from the issue date alone.
    pub period_end: Option<NaiveDate>,
}

impl From<OfflineMode> for OfflineIssue {
    fn from(mode: OfflineMode) -> Self {
        Self { mode, period_end: None }
    }
}

impl OfflineIssue {
    /// The last day on which the invoice issued on `issued` (its P_1) may reach KSeF, per
    /// art. 106nda (offline24: the next business day after the issue date), art. 106nh (KSeF
    /// unavailability: the next business day after it ends) and art. 106nf (failure: 7 business
    /// days after it ends). Never counted from the day someone clicked: only from P_1 or from
    /// the period's end. While that end is unknown, the period lasts at least until `today`
    /// (and never ends before the invoice was issued), which gives the earliest day the
    /// deadline can fall on.
    pub fn deadline(self, issued: NaiveDate, today: NaiveDate) -> NaiveDate {
        let start = match self.mode {
            OfflineMode::Offline24 => issued,
            OfflineMode::Unavailability | OfflineMode::Emergency => {
                self.period_end.unwrap_or(today).max(issued)
            }
        };
        deadline(self.mode, start)
    }
}

/// The last day on which an invoice issued offline on `start` (or, for the Ministry's
/// unavailability or emergency, after one ending on `start`) may still be sent.
pub fn deadline(mode: OfflineMode, start: NaiveDate) -> NaiveDate {
    let mut d = start;
    let mut left = business_days(mode);
    while left > 0 {
        d = d.succ_opt().unwrap_or(d);
        if is_business_day(d) {
            left -= 1;
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn easter_dates() {
        assert_eq!(easter(2026), day(2026, 4, 5));
        assert_eq!(easter(2027), day(2027, 3, 28));
        assert_eq!(easter(2024), day(2024, 3, 31));
    }

    #[test]
    fn deadlines_skip_weekends_and_holidays() {
        // Friday → Monday.
        assert_eq!(deadline(OfflineMode::Offline24, day(2026, 11, 27)), day(2026, 11, 30));
        // Tuesday 10 Nov 2026 → Thursday 12 Nov (11 Nov is Independence Day).
        assert_eq!(deadline(OfflineMode::Offline24, day(2026, 11, 10)), day(2026, 11, 12));
        // Wednesday 23 Dec 2026 → Monday 28 Dec (24, 25, 26 holidays, 27 Sunday).
        assert_eq!(deadline(OfflineMode::Offline24, day(2026, 12, 23)), day(2026, 12, 28));
        // Easter Monday 2026 (6 Apr) is skipped: Friday 3 Apr → Tuesday 7 Apr.
        assert_eq!(deadline(OfflineMode::Unavailability, day(2026, 4, 3)), day(2026, 4, 7));
        // Emergency: 7 business days; Corpus Christi 2026 is 4 June.
        assert_eq!(deadline(OfflineMode::Emergency, day(2026, 6, 1)), day(2026, 6, 11));
    }

    #[test]
    fn offline24_counts_from_the_issue_date_not_from_today() {
        let issue = OfflineIssue::from;
        let today = day(2026, 12, 3);
        // Issued Friday 20 Nov 2026, decided on 3 Dec: the deadline was Monday 23 Nov.
        assert_eq!(issue(OfflineMode::Offline24).deadline(day(2026, 11, 20), today), day(2026, 11, 23));
        // Saturday and Sunday issues both end on Monday.
        assert_eq!(issue(OfflineMode::Offline24).deadline(day(2026, 11, 21), today), day(2026, 11, 23));
        assert_eq!(issue(OfflineMode::Offline24).deadline(day(2026, 11, 22), today), day(2026, 11, 23));
        // Thursday 31 Dec 2026 → Monday 4 Jan 2027 (1 Jan holiday, weekend).
        assert_eq!(issue(OfflineMode::Offline24).deadline(day(2026, 12, 31), today), day(2027, 1, 4));
        // Tuesday 5 Jan 2027 → Thursday 7 Jan (6 Jan is Epiphany).
        assert_eq!(issue(OfflineMode::Offline24).deadline(day(2027, 1, 5), today), day(2027, 1, 7));
        // Friday 30 Apr 2027 → Tuesday 4 May (1 May Saturday, 2 Sunday, 3 May holiday).
        assert_eq!(issue(OfflineMode::Offline24).deadline(day(2027, 4, 30), today), day(2027, 5, 4));
        // Easter 2027: 28 Mar; Friday 26 Mar → Tuesday 30 Mar (Easter Monday 29 Mar).
        assert_eq!(issue(OfflineMode::Offline24).deadline(day(2027, 3, 26), today), day(2027, 3, 30));
        // Corpus Christi 2027: Thursday 27 May; Wednesday 26 May → Friday 28 May.
        assert_eq!(issue(OfflineMode::Offline24).deadline(day(2027, 5, 26), today), day(2027, 5, 28));
        // 15 Aug 2027 is a Sunday: Friday 13 Aug → Monday 16 Aug.
        assert_eq!(issue(OfflineMode::Offline24).deadline(day(2027, 8, 13), today), day(2027, 8, 16));
    }

    #[test]
    fn unavailability_and_failure_count_from_the_periods_end() {
        let today = day(2026, 12, 3);
        let ended = |mode, end| OfflineIssue { mode, period_end: Some(end) };
        // Unavailability ended Friday 27 Nov; issued 26 Nov → Monday 30 Nov.
        assert_eq!(
            ended(OfflineMode::Unavailability, day(2026, 11, 27)).deadline(day(2026, 11, 26), today),
            day(2026, 11, 30)
        );
        // Failure ended Friday 18 Dec 2026: 7 business days skip 24–27 Dec → Thursday 31 Dec.
        // (21, 22, 23, 28, 29, 30, 31.)
        assert_eq!(
            ended(OfflineMode::Emergency, day(2026, 12, 18)).deadline(day(2026, 12, 17), today),
            day(2026, 12, 31)
        );
        // Failure ended 30 Oct 2026 (Friday): 2, 3, 4, 5, 6, 9, 10 Nov (1 Nov Sunday).
        assert_eq!(
            ended(OfflineMode::Emergency, day(2026, 10, 30)).deadline(day(2026, 10, 29), today),
            day(2026, 11, 10)
        );
        // Failure ended Friday 6 Nov: 9, 10, 12, 13, 16, 17, 18 Nov (11 Nov skipped).
        assert_eq!(
            ended(OfflineMode::Emergency, day(2026, 11, 6)).deadline(day(2026, 11, 5), today),
            day(2026, 11, 18)
        );
        // Still going on (end unknown): it lasts at least until today.
        assert_eq!(
            OfflineIssue::from(OfflineMode::Unavailability).deadline(day(2026, 12, 1), today),
            day(2026, 12, 4)
        );
        // An end before the issue date cannot be: the issue date counts.
        assert_eq!(
            ended(OfflineMode::Unavailability, day(2026, 11, 2)).deadline(day(2026, 11, 20), today),
            day(2026, 11, 23)
        );
    }
}
