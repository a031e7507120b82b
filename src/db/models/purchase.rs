//! Purchase invoices (received by a client, synced from KSeF) and where each client's sync stands.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{purchase_invoices, purchase_sync};
use crate::db::{AnyConn, DbError};
use crate::domain::{ClientId, PurchaseInvoiceId, PurchaseRole, PurchaseSyncId};

/// A purchase invoice, as stored and as stored anew (every column is known when the sync stores
/// it). `xml` is `None` until its bytes are downloaded (KSeF's metadata, which makes the invoice
/// known and counted, may arrive before them).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = purchase_invoices)]
pub struct PurchaseInvoice {
    pub id: PurchaseInvoiceId,
    pub client_id: ClientId,
    pub subject_type: PurchaseRole,
    pub ksef_number: String,
    pub invoice_number: String,
    pub invoice_type: String,
    pub issue_date: NaiveDate,
    pub seller_nip: String,
    pub seller_name: Option<String>,
    pub buyer_nip: Option<String>,
    pub buyer_name: Option<String>,
    /// Minor units (grosze) of `currency`.
    pub net_amount: i64,
    pub vat_amount: i64,
    pub gross_amount: i64,
    pub currency: String,
    /// Base64 SHA-256 as KSeF reports it.
    pub invoice_hash: String,
    pub acquisition_date: NaiveDateTime,
    pub permanent_storage_date: NaiveDateTime,
    pub xml: Option<Vec<u8>>,
    pub xml_fetched_at: Option<NaiveDateTime>,
    pub synced_at: NaiveDateTime,
}

/// A purchase invoice to store: the row itself.
pub type NewPurchaseInvoice = PurchaseInvoice;

impl PurchaseInvoice {
    /// Stores the rows whose KSeF number the client does not have yet and returns the ids of
    /// those stored: a window seen twice (a resumed sync, an edge shared by two windows) stores
    /// each invoice once. Call inside the transaction that also moves the sync's cursor.
    pub fn insert_new(
        conn: &mut AnyConn,
        rows: Vec<NewPurchaseInvoice>,
    ) -> Result<Vec<PurchaseInvoiceId>, DbError> {
        let mut stored = Vec::with_capacity(rows.len());
        for row in rows {
            let id = row.id.clone();
            let inserted = match conn {
                AnyConn::Pg(pg) => diesel::insert_into(purchase_invoices::table)
                    .values(row)
                    .on_conflict((purchase_invoices::client_id, purchase_invoices::ksef_number))
                    .do_nothing()
                    .execute(pg)?,
                AnyConn::Sqlite(lite) => diesel::insert_into(purchase_invoices::table)
                    .values(row)
                    .on_conflict((purchase_invoices::client_id, purchase_invoices::ksef_number))
                    .do_nothing()
                    .execute(lite)?,
            };
            if inserted == 1 {
                stored.push(id);
            }
        }
        Ok(stored)
    }

    /// [`Self::insert_new`] for what the sync received, stamped with the moment of storing in
    /// commit order: on PostgreSQL, where several clients' turns store at once, the stores are
    /// serialised by a transaction-scoped advisory lock, so an ERP's `since=` cursor (which
    /// follows `synced_at`) never passes a row that commits later with an earlier stamp. SQLite
    /// has one writer at a time anyway.
    pub fn insert_received(
        conn: &mut AnyConn,
        mut rows: Vec<NewPurchaseInvoice>,
    ) -> Result<Vec<PurchaseInvoiceId>, DbError> {
        if let AnyConn::Pg(pg) = conn {
            diesel::sql_query("SELECT pg_advisory_xact_lock(7015421001)").execute(pg)?;
        }
        let now = crate::db::models::ids::now();
        for row in &mut rows {
            row.synced_at = now;
        }
        Self::insert_new(conn, rows)
    }

    /// Stores the exact bytes of a known invoice (the caller checked them against `invoice_hash`).
    pub fn set_xml(
        conn: &mut AnyConn,
        client_id: &ClientId,
        ksef_number: &str,
        xml: &[u8],
        at: NaiveDateTime,
    ) -> Result<bool, DbError> {
        let n = diesel::update(
            purchase_invoices::table
                .filter(purchase_invoices::client_id.eq(client_id))
                .filter(purchase_invoices::ksef_number.eq(ksef_number)),
        )
        .set((purchase_invoices::xml.eq(xml), purchase_invoices::xml_fetched_at.eq(at)))
        .execute(conn)?;
        Ok(n == 1)
    }

    /// One invoice of a client by its KSeF number.
    pub fn find(
        conn: &mut AnyConn,
        client_id: &ClientId,
        ksef_number: &str,
    ) -> Result<Option<Self>, DbError> {
        Ok(purchase_invoices::table
            .filter(purchase_invoices::client_id.eq(client_id))
            .filter(purchase_invoices::ksef_number.eq(ksef_number))
            .select(Self::as_select())
            .first(conn)
            .optional()?)
    }
}

/// Where one client's sync of one subject type stands.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = purchase_sync)]
pub struct PurchaseSync {
    pub id: PurchaseSyncId,
    pub client_id: ClientId,
    pub subject_type: PurchaseRole,
    /// The next window starts here.
    pub cursor_from: NaiveDateTime,
    /// Everything that reached KSeF's permanent storage up to here is stored: complete.
    pub hwm: Option<NaiveDateTime>,
    pub next_run_at: NaiveDateTime,
    pub last_run_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub last_checked_at: Option<NaiveDateTime>,
    /// Invoices KSeF lists that the last completeness check did not find stored.
    pub gap_count: i64,
    pub updated_at: NaiveDateTime,
}

/// A sync to start: the row itself.
pub type NewPurchaseSync = PurchaseSync;
