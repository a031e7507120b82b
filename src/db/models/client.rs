//! Client companies: the tenants whose KSeF work the office does.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::clients;
use crate::db::{AnyConn, DbError};
use crate::domain::{ClientId, CredentialMode, Nip, SendPolicy};

/// A client company as stored.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = clients)]
pub struct Client {
    pub id: ClientId,
    pub nip: Nip,
    pub name: String,
    pub ksef_environment: String,
    pub send_policy: SendPolicy,
    pub paused_reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Whose credential logs in to the client's KSeF context.
    #[diesel(deserialize_as = String)]
    pub credential_mode: CredentialMode,
}

/// A client company to insert.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = clients)]
pub struct NewClient<'a> {
    pub id: &'a ClientId,
    pub nip: &'a Nip,
    pub name: &'a str,
    pub ksef_environment: &'a str,
    pub send_policy: SendPolicy,
    #[diesel(serialize_as = String)]
    pub credential_mode: CredentialMode,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Client {
    /// Inserts a client; a NIP already present is a `Conflict`.
    pub fn insert(conn: &mut AnyConn, row: &NewClient<'_>) -> Result<(), DbError> {
        // By value: the typed credential mode is written through its `String` form.
        diesel::insert_into(clients::table).values(row.clone()).execute(conn)?;
        Ok(())
    }

    /// The client with this NIP, if any.
    pub fn find_by_nip(conn: &mut AnyConn, nip: &Nip) -> Result<Option<Self>, DbError> {
        Ok(clients::table.filter(clients::nip.eq(nip)).select(Self::as_select()).first(conn).optional()?)
    }

    /// The clients with these ids (the caller's delegations decide which ids it may ask for).
    pub fn list_by_ids(conn: &mut AnyConn, ids: &[ClientId]) -> Result<Vec<Self>, DbError> {
        Ok(clients::table
            .filter(clients::id.eq_any(ids))
            .order(clients::name.asc())
            .select(Self::as_select())
            .load(conn)?)
    }

    /// Points a client at another KSeF (the demo re-points its clients at each start's simulator).
    pub fn set_ksef_environment(conn: &mut AnyConn, id: &ClientId, target: &str) -> Result<(), DbError> {
        diesel::update(clients::table.find(id))
            .set((clients::ksef_environment.eq(target), clients::updated_at.eq(super::ids::now())))
            .execute(conn)?;
        Ok(())
    }

    pub fn set_name(conn: &mut AnyConn, id: &ClientId, name: &str) -> Result<(), DbError> {
        diesel::update(clients::table.find(id))
            .set((clients::name.eq(name), clients::updated_at.eq(super::ids::now())))
            .execute(conn)?;
        Ok(())
    }

    pub fn set_policy(conn: &mut AnyConn, id: &ClientId, policy: SendPolicy) -> Result<(), DbError> {
        diesel::update(clients::table.find(id))
            .set((clients::send_policy.eq(policy), clients::updated_at.eq(super::ids::now())))
            .execute(conn)?;
        Ok(())
    }

    /// Switches the credential the client logs in with.
    pub fn set_credential_mode(
        conn: &mut AnyConn,
        id: &ClientId,
        mode: CredentialMode,
    ) -> Result<(), DbError> {
        diesel::update(clients::table.find(id))
            .set((clients::credential_mode.eq(mode.as_str()), clients::updated_at.eq(super::ids::now())))
            .execute(conn)?;
        Ok(())
    }

    /// The clients that log in with the office's credential.
    pub fn list_office_mode(conn: &mut AnyConn) -> Result<Vec<Self>, DbError> {
        Ok(clients::table
            .filter(clients::credential_mode.eq(CredentialMode::Office.as_str()))
            .order(clients::name.asc())
            .select(Self::as_select())
            .load(conn)?)
    }

    /// Lets a paused client's sender work again (a person fixed the credential).
    pub fn clear_pause(conn: &mut AnyConn, id: &ClientId) -> Result<(), DbError> {
        diesel::update(clients::table.find(id))
            .set((clients::paused_reason.eq(None::<String>), clients::updated_at.eq(super::ids::now())))
            .execute(conn)?;
        Ok(())
    }

    /// The client with this id.
    pub fn get(conn: &mut AnyConn, id: &ClientId) -> Result<Self, DbError> {
        Ok(clients::table.find(id).select(Self::as_select()).first(conn)?)
    }

    /// Every client, by name (office-wide views only).
    pub fn list_all(conn: &mut AnyConn) -> Result<Vec<Self>, DbError> {
        Ok(clients::table.order(clients::name.asc()).select(Self::as_select()).load(conn)?)
    }

    /// The KSeF environments the clients use (`test`, `prod`, an API base URL …), each once.
    pub fn environments(conn: &mut AnyConn) -> Result<Vec<String>, DbError> {
        Ok(clients::table.select(clients::ksef_environment).distinct().load(conn)?)
    }
}
