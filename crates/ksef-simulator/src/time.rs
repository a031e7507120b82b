//! Timestamps in the format KSeF uses (RFC 3339 with milliseconds and offset).

use chrono::{DateTime, Datelike, Duration, NaiveDate, SecondsFormat, Utc, Weekday};

/// `2025-09-16T09:05:40.841+00:00`.
pub fn fmt(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, false)
}

/// Current time truncated to milliseconds, so that `timestamp` and `timestampMs` always agree.
pub fn now_ms() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

/// 01:00 UTC on the last Sunday of `month` (EU summer-time switch).
fn last_sunday_1am(year: i32, month: u32) -> Option<DateTime<Utc>> {
    let mut day = NaiveDate::from_ymd_opt(year, month, 31)?;
    while day.weekday() != Weekday::Sun {
        day = day.pred_opt()?;
    }
    Some(day.and_hms_opt(1, 0, 0)?.and_utc())
}

/// Offset of Europe/Warsaw at `t` (CET +1 h, CEST +2 h between the EU switch dates).
pub fn warsaw_offset(t: DateTime<Utc>) -> Duration {
    let summer = match (last_sunday_1am(t.year(), 3), last_sunday_1am(t.year(), 10)) {
        (Some(start), Some(end)) => start <= t && t < end,
        _ => false,
    };
    Duration::hours(if summer { 2 } else { 1 })
}

/// The calendar day in Warsaw at `t` (KSeF compares P_1 with it).
pub fn warsaw_date(t: DateTime<Utc>) -> NaiveDate {
    (t + warsaw_offset(t)).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warsaw_days_follow_summer_time() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or_default();
        assert_eq!(warsaw_date(at("2026-07-01T22:30:00Z")).to_string(), "2026-07-02");
        assert_eq!(warsaw_date(at("2026-01-15T22:30:00Z")).to_string(), "2026-01-15");
        assert_eq!(warsaw_date(at("2026-01-15T23:30:00Z")).to_string(), "2026-01-16");
        assert_eq!(warsaw_offset(at("2026-03-29T00:59:00Z")), Duration::hours(1));
        assert_eq!(warsaw_offset(at("2026-03-29T01:00:00Z")), Duration::hours(2));
    }
}
