//! KSeF's high-water-mark (HWM) rule for downloading received invoices completely.
//!
//! KSeF guarantees that everything permanently stored up to `PermanentStorageHwmDate` is a closed,
//! complete set: a later query below that moment never returns anything new. An incremental sync
//! therefore walks adjacent windows per subject type (`Subject1` … `SubjectAuthorized`), each
//!
//! * filtered by `dateType = PermanentStorage` with `restrictToPermanentStorageHwmDate = true`,
//! * starting at the stored cursor (inclusive), with `to` omitted (KSeF then ends at now, capped at
//!   the HWM), or `from + 100 days` when the cursor is older than that (API 2.7.1: ranges of at most
//!   100 days, dates in UTC with an explicit offset),
//!
//! and advances the cursor to `LastPermanentStorageDate` (last record's date) when the result was
//! truncated at 10 000 records, else to `PermanentStorageHwmDate`. Windows touch at their edges, so
//! an invoice may come twice: deduplicate by KSeF number.
//!
//! # Contract for a per-client cursor
//!
//! ```text
//! cursor = stored cursor of (client, subject type), or the start of history
//! loop:
//!     window = hwm::window(subject, cursor, now)          // the request: metadata query or export
//!     result = KSeF's answer for the whole window          // every page, or the export package
//!     store the invoices (dedupe by KSeF number)           // in one transaction with …
//!     store adv.next_from as the new cursor                // … the cursor, adv = hwm::advance(…)
//!     if adv.caught_up { stop; poll again later (≥ 15 min per subject type on production) }
//! ```
//!
//! Storing the invoices and the cursor together makes a crash harmless: the window is simply
//! fetched again from the old cursor, and deduplication absorbs the repeat. Nothing below the
//! cursor is ever skipped, because the cursor only moves to a date up to which KSeF has returned
//! everything (the HWM), or to the last date actually returned (truncation; the next window starts
//! there inclusively).
//!
//! [`crate::KsefClient::sync_window`] (metadata query) and [`crate::KsefClient::export_window`]
//! (export package) run one window each and return its [`WindowAdvance`].

use chrono::{DateTime, Duration, SubsecRound, Utc};

use crate::error::KsefError;
use crate::models::export::InvoicePackage;
use crate::models::query::{DateRange, DateType, InvoiceQueryFilters, SubjectType};

/// Longest date range KSeF accepts in invoice queries and exports (API 2.7.1).
pub const MAX_RANGE_DAYS: i64 = 100;

/// The date range of the window starting at `from` (inclusive), as seen at `now`.
///
/// `to` is omitted when `from` lies within the last 100 days, so that KSeF ends the window at its
/// current HWM; otherwise it is `from + 100 days` (a first sync of older history then takes several
/// windows).
pub fn window_range(from: DateTime<Utc>, now: DateTime<Utc>) -> DateRange {
    // Whole milliseconds, so that KSeF's echo of the end as the HWM compares equal to it.
    let longest = (from + Duration::days(MAX_RANGE_DAYS)).trunc_subsecs(3);
    DateRange {
        date_type: DateType::PermanentStorage,
        from,
        to: (longest < now).then_some(longest),
        restrict_to_permanent_storage_hwm_date: Some(true),
    }
}

/// The filters of the window starting at `from` for `subject_type` (see [`window_range`]).
pub fn window(subject_type: SubjectType, from: DateTime<Utc>, now: DateTime<Utc>) -> InvoiceQueryFilters {
    InvoiceQueryFilters::new(subject_type, window_range(from, now))
}

/// What KSeF reported at the end of a window: from the last metadata page, or from an export
/// package ([`WindowResult::from_package`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowResult {
    /// The result stopped at the 10 000-record (or 1 GB) cap.
    pub is_truncated: bool,
    /// `permanentStorageDate` of the last record returned (required when truncated).
    pub last_permanent_storage_date: Option<DateTime<Utc>>,
    /// `permanentStorageHwmDate` of the answer (required when not truncated).
    pub permanent_storage_hwm_date: Option<DateTime<Utc>>,
}

impl WindowResult {
    /// The window result an export package reports.
    pub fn from_package(package: &InvoicePackage) -> Self {
        Self {
            is_truncated: package.is_truncated,
            last_permanent_storage_date: package.last_permanent_storage_date,
            permanent_storage_hwm_date: package.permanent_storage_hwm_date,
        }
    }
}

/// Where the next window starts, and whether this one reached KSeF's current HWM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowAdvance {
    /// The new cursor: start (inclusive) of the next window. Every invoice stored permanently
    /// before it has been returned by this window or an earlier one.
    pub next_from: DateTime<Utc>,
    /// The window was complete up to KSeF's current HWM: nothing more is available now, poll
    /// later. `false` after truncation or for a window capped at 100 days: continue at once.
    pub caught_up: bool,
    /// The HWM KSeF reported, when it did (the "complete up to" date to show).
    pub permanent_storage_hwm_date: Option<DateTime<Utc>>,
}

