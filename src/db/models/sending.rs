//! What the senders write on invoices and clients: KSeF references, results, pauses. Kept apart
//! from `invoice.rs` (intake and decisions) so each side of the lifecycle has its own file.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Array, Text, Timestamp};

use super::client::Client;
use super::invoice::Invoice;
use super::ClientScope;
use crate::db::schema::{clients, invoice_events, invoices};
use crate::db::{AnyConn, DbError};
use crate::domain::{
    check_moves, Actor, ClientId, EventKind, InvoiceEventId, InvoiceId, InvoiceState, Nip, StuckCutoffs,
};

/// How the watchdog's timeline note begins (followed by the state and why to look), as people
/// have always read it. The watchdog finds its flags by their kind ([`EventKind::Watchdog`]).
pub const WATCHDOG_NOTE: &str = "watchdog:";

/// What KSeF said about one accepted invoice, for [`Invoice::accept_many`].
pub struct AcceptedRow<'a> {
    pub id: &'a InvoiceId,
    pub invoice_reference: &'a str,
    pub ksef_number: &'a str,
    pub description: &'a str,
}

/// The rows of [`Invoice::accept_many`] in one statement: every acceptance's values as parallel
/// arrays, each row moved only while still in flight.
const ACCEPT_MANY_PG: &str = "UPDATE invoices SET state = $1, invoice_reference = v.invoice_reference, \
     ksef_number = v.ksef_number, ksef_status_code = 200, ksef_status_description = v.description, \
     updated_at = $2 \
     FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) AS v(id, invoice_reference, ksef_number, description) \
     WHERE invoices.id = v.id AND invoices.state = ANY($7::text[]) \
     RETURNING invoices.id";

/// The move of [`Invoice::start_sending_many`] on PostgreSQL in one statement (was a row-lock
/// SELECT and an UPDATE per 500 invoices).
const START_SENDING_MANY_PG: &str = "UPDATE invoices SET state = $1, session_reference = $2, \
     invoice_reference = NULL, updated_at = $3 \
     FROM (SELECT id FROM invoices WHERE id = ANY($4::text[]) ORDER BY id FOR UPDATE) AS locked \
     WHERE invoices.id = locked.id AND invoices.state = ANY($5::text[]) \
     RETURNING invoices.id";

#[derive(QueryableByName)]
struct MovedId {
    #[diesel(sql_type = Text)]
    id: InvoiceId,
}

