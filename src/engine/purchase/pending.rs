//! What the engine keeps between steps of an export (in its context, so without importing the
//! purchase steps that use it).

use std::time::Instant;

use ksef_client::crypto::SymmetricKey;
use ksef_client::models::query::InvoiceQueryFilters;

/// An export KSeF is still preparing, kept for the next step (KSeF takes a while to pack 10 000
/// invoices; starting over each step would never finish, and counts against 20 exports an hour).
pub struct PendingExport {
    pub reference: String,
    pub(super) key: SymmetricKey,
    pub(super) filters: InvoiceQueryFilters,
    pub(super) started: Instant,
}
