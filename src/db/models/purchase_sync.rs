//! The purchase sync's queries: where each client's sync stands and what it still has to fetch.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::purchase::{NewPurchaseSync, PurchaseInvoice, PurchaseSync};
use super::ClientScope;
use crate::db::schema::{clients, credentials, purchase_invoices, purchase_sync};
use crate::db::{AnyConn, DbError};
use crate::domain::{ClientId, PurchaseRole, PurchaseSyncId};

/// Credential kinds a client logs in to KSeF with.
const LOGIN_KINDS: [&str; 2] = ["ksef_token", "ksef_certificate"];

impl PurchaseSync {
    /// Clients the sync may work for now: not paused, with an active login credential.
    pub fn syncable_clients(conn: &mut AnyConn) -> Result<Vec<ClientId>, DbError> {
        Ok(clients::table
            .inner_join(credentials::table)
            .filter(clients::paused_reason.is_null())
            .filter(credentials::active.eq(true))
            .filter(credentials::kind.eq_any(LOGIN_KINDS))
            .select(clients::id)
            .distinct()
            .load(conn)?)
    }

    /// Every sync row of the clients in `scope`, by client and role.
    pub fn list(conn: &mut AnyConn, scope: &ClientScope) -> Result<Vec<Self>, DbError> {
        let mut q = purchase_sync::table.select(Self::as_select()).into_boxed();
        if let ClientScope::Only(ids) = scope {
            q = q.filter(purchase_sync::client_id.eq_any(ids.clone()));
        }
        Ok(q.order((purchase_sync::client_id.asc(), purchase_sync::subject_type.asc())).load(conn)?)
    }

    /// The client's row for `role`, created with the cursor at `start` on its first sync.
    pub fn get_or_create(
        conn: &mut AnyConn,
        client_id: &ClientId,
        role: PurchaseRole,
        start: NaiveDateTime,
        now: NaiveDateTime,
    ) -> Result<Self, DbError> {
        if let Some(row) = Self::find(conn, client_id, role)? {
            return Ok(row);
        }
        let row = NewPurchaseSync {
            id: PurchaseSyncId::new(),
            client_id: client_id.to_owned(),
            subject_type: role,
            cursor_from: start,
            hwm: None,
            next_run_at: now,
            last_run_at: None,
            last_error: None,
            last_checked_at: None,
            gap_count: 0,
            updated_at: now,
        };
        diesel::insert_into(purchase_sync::table).values(row).execute(conn)?;
        Self::find(conn, client_id, role)?.ok_or(DbError::NotFound)
    }

    pub fn find(
        conn: &mut AnyConn,
        client_id: &ClientId,
        role: PurchaseRole,
    ) -> Result<Option<Self>, DbError> {
        Ok(purchase_sync::table
            .filter(purchase_sync::client_id.eq(client_id))
            .filter(purchase_sync::subject_type.eq(role.as_str()))
            .select(Self::as_select())
            .first(conn)
            .optional()?)
    }

    /// Moves the cursor (and, when a window was closed, the complete-up-to mark). Call in the
    /// transaction that stores the window's invoices.
    pub fn advance(
        conn: &mut AnyConn,
        id: &PurchaseSyncId,
        cursor_from: NaiveDateTime,
        complete_to: Option<NaiveDateTime>,
        now: NaiveDateTime,
    ) -> Result<(), DbError> {
        let target = purchase_sync::table.find(id);
        match complete_to {
            Some(hwm) => diesel::update(target)
                .set((
                    purchase_sync::cursor_from.eq(cursor_from),
                    purchase_sync::hwm.eq(Some(hwm)),
                    purchase_sync::updated_at.eq(now),
                ))
                .execute(conn)?,
            None => diesel::update(target)
                .set((purchase_sync::cursor_from.eq(cursor_from), purchase_sync::updated_at.eq(now)))
                .execute(conn)?,
        };
        Ok(())
    }

    /// The end of a sync step: when to run again and what went wrong, if anything. A step that
    /// caught up with KSeF's high-water mark clears a gap the last re-check found (the re-sync
    /// of its window has run).
    pub fn finish_run(
        conn: &mut AnyConn,
        id: &PurchaseSyncId,
        next_run_at: NaiveDateTime,
        last_error: Option<&str>,
        caught_up: bool,
        now: NaiveDateTime,
    ) -> Result<(), DbError> {
        let target = purchase_sync::table.find(id);
        diesel::update(target)
            .set((
                purchase_sync::next_run_at.eq(next_run_at),
                purchase_sync::last_run_at.eq(Some(now)),
                purchase_sync::last_error.eq(last_error),
                purchase_sync::updated_at.eq(now),
            ))
            .execute(conn)?;
        if caught_up {
            diesel::update(target).set(purchase_sync::gap_count.eq(0)).execute(conn)?;
        }
        Ok(())
    }

