pub mod api_key;
pub mod audit;
pub mod client;
pub mod credential;
pub mod decision;
pub mod grant;
pub mod ids;
pub mod invoice;
pub mod scope;
pub mod user;

pub use api_key::{ApiKey, NewApiKey};
pub use client::{Client, NewClient};
pub use credential::{Credential, NewCredential};
pub use decision::SendDecision;
pub use grant::{Grant, NewGrant};
pub use invoice::{Invoice, InvoiceEvent, InvoiceFilter, NewInvoice};
pub use scope::ClientScope;
pub use user::{NewUser, User, UserSession};

// Sending engine (src/engine): outbox, KSeF sessions, UPOs, sender leases.
pub mod ksef_session;
pub mod lease;
pub mod outbox;
pub mod sending;
pub mod upo;
