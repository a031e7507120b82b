//! `ksef-gateway apikey create`: a per-client API key, printed once on the last line.

use clap::Subcommand;
use secrecy::ExposeSecret;

use crate::auth::ScopeSet;
use crate::config::Settings;
use crate::domain::Nip;
use crate::server::{self, StartError};
use crate::service::access::Caller;
use crate::service::apikeys::create;

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create an API key for one client; the key is printed once, alone on the last line.
    Create {
        #[arg(long)]
        nip: String,
        /// Comma-separated: submit, read, send, purchase.
        #[arg(long)]
        scopes: String,
        /// A name to recognise the key by (e.g. the ERP's name).
        #[arg(long, default_value = "API")]
        name: String,
        /// Expiry date (YYYY-MM-DD), optional.
        #[arg(long)]
        expires: Option<String>,
    },
}

pub fn run(settings: Settings, cmd: &ApiKeyCommand) -> Result<(), StartError> {
    match cmd {
        ApiKeyCommand::Create { nip, scopes, name, expires } => {
            let bad = |key: &str, e: String| StartError::Command(format!("--{key}: {e}"));
            let nip = Nip::parse(nip).map_err(|e| bad("nip", e))?;
            let scopes = ScopeSet::parse(scopes).map_err(|e| bad("scopes", e))?;
            let expires = expires
                .as_deref()
                .map(|d| {
                    chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                        .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
                })
                .transpose()
                .map_err(|e| bad("expires", e.to_string()))?;
            let state = server::bootstrap(settings)?;
            let created = super::block_on(create(&state, &Caller::Operator, &nip, name, scopes, expires))?
                .map_err(|e| StartError::Command(e.to_string()))?;
            println!(
                "API key {} for NIP {} (scopes {}); shown once, store it now:",
                created.key.prefix, nip, created.key.scopes
            );
            println!("{}", created.plaintext.expose_secret());
            Ok(())
        }
    }
}
