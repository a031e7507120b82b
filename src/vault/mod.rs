//! The credentials vault: each client's KSeF token or certificate key, encrypted with
//! AES-256-GCM under a master key that never enters the database.
//!
//! Every ciphertext names the key version that sealed it and binds the client's NIP and the
//! credential kind as associated data, so a ciphertext copied to another client's row, or
//! relabelled, fails to open instead of yielding someone else's secret.

mod keyring;
mod seal;

pub use keyring::{Keyring, KeyringError};
pub use seal::{open, open_canary, seal, seal_canary, Sealed, VaultError};