impl Invoice {
    /// Clients (not paused) with invoices in flight, found through the partial index of the
    /// invoices in flight (the engine asks at each look for work).
    pub fn clients_in_flight(conn: &mut AnyConn) -> Result<Vec<ClientId>, DbError> {
        Ok(invoices::table
            .inner_join(clients::table)
            .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(super::IN_FLIGHT_SQL))
            .filter(clients::paused_reason.is_null())
            .select(invoices::client_id)
            .distinct()
            .load(conn)?)
    }

    /// Up to `limit` of the client's invoices in flight, oldest first.
    pub fn in_flight(conn: &mut AnyConn, client_id: &ClientId, limit: i64) -> Result<Vec<Invoice>, DbError> {
        Ok(invoices::table
            .filter(invoices::client_id.eq(client_id))
            .filter(invoices::state.eq_any(InvoiceState::IN_FLIGHT))
            .order((invoices::updated_at.asc(), invoices::id.asc()))
            .limit(limit)
            .select(Invoice::as_select())
            .load(conn)?)
    }

    /// Moves a waiting invoice into `sending` in a session, in one statement; false when it no
    /// longer waits (a person withdrew it). The caller writes the timeline entry.
    pub fn start_sending(
        conn: &mut AnyConn,
        id: &InvoiceId,
        session_reference: &str,
        now: NaiveDateTime,
    ) -> Result<bool, DbError> {
        let (from, to) = (InvoiceState::WAITING, InvoiceState::Sending);
        check_moves(&from, to)?;
        let changed =
            diesel::update(invoices::table.filter(invoices::id.eq(id)).filter(invoices::state.eq_any(from)))
                .set((
                    invoices::state.eq(to),
                    invoices::session_reference.eq(Some(session_reference)),
                    invoices::invoice_reference.eq(None::<String>),
                    invoices::updated_at.eq(now),
                ))
                .execute(conn)?;
        Ok(changed == 1)
    }

    /// [`Invoice::start_sending`] for many invoices: the ids that moved (the others no longer
    /// waited). On PostgreSQL one statement for all, since there every statement is a network
    /// round trip; SQLite runs in-process, where a statement per invoice is cheap.
    pub fn start_sending_many(
        conn: &mut AnyConn,
        ids: &[InvoiceId],
        session_reference: &str,
        now: NaiveDateTime,
    ) -> Result<Vec<InvoiceId>, DbError> {
        let (from, to) = (InvoiceState::WAITING, InvoiceState::Sending);
        check_moves(&from, to)?;
        let AnyConn::Pg(pg) = conn else {
            let mut moved = Vec::with_capacity(ids.len());
            for id in ids {
                if Self::start_sending(conn, id, session_reference, now)? {
                    moved.push(id.clone());
                }
            }
            return Ok(moved);
        };
        // One statement for all: the rows locked in id order first, as every multi-row move
        // locks them, so two overlapping moves wait for each other instead of deadlocking.
        let all: Vec<&str> = ids.iter().map(InvoiceId::as_str).collect();
        let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
        let moved: Vec<MovedId> = diesel::sql_query(START_SENDING_MANY_PG)
            .bind::<Text, _>(to.as_str())
            .bind::<Text, _>(session_reference)
            .bind::<Timestamp, _>(now)
            .bind::<Array<Text>, _>(all)
            .bind::<Array<Text>, _>(from)
            .load(pg)?;
        // In the caller's order, as the statement per invoice gave them.
        let done: HashSet<InvoiceId> = moved.into_iter().map(|m| m.id).collect();
        Ok(ids.iter().filter(|id| done.contains(*id)).cloned().collect())
    }

    /// Moves an in-flight invoice to `accepted` with what KSeF said, in one statement; false
    /// when it is no longer in flight. The caller writes the timeline entry.
    pub fn accept(
        conn: &mut AnyConn,
        id: &InvoiceId,
        invoice_reference: &str,
        ksef_number: &str,
        description: &str,
        now: NaiveDateTime,
    ) -> Result<bool, DbError> {
        let to = InvoiceState::Accepted;
        check_moves(&InvoiceState::IN_FLIGHT, to)?;
        let changed = diesel::update(
            invoices::table
                .filter(invoices::id.eq(id))
                .filter(invoices::state.eq_any(InvoiceState::IN_FLIGHT)),
        )
        .set((
            invoices::state.eq(to),
            invoices::invoice_reference.eq(Some(invoice_reference)),
            invoices::ksef_number.eq(Some(ksef_number)),
            invoices::ksef_status_code.eq(Some(200_i64)),
            invoices::ksef_status_description.eq(Some(description)),
            invoices::updated_at.eq(now),
        ))
        .execute(conn)?;
        Ok(changed == 1)
    }

    /// [`Invoice::accept`] for many invoices: the ids that moved (the others were no longer in
    /// flight). On PostgreSQL one statement for all of them (the values as arrays); on SQLite,
    /// in-process, a statement per invoice.
    pub fn accept_many(
        conn: &mut AnyConn,
        rows: &[AcceptedRow<'_>],
        now: NaiveDateTime,
    ) -> Result<HashSet<InvoiceId>, DbError> {
        let to = InvoiceState::Accepted;
        check_moves(&InvoiceState::IN_FLIGHT, to)?;
        let AnyConn::Pg(pg) = conn else {
            let mut moved = HashSet::with_capacity(rows.len());
            for r in rows {
                if Self::accept(conn, r.id, r.invoice_reference, r.ksef_number, r.description, now)? {
                    moved.insert(r.id.clone());
                }
            }
            return Ok(moved);
        };
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let references: Vec<&str> = rows.iter().map(|r| r.invoice_reference).collect();
        let numbers: Vec<&str> = rows.iter().map(|r| r.ksef_number).collect();
        let descriptions: Vec<&str> = rows.iter().map(|r| r.description).collect();
        let from: Vec<&str> = InvoiceState::IN_FLIGHT.iter().map(|s| s.as_str()).collect();
        let moved: Vec<MovedId> = diesel::sql_query(ACCEPT_MANY_PG)
            .bind::<Text, _>(to.as_str())
            .bind::<Timestamp, _>(now)
            .bind::<Array<Text>, _>(ids)
            .bind::<Array<Text>, _>(references)
            .bind::<Array<Text>, _>(numbers)
            .bind::<Array<Text>, _>(descriptions)
            .bind::<Array<Text>, _>(from)
            .load(pg)?;
        Ok(moved.into_iter().map(|m| m.id).collect())
    }

    /// Records the invoice's reference inside its session.
    pub fn set_invoice_reference(conn: &mut AnyConn, id: &InvoiceId, reference: &str) -> Result<(), DbError> {
        diesel::update(invoices::table.find(id))
            .set(invoices::invoice_reference.eq(Some(reference)))
            .execute(conn)?;
        Ok(())
    }

    /// Records what KSeF said about the invoice: its status and, once accepted, its KSeF number.
    pub fn set_ksef_outcome(
        conn: &mut AnyConn,
        id: &InvoiceId,
        ksef_number: Option<&str>,
        code: i64,
        description: &str,
    ) -> Result<(), DbError> {
        diesel::update(invoices::table.find(id))
            .set((
                invoices::ksef_number.eq(ksef_number),
                invoices::ksef_status_code.eq(Some(code)),
                invoices::ksef_status_description.eq(Some(description)),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// Forgets the session of an invoice KSeF provably does not have, before it is sent again.
    pub fn clear_session(conn: &mut AnyConn, id: &InvoiceId) -> Result<(), DbError> {
        diesel::update(invoices::table.find(id))
            .set((
                invoices::session_reference.eq(None::<String>),
                invoices::invoice_reference.eq(None::<String>),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// Invoices in `state` since before `before` that the watchdog has not flagged in that
    /// state yet.
    pub fn stuck_unflagged(
        conn: &mut AnyConn,
        state: InvoiceState,
        before: NaiveDateTime,
        limit: i64,
    ) -> Result<Vec<Invoice>, DbError> {
        let flagged = invoice_events::table
            .filter(invoice_events::invoice_id.eq(invoices::id))
            .filter(invoice_events::kind.eq(EventKind::Watchdog))
            .filter(invoice_events::state.eq(state));
        Ok(invoices::table
            .filter(invoices::state.eq(state))
            .filter(invoices::updated_at.lt(before))
            .filter(diesel::dsl::not(diesel::dsl::exists(flagged)))
            .limit(limit)
            .select(Invoice::as_select())
            .load(conn)?)
    }

    /// Leaves the watchdog's flag on an invoice stuck in its state: a timeline entry of kind
    /// [`EventKind::Watchdog`] in that state, which [`Invoice::stuck_unflagged`] looks for.
    pub fn flag_stuck(
        conn: &mut AnyConn,
        inv: &Invoice,
        at: NaiveDateTime,
        actor: &Actor,
        note: &str,
    ) -> Result<(), DbError> {
        diesel::insert_into(invoice_events::table)
            .values((
                invoice_events::id.eq(InvoiceEventId::new()),
                invoice_events::invoice_id.eq(&inv.id),
                invoice_events::client_id.eq(&inv.client_id),
                invoice_events::at.eq(at),
                invoice_events::state.eq(inv.state),
                invoice_events::actor.eq(actor),
                invoice_events::note.eq(note),
                invoice_events::kind.eq(EventKind::Watchdog),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// Stuck invoices the scope lets the caller see, per client NIP and state: how many, and
    /// since when the oldest waits. At most `limit` invoices are looked at.
    pub fn stuck(
        conn: &mut AnyConn,
        scope: &ClientScope,
        cutoffs: &StuckCutoffs,
        limit: i64,
    ) -> Result<Vec<StuckGroup>, DbError> {
        let registered = InvoiceState::Registered;
        let waiting: Vec<InvoiceState> =
            InvoiceState::WATCHED.iter().copied().filter(|s| *s != registered).collect();
        let query = invoices::table
            .inner_join(clients::table)
            .filter(
                invoices::state
                    .eq_any(waiting)
                    .and(invoices::updated_at.lt(cutoffs.waiting))
                    .or(invoices::state.eq(registered).and(invoices::updated_at.lt(cutoffs.registered))),
            )
            .into_boxed();
        let query = super::scope::in_scope!(query, scope, invoices::client_id);
        let rows: Vec<(Nip, InvoiceState, NaiveDateTime)> = query
            .order(invoices::updated_at.asc())
            .limit(limit)
            .select((clients::nip, invoices::state, invoices::updated_at))
            .load(conn)?;
        let mut groups: Vec<StuckGroup> = Vec::new();
        for (nip, state, since) in rows {
            match groups.iter_mut().find(|g| g.nip == nip && g.state == state) {
                Some(g) => g.count += 1,
                None => groups.push(StuckGroup { nip, state, count: 1, oldest: since }),
            }
        }
        Ok(groups)
    }
}

/// Stuck invoices of one client in one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StuckGroup {
    pub nip: Nip,
    pub state: InvoiceState,
    pub count: i64,
    /// When the longest-waiting one last changed.
    pub oldest: NaiveDateTime,
}

impl Client {
    /// Stops (with a reason in words) or resumes (None) the client's sender.
    pub fn set_paused(conn: &mut AnyConn, id: &str, reason: Option<&str>) -> Result<(), DbError> {
        diesel::update(clients::table.find(id))
            .set((clients::paused_reason.eq(reason), clients::updated_at.eq(super::ids::now())))
            .execute(conn)?;
        Ok(())
    }
}

impl Invoice {
    /// The invoices of one KSeF session that are still in flight.
    pub fn in_flight_in_session(
        conn: &mut AnyConn,
        session_reference: &str,
    ) -> Result<Vec<Invoice>, DbError> {
        Ok(invoices::table
            .filter(invoices::session_reference.eq(session_reference))
            .filter(invoices::state.eq_any(InvoiceState::IN_FLIGHT))
            .select(Invoice::as_select())
            .load(conn)?)
    }
}
