//! Completeness you can show: the last closed window (up to the role's complete-up-to mark,
//! at most 100 days long, not before the history start) is counted again against KSeF's
//! metadata. Invoices KSeF lists that are not stored are a gap: recorded (`gap_count`, the
//! gauge, the audit event) and healed by syncing that window again from its start.

use std::collections::HashSet;

use ksef_client::query::{SortOrder, MAX_METADATA_PAGE};

use super::StepCx;
use crate::db::models::{ids, PurchaseInvoice, PurchaseSync};
use crate::engine::context::Engine;
use crate::engine::limits::EndpointClass;
use crate::engine::TurnError;
use ksef_client::hwm::{self, MAX_RANGE_DAYS};

/// The role's re-check is due (never ran, or `recheck_s` ago).
pub fn is_due(engine: &Engine, row: &PurchaseSync) -> bool {
    let every =
        chrono::Duration::seconds(i64::try_from(engine.st.settings.purchase.recheck_s).unwrap_or(86_400));
    row.hwm.is_some() && row.last_checked_at.is_none_or(|at| at + every <= ids::now())
}

/// Counts the window; Some(missing) when the count finished, None when the step ran out of
/// time or room under the limit first (tried again with the next step).
pub async fn run(cx: &mut StepCx<'_>, row: &PurchaseSync) -> Result<Option<i64>, TurnError> {
    // The row read at the start of the step is stale: its walk has just moved the mark.
    let (cid, role) = (row.client_id.clone(), row.subject_type);
    let Some(fresh) = cx.engine.st.db.run(move |c| PurchaseSync::find(c, &cid, role)).await? else {
        return Ok(None);
    };
    let Some(hwm) = fresh.hwm else { return Ok(None) };
    let start = cx.engine.st.settings.purchase.history_start(ids::now());
    let from = (hwm - chrono::Duration::days(MAX_RANGE_DAYS)).max(start.min(hwm));
    let (mut from_utc, to_utc) = (from.and_utc(), hwm.and_utc());
    let mut listed = HashSet::new();
    let mut page = 0;
    loop {
        if cx.out_of_time() || !cx.acquire(EndpointClass::MetadataQuery).await {
            return Ok(None);
        }
        let mut f = hwm::window(role.subject_type(), from_utc, to_utc);
        f.date_range.to = Some(to_utc);
        f.date_range.restrict_to_permanent_storage_hwm_date = None;
        let result =
            cx.client.ksef.query_metadata(&cx.token, &f, page, MAX_METADATA_PAGE, SortOrder::Asc).await?;
        let last = result.invoices.iter().filter_map(|i| i.permanent_storage_date).max();
        listed.extend(result.invoices.into_iter().map(|i| i.ksef_number));
        match (result.is_truncated, result.has_more, last) {
            // KSeF's 10 000-record cap: go on from the last record's date.
            (true, _, Some(last)) if last > from_utc => {
                from_utc = last;
                page = 0;
            }
            (_, true, _) | (true, _, _) => page += 1,
            (false, false, _) => break,
        }
    }
    let cid = row.client_id.clone();
    let stored: HashSet<String> = cx
        .engine
        .st
        .db
        .run(move |c| PurchaseInvoice::numbers_between(c, &cid, role, from, hwm))
        .await?
        .into_iter()
        .collect();
    let missing = i64::try_from(listed.difference(&stored).count()).unwrap_or(i64::MAX);
    if missing > 0 {
        tracing::warn!(client.id = %row.client_id, role = %role, missing, %from, %hwm, "Purchase invoices missing; syncing the window again");
    }
    let (id, rewind) = (row.id.clone(), (missing > 0).then_some(from));
    cx.engine.st.db.tx(move |c| PurchaseSync::record_check(c, &id, missing, rewind, ids::now())).await?;
    Ok(Some(missing))
}
