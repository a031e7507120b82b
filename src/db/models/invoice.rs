//! Invoices: the row with the facts people search by, its exact bytes, and its timeline.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::scope::ClientScope;
use crate::db::schema::{clients, invoice_documents, invoice_events, invoices, upos};
use crate::db::{AnyConn, DbError};
use crate::domain::{check_moves, Actor, ClientId, InvoiceEventId, InvoiceId, InvoiceState, Nip, UserId};

/// [`Invoice::live_with_numbers`] on PostgreSQL: one index probe of `(client_id, number)` per
/// number. Written as `number = ANY($2)`, the planner, misled by a client it has no statistics
/// for yet (a new client, or one whose upload is still in this transaction), scanned all of the
/// client's invoices for every batch: a 10 000-invoice zip spent 0.7 s there, growing with each
/// batch, and every single upload 4–5 ms. `OFFSET 0` keeps the subquery a probe of its own.
const LIVE_WITH_NUMBERS_PG: &str = "SELECT i.* FROM unnest($2::text[]) AS n(number) \
     CROSS JOIN LATERAL (SELECT * FROM invoices \
       WHERE client_id = $1 AND number = n.number AND state <> ALL($3::text[]) OFFSET 0) AS i";

/// Issued offline and not in KSeF yet: waiting, or in a session whose outcome is not known.
const OFFLINE_DUE: [InvoiceState; 2] = [InvoiceState::Offline, InvoiceState::Sending];

/// An invoice as stored, and as inserted: a new one is built whole (state, findings, who made
/// it; nothing decided or sent yet), so the row in hand is the row that reads back. A missing
/// value is inserted as NULL (no column of the table has another default), which lets SQLite
/// take many rows in one statement.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Identifiable, Insertable)]
#[diesel(table_name = invoices, treat_none_as_default_value = false)]
pub struct Invoice {
    pub id: InvoiceId,
    pub client_id: ClientId,
    pub sha256: String,
    pub size_bytes: i64,
    pub number: Option<String>,
    pub issue_date: Option<NaiveDate>,
    pub invoice_type: Option<String>,
    pub seller_nip: Option<String>,
    pub buyer_nip: Option<String>,
    pub buyer_name: Option<String>,
    pub currency: Option<String>,
    pub gross_total: Option<String>,
    /// The gross amount in minor units (grosze), for the list's filter and order.
    pub gross_minor: Option<i64>,
    pub state: InvoiceState,
    pub offline_mode: bool,
    pub offline_deadline: Option<NaiveDateTime>,
    pub ksef_number: Option<String>,
    pub session_reference: Option<String>,
    pub invoice_reference: Option<String>,
    pub ksef_status_code: Option<i64>,
    pub ksef_status_description: Option<String>,
    /// JSON array of findings (pre-flight), as the API returns them.
    pub findings: String,
    pub corrects_invoice_id: Option<InvoiceId>,
    pub approved_by: Option<UserId>,
    pub approved_at: Option<NaiveDateTime>,
    /// `panel`, `api` or `cli`.
    pub source: String,
    /// Who uploaded it (`user:<id>` or `apikey:<id>`): the preparer, who may not approve it.
    pub created_by: Option<Actor>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// One entry of an invoice's timeline.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = invoice_events)]
pub struct InvoiceEvent {
    pub id: InvoiceEventId,
    /// Typed ids read back checked: text that is no id is an error, not a row.
    pub invoice_id: InvoiceId,
    pub client_id: ClientId,
    pub at: NaiveDateTime,
    pub state: InvoiceState,
    pub actor: Actor,
    pub note: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = invoice_events, treat_none_as_default_value = false)]
struct NewInvoiceEvent<'a> {
    id: InvoiceEventId,
    invoice_id: &'a InvoiceId,
    client_id: &'a ClientId,
    at: NaiveDateTime,
    state: InvoiceState,
    actor: &'a Actor,
    note: Option<&'a str>,
}

/// What one timeline entry records: (invoice id, client id, when, the state, the note).
type Step<'a> = (&'a InvoiceId, &'a ClientId, NaiveDateTime, InvoiceState, Option<&'a str>);

/// Timeline entries of `actor`, each with a new id: the one way entries are made, alone or many
/// at once.
fn new_events<'a>(actor: &'a Actor, steps: impl IntoIterator<Item = Step<'a>>) -> Vec<NewInvoiceEvent<'a>> {
    steps
        .into_iter()
        .map(|(invoice_id, client_id, at, state, note)| NewInvoiceEvent {
            id: InvoiceEventId::new(),
            invoice_id,
            client_id,
            at,
            state,
            actor,
            note,
        })
        .collect()
}

