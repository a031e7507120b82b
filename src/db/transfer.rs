//! Copying every table from one database to another, for `migrate-data` (SQLite → PostgreSQL).
//!
//! Rows are copied as they are stored: sealed credentials stay sealed (the copy never sees a
//! master key), hashes and audit links are untouched, so the chain verifies on the target.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Binary, Bool, Date, Nullable, Text, Timestamp};

use super::{schema, AnyConn, Backend, Db, DbError};

/// Rows read and written per round trip: small enough that a page of invoice documents stays
/// in memory comfortably and PostgreSQL's bind-parameter limit (65 535) is never near.
const PAGE: i64 = 500;

/// The Rust value each column type is carried in between the two databases.
trait Carried {
    type Value;
}
impl Carried for Text {
    type Value = String;
}
impl Carried for Binary {
    type Value = Vec<u8>;
}
impl Carried for BigInt {
    type Value = i64;
}
impl Carried for Bool {
    type Value = bool;
}
impl Carried for Timestamp {
    type Value = chrono::NaiveDateTime;
}
impl Carried for Date {
    type Value = chrono::NaiveDate;
}
impl<T: Carried + diesel::sql_types::SqlType> Carried for Nullable<T> {
    type Value = Option<T::Value>;
}
type ValueOf<C> = <<C as Expression>::SqlType as Carried>::Value;

/// How far the copy has got, for the progress line.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    pub table: &'a str,
    pub copied: u64,
    pub total: u64,
}

