//! The vault's canary: one value sealed with the master key (see the migration's comment).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{credentials, vault_canary};
use crate::db::{AnyConn, DbError};

/// The single row's id.
const ID: &str = "master-key";

/// The stored canary.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = vault_canary)]
pub struct VaultCanary {
    pub id: String,
    pub key_version: i64,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
    pub created_at: NaiveDateTime,
}

impl VaultCanary {
    /// The canary, when one was written.
    pub fn find(conn: &mut AnyConn) -> Result<Option<Self>, DbError> {
        Ok(vault_canary::table.find(ID).select(Self::as_select()).first(conn).optional()?)
    }

    /// Replaces the canary (first start, or re-sealed by a key rotation).
    pub fn store(
        conn: &mut AnyConn,
        key_version: i64,
        nonce: &[u8],
        ciphertext: &[u8],
        now: NaiveDateTime,
    ) -> Result<(), DbError> {
        Self::delete(conn)?;
        let row = Self {
            id: ID.to_owned(),
            key_version,
            nonce: nonce.to_vec(),
            ciphertext: ciphertext.to_vec(),
            created_at: now,
        };
        diesel::insert_into(vault_canary::table).values(&row).execute(conn)?;
        Ok(())
    }

    /// Removes the canary (tests of databases from before it).
    pub fn delete(conn: &mut AnyConn) -> Result<(), DbError> {
        diesel::delete(vault_canary::table.find(ID)).execute(conn)?;
        Ok(())
    }

    /// Whether the database holds anything sealed with a master key: the canary or any credential.
    pub fn sealed_data_exists(conn: &mut AnyConn) -> Result<bool, DbError> {
        if Self::find(conn)?.is_some() {
            return Ok(true);
        }
        let any: Option<String> = credentials::table.select(credentials::id).first(conn).optional()?;
        Ok(any.is_some())
    }
}
