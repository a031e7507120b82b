//! Request and response bodies (camelCase JSON per the official OpenAPI; unknown fields ignored).

pub mod auth;
pub mod certificates;
pub mod collective;
pub mod common;
pub mod export;
pub mod manage;
pub mod query;
pub mod session;
