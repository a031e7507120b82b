//! The volume path: one HWM window through an export package (up to 10 000 invoices with their
//! exact bytes and `_metadata.json`), used for a first sync of history, windows of older history
//! and large increments. Calls go through the client's limits like every other.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ksef_client::export::{ExportOptions, ExportedPackage};
use ksef_client::hwm::{self, WindowAdvance, WindowResult};
use ksef_client::models::export::status;
use ksef_client::KsefError;

use super::pending::PendingExport;
use super::StepCx;
use crate::domain::PurchaseRole;
use crate::engine::context::lock;
use crate::engine::limits::EndpointClass;
use crate::engine::TurnError;

/// Between two looks at an export KSeF is still preparing.
const STATUS_EVERY: Duration = Duration::from_millis(250);

/// How one export went.
pub enum Exported {
    /// The window's package and the cursor it leads to.
    Done(ExportedPackage, WindowAdvance),
    /// No room under a limit, or KSeF still packing: the step yields (nothing was stored; the
    /// export is looked at again by the next step).
    Yielded,
    /// KSeF kept the export at status 100 beyond `export_wait_s`: the metadata query takes over.
    NotReady(String),
}

pub async fn window(
    cx: &mut StepCx<'_>,
    role: PurchaseRole,
    from: DateTime<Utc>,
) -> Result<Exported, TurnError> {
    let key = (cx.client.client_id.clone(), role);
    let pending =
        lock(&cx.engine.purchase_exports).remove(&key).filter(|p| p.filters.date_range.from == from);
    let pending = match pending {
        Some(p) => p,
        None => {
            let filters = hwm::window(role.subject_type(), from, Utc::now());
            if !cx.acquire(EndpointClass::Export).await {
                return Ok(Exported::Yielded);
            }
            let started = cx.client.ksef.start_export(&cx.token, &filters).await?;
            PendingExport {
                reference: started.reference_number,
                key: started.key,
                filters,
                started: Instant::now(),
            }
        }
    };
    let patience = Duration::from_secs(cx.engine.st.settings.purchase.export_wait_s);
    let package = loop {
        if pending.started.elapsed() >= patience {
            return Ok(Exported::NotReady(pending.reference));
        }
        if cx.out_of_time() || !cx.acquire(EndpointClass::ExportStatus).await {
            lock(&cx.engine.purchase_exports).insert(key, pending);
            return Ok(Exported::Yielded);
        }
        let state = cx.client.ksef.export_status(&cx.token, &pending.reference).await?;
        match (state.status.code, state.package) {
            (status::IN_PROGRESS, _) => cx.pause(STATUS_EVERY).await,
            (status::DONE, Some(package)) => break package,
            // Any other end, or 200 without a package, is a failed export.
            _ => return Err(KsefError::ExportFailed(state.status).into()),
        }
    };
    let advance = hwm::advance(&pending.filters.date_range, &WindowResult::from_package(&package))?;
    let exported = cx.client.ksef.download_export(&pending.key, &package, &ExportOptions::default()).await?;
    Ok(Exported::Done(exported, advance))
}
