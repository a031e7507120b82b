//! When an invoice on its way counts as stuck (the cutoffs come from `[sender]` settings).

use super::state::InvoiceState;

/// Invoices last changed before these moments count as stuck (the watchdog flags them, the
/// dashboard and the metrics show them).
#[derive(Debug, Clone, Copy)]
pub struct StuckCutoffs {
    /// For W: `queued`, `offline`, `sending`.
    pub waiting: chrono::NaiveDateTime,
    /// For O: `registered`.
    pub registered: chrono::NaiveDateTime,
}

impl StuckCutoffs {
    /// The cutoff for an invoice in `state`.
    pub fn for_state(&self, state: InvoiceState) -> chrono::NaiveDateTime {
        if state == InvoiceState::Registered {
            self.registered
        } else {
            self.waiting
        }
    }
}
