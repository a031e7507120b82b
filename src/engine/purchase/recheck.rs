//! Completeness you can show: the last closed window (up to the role's complete-up-to mark,
//! at most 100 days long, not before the history start) is counted again against KSeF's
//! metadata, newest first and at most [`PAGES`] pages (KSeF allows 20 metadata queries an hour;
//! a busier window is checked over its newest part). Invoices KSeF lists that are not stored are
//! a gap: recorded (`gap_count`, the gauge, the audit event) and healed by syncing the checked
//! range again from its start.

use std::collections::HashSet;

use ksef_client::query::{SortOrder, MAX_METADATA_PAGE};

use super::StepCx;
use crate::db::models::{ids, PurchaseInvoice, PurchaseSync};
use crate::engine::context::Engine;
use crate::engine::limits::EndpointClass;
use crate::engine::TurnError;
use ksef_client::hwm::{self, MAX_RANGE_DAYS};

/// Metadata pages one re-check reads at most (newest first).
const PAGES: u32 = 4;

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
    let mut f = hwm::window(role.subject_type(), from.and_utc(), hwm.and_utc());
    f.date_range.to = Some(hwm.and_utc());
    f.date_range.restrict_to_permanent_storage_hwm_date = None;
    let mut listed = Vec::new();
    let mut checked_from = from;
    for page in 0..PAGES {
        if cx.out_of_time() || !cx.acquire(EndpointClass::MetadataQuery).await {
            return Ok(None);
        }
        let result =
            cx.client.ksef.query_metadata(&cx.token, &f, page, MAX_METADATA_PAGE, SortOrder::Desc).await?;
        let oldest = result.invoices.iter().filter_map(|i| i.permanent_storage_date).min();
        listed.extend(
            result
                .invoices
                .into_iter()
                .filter_map(|i| Some((i.ksef_number, i.permanent_storage_date?.naive_utc()))),
        );
        if !result.has_more && !result.is_truncated {
            break;
        }
        if page + 1 == PAGES {
            // Only the newest part was listed: check after its oldest date, where the listing
            // is whole.
            checked_from = oldest.map_or(hwm, |d| d.naive_utc());
            listed.retain(|(_, at)| *at > checked_from);
        }
    }
    let listed: HashSet<String> = listed.into_iter().map(|(n, _)| n).collect();
    let from = checked_from;
    let cid = row.client_id.clone();
    let stored: HashSet<String> = cx
        .engine
        .st
        .db
        .run(move |c| PurchaseInvoice::numbers_between(c, &cid, from, hwm))
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
