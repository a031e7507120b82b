//! Business rules. Each function owns its transaction and takes the state it needs.

pub mod access;
pub mod apikeys;
pub mod approvals;
pub mod audit;
pub mod audit_screen;
pub mod availability;
pub mod backup;
pub mod certificates;
pub mod clients;
pub mod credentials;
pub mod data_migration;
pub mod decisions;
pub mod findings;
pub mod grants;
pub mod intake;
pub mod invoice_pdf;
pub mod invoices;
pub mod keys;
pub mod master_key;
pub mod panel_views;
pub mod purchase_export;
pub mod purchases;
pub mod reports;
pub mod users;
pub mod validate;
pub mod webhooks;
