//! `ksef-gateway keys rotate`: re-seal every credential under a new master key.

use clap::Subcommand;

use crate::config::Settings;
use crate::server::{self, StartError};
use crate::service::keys::rotate;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate a new master key, re-encrypt every stored credential with it, retire the old
    /// keys. Running servers pick the new key up from the key file without a restart.
    Rotate,
}

pub fn run(settings: Settings, cmd: &KeysCommand) -> Result<(), StartError> {
    match cmd {
        KeysCommand::Rotate => {
            if settings.vault.master_key.is_some() {
                return Err(StartError::Command(
                    "vault.master_key is set inline; rotation needs a key file (vault.master_key_file)"
                        .into(),
                ));
            }
            let state = server::bootstrap(settings)?;
            let report = super::block_on(rotate(&state))?.map_err(|e| StartError::Command(e.to_string()))?;
            println!(
                "master key version {} is current; {} credentials re-encrypted; retired versions {:?}",
                report.new_version, report.resealed, report.retired_versions
            );
            Ok(())
        }
    }
}