    /// A completeness re-check's verdict; with a gap the cursor and the complete-up-to mark go
    /// back to `rewind_to` so the window is synced again.
    pub fn record_check(
        conn: &mut AnyConn,
        id: &PurchaseSyncId,
        gap_count: i64,
        rewind_to: Option<NaiveDateTime>,
        now: NaiveDateTime,
    ) -> Result<(), DbError> {
        let target = purchase_sync::table.find(id);
        diesel::update(target)
            .set((
                purchase_sync::gap_count.eq(gap_count),
                purchase_sync::last_checked_at.eq(Some(now)),
                purchase_sync::updated_at.eq(now),
            ))
            .execute(conn)?;
        if let Some(at) = rewind_to {
            diesel::update(target)
                .set((
                    purchase_sync::cursor_from.eq(at),
                    purchase_sync::hwm.eq(Some(at)),
                    purchase_sync::next_run_at.eq(now),
                ))
                .execute(conn)?;
        }
        Ok(())
    }

    /// Makes the client's rows due now (a person asked for a sync).
    pub fn make_due(conn: &mut AnyConn, client_id: &ClientId, now: NaiveDateTime) -> Result<(), DbError> {
        diesel::update(purchase_sync::table.filter(purchase_sync::client_id.eq(client_id)))
            .set(purchase_sync::next_run_at.eq(now))
            .execute(conn)?;
        Ok(())
    }
}

impl PurchaseInvoice {
    /// Known invoices of the client whose bytes are still to be fetched, oldest first:
    /// (KSeF number, KSeF's SHA-256).
    pub fn missing_xml(
        conn: &mut AnyConn,
        client_id: &ClientId,
        limit: i64,
    ) -> Result<Vec<(String, String)>, DbError> {
        Ok(purchase_invoices::table
            .filter(purchase_invoices::client_id.eq(client_id))
            .filter(purchase_invoices::xml_fetched_at.is_null())
            .order((purchase_invoices::permanent_storage_date.asc(), purchase_invoices::id.asc()))
            .select((purchase_invoices::ksef_number, purchase_invoices::invoice_hash))
            .limit(limit)
            .load(conn)?)
    }

    /// Stores the bytes of a known invoice that has none yet (an export package after the
    /// metadata query); the caller checked them against KSeF's hash.
    pub fn fill_xml(
        conn: &mut AnyConn,
        client_id: &ClientId,
        ksef_number: &str,
        xml: &[u8],
        at: NaiveDateTime,
    ) -> Result<(), DbError> {
        diesel::update(
            purchase_invoices::table
                .filter(purchase_invoices::client_id.eq(client_id))
                .filter(purchase_invoices::ksef_number.eq(ksef_number))
                .filter(purchase_invoices::xml_fetched_at.is_null()),
        )
        .set((purchase_invoices::xml.eq(xml), purchase_invoices::xml_fetched_at.eq(at)))
        .execute(conn)?;
        Ok(())
    }

    /// Clients with invoices whose bytes are still to be fetched.
    pub fn clients_missing_xml(conn: &mut AnyConn) -> Result<Vec<ClientId>, DbError> {
        Ok(purchase_invoices::table
            .filter(purchase_invoices::xml_fetched_at.is_null())
            .select(purchase_invoices::client_id)
            .distinct()
            .load(conn)?)
    }

    /// KSeF numbers stored for the client that reached permanent storage in `[from, to]`, under
    /// any role: an invoice naming the client in two roles is stored once, under the first role
    /// that found it, and is no gap when the other role's re-check lists it.
    pub fn numbers_between(
        conn: &mut AnyConn,
        client_id: &ClientId,
        from: NaiveDateTime,
        to: NaiveDateTime,
    ) -> Result<Vec<String>, DbError> {
        Ok(purchase_invoices::table
            .filter(purchase_invoices::client_id.eq(client_id))
            .filter(purchase_invoices::permanent_storage_date.ge(from))
            .filter(purchase_invoices::permanent_storage_date.le(to))
            .select(purchase_invoices::ksef_number)
            .load(conn)?)
    }

    /// Permanent-storage dates of the client's invoices of `role` (counted per month).
    pub fn storage_dates(
        conn: &mut AnyConn,
        client_id: &ClientId,
        role: PurchaseRole,
    ) -> Result<Vec<NaiveDateTime>, DbError> {
        Ok(purchase_invoices::table
            .filter(purchase_invoices::client_id.eq(client_id))
            .filter(purchase_invoices::subject_type.eq(role.as_str()))
            .select(purchase_invoices::permanent_storage_date)
            .load(conn)?)
    }

    /// How many of the client's invoices are stored, and how many of them with their bytes.
    pub fn counts(conn: &mut AnyConn, client_id: &ClientId) -> Result<(i64, i64), DbError> {
        let all = purchase_invoices::table
            .filter(purchase_invoices::client_id.eq(client_id))
            .count()
            .get_result(conn)?;
        let with_xml = purchase_invoices::table
            .filter(purchase_invoices::client_id.eq(client_id))
            .filter(purchase_invoices::xml_fetched_at.is_not_null())
            .count()
            .get_result(conn)?;
        Ok((all, with_xml))
    }
}
