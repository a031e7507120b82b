//! UPOs (official receipts) as KSeF issued them, byte for byte.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::upos;
use crate::db::{AnyConn, DbError};

/// A stored UPO.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = upos)]
pub struct Upo {
    pub id: String,
    pub client_id: String,
    pub invoice_id: Option<String>,
    pub ksef_session_id: Option<String>,
    pub sha256: String,
    pub xml: Vec<u8>,
    pub fetched_at: NaiveDateTime,
}

/// A UPO to store.
#[derive(Debug, Insertable)]
#[diesel(table_name = upos)]
pub struct NewUpo<'a> {
    pub id: &'a str,
    pub client_id: &'a str,
    pub invoice_id: Option<&'a str>,
    pub ksef_session_id: Option<&'a str>,
    /// Base64 SHA-256 of `xml`.
    pub sha256: &'a str,
    pub xml: &'a [u8],
    pub fetched_at: NaiveDateTime,
}

impl Upo {
    pub fn insert(conn: &mut AnyConn, row: &NewUpo<'_>) -> Result<(), DbError> {
        diesel::insert_into(upos::table).values(row).execute(conn)?;
        Ok(())
    }

    /// Stores many UPOs (a processed batch); on PostgreSQL 100 per statement.
    pub fn insert_many(conn: &mut AnyConn, rows: &[NewUpo<'_>]) -> Result<(), DbError> {
        let AnyConn::Pg(pg) = conn else {
            for row in rows {
                Self::insert(conn, row)?;
            }
            return Ok(());
        };
        // A UPO is a few kilobytes: 100 keep a statement small.
        for chunk in rows.chunks(100) {
            diesel::insert_into(upos::table).values(chunk).execute(pg)?;
        }
        Ok(())
    }

    /// The newest UPO of an invoice.
    pub fn for_invoice(conn: &mut AnyConn, invoice_id: &str) -> Result<Option<Self>, DbError> {
        Ok(upos::table
            .filter(upos::invoice_id.eq(invoice_id))
            .order(upos::fetched_at.desc())
            .select(Self::as_select())
            .first(conn)
            .optional()?)
    }
}
