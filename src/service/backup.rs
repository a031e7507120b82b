//! `backup` and `restore` for a SQLite installation. PostgreSQL installations use `pg_dump`
//! and `pg_restore` (docs/OPERATIONS.md), which do the same job better than a copy could.
//!
//! A restore is only useful with the master key that sealed the credentials in it, so before a
//! byte of the current database is replaced the restore proves that the configured key opens a
//! stored credential of the backup. A backup restored without its key would start, and then
//! fail every KSeF login.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::Settings;
use crate::db::backup::{sqlite_backup, sqlite_damage};
use crate::db::models::Credential;
use crate::db::{applied_migrations, run_migrations, transfer, Db, DbError, DbUrl};
use crate::service::audit::{self, ChainVerdict};
use crate::vault::{self, Keyring, Sealed};

/// Where the PostgreSQL way is described, for the refusal message.
const PG_WAY: &str = "for PostgreSQL use pg_dump --format=custom and pg_restore, as described in \
     docs/OPERATIONS.md (\"Backup\"), and keep the master key file with it";

/// Why a backup or restore was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The operator must change an argument, a setting or the key (exit 2).
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Db(#[from] DbError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What a restore put in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    pub database: PathBuf,
    pub rows: u64,
    pub audit_events: u64,
    /// Whether a stored credential was opened with the configured key (false: none stored).
    pub key_checked: bool,
}

fn sqlite_path(settings: &Settings) -> Result<PathBuf, BackupError> {
    match DbUrl::parse(&settings.database.url)
        .map_err(|e| BackupError::Refused(format!("database.url: {e}")))?
    {
        DbUrl::Sqlite(path) => Ok(path),
        DbUrl::Postgres(_) => Err(BackupError::Refused(format!("database.url is PostgreSQL: {PG_WAY}"))),
    }
}

fn open(path: &Path, settings: &Settings) -> Result<Db, BackupError> {
    let timeout = Duration::from_millis(settings.database.pool_timeout_ms);
    Ok(Db::connect(&DbUrl::Sqlite(path.to_path_buf()), 1, timeout)?)
}

/// Writes a consistent copy of the configured SQLite database to `out` (which must not exist).
pub fn backup(settings: &Settings, out: &Path) -> Result<u64, BackupError> {
    let path = sqlite_path(settings)?;
    if out.exists() {
        return Err(BackupError::Refused(format!("--out: {} already exists", out.display())));
    }
    if !path.is_file() {
        return Err(BackupError::Refused(format!("database {} does not exist", path.display())));
    }
    let db = open(&path, settings)?;
    sqlite_backup(&db, out)?;
    Ok(std::fs::metadata(out)?.len())
}

/// The key that will open the restored credentials: the inline key, or the key file, which
/// must exist (loading a missing file would silently generate a new, useless key).
fn configured_keys(settings: &Settings) -> Result<(Keyring, String), BackupError> {
    let file = &settings.vault.master_key_file;
    let name = if settings.vault.master_key.is_some() {
        "vault.master_key (inline)".to_owned()
    } else {
        if !file.is_file() {
            return Err(BackupError::Refused(format!(
                "master key file {} does not exist; restore the key file that belongs to the backup first",
                file.display()
            )));
        }
        format!("master key file {}", file.display())
    };
    let keys = Keyring::load(file, settings.vault.master_key.as_ref())
        .map_err(|e| BackupError::Refused(format!("{name}: {e}")))?;
    Ok((keys, name))
}

/// Checks the backup (sound file, a gateway schema, an intact audit chain, a key that opens its
/// credentials), then replaces the configured SQLite database with it. The servers must be
/// stopped: a running server keeps the replaced file open.
pub fn restore(settings: &Settings, from: &Path, force: bool) -> Result<RestoreReport, BackupError> {
    let path = sqlite_path(settings)?;
    if !from.is_file() {
        return Err(BackupError::Refused(format!("--from: {} does not exist", from.display())));
    }
    if path.exists() && std::fs::canonicalize(&path)? == std::fs::canonicalize(from)? {
        return Err(BackupError::Refused("--from is the configured database itself".into()));
    }

    let backup = open(from, settings)?;
    if let Some(damage) = sqlite_damage(&backup)? {
        return Err(BackupError::Refused(format!("--from: {} is damaged: {damage}", from.display())));
    }
    if applied_migrations(&backup).map(|m| m.is_empty()).unwrap_or(true) {
        return Err(BackupError::Refused(format!(
            "--from: {} is not a ksef-gateway database",
            from.display()
        )));
    }
    if let ChainVerdict::Broken { seq, reason } = backup.blocking(audit::verify)? {
        return Err(BackupError::Refused(format!(
            "--from: the audit trail in the backup is BROKEN at event {seq}: {reason}"
        )));
    }
    let (keys, key_name) = configured_keys(settings)?;
    let stored = backup.blocking(Credential::list_all_with_nip)?;
    if let Some((cred, nip)) = stored.first() {
        let sealed = Sealed {
            key_version: u32::try_from(cred.key_version).unwrap_or(u32::MAX),
            nonce: cred.nonce.clone(),
            ciphertext: cred.ciphertext.clone(),
        };
        if vault::open(&keys, nip, &cred.kind, &sealed).is_err() {
            return Err(BackupError::Refused(format!(
                "{key_name} does not open the credentials in the backup (credential {} of NIP {nip}); \
                 configure the master key that was in use when the backup was made",
                cred.id
            )));
        }
    }
    drop(backup);

    if path.exists() && !force {
        let current = open(&path, settings)?;
        let rows: u64 = transfer::row_counts(&current)?.iter().map(|(_, n)| n).sum();
        if rows > 0 {
            return Err(BackupError::Refused(format!(
                "database {} is not empty ({rows} rows); pass --force to replace it with the backup",
                path.display()
            )));
        }
    }

    // Copy next to the target and rename, so the database is either the old one or the whole
    // backup; the old WAL belongs to the old file and must not be replayed onto the new one.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let staging = path.with_extension("restore-tmp");
    std::fs::copy(from, &staging)?;
    std::fs::File::open(&staging)?.sync_all()?;
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", path.display()));
        if side.exists() {
            std::fs::remove_file(side)?;
        }
    }
    std::fs::rename(&staging, &path)?;

    let restored = open(&path, settings)?;
    run_migrations(&restored)?;
    let rows = transfer::row_counts(&restored)?.iter().map(|(_, n)| n).sum();
    let audit_events = match restored.blocking(audit::verify)? {
        ChainVerdict::Intact { events } => events,
        ChainVerdict::Broken { seq, reason } => {
            return Err(BackupError::Refused(format!(
                "restored database: audit trail BROKEN at event {seq}: {reason}"
            )))
        }
    };
    Ok(RestoreReport { database: path, rows, audit_events, key_checked: !stored.is_empty() })
}
