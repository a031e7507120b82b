//! `ksef-gateway migrate-data --from URL|PATH --to URL`: copy a whole gateway database into an
//! empty one (SQLite → PostgreSQL), then verify counts and the audit chain on the target.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::config::ConfigError;
use crate::db::transfer::Progress;
use crate::db::DbUrl;
use crate::server::StartError;
use crate::service::data_migration::{migrate_data, DataMigrationError};

#[derive(Debug, clap::Args)]
pub struct MigrateDataArgs {
    /// Source database: sqlite://PATH, a plain path to a SQLite file, or postgres://…
    #[arg(long, value_name = "URL|PATH")]
    pub from: String,
    /// Target database (normally postgres://…); must be empty, is migrated first.
    #[arg(long, value_name = "URL")]
    pub to: String,
}

/// A plain path is what an operator copying `data/gateway.db` types; anything with a scheme
/// goes through the same parser as `database.url`.
fn source_url(raw: &str) -> Result<DbUrl, StartError> {
    let url = if raw.contains("://") { DbUrl::parse(raw) } else { DbUrl::parse(&format!("sqlite://{raw}")) };
    url.map_err(|e| ConfigError(format!("--from: {e}")).into())
}

pub fn run(args: &MigrateDataArgs) -> Result<(), StartError> {
    let from = source_url(&args.from)?;
    let to = DbUrl::parse(&args.to).map_err(|e| ConfigError(format!("--to: {e}")))?;
    eprintln!("copying {} -> {}", from.redacted(), to.redacted());
    let started = Instant::now();
    // Lines rather than a redrawn bar: this usually runs in a container or a Job, whose log
    // keeps every line; one line per table per 10 % keeps it short.
    let mut last: Option<(String, u64)> = None;
    let mut report_progress = |p: Progress<'_>| {
        let step = (p.copied * 10).checked_div(p.total).unwrap_or(10);
        let current = (p.table.to_owned(), step);
        if last.as_ref() != Some(&current) {
            eprintln!("  {:<18} {:>9} / {} rows", p.table, p.copied, p.total);
            let _ = std::io::stderr().flush();
            last = Some(current);
        }
    };
    let report =
        migrate_data(&from, &to, Duration::from_secs(30), &mut report_progress).map_err(|e| match e {
            DataMigrationError::Refused(msg) => StartError::Config(ConfigError(msg)),
            DataMigrationError::Verification(msg) => {
                StartError::Command(format!("{msg}; the target must not be used — drop it and run again"))
            }
            DataMigrationError::Db(e) => StartError::Database(e),
        })?;
    for (table, rows) in &report.counts {
        println!("{table:<18} {rows:>9} rows  ok");
    }
    println!(
        "copied {} rows in {:.1}s into {} ({} migrations); audit trail intact on the target: {} events",
        report.counts.iter().map(|(_, n)| n).sum::<u64>(),
        started.elapsed().as_secs_f64(),
        to.redacted(),
        report.migrations,
        report.audit_events
    );
    Ok(())
}