/// Applies a client scope to a boxed invoices query.
macro_rules! scoped {
    ($query:expr, $scope:expr) => {
        match $scope {
            ClientScope::All => $query,
            ClientScope::Only(ids) => $query.filter(invoices::client_id.eq_any(ids.clone())),
        }
    };
}

impl Invoice {
    /// A new invoice of `client_id` (its bytes hash to `sha256`), made at `at` in `state`, with
    /// nothing decided or sent yet and no facts read: the caller fills in what it knows with
    /// `Invoice { number, ..Invoice::new(..) }` and stores it with [`Invoice::insert`].
    pub fn new(
        client_id: ClientId,
        sha256: String,
        size_bytes: i64,
        state: InvoiceState,
        source: &str,
        at: NaiveDateTime,
    ) -> Self {
        Self {
            id: InvoiceId::new(),
            client_id,
            sha256,
            size_bytes,
            number: None,
            issue_date: None,
            invoice_type: None,
            seller_nip: None,
            buyer_nip: None,
            buyer_name: None,
            currency: None,
            gross_total: None,
            gross_minor: None,
            state,
            offline_mode: false,
            offline_deadline: None,
            ksef_number: None,
            session_reference: None,
            invoice_reference: None,
            ksef_status_code: None,
            ksef_status_description: None,
            findings: "[]".to_owned(),
            corrects_invoice_id: None,
            approved_by: None,
            approved_at: None,
            source: source.to_owned(),
            created_by: None,
            created_at: at,
            updated_at: at,
        }
    }

    /// Stores a new invoice, its exact bytes and the first timeline entry.
    pub fn insert(conn: &mut AnyConn, row: &Invoice, xml: &[u8], actor: &Actor) -> Result<(), DbError> {
        diesel::insert_into(invoices::table).values(row).execute(conn)?;
        diesel::insert_into(invoice_documents::table)
            .values((invoice_documents::invoice_id.eq(&row.id), invoice_documents::xml.eq(xml)))
            .execute(conn)?;
        add_event(conn, &row.id, &row.client_id, row.created_at, row.state, actor, None)
    }

    /// Stores many new invoices (one upload): like [`Invoice::insert`] for each, as multi-row
    /// statements of 500 rows (29 bound columns each: within both backends' limits).
    pub fn insert_many(conn: &mut AnyConn, rows: &[(&Invoice, &[u8])], actor: &Actor) -> Result<(), DbError> {
        for chunk in rows.chunks(500) {
            let invoices_rows: Vec<&Invoice> = chunk.iter().map(|(r, _)| *r).collect();
            let documents: Vec<_> = chunk
                .iter()
                .map(|(r, xml)| (invoice_documents::invoice_id.eq(&r.id), invoice_documents::xml.eq(*xml)))
                .collect();
            let events = new_events(
                actor,
                chunk.iter().map(|(r, _)| (&r.id, &r.client_id, r.created_at, r.state, None)),
            );
            each_backend!(&mut *conn, |c| {
                diesel::insert_into(invoices::table).values(invoices_rows).execute(c)?;
                diesel::insert_into(invoice_documents::table).values(documents).execute(c)?;
                diesel::insert_into(invoice_events::table).values(events).execute(c)?;
            });
        }
        Ok(())
    }

    /// Invoices issued offline and not yet in KSeF (waiting or on their way) whose legal
    /// deadline ends before `before`, soonest first, with their client's NIP.
    pub fn offline_due(
        conn: &mut AnyConn,
        scope: &ClientScope,
        before: NaiveDateTime,
        limit: i64,
    ) -> Result<Vec<(Self, Nip)>, DbError> {
        let query = invoices::table
            .inner_join(clients::table)
            .filter(invoices::offline_mode.eq(true))
            .filter(invoices::state.eq_any(OFFLINE_DUE))
            .filter(invoices::offline_deadline.lt(before))
            .into_boxed();
        Ok(scoped!(query, scope)
            .order(invoices::offline_deadline.asc())
            .limit(limit)
            .select((Self::as_select(), clients::nip))
            .load(conn)?)
    }

