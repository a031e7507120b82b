//! FA(3) e-invoices for KSeF 2.0: hostile-input gate, XSD validation (libxml2, embedded official
//! schemas, no network), the facts people search by, pre-flight checks that predict KSeF's
//! answer, what a printed invoice shows, and safe reading of ZIP packages.

mod checks;
mod error;
mod facts;
mod finding;
mod hostile;
mod labels;
pub mod package;
mod preflight;
mod schema;
mod visual;
mod xmltree;
mod xsd_messages;

pub use checks::nip_checksum_ok;
pub use error::Fa3Error;
pub use facts::{extract_facts, CorrectedRef, InvoiceFacts};
pub use finding::{
    Finding, Severity, KSEF_DUPLICATE, KSEF_FILE_ERROR, KSEF_PERMISSION_ERROR, KSEF_SEMANTIC_ERROR,
};
pub use hostile::{
    MAX_ATTRIBUTES, MAX_DEPTH, MAX_INVOICE_BYTES, MAX_INVOICE_WITH_ATTACHMENT_BYTES, MAX_NAMESPACES,
    MAX_NAME_BYTES,
};
pub use preflight::{duplicate_key, preflight, PreflightContext, PreflightReport};
pub use schema::{Fa3Schema, UpoSchema};
pub use visual::{extract_visual, InvoiceVisual, Line, Party, PaymentField, VatRow};
