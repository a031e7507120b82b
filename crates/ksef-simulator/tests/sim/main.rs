//! End-to-end tests of the simulator over real HTTP.
#![expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected shapes")]

mod auth;
mod batch;
mod certificates;
mod client;
mod collective;
mod conformance;
mod faults;
mod listing;
mod manage;
mod online;
mod purchase;
mod xades;