    /// How many invoices [`Invoice::offline_due`] would list without its limit.
    pub fn count_offline_due(
        conn: &mut AnyConn,
        scope: &ClientScope,
        before: NaiveDateTime,
    ) -> Result<i64, DbError> {
        let query = invoices::table
            .filter(invoices::offline_mode.eq(true))
            .filter(invoices::state.eq_any(OFFLINE_DUE))
            .filter(invoices::offline_deadline.lt(before))
            .into_boxed();
        Ok(scoped!(query, scope).count().get_result(conn)?)
    }

    /// The invoice with this id, if the scope lets the caller see it.
    pub fn find(conn: &mut AnyConn, scope: &ClientScope, id: &InvoiceId) -> Result<Option<Self>, DbError> {
        let query = invoices::table.filter(invoices::id.eq(id)).into_boxed();
        Ok(scoped!(query, scope).select(Self::as_select()).first(conn).optional()?)
    }

    /// The invoices with these ids that the scope lets the caller see, in no particular order; a
    /// missing or foreign id is simply absent.
    pub fn find_many(
        conn: &mut AnyConn,
        scope: &ClientScope,
        ids: &[InvoiceId],
    ) -> Result<Vec<Self>, DbError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(super::ids_per_statement(conn)) {
            let query = invoices::table.filter(invoices::id.eq_any(chunk)).into_boxed();
            out.extend(scoped!(query, scope).select(Self::as_select()).load(conn)?);
        }
        Ok(out)
    }

    /// Moves every one of `invoices` from one of the `from` states to `to`, one UPDATE per 500
    /// invoices and the timeline entries as multi-row inserts. False, with the entries not
    /// written, when one is no longer in `from` (someone changed it meanwhile): the caller rolls
    /// back. A move the state table does not allow is refused before anything is written.
    pub fn transition_all(
        conn: &mut AnyConn,
        invoices: &[Invoice],
        from: &[InvoiceState],
        to: InvoiceState,
        actor: &Actor,
        note: Option<&str>,
    ) -> Result<bool, DbError> {
        check_moves(from, to)?;
        let now = super::ids::now();
        let mut ids: Vec<&InvoiceId> = invoices.iter().map(|inv| &inv.id).collect();
        ids.sort_unstable();
        ids.dedup();
        let changed = match conn {
            AnyConn::Pg(pg) => move_locked_pg(pg, &ids, from, to, now)?,
            AnyConn::Sqlite(_) => {
                // In-process and one writer at a time: no locks to order; 500 ids a statement
                // stay under SQLite's bound-parameter limit.
                let mut changed = 0;
                for chunk in ids.chunks(500) {
                    changed += diesel::update(
                        invoices::table
                            .filter(invoices::id.eq_any(chunk))
                            .filter(invoices::state.eq_any(from)),
                    )
                    .set((invoices::state.eq(to), invoices::updated_at.eq(now)))
                    .execute(conn)?;
                }
                changed
            }
        };
        if changed != ids.len() {
            return Ok(false);
        }
        let entries: Vec<_> = invoices.iter().map(|inv| (&inv.id, &inv.client_id, note)).collect();
        add_timeline(conn, &entries, now, to, actor)?;
        Ok(true)
    }

    /// Removes an invoice nobody decided on yet (in one of `undecided`), with its bytes and
    /// timeline. False, with nothing removed, when it has moved on meanwhile. An invoice that
    /// a correction points at stays (the caller refuses that first).
    pub fn delete_undecided(
        conn: &mut AnyConn,
        id: &InvoiceId,
        undecided: &[InvoiceState],
    ) -> Result<bool, DbError> {
        let still = || invoices::table.filter(invoices::id.eq(id)).filter(invoices::state.eq_any(undecided));
        if !diesel::select(diesel::dsl::exists(still())).get_result::<bool>(conn)? {
            return Ok(false);
        }
        diesel::delete(invoice_events::table.filter(invoice_events::invoice_id.eq(id))).execute(conn)?;
        diesel::delete(invoice_documents::table.filter(invoice_documents::invoice_id.eq(id)))
            .execute(conn)?;
        Ok(diesel::delete(still()).execute(conn)? == 1)
    }

    /// True when another invoice is a correction of this one.
    pub fn is_corrected(conn: &mut AnyConn, id: &InvoiceId) -> Result<bool, DbError> {
        let corrections = invoices::table.filter(invoices::corrects_invoice_id.eq(id));
        Ok(diesel::select(diesel::dsl::exists(corrections)).get_result(conn)?)
    }

    /// Like [`Invoice::get`], with its client's NIP read in the same statement (an API read by
    /// id shows it: one round trip less on PostgreSQL).
    pub fn get_with_nip(
        conn: &mut AnyConn,
        scope: &ClientScope,
        id: &InvoiceId,
    ) -> Result<(Self, Nip), DbError> {
        let query = invoices::table.inner_join(clients::table).filter(invoices::id.eq(id)).into_boxed();
        scoped!(query, scope)
            .select((Self::as_select(), clients::nip))
            .first(conn)
            .optional()?
            .ok_or(DbError::NotFound)
    }

    /// Like [`Invoice::find`], with a missing (or foreign) invoice as `NotFound`.
    pub fn get(conn: &mut AnyConn, scope: &ClientScope, id: &InvoiceId) -> Result<Self, DbError> {
        Self::find(conn, scope, id)?.ok_or(DbError::NotFound)
    }

    /// Counts of the client's invoices per state.
    pub fn count_by_state(
        conn: &mut AnyConn,
        client_id: &ClientId,
    ) -> Result<Vec<(InvoiceState, i64)>, DbError> {
        Ok(invoices::table
            .filter(invoices::client_id.eq(client_id))
            .group_by(invoices::state)
            .select((invoices::state, diesel::dsl::count_star()))
            .load(conn)?)
    }

    /// The exact bytes of many invoices, in the order of `ids`; a missing one is `NotFound`.
    /// The caller has already found the invoices in its scope.
    pub fn documents(conn: &mut AnyConn, ids: &[InvoiceId]) -> Result<Vec<Vec<u8>>, DbError> {
        let mut by_id = std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(super::ids_per_statement(conn)) {
            let rows: Vec<(InvoiceId, Vec<u8>)> = invoice_documents::table
                .filter(invoice_documents::invoice_id.eq_any(chunk))
                .select((invoice_documents::invoice_id, invoice_documents::xml))
                .load(conn)?;
            by_id.extend(rows);
        }
        ids.iter().map(|id| by_id.remove(id).ok_or(DbError::NotFound)).collect()
    }

    /// The exact bytes of an invoice (the caller has already found the invoice in its scope).
    pub fn document(conn: &mut AnyConn, invoice_id: &InvoiceId) -> Result<Vec<u8>, DbError> {
        Ok(invoice_documents::table.find(invoice_id).select(invoice_documents::xml).first(conn)?)
    }

    /// The newest UPO stored for the invoice.
    pub fn upo(conn: &mut AnyConn, invoice_id: &InvoiceId) -> Result<Option<Vec<u8>>, DbError> {
        Ok(upos::table
            .filter(upos::invoice_id.eq(invoice_id))
            .order(upos::fetched_at.desc())
            .select(upos::xml)
            .first(conn)
            .optional()?)
    }

    /// The timeline, oldest first.
    pub fn events(conn: &mut AnyConn, invoice_id: &InvoiceId) -> Result<Vec<InvoiceEvent>, DbError> {
        Ok(invoice_events::table
            .filter(invoice_events::invoice_id.eq(invoice_id))
            .order((invoice_events::at.asc(), invoice_events::id.asc()))
            .select(InvoiceEvent::as_select())
            .load(conn)?)
    }

    /// Invoices of this client that hold any of these numbers and are stored or sent (not
    /// invalid or rejected): one query for a whole upload's duplicate check.
    pub fn live_with_numbers(
        conn: &mut AnyConn,
        client_id: &ClientId,
        numbers: &[&str],
    ) -> Result<Vec<Self>, DbError> {
        if let AnyConn::Pg(pg) = conn {
            use diesel::sql_types::{Array, Text};
            let mut numbers = numbers.to_vec();
            numbers.sort_unstable();
            numbers.dedup();
            let dead: Vec<&str> = InvoiceState::DEAD.iter().map(|s| s.as_str()).collect();
            return Ok(diesel::sql_query(LIVE_WITH_NUMBERS_PG)
                .bind::<Text, _>(client_id)
                .bind::<Array<Text>, _>(numbers)
                .bind::<Array<Text>, _>(dead)
                .load(pg)?);
        }
        let mut out = Vec::new();
        // Bounded IN lists: SQLite limits bound parameters per statement.
        for chunk in numbers.chunks(500) {
            out.extend(
                invoices::table
                    .filter(invoices::client_id.eq(client_id))
                    .filter(invoices::number.eq_any(chunk))
                    .filter(invoices::state.ne_all(InvoiceState::DEAD))
                    .select(Self::as_select())
                    .load(conn)?,
            );
        }
        Ok(out)
    }

    /// The client's invoice with this KSeF number, if any (corrections link to it).
    pub fn find_by_ksef_number(
        conn: &mut AnyConn,
        client_id: &ClientId,
        ksef_number: &str,
    ) -> Result<Option<Self>, DbError> {
        Ok(invoices::table
            .filter(invoices::client_id.eq(client_id))
            .filter(invoices::ksef_number.eq(ksef_number))
            .select(Self::as_select())
            .first(conn)
            .optional()?)
    }

    /// Marks the invoice as changed at `at` only if it is still in `state`, taking its row lock:
    /// a step that keeps the state (an approver's return) cannot land after a concurrent move.
    /// Returns false when the invoice had left `state`.
    pub fn touch_in_state(
        conn: &mut AnyConn,
        id: &InvoiceId,
        state: InvoiceState,
        at: NaiveDateTime,
    ) -> Result<bool, DbError> {
        let n = diesel::update(invoices::table.filter(invoices::id.eq(id)).filter(invoices::state.eq(state)))
            .set(invoices::updated_at.eq(at))
            .execute(conn)?;
        Ok(n == 1)
    }

    /// Moves an invoice to `to` only if it is still in `from` (so two deciders cannot both move
    /// it), recording the timeline entry. Returns false when it was no longer in `from`. A move
    /// the state table does not allow is refused before anything is written.
    pub fn transition(
        conn: &mut AnyConn,
        id: &InvoiceId,
        from: &[InvoiceState],
        to: InvoiceState,
        actor: &Actor,
        note: Option<&str>,
    ) -> Result<bool, DbError> {
        check_moves(from, to)?;
        let now = super::ids::now();
        if !move_state(conn, id, from, to, now)? {
            return Ok(false);
        }
        let client_id: ClientId = invoices::table.find(id).select(invoices::client_id).first(conn)?;
        add_event(conn, id, &client_id, now, to, actor, note)?;
        Ok(true)
    }

    /// Marks invoices of one decision as issued offline, with the legal deadline for sending
    /// them to KSeF.
    pub fn mark_all_offline(
        conn: &mut AnyConn,
        ids: &[&InvoiceId],
        deadline: NaiveDateTime,
    ) -> Result<(), DbError> {
        for chunk in ids.chunks(super::ids_per_statement(conn)) {
            diesel::update(invoices::table.filter(invoices::id.eq_any(chunk)))
                .set((invoices::offline_mode.eq(true), invoices::offline_deadline.eq(Some(deadline))))
                .execute(conn)?;
        }
        Ok(())
    }

    /// Records the second person's approval (four-eyes) on a draft.
    pub fn approve(
        conn: &mut AnyConn,
        id: &InvoiceId,
        user_id: &UserId,
        actor: &Actor,
    ) -> Result<bool, DbError> {
        let (from, to) = (InvoiceState::Draft, InvoiceState::Approved);
        check_moves(&[from], to)?;
        let now = super::ids::now();
        let changed =
            diesel::update(invoices::table.filter(invoices::id.eq(id)).filter(invoices::state.eq(from)))
                .set((
                    invoices::state.eq(to),
                    invoices::approved_by.eq(Some(user_id)),
                    invoices::approved_at.eq(Some(now)),
                    invoices::updated_at.eq(now),
                ))
                .execute(conn)?;
        if changed == 0 {
            return Ok(false);
        }
        let client_id: ClientId = invoices::table.find(id).select(invoices::client_id).first(conn)?;
        add_event(conn, id, &client_id, now, to, actor, None)?;
        Ok(true)
    }
}

