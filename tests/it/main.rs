//! The gateway's integration tests: one binary (one link on a 2-core CI), one module per area.
#![expect(clippy::unwrap_used, reason = "tests state their expectations with unwrap")]

mod access;
mod api_answers;
mod audit_trail;
mod auth;
mod common;
mod config_example;
mod contract;
mod credential_health;
mod decisions;
mod delegation;
mod demo;
mod deploy_data;
mod engine;
mod http_basics;
mod intake;
mod invoice_list;
mod invoice_list_browser;
mod master_key;
mod metrics;
mod office;
mod pagination;
mod panel;
mod panel_browser;
mod panel_certificates;
mod panel_clients;
mod panel_discard;
mod panel_flow;
mod panel_people;
mod purchases;
mod purchases_panel;
mod reports;
mod schema_fuzz;
mod storage;
mod vault;
mod webhooks;
