//! SQLite's own backup: a consistent copy of a live database without stopping the server.

use std::path::Path;

use diesel::prelude::*;
use diesel::sql_types::Text;

use super::{AnyConn, Db, DbError};

#[derive(QueryableByName)]
struct CheckLine {
    #[diesel(sql_type = Text)]
    quick_check: String,
}

/// Writes a compacted copy of the SQLite database to `out` with `VACUUM INTO`, which reads in
/// one transaction: servers keep serving and the copy is one consistent moment (WAL included).
pub fn sqlite_backup(db: &Db, out: &Path) -> Result<(), DbError> {
    let target = out
        .to_str()
        .ok_or_else(|| DbError::Unavailable(format!("path {} is not valid UTF-8", out.display())))?
        .to_owned();
    db.blocking(move |conn| match conn {
        AnyConn::Sqlite(c) => {
            diesel::sql_query("VACUUM INTO ?").bind::<Text, _>(target).execute(c)?;
            Ok(())
        }
        AnyConn::Pg(_) => Err(DbError::Unavailable("VACUUM INTO is SQLite only".into())),
    })
}

/// SQLite's structural check of the file; `None` when it is sound, else what it found.
pub fn sqlite_damage(db: &Db) -> Result<Option<String>, DbError> {
    db.blocking(|conn| match conn {
        AnyConn::Sqlite(c) => {
            let lines: Vec<CheckLine> = diesel::sql_query("PRAGMA quick_check").load(c)?;
            let found: Vec<String> = lines.into_iter().map(|l| l.quick_check).filter(|l| l != "ok").collect();
            Ok((!found.is_empty()).then(|| found.join("; ")))
        }
        AnyConn::Pg(_) => Ok(None),
    })
}
