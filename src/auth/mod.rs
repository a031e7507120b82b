//! Who is calling and what they may do: roles, permissions and API-key scopes, password
//! hashing, panel session tokens, API keys. Pure functions; storage is in `db`, the rules that
//! combine them in `service::access`.

pub mod apikey;
pub mod client_ip;
pub mod password;
pub mod roles;
pub mod session_token;
pub mod throttle;
pub mod verified_keys;

pub use roles::{ApiScope, Permission, PermissionSet, Role, ScopeSet};
