//! Recorded decisions to send, and the outbox entries they create for the senders.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{outbox, send_decisions};
use crate::db::{AnyConn, DbError};
use crate::domain::{Actor, ActorKind, ClientId, DecisionId};

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
        invoice_ids: &[crate::domain::InvoiceId],
    ) -> Result<(), DbError> {
        diesel::insert_into(send_decisions::table).values(row).execute(conn)?;
        let ids: Vec<crate::domain::OutboxEntryId> =
            invoice_ids.iter().map(|_| crate::domain::OutboxEntryId::new()).collect();
        let rows: Vec<_> = invoice_ids
            .iter()
            .zip(&ids)
            .map(|(invoice_id, id)| {
                (
                    outbox::id.eq(id),
                    outbox::invoice_id.eq(invoice_id),
                    outbox::client_id.eq(&row.client_id),
                    outbox::decision_id.eq(&row.id),
                    outbox::status.eq(crate::domain::OutboxState::Pending),
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
