//! The four-eyes inbox: drafts of clients with the four-eyes policy that wait for a second
//! person, and the last timeline step of each (a draft returned to its preparer waits for them,
//! not for an approver).

use diesel::prelude::*;

use super::invoice::{Invoice, InvoiceEvent};
use super::scope::ClientScope;
use crate::db::schema::{clients, invoice_events, invoices};
use crate::db::{AnyConn, DbError};
use crate::domain::{Actor, InvoiceId, InvoiceState, Nip, SendPolicy};

/// Drafts of four-eyes clients (awaiting approval) in `scope` that `actor` did not prepare, oldest first, with the
/// client's NIP; at most `limit`.
pub fn awaiting_approval(
    conn: &mut AnyConn,
    scope: &ClientScope,
    actor: &Actor,
    limit: i64,
) -> Result<Vec<(Invoice, Nip)>, DbError> {
    let mut query = invoices::table
        .inner_join(clients::table)
        .filter(clients::send_policy.eq(SendPolicy::FourEyes))
        .filter(invoices::state.eq(InvoiceState::Draft))
        .filter(invoices::created_by.is_null().or(invoices::created_by.ne(actor)))
        .into_boxed();
    if let ClientScope::Only(ids) = scope {
        query = query.filter(invoices::client_id.eq_any(ids.clone()));
    }
    Ok(query
        .order((invoices::created_at.asc(), invoices::id.asc()))
        .limit(limit)
        .select((Invoice::as_select(), clients::nip))
        .load(conn)?)
}

/// The last timeline step of each of these invoices (500 per query).
pub fn last_events(conn: &mut AnyConn, ids: &[InvoiceId]) -> Result<Vec<InvoiceEvent>, DbError> {
    let mut last: std::collections::HashMap<InvoiceId, InvoiceEvent> = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<InvoiceEvent> = invoice_events::table
            .filter(invoice_events::invoice_id.eq_any(chunk))
            .order((invoice_events::at.asc(), invoice_events::id.asc()))
            .select(InvoiceEvent::as_select())
            .load(conn)?;
        for e in rows {
            last.insert(e.invoice_id.clone(), e);
        }
    }
    Ok(last.into_values().collect())
}
