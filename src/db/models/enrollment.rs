//! Certificate enrollments the gateway started with KSeF: the sealed new key until the issued
//! certificate is stored, and how far each got (a pending one is resumed, not lost).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::certificate_enrollments as ce;
use crate::db::{AnyConn, DbError};
use crate::domain::{CertificatePurpose, ClientId, EnrollmentId, EnrollmentState, KeyChoice, Nip, UserId};

/// An enrollment as stored.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = ce)]
pub struct CertificateEnrollment {
    pub id: EnrollmentId,
    /// None: the office's own certificate.
    pub client_id: Option<ClientId>,
    pub subject_nip: Nip,
    pub ksef_environment: String,
    #[diesel(deserialize_as = String)]
    pub certificate_type: CertificatePurpose,
    #[diesel(deserialize_as = String)]
    pub key_algorithm: KeyChoice,
    #[diesel(deserialize_as = String)]
    pub state: EnrollmentState,
    pub reference_number: Option<String>,
    pub key_version: Option<i64>,
    pub key_nonce: Option<Vec<u8>>,
    pub key_ciphertext: Option<Vec<u8>>,
    pub serial_number: Option<String>,
    pub error: Option<String>,
    pub created_by: Option<UserId>,
    pub created_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
}

/// A new pending enrollment with its sealed key.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = ce)]
pub struct NewCertificateEnrollment<'a> {
    pub id: &'a EnrollmentId,
    pub client_id: Option<&'a ClientId>,
    pub subject_nip: &'a Nip,
    pub ksef_environment: &'a str,
    #[diesel(serialize_as = String)]
    pub certificate_type: CertificatePurpose,
    #[diesel(serialize_as = String)]
    pub key_algorithm: KeyChoice,
    #[diesel(serialize_as = String)]
    pub state: EnrollmentState,
    pub key_version: Option<i64>,
    pub key_nonce: Option<&'a [u8]>,
    pub key_ciphertext: Option<&'a [u8]>,
    pub created_by: Option<&'a UserId>,
    pub created_at: NaiveDateTime,
}

impl CertificateEnrollment {
    pub fn insert(conn: &mut AnyConn, row: &NewCertificateEnrollment<'_>) -> Result<(), DbError> {
        diesel::insert_into(ce::table).values(row.clone()).execute(conn)?;
        Ok(())
    }

    pub fn get(conn: &mut AnyConn, id: &EnrollmentId) -> Result<Self, DbError> {
        Ok(ce::table.find(id).select(Self::as_select()).first(conn)?)
    }

    /// KSeF's reference of the enrollment, once KSeF took it.
    pub fn set_reference(conn: &mut AnyConn, id: &EnrollmentId, reference: &str) -> Result<(), DbError> {
        diesel::update(ce::table.find(id)).set(ce::reference_number.eq(Some(reference))).execute(conn)?;
        Ok(())
    }

    /// Ends an enrollment: its state, the serial issued or why not; the sealed key is cleared
    /// (once issued it lives in the stored credential; otherwise it is of no use).
    pub fn finish(
        conn: &mut AnyConn,
        id: &EnrollmentId,
        state: EnrollmentState,
        serial: Option<&str>,
        error: Option<&str>,
        at: NaiveDateTime,
    ) -> Result<(), DbError> {
        diesel::update(ce::table.find(id))
            .set((
                ce::state.eq(state.as_str()),
                ce::serial_number.eq(serial),
                ce::error.eq(error),
                ce::finished_at.eq(Some(at)),
                ce::key_version.eq(None::<i64>),
                ce::key_nonce.eq(None::<Vec<u8>>),
                ce::key_ciphertext.eq(None::<Vec<u8>>),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// Records why the last attempt to finish a pending enrollment stopped (it stays pending).
    pub fn note_error(conn: &mut AnyConn, id: &EnrollmentId, error: &str) -> Result<(), DbError> {
        diesel::update(ce::table.find(id)).set(ce::error.eq(Some(error))).execute(conn)?;
        Ok(())
    }

    /// The pending enrollments of one subject (the office: `client_id` None), oldest first.
    pub fn list_pending(conn: &mut AnyConn, client_id: Option<&ClientId>) -> Result<Vec<Self>, DbError> {
        let query = ce::table.filter(ce::state.eq(EnrollmentState::Pending.as_str())).into_boxed();
        let query = match client_id {
            Some(id) => query.filter(ce::client_id.eq(id)),
            None => query.filter(ce::client_id.is_null()),
        };
        Ok(query.order(ce::created_at.asc()).select(Self::as_select()).load(conn)?)
    }

    /// Every enrollment that still holds a sealed key, for key rotation.
    pub fn list_sealed(conn: &mut AnyConn) -> Result<Vec<Self>, DbError> {
        Ok(ce::table
            .filter(ce::key_ciphertext.is_not_null())
            .order(ce::id.asc())
            .select(Self::as_select())
            .load(conn)?)
    }

    super::sealed::reseal!(
        /// Replaces the sealed key (after re-sealing under a new master key).
        ce (EnrollmentId): key_version, key_nonce, key_ciphertext
    );
}
