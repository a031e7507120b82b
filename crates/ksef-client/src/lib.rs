//! Async client for KSeF 2.0, the Polish national e-invoicing system (Krajowy System e-Faktur).
//!
//! Covers token authentication, online and batch sessions, statuses and UPO, invoice queries and
//! downloads, KSeF token and permission management, the Latarnia status service, and the offline
//! pieces every issuer needs: KSeF number validation and the KOD I / KOD II QR links.
//!
//! TLS is rustls with the `ring` provider; extra trusted roots (e.g. a simulator's self-signed
//! certificate) are added through [`ClientOptions::extra_root_certs_der`].

pub mod classify;
pub mod crypto;
pub mod error;
pub mod ksef_number;
pub mod models;
pub mod qr;

pub use classify::ErrorClass;
pub use error::{ApiError, KsefError};
pub use models::common::{ContextIdentifier, ContextIdentifierType, FormCode, StatusInfo};