/// Applies the HWM rule to the result of the window `range`: `LastPermanentStorageDate` when
/// truncated, else `PermanentStorageHwmDate`. A truncated window that does not move the cursor
/// forward, or an answer lacking the date the rule needs, is a [`KsefError::Decode`]: following it
/// could loop forever or skip invoices.
pub fn advance(range: &DateRange, result: &WindowResult) -> Result<WindowAdvance, KsefError> {
    const WHAT: &str = "invoice window";
    let hwm = result.permanent_storage_hwm_date;
    if result.is_truncated {
        let last = result
            .last_permanent_storage_date
            .ok_or_else(|| KsefError::decode(WHAT, "truncated result without lastPermanentStorageDate"))?;
        if last <= range.from {
            return Err(KsefError::decode(
                WHAT,
                format!(
                    "truncated result does not advance past {} (10 000 invoices share one date)",
                    range.from
                ),
            ));
        }
        return Ok(WindowAdvance { next_from: last, caught_up: false, permanent_storage_hwm_date: hwm });
    }
    let hwm = hwm.ok_or_else(|| KsefError::decode(WHAT, "result without permanentStorageHwmDate"))?;
    let next_from = hwm.max(range.from);
    // KSeF reports the window's own end as the HWM for a window that ends before its current HWM.
    let caught_up = range.to.is_none_or(|to| hwm < to);
    Ok(WindowAdvance { next_from, caught_up, permanent_storage_hwm_date: Some(hwm) })
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "test code")]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn recent_cursor_leaves_to_open_and_old_cursor_caps_at_100_days() {
        let now = at("2026-12-06T12:00:00Z");
        let recent = window(SubjectType::Subject2, at("2026-11-01T00:00:00Z"), now);
        assert_eq!(recent.date_range.to, None);
        assert_eq!(recent.date_range.date_type, DateType::PermanentStorage);
        assert_eq!(recent.date_range.restrict_to_permanent_storage_hwm_date, Some(true));
        let old = window_range(at("2025-12-01T00:00:00Z"), now);
        assert_eq!(old.to, Some(at("2026-03-11T00:00:00Z")));
        // Serialised with an explicit UTC offset, never a naive local time.
        let json = serde_json::to_value(&recent).unwrap();
        assert_eq!(json["dateRange"]["from"], "2026-11-01T00:00:00Z");
        assert!(json["dateRange"].get("to").is_none());
        assert_eq!(json["dateRange"]["restrictToPermanentStorageHwmDate"], true);
    }

    #[test]
    fn next_cursor_is_last_date_when_truncated_else_hwm() {
        let now = at("2026-12-06T12:00:00Z");
        let range = window_range(at("2026-11-01T00:00:00Z"), now);
        let hwm = at("2026-12-06T11:59:00Z");
        let last = at("2026-11-20T10:00:00Z");
        let cut = WindowResult {
            is_truncated: true,
            last_permanent_storage_date: Some(last),
            permanent_storage_hwm_date: Some(hwm),
        };
        let adv = advance(&range, &cut).unwrap();
        assert_eq!((adv.next_from, adv.caught_up), (last, false));
        let whole = WindowResult { is_truncated: false, ..cut };
        let adv = advance(&range, &whole).unwrap();
        assert_eq!((adv.next_from, adv.caught_up), (hwm, true));
        // A 100-day window reported complete up to its own end: not caught up, continue at once.
        let old = window_range(at("2025-01-01T00:00:00Z"), now);
        let end = old.to;
        let adv = advance(&old, &WindowResult { permanent_storage_hwm_date: end, ..whole }).unwrap();
        assert_eq!((Some(adv.next_from), adv.caught_up), (end, false));
    }

    #[test]
    fn answers_that_would_lose_or_loop_are_errors() {
        let range = window_range(at("2026-11-01T00:00:00Z"), at("2026-12-06T12:00:00Z"));
        let stuck = WindowResult {
            is_truncated: true,
            last_permanent_storage_date: Some(range.from),
            permanent_storage_hwm_date: None,
        };
        assert!(matches!(advance(&range, &stuck), Err(KsefError::Decode { .. })));
        let no_last = WindowResult { last_permanent_storage_date: None, ..stuck };
        assert!(advance(&range, &no_last).is_err());
        let no_hwm = WindowResult { is_truncated: false, ..no_last };
        assert!(advance(&range, &no_hwm).is_err());
    }
}
