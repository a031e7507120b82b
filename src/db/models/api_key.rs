//! Per-client API keys, stored as hashes.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::api_keys;
use crate::db::{AnyConn, DbError};
use crate::domain::{ApiKeyId, ClientId, UserId};

/// An API key as stored (no secret: the key's SHA-256 only).
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub client_id: ClientId,
    pub name: String,
    pub prefix: String,
    pub key_hash: Vec<u8>,
    pub scopes: String,
    pub created_by: Option<UserId>,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = api_keys)]
pub struct NewApiKey<'a> {
    pub id: &'a ApiKeyId,
    pub client_id: &'a ClientId,
    pub name: &'a str,
    pub prefix: &'a str,
    pub key_hash: &'a [u8],
    pub scopes: &'a str,
    pub created_by: Option<&'a UserId>,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
}

impl ApiKey {
    pub fn insert(conn: &mut AnyConn, row: &NewApiKey<'_>) -> Result<(), DbError> {
        diesel::insert_into(api_keys::table).values(row).execute(conn)?;
        Ok(())
    }

    pub fn find_by_prefix(conn: &mut AnyConn, prefix: &str) -> Result<Option<Self>, DbError> {
        Ok(api_keys::table
            .filter(api_keys::prefix.eq(prefix))
            .select(Self::as_select())
            .first(conn)
            .optional()?)
    }

    pub fn list_for_client(conn: &mut AnyConn, client_id: &ClientId) -> Result<Vec<Self>, DbError> {
        Ok(api_keys::table
            .filter(api_keys::client_id.eq(client_id))
            .order(api_keys::created_at.desc())
            .select(Self::as_select())
            .load(conn)?)
    }

    /// Revokes the client's key `id`; false when there is no such live key of that client.
    pub fn revoke(
        conn: &mut AnyConn,
        client_id: &ClientId,
        id: &ApiKeyId,
        at: NaiveDateTime,
    ) -> Result<bool, DbError> {
        let n = diesel::update(
            api_keys::table
                .filter(api_keys::id.eq(id))
                .filter(api_keys::client_id.eq(client_id))
                .filter(api_keys::revoked_at.is_null()),
        )
        .set(api_keys::revoked_at.eq(Some(at)))
        .execute(conn)?;
        Ok(n == 1)
    }

    /// Revokes every live key `user_id` created (the person is deactivated: a key they saw once
    /// must not outlive their access); the ids revoked.
    pub fn revoke_created_by(
        conn: &mut AnyConn,
        user_id: &UserId,
        at: NaiveDateTime,
    ) -> Result<Vec<ApiKeyId>, DbError> {
        let ids: Vec<ApiKeyId> = api_keys::table
            .filter(api_keys::created_by.eq(user_id))
            .filter(api_keys::revoked_at.is_null())
            .select(api_keys::id)
            .load(conn)?;
        diesel::update(api_keys::table.filter(api_keys::id.eq_any(&ids)))
            .set(api_keys::revoked_at.eq(Some(at)))
            .execute(conn)?;
        Ok(ids)
    }

    /// Records use, at most once a minute per key so that busy keys do not turn every read
    /// into a write. A key read as used within the minute issues no statement at all: even an
    /// UPDATE that matches no row takes SQLite's write lock, which serialised every API read
    /// behind every writer.
    pub fn touch(conn: &mut AnyConn, key: &ApiKey, at: NaiveDateTime) -> Result<(), DbError> {
        let stale = at - chrono::Duration::seconds(60);
        if key.last_used_at.is_some_and(|used| used >= stale) {
            return Ok(());
        }
        diesel::update(
            api_keys::table
                .filter(api_keys::id.eq(&key.id))
                .filter(api_keys::last_used_at.is_null().or(api_keys::last_used_at.lt(stale))),
        )
        .set(api_keys::last_used_at.eq(Some(at)))
        .execute(conn)?;
        Ok(())
    }
}
