//! Uploads that went wrong: an invoice nobody has decided on yet (a draft, perhaps flagged as a
//! duplicate, or one that failed its checks) can be deleted by whoever may upload for the
//! client. Its bytes and timeline go; the audit trail keeps who deleted what (the file's
//! SHA-256, number and state). Past a decision (approved, queued, sent …) it is KSeF's history
//! and stays: 409 `invoice_decided`.

use serde_json::json;

use crate::auth::Permission;
use crate::db::models::Invoice;
use crate::db::AnyConn;
use crate::domain::{InvoiceId, InvoiceState};
use crate::error::{AppError, Refusal};
use crate::service::access::{self, Caller};
use crate::service::audit::{self, AuditEntry};
use crate::state::AppState;

fn too_late() -> AppError {
    AppError::Refused {
        refusal: Refusal::InvoiceDecided,
        message: "only a draft or an invalid invoice can be deleted; this one is past a decision".into(),
    }
}

/// The invoice `id` when the caller may take it out: visible (else 404), the upload
/// permission on its client, nobody decided on it yet.
pub(crate) fn removable(conn: &mut AnyConn, caller: &Caller, id: &InvoiceId) -> Result<Invoice, AppError> {
    let scope = access::visible(conn, caller)?;
    let inv = Invoice::get(conn, &scope, id)?;
    access::require(conn, caller, &inv.client_id, Permission::Upload)?;
    if inv.state.is_undecided() {
        Ok(inv)
    } else {
        Err(too_late())
    }
}

/// Removes a [`removable`] invoice inside the caller's transaction (its state checked again
/// there, so a decision taken meanwhile wins).
pub(crate) fn take_out(conn: &mut AnyConn, inv: &Invoice) -> Result<(), AppError> {
    if Invoice::is_corrected(conn, &inv.id)? {
        return Err(AppError::Refused {
            refusal: Refusal::InvoiceCorrected,
            message: "a correcting invoice refers to this one, so it stays".into(),
        });
    }
    let undecided: Vec<InvoiceState> =
        InvoiceState::ALL.iter().copied().filter(|s| s.is_undecided()).collect();
    if Invoice::delete_undecided(conn, &inv.id, &undecided)? {
        Ok(())
    } else {
        Err(too_late())
    }
}

/// What the audit trail keeps of a removed invoice.
pub(crate) fn remembered(inv: &Invoice) -> serde_json::Value {
    json!({"sha256": inv.sha256, "number": inv.number, "state": inv.state, "size_bytes": inv.size_bytes})
}

/// Deletes an undecided invoice the caller may upload for (the same 404 for a foreign one as
/// for none); answers the deleted invoice as it was.
pub async fn delete(st: &AppState, caller: &Caller, invoice_id: &InvoiceId) -> Result<Invoice, AppError> {
    let (caller, id) = (caller.clone(), invoice_id.clone());
    st.db
        .tx(move |conn| {
            let inv = removable(conn, &caller, &id)?;
            take_out(conn, &inv)?;
            audit::record(
                conn,
                AuditEntry::on(
                    &caller.audit_actor(),
                    &inv.client_id,
                    "invoice.deleted",
                    &id,
                    remembered(&inv),
                ),
            )?;
            Ok(inv)
        })
        .await
}
