//! What an invoice's timeline entry records.

crate::text_enum! {
    /// The kind of an invoice's timeline entry (`invoice_events.kind`). Code finds entries by
    /// it, never by the words of their note, which are for people and may change.
    pub enum EventKind ("timeline entry kind") {
        /// A state change, or a note on the invoice in its state (a person's or KSeF's).
        Step = "step",
        /// The watchdog's flag that the invoice stays too long in its state: left once per
        /// state, so the watchdog looks for one of these in the invoice's current state.
        Watchdog = "watchdog",
    }
}