/// [`Invoice::transition_all`] on PostgreSQL, one statement for every invoice. The rows are
/// locked in id order first, as every multi-row move locks them (a bare multi-row UPDATE locks
/// in whatever order its plan visits them), so two transactions moving overlapping sets wait
/// for each other instead of deadlocking; then those still in `from` move. Was a row-lock
/// SELECT and an UPDATE per 500 invoices: forty round trips for a 10 000-invoice decision.
const MOVE_LOCKED_PG: &str = "UPDATE invoices SET state = $1, updated_at = $2 \
     FROM (SELECT id FROM invoices WHERE id = ANY($3::text[]) ORDER BY id FOR UPDATE) AS locked \
     WHERE invoices.id = locked.id AND invoices.state = ANY($4::text[])";

/// Runs [`MOVE_LOCKED_PG`]: how many invoices moved.
fn move_locked_pg(
    pg: &mut diesel::PgConnection,
    ids: &[&InvoiceId],
    from: &[InvoiceState],
    to: InvoiceState,
    now: NaiveDateTime,
) -> Result<usize, DbError> {
    use diesel::sql_types::{Array, Text, Timestamp};
    let ids: Vec<&str> = ids.iter().map(|id| id.as_str()).collect();
    let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    Ok(diesel::sql_query(MOVE_LOCKED_PG)
        .bind::<Text, _>(to.as_str())
        .bind::<Timestamp, _>(now)
        .bind::<Array<Text>, _>(ids)
        .bind::<Array<Text>, _>(from)
        .execute(pg)?)
}

