//! KSeF sessions the senders opened, persisted before anything is uploaded in them, so that a
//! crash leaves a reference to reconcile against.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::ksef_sessions;
use crate::db::{AnyConn, DbError};
use crate::domain::{ClientId, KsefSessionId, SessionKind, SessionState};

/// A session row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ksef_sessions)]
pub struct KsefSession {
    pub id: KsefSessionId,
    pub client_id: ClientId,
    pub kind: SessionKind,
    pub reference: Option<String>,
    pub state: SessionState,
    pub status_code: Option<i64>,
    pub invoice_count: i64,
    pub wrapped_key: Option<Vec<u8>>,
    pub valid_until: Option<NaiveDateTime>,
    pub opened_at: NaiveDateTime,
    pub closed_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

/// A session to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = ksef_sessions)]
pub struct NewKsefSession<'a> {
    pub id: &'a KsefSessionId,
    pub client_id: &'a ClientId,
    pub kind: SessionKind,
    pub reference: Option<&'a str>,
    pub state: SessionState,
    pub invoice_count: i64,
    pub valid_until: Option<NaiveDateTime>,
    pub opened_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl KsefSession {
    pub fn insert(conn: &mut AnyConn, row: &NewKsefSession<'_>) -> Result<(), DbError> {
        diesel::insert_into(ksef_sessions::table).values(row).execute(conn)?;
        Ok(())
    }

    /// The session with this KSeF reference.
    pub fn find_by_reference(conn: &mut AnyConn, reference: &str) -> Result<Option<Self>, DbError> {
        Ok(ksef_sessions::table
            .filter(ksef_sessions::reference.eq(reference))
            .select(Self::as_select())
            .first(conn)
            .optional()?)
    }

    /// The client's online sessions still recorded as open, oldest first.
    pub fn open_online(conn: &mut AnyConn, client_id: &ClientId) -> Result<Vec<Self>, DbError> {
        Ok(ksef_sessions::table
            .filter(ksef_sessions::client_id.eq(client_id))
            .filter(ksef_sessions::kind.eq(SessionKind::Online))
            .filter(ksef_sessions::state.eq(SessionState::Open))
            .order(ksef_sessions::opened_at.asc())
            .select(Self::as_select())
            .load(conn)?)
    }

    /// Adds `n` to the count of invoices put into the session.
    pub fn add_invoices(conn: &mut AnyConn, id: &KsefSessionId, n: i64) -> Result<(), DbError> {
        diesel::update(ksef_sessions::table.find(id))
            .set((
                ksef_sessions::invoice_count.eq(ksef_sessions::invoice_count + n),
                ksef_sessions::updated_at.eq(super::ids::now()),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// Records a new state (and KSeF's session status code when known).
    pub fn set_state(
        conn: &mut AnyConn,
        id: &KsefSessionId,
        state: SessionState,
        status_code: Option<i64>,
    ) -> Result<(), DbError> {
        let now = super::ids::now();
        let closed_at = (state != SessionState::Open).then_some(now);
        diesel::update(ksef_sessions::table.find(id))
            .set((
                ksef_sessions::state.eq(state),
                ksef_sessions::status_code.eq(status_code),
                ksef_sessions::closed_at.eq(closed_at),
                ksef_sessions::updated_at.eq(now),
            ))
            .execute(conn)?;
        Ok(())
    }
}
