//! Async client for KSeF 2.0, the Polish national e-invoicing system (Krajowy System e-Faktur).
//!
//! Covers token authentication, online and batch sessions, statuses and UPO, invoice queries and
//! downloads, KSeF token and permission management, the Latarnia status service, and the offline
//! pieces every issuer needs: KSeF number validation and the KOD I / KOD II QR links.
//!
//! TLS is rustls with the `ring` provider; extra trusted roots (e.g. a simulator's self-signed
//! certificate) are added through [`ClientOptions::extra_root_certs_der`].

mod auth;
pub mod batch;
pub mod classify;
mod client;
pub mod crypto;
pub mod env;
pub mod error;
pub mod keys;
pub mod ksef_number;
mod manage;
pub mod models;
pub mod online;
pub mod options;
pub mod poll;
pub mod qr;
pub mod query;
pub mod status;
pub mod token_manager;
pub mod upo;

pub use classify::ErrorClass;
pub use client::KsefClient;
pub use env::Environment;
pub use error::{ApiError, KsefError};
pub use models::auth::AuthTokens;
pub use models::common::{ContextIdentifier, ContextIdentifierType, FormCode, StatusInfo, TokenInfo};
pub use options::{ClientOptions, PollOptions};
pub use secrecy::{ExposeSecret, SecretString};
pub use token_manager::{TokenManager, TokenRenewal};
