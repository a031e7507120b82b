//! The outbox: one row per invoice a person decided to send. The decision service inserts rows as
//! `pending`; the senders move them through `sending` to `done` or `failed`, or back to `pending`
//! with a later `next_attempt_at` when a retry is due.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::invoice::Invoice;
use crate::db::schema::{clients, invoices, outbox, send_decisions};
use crate::db::{AnyConn, DbError};
use crate::domain::{ClientId, DecisionId, InvoiceId, OutboxEntryId, OutboxState};

/// An outbox row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxEntry {
    pub id: OutboxEntryId,
    pub invoice_id: InvoiceId,
    pub client_id: ClientId,
    pub decision_id: DecisionId,
    pub status: OutboxState,
    pub attempts: i64,
    pub next_attempt_at: NaiveDateTime,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A due invoice with what the sender needs to know about its decision.
#[derive(Debug, Clone)]
pub struct DueInvoice {
    pub entry: OutboxEntry,
    pub invoice: Invoice,
    /// The decision said "issued offline": send with `offlineMode: true`.
    pub offline: bool,
}

impl OutboxEntry {
    /// Clients (not paused) with at least one row due at `now`, oldest due first, found through
    /// the partial index of the pending rows (the engine asks at each look for work).
    pub fn clients_with_due(conn: &mut AnyConn, now: NaiveDateTime) -> Result<Vec<ClientId>, DbError> {
        let rows: Vec<(ClientId, Option<NaiveDateTime>)> = outbox::table
            .inner_join(clients::table)
            .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(super::PENDING_SQL))
            .filter(outbox::next_attempt_at.le(now))
            .filter(clients::paused_reason.is_null())
            .group_by(outbox::client_id)
            .select((outbox::client_id, diesel::dsl::min(outbox::next_attempt_at)))
            .load(conn)?;
        let mut rows = rows;
        rows.sort_by_key(|(_, at)| *at);
        Ok(rows.into_iter().map(|(id, _)| id).collect())
    }

    /// Up to `limit` of the client's due rows, oldest first, with their invoices.
    pub fn due_for_client(
        conn: &mut AnyConn,
        client_id: &ClientId,
        now: NaiveDateTime,
        limit: i64,
    ) -> Result<Vec<DueInvoice>, DbError> {
        let rows: Vec<(OutboxEntry, Invoice, bool)> = outbox::table
            .inner_join(invoices::table)
            .inner_join(send_decisions::table)
            .filter(outbox::client_id.eq(client_id))
            .filter(outbox::status.eq(OutboxState::Pending))
            .filter(outbox::next_attempt_at.le(now))
            .order((outbox::next_attempt_at.asc(), outbox::created_at.asc(), outbox::id.asc()))
            .limit(limit)
            .select((OutboxEntry::as_select(), Invoice::as_select(), send_decisions::offline))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .map(|(entry, invoice, offline)| {
                let offline = offline || invoice.offline_mode;
                DueInvoice { entry, invoice, offline }
            })
            .collect())
    }

    /// The row of an invoice.
    pub fn for_invoice(conn: &mut AnyConn, invoice_id: &InvoiceId) -> Result<Option<Self>, DbError> {
        Ok(outbox::table
            .filter(outbox::invoice_id.eq(invoice_id))
            .select(Self::as_select())
            .first(conn)
            .optional()?)
    }

    /// The same status for many invoices' rows (a batch moved or done at once).
    pub fn set_status_many(
        conn: &mut AnyConn,
        invoice_ids: &[&InvoiceId],
        status: OutboxState,
    ) -> Result<(), DbError> {
        let now = super::ids::now();
        for chunk in invoice_ids.chunks(super::ids_per_statement(conn)) {
            diesel::update(outbox::table.filter(outbox::invoice_id.eq_any(chunk)))
                .set((outbox::status.eq(status), outbox::updated_at.eq(now)))
                .execute(conn)?;
        }
        Ok(())
    }

    /// Sets the status (and the last error, when given) of an invoice's row.
    pub fn set_status(
        conn: &mut AnyConn,
        invoice_id: &InvoiceId,
        status: OutboxState,
        last_error: Option<&str>,
    ) -> Result<(), DbError> {
        let now = super::ids::now();
        let target = outbox::table.filter(outbox::invoice_id.eq(invoice_id));
        match last_error {
            Some(err) => diesel::update(target)
                .set((outbox::status.eq(status), outbox::last_error.eq(err), outbox::updated_at.eq(now)))
                .execute(conn)?,
            None => diesel::update(target)
                .set((outbox::status.eq(status), outbox::updated_at.eq(now)))
                .execute(conn)?,
        };
        Ok(())
    }

    /// Puts the row back to `pending` for an attempt at `next_attempt_at`, counting the failed one.
    pub fn reschedule(
        conn: &mut AnyConn,
        invoice_id: &InvoiceId,
        next_attempt_at: NaiveDateTime,
        last_error: &str,
        count_attempt: bool,
    ) -> Result<(), DbError> {
        let now = super::ids::now();
        let bump = i64::from(count_attempt);
        diesel::update(outbox::table.filter(outbox::invoice_id.eq(invoice_id)))
            .set((
                outbox::status.eq(OutboxState::Pending),
                outbox::attempts.eq(outbox::attempts + bump),
                outbox::next_attempt_at.eq(next_attempt_at),
                outbox::last_error.eq(last_error),
                outbox::updated_at.eq(now),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// Counts the client's rows per status (tests, metrics).
    pub fn count_by_status(
        conn: &mut AnyConn,
        client_id: &ClientId,
    ) -> Result<Vec<(OutboxState, i64)>, DbError> {
        Ok(outbox::table
            .filter(outbox::client_id.eq(client_id))
            .group_by(outbox::status)
            .select((outbox::status, diesel::dsl::count_star()))
            .load(conn)?)
    }
}

/// Whether the decision behind an invoice's outbox row was an offline one.
pub fn decision_is_offline(conn: &mut AnyConn, invoice_id: &InvoiceId) -> Result<bool, DbError> {
    Ok(outbox::table
        .inner_join(send_decisions::table)
        .filter(outbox::invoice_id.eq(invoice_id))
        .select(send_decisions::offline)
        .first(conn)
        .optional()?
        .unwrap_or(false))
}
