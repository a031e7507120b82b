//! UPOs (official receipts) as KSeF issued them, byte for byte.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::upos;
use crate::db::{AnyConn, DbError};
use crate::domain::{ClientId, InvoiceId, KsefSessionId, UpoId};

/// A stored UPO.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = upos)]
pub struct Upo {
    pub id: UpoId,
    pub client_id: ClientId,
    pub invoice_id: Option<InvoiceId>,
    pub ksef_session_id: Option<KsefSessionId>,
    pub sha256: String,
    pub xml: Vec<u8>,
    pub fetched_at: NaiveDateTime,
}

/// A UPO to store.
#[derive(Debug, Insertable)]
#[diesel(table_name = upos)]
pub struct NewUpo<'a> {
    pub id: &'a UpoId,
    pub client_id: &'a ClientId,
    pub invoice_id: Option<&'a InvoiceId>,
    pub ksef_session_id: Option<&'a KsefSessionId>,
    /// Base64 SHA-256 of `xml`.
    pub sha256: &'a str,
    pub xml: &'a [u8],
    pub fetched_at: NaiveDateTime,
}

impl Upo {
    /// Stores many UPOs (a processed batch); on PostgreSQL 100 per statement.
    pub fn insert_many(conn: &mut AnyConn, rows: &[NewUpo<'_>]) -> Result<(), DbError> {
        // A UPO is a few kilobytes: 100 keep a statement small.
        insert_rows!(conn, upos::table, rows, 100);
        Ok(())
    }

    /// The newest UPO of an invoice.
    pub fn for_invoice(conn: &mut AnyConn, invoice_id: &InvoiceId) -> Result<Option<Self>, DbError> {
        Ok(upos::table
            .filter(upos::invoice_id.eq(invoice_id))
            .order(upos::fetched_at.desc())
            .select(Self::as_select())
            .first(conn)
            .optional()?)
    }
}
