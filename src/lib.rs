//! ksef-gateway: the one place where a Polish accounting office does all its clients' KSeF work.
//!
//! Layout: `http` (thin handlers) → `service` (business rules, transactions) → `db` (the only
//! module that speaks diesel). `config` is loaded once and passed in through [`state::AppState`].

pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod engine;
pub mod error;
pub mod http;
pub mod ksef;
pub mod local_time;
pub mod locks;
pub mod offline;
pub mod pdf;
pub mod private_fs;
pub mod server;
pub mod service;
pub mod state;
pub mod telemetry;
pub mod vault;
pub mod webhooks;

pub use server::configure;
