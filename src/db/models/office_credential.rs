//! The office's own KSeF credential (sealed by the vault, like the clients' ones) and what KSeF
//! said when it logged into each client's context.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{office_access, office_credentials};
use crate::db::{AnyConn, DbError};
use crate::domain::{ClientId, Nip, OfficeCredentialId, OfficeCredentialKind, UserId};

/// The office's credential as stored (sealed).
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = office_credentials)]
pub struct OfficeCredential {
    pub id: OfficeCredentialId,
    pub office_nip: Nip,
    #[diesel(deserialize_as = String)]
    pub kind: OfficeCredentialKind,
    pub key_version: i64,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
    pub fingerprint: String,
    pub ksef_environment: String,
    pub valid_until: Option<NaiveDateTime>,
    pub active: bool,
    pub last_auth_ok_at: Option<NaiveDateTime>,
    pub last_auth_error: Option<String>,
    pub created_by: Option<UserId>,
    pub created_at: NaiveDateTime,
    pub retired_at: Option<NaiveDateTime>,
}

/// An office credential to insert.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = office_credentials)]
pub struct NewOfficeCredential<'a> {
    pub id: &'a OfficeCredentialId,
    pub office_nip: &'a Nip,
    #[diesel(serialize_as = String)]
    pub kind: OfficeCredentialKind,
    pub key_version: i64,
    pub nonce: &'a [u8],
    pub ciphertext: &'a [u8],
    pub fingerprint: &'a str,
    pub ksef_environment: &'a str,
    pub valid_until: Option<NaiveDateTime>,
    pub active: bool,
    pub last_auth_ok_at: Option<NaiveDateTime>,
    pub created_by: Option<&'a UserId>,
    pub created_at: NaiveDateTime,
}

impl OfficeCredential {
    /// Stores the office's credential as its one active credential, retiring the previous one
    /// (of either kind: the office logs in with one credential at a time).
    pub fn insert_active(conn: &mut AnyConn, row: &NewOfficeCredential<'_>) -> Result<(), DbError> {
        Self::retire_active(conn, row.created_at)?;
        diesel::insert_into(office_credentials::table).values(row.clone()).execute(conn)?;
        Ok(())
    }

    /// Retires the office's active credential (replaced, or revoked in KSeF).
    pub fn retire_active(conn: &mut AnyConn, at: NaiveDateTime) -> Result<usize, DbError> {
        Ok(diesel::update(office_credentials::table.filter(office_credentials::active.eq(true)))
            .set((office_credentials::active.eq(false), office_credentials::retired_at.eq(Some(at))))
            .execute(conn)?)
    }

    /// The office's active credential, if it stored one.
    pub fn find_active(conn: &mut AnyConn) -> Result<Option<Self>, DbError> {
        Ok(office_credentials::table
            .filter(office_credentials::active.eq(true))
            .order(office_credentials::created_at.desc())
            .select(Self::as_select())
            .first(conn)
            .optional()?)
    }

    /// Every office credential (active or retired), for key rotation.
    pub fn list_all(conn: &mut AnyConn) -> Result<Vec<Self>, DbError> {
        Ok(office_credentials::table
            .order(office_credentials::id.asc())
            .select(Self::as_select())
            .load(conn)?)
    }

    super::sealed::record_auth!(
        /// Records the outcome of a login into the office's own context.
        office_credentials (OfficeCredentialId)
    );

    super::sealed::reseal!(
        /// Replaces the sealed bytes (after re-sealing under a new master key).
        office_credentials (OfficeCredentialId): key_version, nonce, ciphertext
    );
}

/// What KSeF said the last time the office's credential logged into one client's context.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = office_access)]
pub struct OfficeAccess {
    pub client_id: ClientId,
    pub office_credential_id: OfficeCredentialId,
    pub checked_at: NaiveDateTime,
    pub last_ok_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    /// The permissions the office holds in the client's context, as KSeF reports them
    /// (`InvoiceRead,InvoiceWrite`), from the last successful login.
    pub ksef_permissions: Option<String>,
}

impl OfficeAccess {
    /// The last word on the office's access to this client, if it was ever checked.
    pub fn find(conn: &mut AnyConn, client_id: &ClientId) -> Result<Option<Self>, DbError> {
        Ok(office_access::table.find(client_id).select(Self::as_select()).first(conn).optional()?)
    }

    /// Records a login of `credential_id` into the client's context: Ok with the permissions KSeF
    /// reported (None when it would not say), or why KSeF refused. A success keeps the
    /// previously reported permissions when KSeF did not report any this time.
    pub fn record(
        conn: &mut AnyConn,
        client_id: &ClientId,
        credential_id: &OfficeCredentialId,
        at: NaiveDateTime,
        outcome: Result<Option<&str>, &str>,
    ) -> Result<(), DbError> {
        let previous = Self::find(conn, client_id)?.filter(|p| p.office_credential_id == *credential_id);
        let row = match outcome {
            Ok(permissions) => Self {
                client_id: client_id.to_owned(),
                office_credential_id: credential_id.clone(),
                checked_at: at,
                last_ok_at: Some(at),
                last_error: None,
                ksef_permissions: permissions
                    .map(str::to_owned)
                    .or_else(|| previous.and_then(|p| p.ksef_permissions)),
            },
            Err(why) => Self {
                client_id: client_id.to_owned(),
                office_credential_id: credential_id.clone(),
                checked_at: at,
                last_ok_at: previous.and_then(|p| p.last_ok_at),
                last_error: Some(why.to_owned()),
                ksef_permissions: None,
            },
        };
        // Delete + insert: the derived multi-backend connection has no portable upsert, and
        // this runs inside the caller's transaction.
        diesel::delete(office_access::table.find(client_id)).execute(conn)?;
        diesel::insert_into(office_access::table).values(&row).execute(conn)?;
        Ok(())
    }
}
