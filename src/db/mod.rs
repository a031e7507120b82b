//! Storage: one connection type over SQLite and PostgreSQL, one schema, embedded migrations.
//! This is the only module that talks to diesel; everything above it goes through [`Db`].

pub mod backup;
mod conn;
mod error;
pub mod introspect;
mod migrate;
pub mod models;
pub mod schema;
pub mod transfer;
mod url;

pub use conn::{AnyConn, Db};
pub use error::DbError;
pub use migrate::{applied_migrations, revert_all, revert_to, run_migrations};
pub use url::{Backend, DbUrl};
