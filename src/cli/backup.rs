//! `ksef-gateway backup --out FILE` and `ksef-gateway restore --from FILE [--force]` (SQLite).

use std::path::PathBuf;

use crate::config::{ConfigError, Settings};
use crate::server::StartError;
use crate::service::backup::{self, BackupError};

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// File to write the copy to; must not exist yet.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// A file written by `ksef-gateway backup`.
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// Replace a database that already holds data.
    #[arg(long)]
    pub force: bool,
}

fn exit(e: BackupError) -> StartError {
    match e {
        BackupError::Refused(msg) => StartError::Config(ConfigError(msg)),
        BackupError::Db(e) => StartError::Database(e),
        BackupError::Io(e) => StartError::Io(e),
    }
}

pub fn run_backup(settings: &Settings, args: &BackupArgs) -> Result<(), StartError> {
    let bytes = backup::backup(settings, &args.out).map_err(exit)?;
    println!(
        "wrote {} ({bytes} bytes); keep it together with the master key file {} — one is useless without the other",
        args.out.display(),
        settings.vault.master_key_file.display()
    );
    Ok(())
}

pub fn run_restore(settings: &Settings, args: &RestoreArgs) -> Result<(), StartError> {
    let report = backup::restore(settings, &args.from, args.force).map_err(exit)?;
    let key = if report.key_checked {
        "the master key opens its credentials"
    } else {
        "no credentials stored, master key not exercised"
    };
    println!(
        "restored {} from {}: {} rows, audit trail intact ({} events), {key}",
        report.database.display(),
        args.from.display(),
        report.rows,
        report.audit_events
    );
    Ok(())
}
