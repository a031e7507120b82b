//! Where each client's purchase sync stands, for the panel, the API and the CLI: "complete up to
//! <HWM>" per client and role, and per month.
//!
//! The contract: a role's `complete_up_to` is the moment up to which every invoice that reached
//! KSeF's permanent storage with the client in that role is stored (KSeF's high-water mark as of
//! the last window the sync closed). A month (on the permanent-storage date, UTC) is complete
//! when `complete_up_to` is at or after its end; the month holding `complete_up_to` is complete
//! up to that moment; later months are not complete. `gap_count` > 0 means the last re-check
//! found invoices KSeF lists but the gateway did not have; the window is being synced again and
//! `complete_up_to` was moved back to its start.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::Serialize;

use crate::auth::roles::Permission;
use crate::db::models::{Client, PurchaseInvoice, PurchaseSync};
use crate::db::{AnyConn, DbError};
use crate::domain::{ClientId, Nip, PurchaseInvoiceId, PurchaseRole};
use crate::error::AppError;
use crate::service::access::{self, Caller};
use crate::state::AppState;

/// One client's sync of one role.
#[derive(Debug, Clone, Serialize)]
pub struct SyncStatus {
    pub client_id: ClientId,
    pub nip: Nip,
    pub subject_type: PurchaseRole,
    /// Every invoice stored up to here (None: the first window is not closed yet).
    pub complete_up_to: Option<NaiveDateTime>,
    pub last_run_at: Option<NaiveDateTime>,
    pub next_run_at: NaiveDateTime,
    pub last_checked_at: Option<NaiveDateTime>,
    pub gap_count: i64,
    /// In Polish, as the panel shows it.
    pub last_error: Option<String>,
}

/// How complete one month is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum MonthState {
    /// Every invoice of the month is stored.
    Complete,
    /// Stored up to this moment inside the month.
    CompleteUpTo { at: NaiveDateTime },
    /// Nothing of the month is known to be complete yet.
    Open,
}

/// One month of one role: invoices stored (by permanent-storage date) and how complete it is.
#[derive(Debug, Clone, Serialize)]
pub struct MonthCompleteness {
    /// First day of the month.
    pub month: NaiveDate,
    pub subject_type: PurchaseRole,
    pub stored: usize,
    #[serde(flatten)]
    pub state: MonthState,
}

/// Where a newly stored purchase invoice is announced (webhooks: `purchase_invoice.received`).
/// Called inside the transaction that stores the invoices, with the ids stored, so that an
/// announcement exists exactly when its invoice does.
pub fn announce_received(
    conn: &mut AnyConn,
    client_id: &ClientId,
    ids: &[PurchaseInvoiceId],
) -> Result<(), DbError> {
    crate::service::webhooks::enqueue_purchase_received(conn, client_id, ids)
}

/// The sync of every client the caller may read (or of the one with `nip`), per role.
pub async fn status(st: &AppState, caller: &Caller, nip: Option<&str>) -> Result<Vec<SyncStatus>, AppError> {
    let (caller, nip) = (caller.clone(), nip.map(str::to_owned));
    st.db
        .run(move |c| {
            let scope = access::scope(c, &caller, Permission::Read)?;
            let scope = match &nip {
                Some(nip) => {
                    let client = access::client_named(c, nip)?;
                    if !scope.contains(&client.id) {
                        return Err(AppError::NotFound);
                    }
                    scope.narrow_to(&client.id)
                }
                None => scope,
            };
            let rows = PurchaseSync::list(c, &scope)?;
            let ids: Vec<ClientId> = rows.iter().map(|r| r.client_id.clone()).collect();
            let nips: BTreeMap<ClientId, Nip> =
                Client::list_by_ids(c, &ids)?.into_iter().map(|cl| (cl.id, cl.nip)).collect();
            // Every sync row has its client (a foreign key; clients are never deleted).
            rows.into_iter()
                .map(|r| {
                    Ok(SyncStatus {
                        nip: nips.get(&r.client_id).cloned().ok_or(AppError::NotFound)?,
                        client_id: r.client_id,
                        subject_type: r.subject_type,
                        complete_up_to: r.hwm,
                        last_run_at: r.last_run_at,
                        next_run_at: r.next_run_at,
                        last_checked_at: r.last_checked_at,
                        gap_count: r.gap_count,
                        last_error: r.last_error,
                    })
                })
                .collect()
        })
        .await
}

/// Per month and role, how complete one client's purchase invoices are (the caller must be
/// allowed to read the client).
pub async fn months(
    st: &AppState,
    caller: &Caller,
    client_id: &ClientId,
) -> Result<Vec<MonthCompleteness>, AppError> {
    let (caller, cid) = (caller.clone(), client_id.clone());
    st.db
        .run(move |c| {
            access::require(c, &caller, &cid, Permission::Read)?;
            let mut out = Vec::new();
            for row in PurchaseSync::list(c, &crate::db::models::ClientScope::Only(vec![cid.clone()]))? {
                let dates = PurchaseInvoice::storage_dates(c, &cid, row.subject_type)?;
                out.extend(by_month(row.subject_type, row.cursor_from, row.hwm, &dates));
            }
            Ok(out)
        })
        .await
}

/// Months from the sync's earliest known point (or the first invoice) to the last one seen.
fn by_month(
    role: PurchaseRole,
    cursor: NaiveDateTime,
    hwm: Option<NaiveDateTime>,
    dates: &[NaiveDateTime],
) -> Vec<MonthCompleteness> {
    let mut counts: BTreeMap<NaiveDate, usize> = BTreeMap::new();
    for d in dates {
        *counts.entry(month_of(d.date())).or_default() += 1;
    }
    let first = counts.keys().next().copied().unwrap_or(month_of(cursor.date())).min(month_of(cursor.date()));
    let last =
        [counts.keys().last().copied(), hwm.map(|h| month_of(h.date())), Some(month_of(cursor.date()))]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(first);
    let mut out = Vec::new();
    let mut month = first;
    while month <= last {
        let next = month.checked_add_months(chrono::Months::new(1)).unwrap_or(NaiveDate::MAX);
        let end = next.and_hms_opt(0, 0, 0).unwrap_or(NaiveDateTime::MAX);
        let start = month.and_hms_opt(0, 0, 0).unwrap_or(NaiveDateTime::MIN);
        let state = match hwm {
            Some(h) if h >= end => MonthState::Complete,
            Some(h) if h > start => MonthState::CompleteUpTo { at: h },
            _ => MonthState::Open,
        };
        out.push(MonthCompleteness {
            month,
            subject_type: role,
            stored: counts.get(&month).copied().unwrap_or(0),
            state,
        });
        month = next;
    }
    out
}

fn month_of(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap_or_default()
    }

    #[test]
    fn months_before_the_mark_are_complete_the_one_holding_it_up_to_it() {
        let dates = [at("2026-10-05 10:00:00"), at("2026-10-20 10:00:00"), at("2026-11-02 10:00:00")];
        let months =
            by_month(PurchaseRole::Buyer, at("2026-10-01 00:00:00"), Some(at("2026-11-15 08:00:00")), &dates);
        assert_eq!(months.len(), 2);
        assert_eq!((months[0].stored, &months[0].state), (2, &MonthState::Complete));
        assert_eq!(
            (months[1].stored, &months[1].state),
            (1, &MonthState::CompleteUpTo { at: at("2026-11-15 08:00:00") })
        );
        let none = by_month(PurchaseRole::Buyer, at("2026-10-01 00:00:00"), None, &[]);
        assert_eq!(none.len(), 1);
        assert_eq!(none[0].state, MonthState::Open);
    }
}
