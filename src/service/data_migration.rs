//! `migrate-data`: moving a gateway from one database to another (typically SQLite, where an
//! office starts, to PostgreSQL, where it runs several replicas).
//!
//! The rules: the target must be empty, so nothing is merged or overwritten; the source is
//! read as one snapshot; the copy is checked — per-table counts and the audit chain — on the
//! target before it is called a success. Sealed credentials are copied as stored: the same
//! master key must be configured for the servers on the new database.

use std::time::Duration;

use crate::db::transfer::{self, Counts, Progress};
use crate::db::{applied_migrations, run_migrations, Db, DbError, DbUrl};
use crate::service::audit::{self, ChainVerdict};

/// What a finished copy established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Rows per table, equal on source snapshot and target.
    pub counts: Counts,
    /// Audit events verified on the target.
    pub audit_events: u64,
    /// Migrations the target was brought to before the copy.
    pub migrations: usize,
}

/// Why a copy was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum DataMigrationError {
    /// The request itself is wrong (the operator must change an argument or the target).
    #[error("{0}")]
    Refused(String),
    /// The copy ran but the target does not match the source; the target must not be used.
    #[error("{0}")]
    Verification(String),
    #[error("{0}")]
    Db(#[from] DbError),
}

/// Copies everything from `from` into the empty database `to`, then verifies it.
pub fn migrate_data(
    from: &DbUrl,
    to: &DbUrl,
    pool_timeout: Duration,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<MigrationReport, DataMigrationError> {
    if from == to {
        return Err(DataMigrationError::Refused("--from and --to name the same database".into()));
    }
    if let DbUrl::Sqlite(path) = from {
        // Opening a missing SQLite file would create an empty one and "copy" nothing.
        if !path.is_file() {
            return Err(DataMigrationError::Refused(format!(
                "--from: SQLite database {} does not exist",
                path.display()
            )));
        }
    }
    let src = Db::connect(from, 1, pool_timeout)?;
    let dst = Db::connect(to, 1, pool_timeout)?;

    let occupied: Vec<String> = transfer::row_counts(&dst)?
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(t, n)| format!("{t} ({n} rows)"))
        .collect();
    if !occupied.is_empty() {
        return Err(DataMigrationError::Refused(format!(
            "--to: target database {} is not empty: {}; migrate-data only fills an empty database",
            dst.describe(),
            occupied.join(", ")
        )));
    }

    run_migrations(&dst)?;
    let target_level = applied_migrations(&dst)?;
    let source_level = applied_migrations(&src)?;
    if source_level != target_level {
        // Copying columns between different schema versions would drop or invent data.
        return Err(DataMigrationError::Refused(format!(
            "--from: source database is at {} migrations, this version of ksef-gateway at {}; run \
             `ksef-gateway migrate` against the source first",
            source_level.len(),
            target_level.len()
        )));
    }

    let snapshot = transfer::copy_all(&src, &dst, progress)?;

    let landed = transfer::row_counts(&dst)?;
    let mismatched: Vec<String> = snapshot
        .iter()
        .zip(&landed)
        .filter(|(a, b)| a != b)
        .map(|((t, want), (_, got))| format!("{t}: source {want}, target {got}"))
        .collect();
    if !mismatched.is_empty() {
        return Err(DataMigrationError::Verification(format!(
            "row counts differ after the copy: {}",
            mismatched.join("; ")
        )));
    }
    let audit_events = match dst.blocking(audit::verify)? {
        ChainVerdict::Intact { events } => events,
        ChainVerdict::Broken { seq, reason } => {
            return Err(DataMigrationError::Verification(format!(
                "audit trail on the target is BROKEN at event {seq}: {reason}"
            )))
        }
    };
    Ok(MigrationReport { counts: snapshot, audit_events, migrations: target_level.len() })
}
