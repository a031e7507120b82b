//! `ksef-gateway purchase sync | status`: fetch a client's purchase invoices now, and show how
//! complete every client's purchase invoices are.

use clap::Subcommand;

use crate::config::Settings;
use crate::db::models::{Client, PurchaseInvoice};
use crate::domain::Nip;
use crate::error::AppError;
use crate::server::{self, StartError};
use crate::service::access::Caller;
use crate::service::purchase_sync;

#[derive(Debug, Subcommand)]
pub enum PurchaseCommand {
    /// Fetch the client's purchase invoices from KSeF now; prints what was stored and the
    /// high-water mark up to which they are complete.
    Sync {
        /// The client's NIP.
        #[arg(long)]
        nip: String,
    },
    /// Per client and role: complete up to, last run, gaps found, last error.
    Status {
        /// One client only.
        #[arg(long)]
        nip: Option<String>,
    },
}

fn usage(message: String) -> StartError {
    StartError::Config(crate::config::ConfigError(message))
}

fn nip_arg(raw: &str) -> Result<Nip, StartError> {
    Nip::parse(raw).map_err(|e| usage(format!("--nip: {e}")))
}

fn at(t: Option<chrono::NaiveDateTime>) -> String {
    t.map_or_else(|| "-".to_owned(), |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
}

pub fn run(settings: Settings, cmd: &PurchaseCommand) -> Result<(), StartError> {
    match cmd {
        PurchaseCommand::Sync { nip } => {
            let nip = nip_arg(nip)?;
            let state = server::bootstrap(settings)?;
            let key = nip.clone();
            let client = super::block_on(state.db.run(move |c| Client::find_by_nip(c, &key)))??
                .ok_or_else(|| usage(format!("--nip: no client with NIP {nip}")))?;
            let reports = super::block_on(crate::engine::purchase::sync_client_now(state.clone(), &client))?
                .map_err(StartError::Command)?;
            let stored: usize = reports.iter().map(|r| r.stored()).sum();
            let cid = client.id.clone();
            let (all, with_xml) = super::block_on(state.db.run(move |c| PurchaseInvoice::counts(c, &cid)))??;
            println!("client {nip}: {stored} purchase invoices stored now; the client has {all}, {with_xml} with their XML");
            for r in reports.iter().flat_map(|r| &r.roles) {
                println!("  {}: {} stored, complete up to {}", r.role, r.stored, at(r.complete_up_to));
            }
            for n in reports.iter().flat_map(|r| &r.hash_mismatches) {
                println!("  {n}: XML does not match KSeF's SHA-256, not stored");
            }
            if let Some(e) = reports.iter().rev().find_map(|r| r.error.clone()) {
                return Err(StartError::Command(e));
            }
            Ok(())
        }
        PurchaseCommand::Status { nip } => {
            let nip = nip.as_deref().map(nip_arg).transpose()?;
            let state = server::bootstrap(settings)?;
            let rows = super::block_on(purchase_sync::status(&state, &Caller::Operator, nip.as_deref()))?
                .map_err(|e| match e {
                    AppError::NotFound => usage(format!(
                        "--nip: no client with NIP {}",
                        nip.map(String::from).unwrap_or_default()
                    )),
                    other => StartError::Command(other.to_string()),
                })?;
            println!(
                "{:<10}  {:<11}  {:<23}  {:<23}  {:>4}  last error",
                "NIP", "role", "complete up to", "last run", "gaps"
            );
            for r in rows {
                println!(
                    "{:<10}  {:<11}  {:<23}  {:<23}  {:>4}  {}",
                    r.nip,
                    r.subject_type.as_str(),
                    at(r.complete_up_to),
                    at(r.last_run_at),
                    r.gap_count,
                    r.last_error.as_deref().unwrap_or("-")
                );
            }
            Ok(())
        }
    }
}
