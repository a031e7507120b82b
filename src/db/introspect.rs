//! What the live database says its tables look like, normalised to diesel's type names, so one
//! check can compare both backends with the committed `schema.rs`.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::{AnyConn, Db, DbError};

/// One column as the database reports it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ColumnInfo {
    pub table: String,
    pub column: String,
    /// diesel's name for the type (`Text`, `BigInt`, `Bool`, `Timestamp`, `Date`, `Binary`).
    pub sql_type: String,
    pub nullable: bool,
}

#[derive(QueryableByName)]
struct SqliteCol {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = BigInt)]
    not_null: i64,
}

#[derive(QueryableByName)]
struct PgCol {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
}

const SQLITE_COLUMNS: &str = "SELECT m.name AS table_name, p.name AS column_name, p.type AS data_type, \
     p.\"notnull\" AS not_null FROM sqlite_master m JOIN pragma_table_info(m.name) p \
     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '__diesel_schema_migrations'";
const PG_COLUMNS: &str = "SELECT table_name::text AS table_name, column_name::text AS column_name, \
     data_type::text AS data_type, is_nullable::text AS is_nullable FROM information_schema.columns \
     WHERE table_schema = current_schema() AND table_name <> '__diesel_schema_migrations'";

/// Every column of every application table, sorted.
pub fn columns(db: &Db) -> Result<Vec<ColumnInfo>, DbError> {
    db.blocking(|conn| {
        let mut cols: Vec<ColumnInfo> = match conn {
            AnyConn::Sqlite(c) => diesel::sql_query(SQLITE_COLUMNS)
                .load::<SqliteCol>(c)?
                .into_iter()
                .map(|r| ColumnInfo {
                    table: r.table_name,
                    column: r.column_name,
                    sql_type: normalise(&r.data_type),
                    nullable: r.not_null == 0,
                })
                .collect(),
            AnyConn::Pg(c) => diesel::sql_query(PG_COLUMNS)
                .load::<PgCol>(c)?
                .into_iter()
                .map(|r| ColumnInfo {
                    table: r.table_name,
                    column: r.column_name,
                    sql_type: normalise(&r.data_type),
                    nullable: r.is_nullable == "YES",
                })
                .collect(),
        };
        cols.sort();
        Ok(cols)
    })
}

/// Maps each backend's spelling of a type to the one diesel name both must agree on.
fn normalise(db_type: &str) -> String {
    match db_type.to_ascii_lowercase().as_str() {
        "text" | "character varying" => "Text",
        "bigint" | "int8" => "BigInt",
        "boolean" | "bool" => "Bool",
        "timestamp" | "timestamp without time zone" => "Timestamp",
        "date" => "Date",
        "blob" | "bytea" => "Binary",
        other => return format!("Unmapped({other})"),
    }
    .to_owned()
}
