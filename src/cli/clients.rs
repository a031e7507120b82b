//! `ksef-gateway client add`: a client company with its KSeF token (read from stdin).

use clap::Subcommand;

use crate::config::Settings;
use crate::domain::{KsefTarget, Nip, SendPolicy};
use crate::server::{self, StartError};
use crate::service::certificates::CertificateUse;
use crate::service::clients::{add_client, NewClientInput};

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Add a client company; its KSeF token is read from standard input (never from arguments,
    /// which other users of the machine can see).
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
        #[arg(long, default_value = "manual")]
        policy: String,
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

pub fn run(settings: Settings, cmd: &ClientCommand) -> Result<(), StartError> {
    match cmd {
        ClientCommand::Certificate { nip, cert, key, offline } => {
            let nip = Nip::parse(nip).map_err(|e| StartError::Command(format!("--nip: {e}")))?;
            let cert_pem = std::fs::read_to_string(cert)?;
            let key_pem = secrecy::SecretString::from(std::fs::read_to_string(key)?);
            let state = server::bootstrap(settings)?;
            let nip_text = nip.as_str().to_owned();
            let client =
                super::block_on(state.db.tx(move |c| crate::db::models::Client::find_by_nip(c, &nip_text)))??
                    .ok_or_else(|| StartError::Command(format!("no client with NIP {nip}")))?;
            let caller = crate::service::access::Caller::Operator;
            let usage = if *offline { CertificateUse::Offline } else { CertificateUse::Authentication };
            let view = super::block_on(crate::service::clients::store_certificate(
                &state, &caller, &client.id, usage, &cert_pem, &key_pem,
            ))?
            .map_err(|e| StartError::Command(e.to_string()))?;
            println!(
                "stored the KSeF {}certificate {} for {} (valid until {}), sealed in the vault",
                if *offline { "offline " } else { "" },
                view.fingerprint,
                nip,
                view.valid_until.map(|t| t.to_string()).unwrap_or_default()
            );
            Ok(())
        }
        ClientCommand::Add { nip, name, ksef, policy } => {
            let bad = |key: &str, e: String| StartError::Command(format!("--{key}: {e}"));
            let input = NewClientInput {
                nip: Nip::parse(nip).map_err(|e| bad("nip", e))?,
                name: name.clone(),
                ksef: KsefTarget::parse(ksef).map_err(|e| bad("ksef", e))?,
                policy: SendPolicy::parse(policy).map_err(|e| bad("policy", e))?,
            };
            let token = super::read_secret_line("the KSeF token")?;
            let state = server::bootstrap(settings)?;
            let client = super::block_on(add_client(&state, input, token, None))?
                .map_err(|e| StartError::Command(e.to_string()))?;
            println!(
                "added client {} {} (id {}), KSeF token stored encrypted",
                client.nip, client.name, client.id
            );
            Ok(())
        }
    }
}
