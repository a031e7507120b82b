//! Business rules. Each function owns its transaction and takes the state it needs.

pub mod audit;
pub mod clients;
pub mod credentials;
pub mod keys;
