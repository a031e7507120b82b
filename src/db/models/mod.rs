pub mod client;
pub mod credential;
pub mod ids;

pub use client::{Client, NewClient};
pub use credential::{Credential, NewCredential};
