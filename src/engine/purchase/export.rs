//! The volume path: one HWM window through an export package (up to 10 000 invoices with their
//! exact bytes and `_metadata.json`), used for a first sync of history, windows of older history
//! and large increments. Calls go through the client's limits like every other.

use std::time::Duration;

use chrono::{DateTime, Utc};
use ksef_client::export::{ExportOptions, ExportedPackage};
use ksef_client::hwm::{self, WindowAdvance, WindowResult};
use ksef_client::models::export::status;
use ksef_client::KsefError;

use super::StepCx;
use crate::domain::PurchaseRole;
use crate::engine::limits::EndpointClass;
use crate::engine::TurnError;

/// Between two looks at an export KSeF is still preparing.
const STATUS_EVERY: Duration = Duration::from_millis(250);

/// One window's package and the cursor it leads to; None when the step ran out of time or room
/// under a limit first (the window is exported again by a later step: nothing was stored).
pub async fn window(
    cx: &mut StepCx<'_>,
    role: PurchaseRole,
    from: DateTime<Utc>,
) -> Result<Option<(ExportedPackage, WindowAdvance)>, TurnError> {
    let filters = hwm::window(role.subject_type(), from, Utc::now());
    if !cx.acquire(EndpointClass::Export).await {
        return Ok(None);
    }
    let started = cx.client.ksef.start_export(&cx.token, &filters).await?;
    let package = loop {
        if cx.out_of_time() || !cx.acquire(EndpointClass::ExportStatus).await {
            return Ok(None);
        }
        let state = cx.client.ksef.export_status(&cx.token, &started.reference_number).await?;
        match (state.status.code, state.package) {
            (status::IN_PROGRESS, _) => tokio::time::sleep(STATUS_EVERY).await,
            (status::DONE, Some(package)) => break package,
            // Any other end, or 200 without a package, is a failed export.
            _ => return Err(KsefError::ExportFailed(state.status).into()),
        }
    };
    let advance = hwm::advance(&filters.date_range, &WindowResult::from_package(&package))?;
    let exported = cx.client.ksef.download_export(&started.key, &package, &ExportOptions::default()).await?;
    Ok(Some((exported, advance)))
}
