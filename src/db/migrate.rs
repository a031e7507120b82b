//! Embedded migrations, one tree per backend with the same names, so the binary migrates any
//! database without files beside it and a missing twin shows up at once.

use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::{AnyConn, Db, DbError};

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Applies every pending migration; returns the versions applied now.
pub fn run_migrations(db: &Db) -> Result<Vec<String>, DbError> {
    db.blocking(|conn| {
        let applied = match conn {
            AnyConn::Sqlite(c) => c.run_pending_migrations(SQLITE).map(versions),
            AnyConn::Pg(c) => c.run_pending_migrations(POSTGRES).map(versions),
        };
        applied.map_err(|e| DbError::Migration(e.to_string()))
    })
}

/// Reverts every applied migration, newest first (used by the up/down/up test).
pub fn revert_all(db: &Db) -> Result<Vec<String>, DbError> {
    db.blocking(|conn| {
        let reverted = match conn {
            AnyConn::Sqlite(c) => c.revert_all_migrations(SQLITE).map(versions),
            AnyConn::Pg(c) => c.revert_all_migrations(POSTGRES).map(versions),
        };
        reverted.map_err(|e| DbError::Migration(e.to_string()))
    })
}

/// Reverts the newest applied migrations, newest first, until `version` (`2026-12-07-000013`)
/// is reverted too: a test writes rows the way the schema before it held them, then migrates
/// up again to see what the migration makes of them. Returns the versions reverted.
pub fn revert_to(db: &Db, version: &str) -> Result<Vec<String>, DbError> {
    let digits = |v: &str| v.chars().filter(char::is_ascii_digit).collect::<String>();
    let target = digits(version);
    if !applied_migrations(db)?.iter().any(|v| digits(v) == target) {
        return Err(DbError::Migration(format!("{version} is not applied")));
    }
    db.blocking(|conn| {
        let mut reverted = Vec::new();
        loop {
            let last = match &mut *conn {
                AnyConn::Sqlite(c) => c.revert_last_migration(SQLITE).map(|v| v.to_string()),
                AnyConn::Pg(c) => c.revert_last_migration(POSTGRES).map(|v| v.to_string()),
            }
            .map_err(|e| DbError::Migration(e.to_string()))?;
            let done = digits(&last) == target;
            reverted.push(last);
            if done {
                return Ok(reverted);
            }
        }
    })
}

/// Versions already applied to this database.
pub fn applied_migrations(db: &Db) -> Result<Vec<String>, DbError> {
    db.blocking(|conn| {
        let applied = match conn {
            AnyConn::Sqlite(c) => c.applied_migrations().map(versions),
            AnyConn::Pg(c) => c.applied_migrations().map(versions),
        };
        applied.map_err(|e| DbError::Migration(e.to_string()))
    })
}

fn versions<V: std::fmt::Display>(vs: Vec<V>) -> Vec<String> {
    vs.into_iter().map(|v| v.to_string()).collect()
}
