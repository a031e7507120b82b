//! `ksef-gateway audit verify | export`: check the chain, write reports.

use std::path::PathBuf;

use clap::Subcommand;

use crate::config::Settings;
use crate::server::{self, StartError};
use crate::service::access::Caller;
use crate::service::audit::{self, ChainVerdict};
use crate::service::reports::{self, ReportFormat, ReportQuery};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check that no audit event was changed, removed or reordered; exit 1 if one was.
    Verify,
    /// Write an audit report.
    Export {
        /// csv or json.
        #[arg(long)]
        format: String,
        #[arg(long)]
        nip: Option<String>,
        /// First day (YYYY-MM-DD), inclusive.
        #[arg(long)]
        from: Option<String>,
        /// Last day (YYYY-MM-DD), exclusive.
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        out: PathBuf,
    },
}

fn day(key: &str, raw: Option<&String>) -> Result<Option<chrono::NaiveDateTime>, StartError> {
    raw.map(|d| {
        chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .map_err(|e| StartError::Command(format!("--{key}: {e}")))
    })
    .transpose()
}

pub fn run(settings: Settings, cmd: &AuditCommand) -> Result<(), StartError> {
    let state = server::bootstrap(settings)?;
    match cmd {
        AuditCommand::Verify => {
            let verdict = state.db.blocking(audit::verify)?;
            match verdict {
                ChainVerdict::Intact { events } => {
                    println!("audit trail intact: {events} events, every link verified");
                    Ok(())
                }
                ChainVerdict::Broken { seq, reason } => {
                    Err(StartError::Command(format!("audit trail BROKEN at event {seq}: {reason}")))
                }
            }
        }
        AuditCommand::Export { format, nip, from, to, out } => {
            let format =
                ReportFormat::parse(format).map_err(|e| StartError::Command(format!("--format: {e}")))?;
            let query = ReportQuery {
                nip: nip.clone(),
                user_id: None,
                from: day("from", from.as_ref())?,
                to: day("to", to.as_ref())?,
            };
            let report = super::block_on(reports::collect(&state, &Caller::Operator, query))?
                .map_err(|e| StartError::Command(e.to_string()))?;
            let bytes = reports::render(&report, format).map_err(|e| StartError::Command(e.to_string()))?;
            std::fs::write(out, bytes)?;
            println!("wrote {} events to {}", report.events.len(), out.display());
            Ok(())
        }
    }
}
