/// Inserts `rows` (a slice of insertable rows) into `table`, `chunk` rows per statement (see
/// [`each_backend`]; `chunk` times the columns stays under SQLite's 32 766 and PostgreSQL's
/// 65 535 bound parameters). Needs `diesel::prelude::*` and `AnyConn` in scope.
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr, $chunk:expr) => {
        for chunk in $rows.chunks($chunk) {
            each_backend!(&mut *$conn, |c| diesel::insert_into($table).values(chunk).execute(c)?);
        }
    };
}

/// Runs the same diesel code on whichever connection this is, for what the multi-backend
/// connection cannot do itself: multi-row inserts (one statement per chunk on PostgreSQL, a
/// network round trip each; on SQLite one statement instead of one per row, where diesel can,
/// i.e. for rows without defaulted columns, and one per row otherwise, as before).
macro_rules! each_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            AnyConn::Pg($c) => $body,
            AnyConn::Sqlite($c) => $body,
        }
    };
}

/// How many ids one `eq_any` filter takes at a time. SQLite binds every id as a parameter of its
/// own (and bounds their number); PostgreSQL binds the whole list as one array (`= ANY($1)`), so
/// there one statement serves them all: each statement is a network round trip, and a
/// 10 000-invoice decision made twenty of every kind.
pub(crate) fn ids_per_statement(conn: &crate::db::AnyConn) -> usize {
    match conn {
        crate::db::AnyConn::Pg(_) => usize::MAX,
        crate::db::AnyConn::Sqlite(_) => 500,
    }
}

pub mod api_key;
pub mod approval;
pub mod audit;
pub mod client;
pub mod collective;
pub mod credential;
pub mod decision;
pub mod enrollment;
pub mod grant;
pub mod ids;
pub mod invoice;
pub mod invoice_list;
pub mod list_sql;
pub mod list_visit;
pub mod office_credential;
pub mod purchase;
pub mod purchase_list;
mod purchase_sync;
pub mod scope;
mod sealed;
pub mod user;
pub mod vault_canary;
pub mod webhook;

pub use api_key::{ApiKey, NewApiKey};
pub use client::{Client, NewClient};
pub use collective::{CollectiveIdentifier, CollectiveMember, NewCollectiveIdentifier};
pub use credential::{Credential, NewCredential};
pub use decision::SendDecision;
pub use enrollment::{CertificateEnrollment, NewCertificateEnrollment};
pub use grant::{Grant, NewGrant};
pub use invoice::{Invoice, InvoiceEvent};
pub use invoice_list::{InvoiceFilter, InvoiceOrder, InvoiceSort};
pub use list_sql::{RowKeyset, SortKey};
pub use office_credential::{NewOfficeCredential, OfficeAccess, OfficeCredential};
pub use purchase::{NewPurchaseInvoice, NewPurchaseSync, PurchaseInvoice, PurchaseSync};
pub use purchase_list::{PurchaseFilter, PurchaseKeyset, PurchaseOrder, PurchaseRow, PurchaseSort};
pub use scope::ClientScope;
pub use user::{NewUser, User, UserSession};
pub use vault_canary::VaultCanary;
pub use webhook::{NewWebhookDelivery, NewWebhookEndpoint, WebhookDelivery, WebhookEndpoint};

/// The predicates of the partial indexes `invoices_in_flight` and `outbox_pending` (migration
/// 000017), word for word. PostgreSQL and SQLite use a partial index only for a query whose WHERE
/// repeats its predicate with literals (a bound parameter proves nothing to the planner), so the
/// engine's looks write these into their SQL instead of binding the states. A test binds them to
/// [`crate::domain::InvoiceState::IN_FLIGHT`] and [`crate::domain::OutboxState::Pending`] and
/// checks both planners take the indexes.
pub const IN_FLIGHT_SQL: &str = "invoices.state IN ('sending', 'registered')";
pub const PENDING_SQL: &str = "outbox.status = 'pending'";

// Sending engine (src/engine): outbox, KSeF sessions, UPOs, sender leases.
pub mod ksef_session;
pub mod lease;
pub mod outbox;
pub mod sending;
pub mod upo;
