//! `[purchase]` configuration: which purchase invoices are fetched, how often, from when.

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::domain::PurchaseRole;

/// Settings of the purchase sync.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PurchaseSettings {
    /// Fetch purchase invoices in the senders' turns.
    pub enabled: bool,
    /// The client's roles fetched (`buyer`, `third_party`, `authorized`).
    pub roles: Vec<String>,
    /// Fetch volume (a first sync, older history, large increments) through export packages;
    /// off: everything through the metadata query and downloads by KSeF number.
    pub exports: bool,
    /// An export KSeF keeps at status 100 longer than this (seconds) is given up for the
    /// metadata query.
    pub export_wait_s: u64,
    /// A client and role is asked for new invoices at most this often, in seconds.
    pub poll_s: u64,
    /// First day of a first sync (`YYYY-MM-DD`); empty: the first day of the previous month.
    pub history_start: String,
    /// How often the last closed window is re-counted against KSeF, in seconds.
    pub recheck_s: u64,
    /// Longest sync step inside one turn, in milliseconds.
    pub step_ms: u64,
    /// Longest wait for room under a KSeF limit before a step yields, in milliseconds.
    pub max_limit_wait_ms: u64,
}

impl Default for PurchaseSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            roles: vec![PurchaseRole::Buyer.as_str().to_owned()],
            exports: true,
            export_wait_s: 300,
            poll_s: 900,
            history_start: String::new(),
            recheck_s: 86_400,
            step_ms: 3_000,
            max_limit_wait_ms: 1_000,
        }
    }
}

impl PurchaseSettings {
    /// The roles to fetch, typed (validated at start).
    pub fn roles(&self) -> Vec<PurchaseRole> {
        self.roles.iter().filter_map(|r| PurchaseRole::parse(r).ok()).collect()
    }

    /// Where a client's first sync starts, as of `now`.
    pub fn history_start(&self, now: NaiveDateTime) -> NaiveDateTime {
        let configured = NaiveDate::parse_from_str(self.history_start.trim(), "%Y-%m-%d").ok();
        let day = configured.unwrap_or_else(|| {
            let this_month = now.date().with_day(1).unwrap_or(now.date());
            this_month.checked_sub_months(Months::new(1)).unwrap_or(this_month)
        });
        day.and_hms_opt(0, 0, 0).unwrap_or(now)
    }

    /// Checks the values, naming the key at fault.
    pub fn validate(&self) -> Result<(), String> {
        for r in &self.roles {
            PurchaseRole::parse(r).map_err(|e| format!("purchase.roles: {e}"))?;
        }
        let h = self.history_start.trim();
        if !h.is_empty() && NaiveDate::parse_from_str(h, "%Y-%m-%d").is_err() {
            return Err(format!("purchase.history_start: {h:?} is not a date YYYY-MM-DD"));
        }
        if self.poll_s == 0 || self.recheck_s == 0 || self.step_ms == 0 || self.export_wait_s == 0 {
            return Err("purchase.poll_s, recheck_s, step_ms and export_wait_s must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_starts_on_the_first_day_of_the_previous_month_unless_set() {
        let now =
            NaiveDateTime::parse_from_str("2026-01-15 10:00:00", "%Y-%m-%d %H:%M:%S").unwrap_or_default();
        let s = PurchaseSettings::default();
        assert_eq!(s.history_start(now).to_string(), "2025-12-01 00:00:00");
        let s = PurchaseSettings { history_start: "2025-06-01".into(), ..s };
        assert_eq!(s.history_start(now).to_string(), "2025-06-01 00:00:00");
        assert!(PurchaseSettings { roles: vec!["seller".into()], ..s.clone() }.validate().is_err());
        assert!(PurchaseSettings { history_start: "1.6.2025".into(), ..s }.validate().is_err());
    }
}
