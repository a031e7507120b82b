//! `ksef-gateway office credential set|show`: the office's own KSeF certificate or token, stored
//! once, sealed in the vault, checked against KSeF before it is stored.

use clap::{Args, Subcommand};

use super::usage;
use crate::config::Settings;
use crate::error::AppError;
use crate::server::{self, StartError};
use crate::service::access::Caller;
use crate::service::office::{self, OfficeCredentialInput, OfficeCredentialView, OfficeSecret};

#[derive(Debug, Subcommand)]
pub enum OfficeCommand {
    /// The office's KSeF credential.
    Credential {
        #[command(subcommand)]
        command: CredentialCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum CredentialCommand {
    /// Store the office's KSeF certificate (--cert, --key) or token (--token, read from standard
    /// input); KSeF must accept it in the office's own context first, else nothing is stored.
    Set(SetArgs),
    /// What is stored (never the secret), with its validity.
    Show,
}

#[derive(Debug, Args)]
pub struct SetArgs {
    /// The office's NIP (the certificate's or token's owner).
    #[arg(long)]
    nip: String,
    /// Which KSeF: test, demo, prod or an API base URL; by default the one the clients use.
    #[arg(long, value_name = "ENV|URL")]
    ksef: Option<String>,
    /// Read a KSeF token of the office from standard input.
    #[arg(long, conflicts_with_all = ["cert", "key"], required_unless_present = "cert")]
    token: bool,
    /// The office's KSeF certificate (type Authentication), PEM.
    #[arg(long, value_name = "FILE", requires = "key")]
    cert: Option<std::path::PathBuf>,
    /// Its private key, PEM (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "FILE", requires = "cert")]
    key: Option<std::path::PathBuf>,
}

pub fn run(settings: Settings, cmd: &OfficeCommand) -> Result<(), StartError> {
    let OfficeCommand::Credential { command } = cmd;
    match command {
        CredentialCommand::Show => {
            let state = server::bootstrap(settings)?;
            let view = super::block_on(office::show(&state, &Caller::Operator))?
                .map_err(|e| StartError::Command(e.to_string()))?;
            match view {
                Some(v) => print_view("the office's KSeF credential", &v),
                None => println!("the office has not stored a KSeF credential"),
            }
            Ok(())
        }
        CredentialCommand::Set(args) => set(settings, args),
    }
}

fn set(settings: Settings, args: &SetArgs) -> Result<(), StartError> {
    let read = |path: &std::path::Path, option: &str| {
        std::fs::read_to_string(path).map_err(|e| usage(format!("--{option} {}: {e}", path.display())))
    };
    let (secret, secret_option) = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => (
            OfficeSecret::Certificate {
                certificate_pem: read(cert, "cert")?,
                private_key_pem: secrecy::SecretString::from(read(key, "key")?),
            },
            "cert",
        ),
        _ => (OfficeSecret::Token(super::read_secret_line("the office's KSeF token")?), "token"),
    };
    let input = OfficeCredentialInput::read(&args.nip, args.ksef.as_deref(), secret)
        .map_err(|e| option_error(&e, secret_option))?;
    let state = server::bootstrap(settings)?;
    let view = super::block_on(office::store(&state, &Caller::Operator, input))?
        .map_err(|e| option_error(&e, secret_option))?;
    print_view("stored the office's KSeF credential, sealed in the vault", &view);
    Ok(())
}

/// Bad input or a refusal: exit code 2 naming the option to fix; anything else exit code 1.
fn option_error(e: &AppError, secret_option: &str) -> StartError {
    let option = match e.field_reason().map(|(f, _)| f) {
        Some("office_nip") => "nip",
        Some("ksef") => "ksef",
        Some("private_key_pem") => "key",
        Some(_) => secret_option,
        None if e.is_unprocessable() => secret_option,
        None => return StartError::Command(e.to_string()),
    };
    usage(format!("--{option}: {e}"))
}

fn print_view(what: &str, v: &OfficeCredentialView) {
    let until = v.validity.valid_until.map_or_else(|| "not reported".to_owned(), crate::local_time::display);
    println!("{what}: NIP {} {} {} (KSeF {})", v.office_nip, v.kind, v.fingerprint, v.ksef_environment);
    println!(
        "  valid until {until}{}",
        v.validity.expiry_warning.map(|w| format!(" – {}", w.label_pl())).unwrap_or_default()
    );
}