/// Sets the state of an invoice still in one of `from` (the guard that keeps two writers from
/// both moving it); false when it no longer was.
fn move_state(
    conn: &mut AnyConn,
    id: &InvoiceId,
    from: &[InvoiceState],
    to: InvoiceState,
    now: NaiveDateTime,
) -> Result<bool, DbError> {
    let changed =
        diesel::update(invoices::table.filter(invoices::id.eq(id)).filter(invoices::state.eq_any(from)))
            .set((invoices::state.eq(to), invoices::updated_at.eq(now)))
            .execute(conn)?;
    Ok(changed > 0)
}

/// Appends the same step to many invoices' timelines, each `(invoice id, client id, note)`;
/// on PostgreSQL 500 entries per statement.
pub fn add_timeline(
    conn: &mut AnyConn,
    entries: &[(&InvoiceId, &ClientId, Option<&str>)],
    at: NaiveDateTime,
    state: InvoiceState,
    actor: &Actor,
) -> Result<(), DbError> {
    if let (AnyConn::Pg(pg), 2..) = (&mut *conn, entries.len()) {
        return add_timeline_pg(pg, entries, at, state, actor);
    }
    let events = new_events(
        actor,
        entries.iter().map(|&(invoice_id, client_id, note)| (invoice_id, client_id, at, state, note)),
    );
    insert_rows!(conn, invoice_events::table, events, 500);
    Ok(())
}

