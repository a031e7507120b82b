#![doc = include_str!("../README.md")]

mod auth;
pub mod batch;
mod certificates;
pub mod classify;
mod client;
pub mod collective;
pub mod crypto;
pub mod csr;
pub mod env;
pub mod error;
pub mod export;
pub mod hwm;
pub mod keys;
pub mod ksef_number;
mod manage;
pub mod models;
pub mod online;
pub mod options;
pub mod pacer;
pub mod poll;
pub mod qr;
pub mod query;
pub mod sessions;
pub mod signing;
pub mod status;
pub mod testdata;
pub mod token_manager;
pub mod upo;
pub mod xades;

pub use classify::ErrorClass;
pub use client::{platform_tls_config, KsefClient};
pub use env::Environment;
pub use error::{ApiError, KsefError};
pub use models::auth::AuthTokens;
pub use models::common::{ContextIdentifier, ContextIdentifierType, FormCode, StatusInfo, TokenInfo};
pub use options::{ClientOptions, PollOptions};
pub use pacer::PublicPacer;
/// The HTTP client this crate is built on (rustls without a process-wide provider), for programs
/// that make other HTTPS calls with [`platform_tls_config`]: the TLS configuration and the client
/// must come from the same reqwest and rustls versions.
pub use reqwest;
pub use secrecy::{ExposeSecret, SecretString};
pub use token_manager::{Credential, TokenManager, TokenRenewal};
