//! `ksef-gateway audit verify | export`: check the chain, write reports.

use std::path::PathBuf;

use clap::Subcommand;

use indicatif::{ProgressBar, ProgressStyle};

use super::usage;
use crate::config::Settings;
use crate::error::{AppError, Refusal};
use crate::pdf::Lang;
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
        /// csv, json or pdf.
        #[arg(long)]
        format: String,
        /// One client's events only.
        #[arg(long)]
        nip: Option<String>,
        /// One person's events only (user id or e-mail address).
        #[arg(long)]
        user: Option<String>,
        /// First day (YYYY-MM-DD), inclusive.
        #[arg(long)]
        from: Option<String>,
        /// Last day (YYYY-MM-DD), exclusive.
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        out: PathBuf,
        /// Language of the PDF report: pl or en.
        #[arg(long, default_value = "pl")]
        lang: String,
    },
}

fn day(key: &str, raw: Option<&String>) -> Result<Option<chrono::NaiveDateTime>, StartError> {
    raw.map(|d| {
        chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .map_err(|e| usage(format!("--{key}: {e}")))
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
        AuditCommand::Export { format, nip, user, from, to, out, lang } => {
            let format = ReportFormat::parse(format).map_err(|e| usage(format!("--format: {e}")))?;
            let lang = Lang::parse(lang).map_err(|e| usage(format!("--lang: {e}")))?;
            let query = ReportQuery {
                nip: nip.clone(),
                user_id: user.clone(),
                from: day("from", from.as_ref())?,
                to: day("to", to.as_ref())?,
            };
            let plan = super::block_on(reports::plan(&state, &Caller::Operator, query, format, lang))?
                .map_err(|e| match e {
                    AppError::NotFound => usage(unknown(nip.as_deref(), user.as_deref())),
                    AppError::Refused { refusal: Refusal::InvalidRange, .. } => {
                        usage("--from / --to: the start of the period is after its end".to_owned())
                    }
                    other => StartError::Command(other.to_string()),
                })?;
            let file = std::io::BufWriter::new(std::fs::File::create(out)?);
            let bar = ProgressBar::new_spinner().with_message("events written");
            bar.set_style(
                ProgressStyle::with_template("{spinner} {pos} {msg} ({per_sec})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            let written = reports::write(&state.db, &plan, format, file, &mut |n| bar.set_position(n))
                .map_err(|e| StartError::Command(e.to_string()))?;
            bar.finish_and_clear();
            println!("wrote {written} events to {}", out.display());
            Ok(())
        }
    }
}

fn unknown(nip: Option<&str>, user: Option<&str>) -> String {
    match (nip, user) {
        (Some(nip), Some(user)) => format!("--nip {nip} / --user {user}: no such client or person"),
        (Some(nip), None) => format!("--nip {nip}: no such client"),
        (None, Some(user)) => format!("--user {user}: no such person"),
        (None, None) => "nothing to report".to_owned(),
    }
}
