//! Offline issuing: legal deadlines for sending an invoice issued while KSeF could not take it.
//!
//! - offline24 (the issuer's choice, any reason): send by the end of the next business day;
//! - KSeF unavailability announced by the Ministry: the next business day after it ends;
//! - emergency (awaria) declared by the Ministry: within 7 business days after it ends.
//!
//! Business days skip Saturdays, Sundays and Polish public holidays (ustawa o dniach wolnych od
//! pracy), Easter-dependent ones included.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// Which offline mode an invoice was issued in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfflineMode {
    Offline24,
    Unavailability,
    Emergency,
}

impl OfflineMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Offline24 => "offline24",
            Self::Unavailability => "unavailability",
            Self::Emergency => "emergency",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "offline24" => Ok(Self::Offline24),
            "unavailability" => Ok(Self::Unavailability),
            "emergency" | "awaria" => Ok(Self::Emergency),
            other => Err(format!("unknown offline mode {other:?} (offline24, unavailability, emergency)")),
        }
    }

    /// Business days after the start day within which the invoice must reach KSeF.
    fn business_days(self) -> u32 {
        match self {
            Self::Offline24 | Self::Unavailability => 1,
            Self::Emergency => 7,
        }
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

/// The last day on which an invoice issued offline on `start` (or, for the Ministry's
/// unavailability or emergency, after one ending on `start`) may still be sent.
pub fn deadline(mode: OfflineMode, start: NaiveDate) -> NaiveDate {
    let mut d = start;
    let mut left = mode.business_days();
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
}
