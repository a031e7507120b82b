//! Time as Polish users and API clients read it. Everything is stored in UTC; the panel shows
//! Europe/Warsaw time in one format (`dd.mm.rrrr HH:MM`), and the API writes RFC 3339 with the
//! offset, so no page or client ever has to guess which zone a bare `22:59` was in.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Europe::Warsaw;

/// Today's calendar day in Poland (KSeF and the offline deadlines count Warsaw days).
pub fn today() -> NaiveDate {
    chrono::Utc::now().with_timezone(&Warsaw).date_naive()
}

/// A stored UTC time in Warsaw time, `dd.mm.rrrr HH:MM`: the panel's one format.
pub fn display(t: NaiveDateTime) -> String {
    t.and_utc().with_timezone(&Warsaw).format("%d.%m.%Y %H:%M").to_string()
}

/// A calendar day (e.g. P_1) as the panel shows it, `dd.mm.rrrr`.
pub fn display_date(d: NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

/// The last second of a Warsaw calendar day, in UTC (a deadline "to the end of the day").
pub fn end_of_day_utc(d: NaiveDate) -> NaiveDateTime {
    let end = d.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default());
    Warsaw.from_local_datetime(&end).earliest().map_or(end, |t| t.naive_utc())
}

/// Midnight at the start of a Warsaw calendar day, in UTC (a panel "day" as a bound of a query).
pub fn start_of_day_utc(d: NaiveDate) -> NaiveDateTime {
    let midnight = d.and_time(NaiveTime::MIN);
    Warsaw.from_local_datetime(&midnight).earliest().map_or(midnight, |t| t.naive_utc())
}

/// Midnight at the start of a Warsaw calendar day, as RFC 3339 with its offset
/// (`2026-12-01T00:00:00+01:00`): a panel "day" handed to the API, which counts in UTC.
pub fn start_of_day_rfc3339(d: NaiveDate) -> String {
    let midnight = d.and_time(NaiveTime::MIN);
    Warsaw.from_local_datetime(&midnight).earliest().map_or_else(
        || midnight.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

/// The Warsaw calendar day of a stored UTC time.
pub fn warsaw_date(t: NaiveDateTime) -> NaiveDate {
    t.and_utc().with_timezone(&Warsaw).date_naive()
}

/// `#[serde(serialize_with = "…")]` for a stored UTC time: RFC 3339 with its offset (`Z`).
pub fn rfc3339<S: serde::Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// [`rfc3339`] for an optional time (null when absent).
pub fn rfc3339_opt<S: serde::Serializer>(t: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => rfc3339(t, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d).and_then(|x| x.and_hms_opt(h, min, 0)).unwrap_or_default()
    }

    #[test]
    fn warsaw_winter_and_summer_time() {
        // 22:59:59 UTC in winter is 23:59 in Warsaw; in summer 21:59 UTC is 23:59.
        assert_eq!(display(at(2026, 12, 3, 22, 59)), "03.12.2026 23:59");
        assert_eq!(display(at(2026, 7, 1, 21, 59)), "01.07.2026 23:59");
        let end = end_of_day_utc(NaiveDate::from_ymd_opt(2026, 12, 3).unwrap_or_default());
        assert_eq!(display(end), "03.12.2026 23:59");
        assert_eq!(end.format("%H:%M").to_string(), "22:59");
        let day = NaiveDate::from_ymd_opt(2026, 7, 1).unwrap_or_default();
        assert_eq!(start_of_day_rfc3339(day), "2026-07-01T00:00:00+02:00");
    }

    #[test]
    fn api_times_carry_their_offset() {
        #[derive(serde::Serialize)]
        struct T {
            #[serde(serialize_with = "rfc3339")]
            at: NaiveDateTime,
        }
        let json = serde_json::to_string(&T { at: at(2026, 12, 3, 22, 59) }).unwrap_or_default();
        assert_eq!(json, r#"{"at":"2026-12-03T22:59:00Z"}"#);
    }
}
