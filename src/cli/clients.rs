//! `ksef-gateway client add|certificate|credential-mode`: client companies and the credential
//! they log in with (the office's by default, or their own KSeF token read from stdin).

use clap::Subcommand;

use crate::config::Settings;
use crate::domain::{CredentialMode, KsefTarget, Nip, SendPolicy};
use crate::server::{self, StartError};
use crate::service::access::Caller;
use crate::service::certificates::CertificateUse;
use crate::service::clients::{add_client, add_office_client, NewClientInput};

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Add a client company. By default it logs in with the office's credential (the client
    /// grants the office permissions in KSeF); with `--credential own` its own KSeF token is read
    /// from standard input (never from arguments, which other users of the machine can see).
    Add {
        /// The client's NIP (10 digits, checksum verified).
        #[arg(long)]
        nip: String,
        /// The company's name as the office knows it.
        #[arg(long)]
        name: String,
        /// Which KSeF: test, demo, prod, or an API base URL (e.g. a simulator).
        #[arg(long, value_name = "ENV|URL")]
        ksef: String,
        /// Who decides to send: manual (default), four-eyes, api-auto.
        #[arg(long, default_value = SendPolicy::Manual.as_str())]
        policy: String,
        /// Whose credential logs in: office (default) or own (token on standard input).
        #[arg(long, value_name = "office|own", default_value = "office")]
        credential: String,
    },
    /// Switch the credential a client logs in with: the office's or its own.
    CredentialMode {
        #[arg(long)]
        nip: String,
        /// office or own.
        #[arg(value_name = "office|own")]
        mode: String,
    },
    /// Store a client's KSeF certificate (PEM) with its private key (PEM file, mode 0600
    /// recommended); from then on the client authenticates to KSeF with it instead of a token.
    Certificate {
        #[arg(long)]
        nip: String,
        /// The certificate, PEM.
        #[arg(long, value_name = "FILE")]
        cert: std::path::PathBuf,
        /// Its private key, PEM (PKCS#8, PKCS#1 or SEC1).
        #[arg(long, value_name = "FILE")]
        key: std::path::PathBuf,
        /// A KSeF certificate of type Offline: signs KOD II on invoices issued offline and is
        /// kept beside the login credential (never used to log in).
        #[arg(long)]
        offline: bool,
    },
}

/// A certificate refused before anything is stored: exit code 2 naming the option to fix (the
/// key that does not belong, the certificate that expired or that KSeF refused).
fn certificate_error(e: crate::error::AppError) -> StartError {
    let option = match e.field_reason().map(|(f, _)| f) {
        Some("private_key_pem") => "key",
        Some(_) => "cert",
        None if e.is_unprocessable() => "cert",
        None => return StartError::Command(e.to_string()),
    };
    super::usage(format!("--{option}: {e}"))
}

pub fn run(settings: Settings, cmd: &ClientCommand) -> Result<(), StartError> {
    match cmd {
        ClientCommand::Certificate { nip, cert, key, offline } => {
            let nip = Nip::parse(nip).map_err(|e| super::usage(format!("--nip: {e}")))?;
            let read = |path: &std::path::Path, option: &str| {
                std::fs::read_to_string(path)
                    .map_err(|e| super::usage(format!("--{option} {}: {e}", path.display())))
            };
            let cert_pem = read(cert, "cert")?;
            let key_pem = secrecy::SecretString::from(read(key, "key")?);
            let state = server::bootstrap(settings)?;
            let client = find(&state, &nip)?;
            let caller = Caller::Operator;
            let usage = if *offline { CertificateUse::Offline } else { CertificateUse::Authentication };
            let view = super::block_on(crate::service::clients::store_certificate(
                &state, &caller, &client.id, usage, &cert_pem, &key_pem,
            ))?
            .map_err(certificate_error)?;
            println!(
                "stored the KSeF {}certificate {} for {} (valid until {}), sealed in the vault",
                if *offline { "offline " } else { "" },
                view.fingerprint,
                nip,
                view.validity.valid_until.map(|t| t.to_string()).unwrap_or_default()
            );
            Ok(())
        }
        ClientCommand::Add { nip, name, ksef, policy, credential } => {
            let bad = |key: &str, e: String| super::usage(format!("--{key}: {e}"));
            let input = NewClientInput {
                nip: Nip::parse(nip).map_err(|e| bad("nip", e))?,
                name: name.clone(),
                ksef: KsefTarget::parse(ksef).map_err(|e| bad("ksef", e))?,
                policy: SendPolicy::parse(policy).map_err(|e| bad("policy", e))?,
            };
            let mode = CredentialMode::parse(credential).map_err(|e| bad("credential", e))?;
            let token = match mode {
                CredentialMode::Own => Some(super::read_secret_line("the KSeF token")?),
                CredentialMode::Office => None,
            };
            let state = server::bootstrap(settings)?;
            // A KSeF URL that does not answer as KSeF (a simulator without /v2) adds nothing.
            super::block_on(crate::service::office::answers_as_ksef(&state, input.ksef.as_str()))?
                .map_err(|e| bad("ksef", e.to_string()))?;
            let added = match token {
                Some(token) => super::block_on(add_client(&state, input, token, None))?,
                None => super::block_on(add_office_client(&state, input, None))?,
            };
            let client = added.map_err(|e| StartError::Command(e.to_string()))?;
            let how = match mode {
                CredentialMode::Own => "its own KSeF token stored encrypted",
                CredentialMode::Office => {
                    "logs in with the office's credential once it grants the office in KSeF"
                }
            };
            println!("added client {} {} (id {}), {how}", client.nip, client.name, client.id);
            Ok(())
        }
        ClientCommand::CredentialMode { nip, mode } => {
            let nip = Nip::parse(nip).map_err(|e| super::usage(format!("--nip: {e}")))?;
            let mode = CredentialMode::parse(mode).map_err(|e| super::usage(format!("MODE: {e}")))?;
            let state = server::bootstrap(settings)?;
            let client = find(&state, &nip)?;
            super::block_on(crate::service::office::set_mode(&state, &Caller::Operator, &client.id, mode))?
                .map_err(|e| StartError::Command(e.to_string()))?;
            println!("client {nip} now logs in with {}", mode.label_pl());
            Ok(())
        }
    }
}

/// The client with this NIP, or exit code 2 naming `--nip`.
fn find(state: &crate::state::AppState, nip: &Nip) -> Result<crate::db::models::Client, StartError> {
    let key = nip.clone();
    super::block_on(state.db.tx(move |c| crate::db::models::Client::find_by_nip(c, &key)))??
        .ok_or_else(|| super::usage(format!("--nip {nip}: no such client")))
}
