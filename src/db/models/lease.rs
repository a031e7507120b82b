//! Per-client sender leases: at most one sender per NIP across every gateway process sharing the
//! database. Taking a lease is one conditional upsert, so two processes racing for a free or an
//! expired lease cannot both win: PostgreSQL serialises the conflicting rows, SQLite has one writer.

use chrono::NaiveDateTime;
use diesel::sql_types::{Text, Timestamp};
use diesel::RunQueryDsl;

use crate::db::{AnyConn, DbError};
use crate::domain::ClientId;

// Insert the lease, or take it over when it expired or is already ours. The WHERE on DO UPDATE
// makes the row count the verdict: 1 = we hold it, 0 = someone else does.
const ACQUIRE_PG: &str = "INSERT INTO sender_leases (client_id, holder, acquired_at, expires_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (client_id) DO UPDATE \
     SET holder = excluded.holder, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at \
     WHERE sender_leases.expires_at < excluded.acquired_at OR sender_leases.holder = excluded.holder";
const ACQUIRE_SQLITE: &str = "INSERT INTO sender_leases (client_id, holder, acquired_at, expires_at) \
     VALUES (?, ?, ?, ?) ON CONFLICT (client_id) DO UPDATE \
     SET holder = excluded.holder, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at \
     WHERE sender_leases.expires_at < excluded.acquired_at OR sender_leases.holder = excluded.holder";

/// Takes (or re-takes) the lease on `client_id` until `expires_at`. True when `holder` now holds it.
pub fn acquire(
    conn: &mut AnyConn,
    client_id: &ClientId,
    holder: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> Result<bool, DbError> {
    let n = match conn {
        AnyConn::Pg(c) => diesel::sql_query(ACQUIRE_PG)
            .bind::<Text, _>(client_id)
            .bind::<Text, _>(holder)
            .bind::<Timestamp, _>(now)
            .bind::<Timestamp, _>(expires_at)
            .execute(c)?,
        AnyConn::Sqlite(c) => diesel::sql_query(ACQUIRE_SQLITE)
            .bind::<Text, _>(client_id)
            .bind::<Text, _>(holder)
            .bind::<Timestamp, _>(now)
            .bind::<Timestamp, _>(expires_at)
            .execute(c)?,
    };
    Ok(n == 1)
}

/// Extends a lease we hold. False when it is no longer ours (it expired and was taken over).
pub fn renew(
    conn: &mut AnyConn,
    client_id: &ClientId,
    holder: &str,
    expires_at: NaiveDateTime,
) -> Result<bool, DbError> {
    use crate::db::schema::sender_leases as l;
    use diesel::prelude::*;
    let n = diesel::update(l::table.filter(l::client_id.eq(client_id)).filter(l::holder.eq(holder)))
        .set(l::expires_at.eq(expires_at))
        .execute(conn)?;
    Ok(n == 1)
}

/// Gives a lease up (only if we still hold it).
pub fn release(conn: &mut AnyConn, client_id: &ClientId, holder: &str) -> Result<(), DbError> {
    use crate::db::schema::sender_leases as l;
    use diesel::prelude::*;
    diesel::delete(l::table.filter(l::client_id.eq(client_id)).filter(l::holder.eq(holder))).execute(conn)?;
    Ok(())
}
