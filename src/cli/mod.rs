//! The command line: `ksef-gateway <command>`. Each command is a thin shell over the library.

mod apikeys;
mod audit;
mod backup;
mod certificate;
mod clients;
mod demo;
mod keys;
mod migrate;
mod migrate_data;
mod office;
mod purchase;
mod serve;
mod users;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{Settings, Sources};
use crate::server::StartError;

/// ksef-gateway: KSeF 2.0 for an accounting office and all its clients.
#[derive(Debug, Parser)]
#[command(name = "ksef-gateway", version, about, long_about = None)]
pub struct Cli {
    /// Directory for the SQLite database, keys and local state (default ./data).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// TOML configuration file; KSEF_GW__SECTION__KEY environment variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Try it out: the gateway on SQLite with a demo office; prints the URL and logins.
    Demo {
        /// Address for the gateway (default 127.0.0.1:8080).
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
    },
    /// Run the production server (panel, API, senders).
    Serve {
        /// Address to listen on (overrides server.listen).
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Copy every table from one database into an empty one (SQLite -> PostgreSQL) and verify it.
    MigrateData(migrate_data::MigrateDataArgs),
    /// Write a consistent copy of the SQLite database while the server runs.
    Backup(backup::BackupArgs),
    /// Replace the SQLite database with a backup (servers stopped); checks the master key first.
    Restore(backup::RestoreArgs),
    /// Run the local KSeF 2.0 simulator (what the demo, tests and benchmarks talk to).
    Simulator(ksef_simulator::SimulatorArgs),
    /// Manage client companies.
    Client {
        #[command(subcommand)]
        command: clients::ClientCommand,
    },
    /// Manage users of the panel.
    User {
        #[command(subcommand)]
        command: users::UserCommand,
    },
    /// Manage per-client API keys.
    Apikey {
        #[command(subcommand)]
        command: apikeys::ApiKeyCommand,
    },
    /// Verify the audit trail or export reports.
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
    /// Purchase invoices: fetch a client's now, show how complete they are.
    Purchase {
        #[command(subcommand)]
        command: purchase::PurchaseCommand,
    },
    /// The office's own KSeF credential (logs in to every client that granted the office).
    Office {
        #[command(subcommand)]
        command: office::OfficeCommand,
    },
    /// KSeF certificates enrolled by the gateway for the office or a client: enroll, list,
    /// revoke, renew.
    Certificate {
        #[command(subcommand)]
        command: certificate::CertificateCommand,
    },
    /// Manage the vault's master keys.
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
    },
    /// Print the API's OpenAPI document (what `/api/v1/openapi.json` serves and
    /// `docs/openapi.json` holds).
    Openapi,
}

impl Cli {
    fn sources(&self, listen: Option<SocketAddr>) -> Sources {
        Sources { config_file: self.config.clone(), data_dir: self.data_dir.clone(), listen }
    }
}

/// Parses the command line, runs the command, and turns failures into a message and exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("ksef-gateway: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}

fn dispatch(cli: &Cli) -> Result<(), StartError> {
    match &cli.command {
        Command::Demo { listen } => demo::run(cli.sources(*listen)),
        Command::Serve { listen } => serve::run(load(&cli.sources(*listen))?),
        Command::Migrate => migrate::run(load(&cli.sources(None))?),
        Command::MigrateData(args) => migrate_data::run(args),
        Command::Backup(args) => backup::run_backup(&load(&cli.sources(None))?, args),
        Command::Restore(args) => backup::run_restore(&load(&cli.sources(None))?, args),
        Command::Simulator(args) => {
            crate::telemetry::init(&crate::config::LogSettings {
                format: crate::config::LogFormat::Text,
                level: "info".into(),
            });
            actix_web::rt::System::new()
                .block_on(ksef_simulator::run(args.clone()))
                .map_err(|e| StartError::Command(format!("simulator: {e:#}")))
        }
        Command::Client { command } => clients::run(load(&cli.sources(None))?, command),
        Command::Office { command } => office::run(load(&cli.sources(None))?, command),
        Command::Certificate { command } => certificate::run(load(&cli.sources(None))?, command),
        Command::Keys { command } => keys::run(load(&cli.sources(None))?, command),
        Command::User { command } => users::run(load(&cli.sources(None))?, command),
        Command::Apikey { command } => apikeys::run(load(&cli.sources(None))?, command),
        Command::Audit { command } => audit::run(load(&cli.sources(None))?, command),
        Command::Purchase { command } => purchase::run(load(&cli.sources(None))?, command),
        Command::Openapi => {
            print!("{}", crate::http::api::openapi_json());
            Ok(())
        }
    }
}

fn load(sources: &Sources) -> Result<Settings, StartError> {
    let settings = Settings::load(sources)?;
    crate::telemetry::init(&settings.log);
    Ok(settings)
}

/// One line from standard input, as a secret (secrets never come from arguments, which other
/// users of the machine can see in the process list).
fn read_secret_line(what: &str) -> Result<secrecy::SecretString, StartError> {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let value = line.trim_end_matches(['\r', '\n']).to_owned();
    if value.trim().is_empty() {
        return Err(StartError::Command(format!("expected {what} on standard input")));
    }
    Ok(secrecy::SecretString::from(value))
}

/// A mistake in the command line: exit code 2, naming the option.
fn usage(message: String) -> StartError {
    StartError::Config(crate::config::ConfigError(message))
}

/// Runs one async service call to completion on a small runtime (CLI commands are one-shot).
fn block_on<T>(fut: impl std::future::Future<Output = T>) -> Result<T, StartError> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    Ok(rt.block_on(fut))
}
