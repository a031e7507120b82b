pub mod audit;
pub mod client;
pub mod credential;
pub mod ids;
pub mod invoice;
pub mod scope;

pub use client::{Client, NewClient};
pub use credential::{Credential, NewCredential};
pub use invoice::{Invoice, InvoiceEvent, InvoiceFilter, NewInvoice};
pub use scope::ClientScope;

// Sending engine (src/engine): outbox, KSeF sessions, UPOs, sender leases.
pub mod ksef_session;
pub mod lease;
pub mod outbox;
pub mod sending;
pub mod upo;
