//! `ksef-gateway user add`: a person who logs in to the panel (password read from stdin).

use clap::Subcommand;

use crate::auth::Role;
use crate::config::Settings;
use crate::domain::Nip;
use crate::server::{self, StartError};
use crate::service::access::Caller;
use crate::service::users::{create_user, NewUserInput};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; the password (at least 12 characters) is read from standard input.
    Add {
        #[arg(long)]
        email: String,
        /// office-admin, accountant or board-member.
        #[arg(long)]
        role: String,
        /// A board member's company.
        #[arg(long)]
        nip: Option<String>,
        /// Name shown in the panel (default: the e-mail).
        #[arg(long, default_value = "")]
        name: String,
    },
}

pub fn run(settings: Settings, cmd: &UserCommand) -> Result<(), StartError> {
    match cmd {
        UserCommand::Add { email, role, nip, name } => {
            let bad = |key: &str, e: String| StartError::Command(format!("--{key}: {e}"));
            let input = NewUserInput {
                email: email.clone(),
                display_name: name.clone(),
                role: Role::parse(role).map_err(|e| bad("role", e))?,
                nip: nip.as_deref().map(Nip::parse).transpose().map_err(|e| bad("nip", e))?,
            };
            let password = super::read_secret_line("the password")?;
            let state = server::bootstrap(settings)?;
            let user = super::block_on(create_user(&state, &Caller::Operator, input, password))?
                .map_err(|e| StartError::Command(e.to_string()))?;
            println!("added user {} ({}), id {}", user.email, user.role, user.id);
            Ok(())
        }
    }
}
