//! Clients' KSeF credentials, sealed by the vault. Rows never hold a secret in clear.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{clients, credentials};
use crate::db::{AnyConn, DbError};
use crate::domain::{ClientId, CredentialId, Nip, UserId};

/// A stored credential (sealed).
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = credentials)]
pub struct Credential {
    pub id: CredentialId,
    pub client_id: ClientId,
    pub kind: String,
    pub key_version: i64,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
    pub fingerprint: String,
    pub valid_until: Option<NaiveDateTime>,
    pub active: bool,
    pub last_auth_ok_at: Option<NaiveDateTime>,
    pub last_auth_error: Option<String>,
    pub ksef_permissions: Option<String>,
    pub created_by: Option<UserId>,
    pub created_at: NaiveDateTime,
    pub retired_at: Option<NaiveDateTime>,
}

/// A credential to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = credentials)]
pub struct NewCredential<'a> {
    pub id: &'a CredentialId,
    pub client_id: &'a ClientId,
    pub kind: &'a str,
    pub key_version: i64,
    pub nonce: &'a [u8],
    pub ciphertext: &'a [u8],
    pub fingerprint: &'a str,
    pub valid_until: Option<NaiveDateTime>,
    pub active: bool,
    pub created_by: Option<&'a UserId>,
    pub created_at: NaiveDateTime,
}

impl Credential {
    /// Stores a credential as the client's active one of its kind, retiring the previous one.
    pub fn insert_active(conn: &mut AnyConn, row: &NewCredential<'_>) -> Result<(), DbError> {
        Self::retire_active(conn, row.client_id, row.kind, row.created_at)?;
        diesel::insert_into(credentials::table).values(row).execute(conn)?;
        Ok(())
    }

    /// Retires the client's active credential of this kind (replaced, or revoked in KSeF).
    pub fn retire_active(
        conn: &mut AnyConn,
        client_id: &ClientId,
        kind: &str,
        at: NaiveDateTime,
    ) -> Result<usize, DbError> {
        Ok(diesel::update(
            credentials::table
                .filter(credentials::client_id.eq(client_id))
                .filter(credentials::kind.eq(kind))
                .filter(credentials::active.eq(true)),
        )
        .set((credentials::active.eq(false), credentials::retired_at.eq(Some(at))))
        .execute(conn)?)
    }

    /// The client's active credential of this kind, if any.
    pub fn find_active(
        conn: &mut AnyConn,
        client_id: &ClientId,
        kind: &str,
    ) -> Result<Option<Self>, DbError> {
        Ok(credentials::table
            .filter(credentials::client_id.eq(client_id))
            .filter(credentials::kind.eq(kind))
            .filter(credentials::active.eq(true))
            .select(Self::as_select())
            .first(conn)
            .optional()?)
    }

    /// The credential a client authenticates with: its active KSeF certificate, else its
    /// active KSeF token (KSeF tokens are being retired).
    pub fn find_preferred(conn: &mut AnyConn, client_id: &ClientId) -> Result<Option<Self>, DbError> {
        match Self::find_active(conn, client_id, "ksef_certificate")? {
            Some(c) => Ok(Some(c)),
            None => Self::find_active(conn, client_id, "ksef_token"),
        }
    }

    super::sealed::record_auth!(
        /// Records the outcome of an authentication with KSeF: success time, or the error in words.
        credentials (CredentialId)
    );

    /// Records the permissions KSeF reports for the credential.
    pub fn record_permissions(
        conn: &mut AnyConn,
        id: &CredentialId,
        permissions: &str,
    ) -> Result<(), DbError> {
        diesel::update(credentials::table.find(id))
            .set(credentials::ksef_permissions.eq(Some(permissions)))
            .execute(conn)?;
        Ok(())
    }

    /// When each active credential with a known end stops being valid (expiry warnings).
    pub fn active_valid_until(conn: &mut AnyConn) -> Result<Vec<NaiveDateTime>, DbError> {
        Ok(credentials::table
            .filter(credentials::active.eq(true))
            .filter(credentials::valid_until.is_not_null())
            .select(credentials::valid_until.assume_not_null())
            .load(conn)?)
    }

    /// Every credential (active or retired) with its client's NIP, for key rotation.
    pub fn list_all_with_nip(conn: &mut AnyConn) -> Result<Vec<(Self, Nip)>, DbError> {
        Ok(credentials::table
            .inner_join(clients::table)
            .select((Self::as_select(), clients::nip))
            .order(credentials::id.asc())
            .load(conn)?)
    }

    /// Any one stored credential with its client's NIP (to try the master key on).
    pub fn first_with_nip(conn: &mut AnyConn) -> Result<Option<(Self, Nip)>, DbError> {
        Ok(credentials::table
            .inner_join(clients::table)
            .select((Self::as_select(), clients::nip))
            .order(credentials::id.asc())
            .first(conn)
            .optional()?)
    }

    super::sealed::reseal!(
        /// Replaces the sealed bytes of one credential (after re-sealing under a new key).
        credentials (CredentialId): key_version, nonce, ciphertext
    );
}