/// Generates, from one list, the table order and the per-table count and copy. Each entry names
/// the primary key (the copy pages by it) and every column; a column that refers to a row of
/// the same table (`then`) is filled in a second pass, because the order in which such rows
/// were inserted is not recoverable from the data. `tests/it/deploy_data.rs` checks that the
/// lists cover every column of the migrated schema, so a new column cannot be silently dropped.
macro_rules! transfer_tables {
    ($( $t:ident by $pk:ident [ $($col:ident),+ $(,)? ] $(then $later:ident)? ; )+) => {
        /// Every table, parents before children (the order rows must be inserted in).
        pub const TABLES: &[&str] = &[$(stringify!($t)),+];

        /// The columns each table is copied with, for the completeness check.
        pub fn copied_columns() -> Vec<(&'static str, Vec<&'static str>)> {
            vec![$((stringify!($t), vec![$(stringify!($col),)+ $(stringify!($later))?])),+]
        }

        fn count_table(conn: &mut AnyConn, table: &str) -> Result<i64, DbError> {
            match table {
                $(stringify!($t) => Ok(schema::$t::table.count().get_result::<i64>(conn)?),)+
                other => Err(DbError::Task(format!("unknown table {other}"))),
            }
        }

        fn copy_table(
            src: &mut AnyConn,
            dst: &mut AnyConn,
            table: &str,
            total: u64,
            progress: &mut dyn FnMut(Progress<'_>),
        ) -> Result<u64, DbError> {
            match table {
                $(stringify!($t) => {
                    use schema::$t as t;
                    type Row = ($(ValueOf<t::$col>,)+);
                    let mut after: Option<ValueOf<t::$pk>> = None;
                    let mut copied = 0u64;
                    loop {
                        let mut query = t::table
                            .select(($(t::$col,)+))
                            .order(t::$pk.asc())
                            .limit(PAGE)
                            .into_boxed();
                        if let Some(last) = after.take() {
                            query = query.filter(t::$pk.gt(last));
                        }
                        let rows: Vec<Row> = query.load(src)?;
                        if rows.is_empty() {
                            break;
                        }
                        let mut values = Vec::with_capacity(rows.len());
                        for ($($col,)+) in rows {
                            after = Some($pk.clone());
                            values.push(($(t::$col.eq($col),)+));
                        }
                        copied += values.len() as u64;
                        match dst {
                            // One statement per page; SQLite's driver takes one row per insert.
                            AnyConn::Pg(pg) => {
                                diesel::insert_into(t::table).values(values).execute(pg)?;
                            }
                            AnyConn::Sqlite(lite) => {
                                for row in values {
                                    diesel::insert_into(t::table).values(row).execute(lite)?;
                                }
                            }
                        }
                        progress(Progress { table, copied, total });
                    }
                    $(
                        let mut after: Option<ValueOf<t::$pk>> = None;
                        loop {
                            let mut query = t::table
                                .select((t::$pk, t::$later))
                                .filter(t::$later.is_not_null())
                                .order(t::$pk.asc())
                                .limit(PAGE)
                                .into_boxed();
                            if let Some(last) = after.take() {
                                query = query.filter(t::$pk.gt(last));
                            }
                            let links: Vec<(ValueOf<t::$pk>, ValueOf<t::$later>)> = query.load(src)?;
                            if links.is_empty() {
                                break;
                            }
                            for (key, link) in links {
                                diesel::update(t::table.filter(t::$pk.eq(&key)))
                                    .set(t::$later.eq(link))
                                    .execute(dst)?;
                                after = Some(key);
                            }
                        }
                    )?
                    Ok(copied)
                })+
                other => Err(DbError::Task(format!("unknown table {other}"))),
            }
        }
    };
}

transfer_tables! {
    clients by id [created_at, credential_mode, id, ksef_environment, name, nip, paused_reason, send_policy, updated_at];
    users by id [client_id, created_at, disabled, display_name, email, id, last_login_at, password_hash, role];
    user_sessions by id [created_at, expires_at, id, ip, revoked_at, user_id];
    list_visits by id [id, list_key, user_id, visited_at];
    grants by id [can_delegate, client_id, created_at, granted_by, id, permissions, revoked_at, revoked_by,
        user_id] then parent_grant_id;
    api_keys by id [client_id, created_at, created_by, expires_at, id, key_hash, last_used_at, name, prefix,
        revoked_at, scopes];
    credentials by id [active, ciphertext, client_id, created_at, created_by, fingerprint, id, key_version, kind,
        ksef_permissions, last_auth_error, last_auth_ok_at, nonce, retired_at, valid_until];
    office_credentials by id [active, ciphertext, created_at, created_by, fingerprint, id, key_version, kind,
        ksef_environment, last_auth_error, last_auth_ok_at, nonce, office_nip, retired_at, valid_until];
    office_access by client_id [checked_at, client_id, ksef_permissions, last_error, last_ok_at,
        office_credential_id];
    certificate_enrollments by id [certificate_type, client_id, created_at, created_by, error, finished_at, id,
        key_algorithm, key_ciphertext, key_nonce, key_version, ksef_environment, reference_number, serial_number,
        state, subject_nip];
    vault_canary by id [ciphertext, created_at, id, key_version, nonce];
    send_decisions by id [actor_id, actor_kind, client_id, created_at, id, invoice_count, invoice_hashes, offline,
        policy, source_ip];
    invoices by id [approved_at, approved_by, buyer_name, buyer_nip, client_id, created_at, created_by, currency,
        findings, gross_minor, gross_total, id, invoice_reference, invoice_type, issue_date, ksef_number, ksef_status_code,
        ksef_status_description, number, offline_deadline, offline_mode, seller_nip, session_reference, sha256,
        size_bytes, source, state, updated_at] then corrects_invoice_id;
    invoice_documents by invoice_id [invoice_id, xml];
    collective_identifiers by id [client_id, created_at, created_by, id, invoice_count, number];
    collective_identifier_invoices by id [collective_identifier_id, description, id, invoice_id, ksef_number,
        payment_amount, payment_currency];
    invoice_events by id [actor, at, client_id, id, invoice_id, kind, note, state];
    outbox by id [attempts, client_id, created_at, decision_id, id, invoice_id, last_error, next_attempt_at, status,
        updated_at];
    ksef_sessions by id [client_id, closed_at, id, invoice_count, kind, opened_at, reference, state, status_code,
        updated_at, valid_until, wrapped_key];
    upos by id [client_id, fetched_at, id, invoice_id, ksef_session_id, sha256, xml];
    purchase_invoices by id [acquisition_date, buyer_name, buyer_nip, client_id, currency, gross_amount, id,
        invoice_hash, invoice_number, invoice_type, issue_date, ksef_number, net_amount, permanent_storage_date,
        seller_name, seller_nip, subject_type, synced_at, vat_amount, xml, xml_fetched_at];
    purchase_sync by id [client_id, cursor_from, gap_count, hwm, id, last_checked_at, last_error, last_run_at,
        next_run_at, subject_type, updated_at];
    webhook_endpoints by id [active, client_id, created_at, created_by, deleted_at, events, id, secret_ciphertext,
        secret_key_version, secret_nonce, updated_at, url];
    webhook_deliveries by id [attempts, claimed_until, client_id, created_at, delivered_at, endpoint_id, event_id,
        event_type, id, last_error, last_status_code, next_attempt_at, payload, status, updated_at];
    sender_leases by client_id [acquired_at, client_id, expires_at, holder];
    audit_events by seq [action, actor_id, actor_kind, at, client_id, hash, id, payload, prev_hash, seq, subject];
}

/// Tables the copy leaves out because the target's own triggers fill them while the rows they
/// are derived from are copied (`invoice_totals` from `invoices`): copying them as well would
/// count every invoice twice.
pub const DERIVED: &[&str] = &["invoice_totals"];

/// Rows per table, in [`TABLES`] order.
pub type Counts = Vec<(&'static str, u64)>;

fn counts(conn: &mut AnyConn) -> Result<Counts, DbError> {
    TABLES.iter().map(|t| Ok((*t, u64::try_from(count_table(conn, t)?).unwrap_or(0)))).collect()
}

/// Rows per table as the database holds them now. Tables the schema does not have yet (a
/// target before its first migration) count as empty.
pub fn row_counts(db: &Db) -> Result<Counts, DbError> {
    let present: std::collections::BTreeSet<String> =
        super::introspect::columns(db)?.into_iter().map(|c| c.table).collect();
    db.blocking(|conn| {
        TABLES
            .iter()
            .map(|t| {
                let n = if present.contains(*t) { count_table(conn, t)? } else { 0 };
                Ok((*t, u64::try_from(n).unwrap_or(0)))
            })
            .collect()
    })
}

/// Copies every row of `src` into `dst` (which must be migrated and empty) and returns the
/// counts read. The source is read in one transaction, so the copy is one consistent snapshot
/// even while servers keep writing; the target is written in one transaction, so a failure
/// leaves it empty rather than half-filled.
pub fn copy_all(src: &Db, dst: &Db, progress: &mut dyn FnMut(Progress<'_>)) -> Result<Counts, DbError> {
    let source_backend = src.backend();
    src.blocking(|s| {
        s.transaction(|s| {
            if source_backend == Backend::Postgres {
                // One snapshot for every statement of the transaction, not one per statement.
                diesel::connection::SimpleConnection::batch_execute(
                    s,
                    "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY",
                )?;
            }
            let snapshot = counts(s)?;
            dst.blocking_tx(|d| {
                for (table, total) in &snapshot {
                    copy_table(s, d, table, *total, progress)?;
                }
                Ok(())
            })?;
            Ok::<_, DbError>(snapshot)
        })
    })
}
