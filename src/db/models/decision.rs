//! Recorded decisions to send, and the outbox entries they create for the senders.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Array, Text, Timestamp};

use crate::db::schema::{outbox, send_decisions};
use crate::db::{AnyConn, DbError};
use crate::domain::{Actor, ActorKind, ClientId, DecisionId, InvoiceId, OutboxEntryId, OutboxState};

/// The outbox rows of a decision on PostgreSQL in one statement, the ids bound as two arrays (a
/// multi-row VALUES of 500 rows binds 4 500 parameters that are parsed and planned anew each
/// time).
const OUTBOX_PG: &str = "INSERT INTO outbox \
     (id, invoice_id, client_id, decision_id, status, attempts, next_attempt_at, created_at, updated_at) \
     SELECT v.id, v.invoice_id, $3, $4, $5, 0, $6, $6, $6 FROM unnest($1::text[], $2::text[]) AS v(id, invoice_id)";

/// A decision to send, as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = send_decisions)]
pub struct SendDecision {
    pub id: DecisionId,
    pub client_id: ClientId,
    /// `user`, `api_key` or `operator` ([`Actor::kind`]).
    pub actor_kind: ActorKind,
    /// Who decided, spelled in full (`user:<id>`, …) despite the column's name.
    pub actor_id: Actor,
    pub source_ip: Option<String>,
    /// The client's policy that allowed it.
    pub policy: crate::domain::SendPolicy,
    pub offline: bool,
    pub invoice_count: i64,
    /// JSON array of the Base64 SHA-256 of every invoice decided on: what exactly was chosen.
    pub invoice_hashes: String,
    pub created_at: NaiveDateTime,
}

impl SendDecision {
    /// Stores the decision and one pending outbox entry per invoice, due now.
    pub fn insert_with_outbox(
        conn: &mut AnyConn,
        row: &Self,
        invoice_ids: &[InvoiceId],
    ) -> Result<(), DbError> {
        diesel::insert_into(send_decisions::table).values(row).execute(conn)?;
        let ids: Vec<OutboxEntryId> = invoice_ids.iter().map(|_| OutboxEntryId::new()).collect();
        if let AnyConn::Pg(pg) = conn {
            diesel::sql_query(OUTBOX_PG)
                .bind::<Array<Text>, _>(ids.iter().map(OutboxEntryId::as_str).collect::<Vec<_>>())
                .bind::<Array<Text>, _>(invoice_ids.iter().map(InvoiceId::as_str).collect::<Vec<_>>())
                .bind::<Text, _>(&row.client_id)
                .bind::<Text, _>(&row.id)
                .bind::<Text, _>(OutboxState::Pending.as_str())
                .bind::<Timestamp, _>(row.created_at)
                .execute(pg)?;
            return Ok(());
        }
        let rows: Vec<_> = invoice_ids
            .iter()
            .zip(&ids)
            .map(|(invoice_id, id)| {
                (
                    outbox::id.eq(id),
                    outbox::invoice_id.eq(invoice_id),
                    outbox::client_id.eq(&row.client_id),
                    outbox::decision_id.eq(&row.id),
                    outbox::status.eq(OutboxState::Pending),
                    outbox::attempts.eq(0_i64),
                    outbox::next_attempt_at.eq(row.created_at),
                    outbox::created_at.eq(row.created_at),
                    outbox::updated_at.eq(row.created_at),
                )
            })
            .collect();
        insert_rows!(conn, outbox::table, rows, 500);
        Ok(())
    }

    pub fn find(conn: &mut AnyConn, id: &DecisionId) -> Result<Option<Self>, DbError> {
        Ok(send_decisions::table.find(id).select(Self::as_select()).first(conn).optional()?)
    }
}
