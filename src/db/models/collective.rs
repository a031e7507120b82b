//! Collective identifiers (IZ) KSeF issued for a client's accepted invoices, and their invoices.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{collective_identifier_invoices as members, collective_identifiers as iz};
use crate::db::{AnyConn, DbError};
use crate::domain::{Actor, ClientId, CollectiveIdentifierId, CollectiveMemberId};

/// A collective identifier as stored.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = iz)]
pub struct CollectiveIdentifier {
    pub id: CollectiveIdentifierId,
    pub client_id: ClientId,
    pub number: String,
    pub invoice_count: i64,
    pub created_by: Actor,
    #[serde(serialize_with = "crate::local_time::rfc3339")]
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = iz)]
pub struct NewCollectiveIdentifier<'a> {
    pub id: &'a CollectiveIdentifierId,
    pub client_id: &'a ClientId,
    pub number: &'a str,
    pub invoice_count: i64,
    pub created_by: &'a Actor,
    pub created_at: NaiveDateTime,
}

/// One invoice of a collective identifier.
#[derive(Debug, Clone, Insertable, Queryable, Selectable)]
#[diesel(table_name = members)]
pub struct CollectiveMember {
    pub id: CollectiveMemberId,
    pub collective_identifier_id: CollectiveIdentifierId,
    pub invoice_id: crate::domain::InvoiceId,
    pub ksef_number: String,
    pub payment_amount: Option<String>,
    pub payment_currency: Option<String>,
    pub description: Option<String>,
}

impl CollectiveIdentifier {
    /// Stores the identifier with its invoices (inside the caller's transaction).
    pub fn insert(
        conn: &mut AnyConn,
        row: &NewCollectiveIdentifier<'_>,
        rows: &[CollectiveMember],
    ) -> Result<(), DbError> {
        diesel::insert_into(iz::table).values(row).execute(conn)?;
        insert_rows!(conn, members::table, rows, 500);
        Ok(())
    }

    /// The client's identifiers, newest first (at most `limit`).
    pub fn list_for_client(
        conn: &mut AnyConn,
        client_id: &ClientId,
        limit: i64,
    ) -> Result<Vec<Self>, DbError> {
        Ok(iz::table
            .filter(iz::client_id.eq(client_id))
            .order((iz::created_at.desc(), iz::number.desc()))
            .limit(limit)
            .select(Self::as_select())
            .load(conn)?)
    }

    /// The identifiers the invoice is in, newest first.
    pub fn for_invoice(
        conn: &mut AnyConn,
        invoice_id: &crate::domain::InvoiceId,
    ) -> Result<Vec<Self>, DbError> {
        Ok(iz::table
            .inner_join(members::table)
            .filter(members::invoice_id.eq(invoice_id))
            .order((iz::created_at.desc(), iz::number.desc()))
            .select(Self::as_select())
            .load(conn)?)
    }

    /// The KSeF numbers of the identifier's invoices.
    pub fn ksef_numbers(conn: &mut AnyConn, id: &CollectiveIdentifierId) -> Result<Vec<String>, DbError> {
        Ok(members::table
            .filter(members::collective_identifier_id.eq(id))
            .order(members::ksef_number.asc())
            .select(members::ksef_number)
            .load(conn)?)
    }
}
