//! Application state, built once and handed to every handler and job; no globals.

use std::sync::Arc;

use crate::config::Settings;
use crate::db::Db;
use crate::http::metrics::Metrics;
use crate::vault::Keyring;

/// Everything a request or a background job may need.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub metrics: Arc<Metrics>,
    /// Master keys of the credentials vault.
    pub keys: Arc<Keyring>,
}

impl AppState {
    /// Wires the state from validated settings and an open database.
    pub fn new(settings: Settings, db: Db, keys: Keyring) -> Self {
        Self { settings: Arc::new(settings), db, metrics: Arc::new(Metrics::new()), keys: Arc::new(keys) }
    }
}