/// [`add_timeline`] of many entries on PostgreSQL: one statement whatever their number, the
/// columns that differ bound as arrays. A multi-row VALUES of 500 rows binds 3 500 parameters that
/// PostgreSQL parses and plans anew each time (diesel does not cache statements of varying
/// shape): a 10 000-invoice decision spent more time on that than on the rows.
const ADD_TIMELINE_PG: &str =
    "INSERT INTO invoice_events (id, invoice_id, client_id, note, at, state, actor) \
     SELECT v.id, v.invoice_id, v.client_id, v.note, $5, $6, $7 \
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS v(id, invoice_id, client_id, note)";

fn add_timeline_pg(
    pg: &mut diesel::PgConnection,
    entries: &[(&InvoiceId, &ClientId, Option<&str>)],
    at: NaiveDateTime,
    state: InvoiceState,
    actor: &Actor,
) -> Result<(), DbError> {
    use diesel::sql_types::{Array, Nullable, Text, Timestamp};
    let ids: Vec<InvoiceEventId> = entries.iter().map(|_| InvoiceEventId::new()).collect();
    diesel::sql_query(ADD_TIMELINE_PG)
        .bind::<Array<Text>, _>(ids.iter().map(InvoiceEventId::as_str).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(entries.iter().map(|e| e.0.as_str()).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(entries.iter().map(|e| e.1.as_str()).collect::<Vec<_>>())
        .bind::<Array<Nullable<Text>>, _>(entries.iter().map(|e| e.2).collect::<Vec<_>>())
        .bind::<Timestamp, _>(at)
        .bind::<Text, _>(state.as_str())
        .bind::<Text, _>(actor)
        .execute(pg)?;
    Ok(())
}

/// Appends one timeline entry.
pub fn add_event(
    conn: &mut AnyConn,
    invoice_id: &InvoiceId,
    client_id: &ClientId,
    at: NaiveDateTime,
    state: InvoiceState,
    actor: &Actor,
    note: Option<&str>,
) -> Result<(), DbError> {
    add_timeline(conn, &[(invoice_id, client_id, note)], at, state, actor)
}
