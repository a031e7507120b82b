//! The append-only audit trail. Rows are only ever inserted; `seq` orders the hash chain.

use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::db::schema::audit_events;
use crate::db::{AnyConn, DbError};

/// One audit event as stored (a missing value is NULL: no column has another default, so SQLite
/// takes many events in one statement).
#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = audit_events, treat_none_as_default_value = false)]
pub struct AuditEvent {
    pub seq: i64,
    pub id: crate::domain::AuditEventId,
    pub at: NaiveDateTime,
    pub actor_kind: crate::domain::ActorKind,
    pub actor_id: Option<String>,
    pub client_id: Option<String>,
    pub action: String,
    pub subject: Option<String>,
    /// JSON object with the event's details.
    pub payload: String,
    pub prev_hash: String,
    pub hash: String,
}

/// Filters of an audit export (the scope of clients is required, see `ClientScope`).
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub client_ids: Option<Vec<crate::domain::ClientId>>,
    pub actor_id: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
}

/// Applies an [`AuditFilter`] to a boxed query on the events (reports and the screen agree).
macro_rules! filtered {
    ($query:expr, $filter:expr) => {{
        let filter: &AuditFilter = $filter;
        let mut query = $query;
        if let Some(ids) = &filter.client_ids {
            query = query.filter(audit_events::client_id.eq_any(ids.clone()));
        }
        if let Some(actor) = &filter.actor_id {
            query = query.filter(audit_events::actor_id.eq(actor.clone()));
        }
        if let Some(from) = filter.from {
            query = query.filter(audit_events::at.ge(from));
        }
        if let Some(to) = filter.to {
            query = query.filter(audit_events::at.lt(to));
        }
        query
    }};
}

impl AuditEvent {
    /// Serialises writers of the chain for the rest of the transaction. SQLite already has one
    /// writer at a time; on PostgreSQL two replicas could otherwise read the same chain head.
    pub fn lock_chain(conn: &mut AnyConn) -> Result<(), DbError> {
        if let AnyConn::Pg(pg) = conn {
            pg.batch_execute("SELECT pg_advisory_xact_lock(7419001)").map_err(DbError::from_diesel)?;
        }
        Ok(())
    }

    /// The newest event's sequence number and hash, if the chain has started.
    pub fn head(conn: &mut AnyConn) -> Result<Option<(i64, String)>, DbError> {
        Ok(audit_events::table
            .order(audit_events::seq.desc())
            .select((audit_events::seq, audit_events::hash))
            .first(conn)
            .optional()?)
    }

    /// Inserts events in order, as multi-row statements of 500.
    pub fn insert_many(conn: &mut AnyConn, rows: &[Self]) -> Result<(), DbError> {
        insert_rows!(conn, audit_events::table, rows, 500);
        Ok(())
    }

    /// Events with `seq` greater than `after`, in chain order, at most `limit` of them.
    pub fn page(conn: &mut AnyConn, after: i64, limit: i64) -> Result<Vec<Self>, DbError> {
        Ok(audit_events::table
            .filter(audit_events::seq.gt(after))
            .order(audit_events::seq.asc())
            .limit(limit)
            .select(Self::as_select())
            .load(conn)?)
    }

    /// Events matching the filter with `after < seq <= upto`, in chain order, at most `limit`:
    /// one keyset page of a report, so a report of any size is read in bounded memory.
    pub fn page_filtered(
        conn: &mut AnyConn,
        filter: &AuditFilter,
        after: i64,
        upto: i64,
        limit: i64,
    ) -> Result<Vec<Self>, DbError> {
        let query = audit_events::table
            .filter(audit_events::seq.gt(after))
            .filter(audit_events::seq.le(upto))
            .into_boxed();
        let query = filtered!(query, filter);
        Ok(query.order(audit_events::seq.asc()).limit(limit).select(Self::as_select()).load(conn)?)
    }

    /// Events matching the filter with `seq < before` (all when None), newest first, at most
    /// `limit`: one keyset page of the panel's audit screen.
    pub fn page_filtered_newest(
        conn: &mut AnyConn,
        filter: &AuditFilter,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Self>, DbError> {
        let upto = before.map_or(i64::MAX, |b| b - 1);
        let query = filtered!(audit_events::table.filter(audit_events::seq.le(upto)).into_boxed(), filter);
        Ok(query.order(audit_events::seq.desc()).limit(limit).select(Self::as_select()).load(conn)?)
    }
}
