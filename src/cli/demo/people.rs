//! The demo office's people and what each may do, created on the first start.

use secrecy::SecretString;

use crate::auth::{PermissionSet, Role};
use crate::db::models::User;
use crate::domain::Nip;
use crate::error::AppError;
use crate::service::access::Caller;
use crate::service::{grants, users};
use crate::state::AppState;

/// The demo's one password (printed in the banner): this is a demo, not an office.
pub const DEMO_PASSWORD: &str = "demo-haslo-2026";

/// (e-mail, role, company NIP for board members, what it is for).
pub const PEOPLE: &[(&str, Role, Option<&str>, &str)] = &[
    ("admin@biuro.demo", Role::OfficeAdmin, None, "administrator biura: wszyscy klienci"),
    (
        "ksiegowa@biuro.demo",
        Role::Accountant,
        None,
        "księgowa: pełne uprawnienia u dwóch klientów, podgląd u trzeciego",
    ),
    ("asystent@biuro.demo", Role::Accountant, None, "asystent: tylko przygotowuje faktury Piekarni"),
    (
        "zarzad@mazur.demo",
        Role::BoardMember,
        Some("7740001454"),
        "członek zarządu Hurtowni Mazur: zatwierdza (cztery oczy)",
    ),
];

/// (grantee, client NIP, permissions, may delegate).
const GRANTS: &[(&str, &str, &str, bool)] = &[
    ("ksiegowa@biuro.demo", "5260250274", "read,upload,send,approve,credentials,audit,users", true),
    ("ksiegowa@biuro.demo", "7740001454", "read,upload,send,audit", false),
    ("ksiegowa@biuro.demo", "1132853869", "read", false),
    ("asystent@biuro.demo", "5260250274", "read,upload", false),
];

/// Creates the people and their grants, unless the office already has users.
pub async fn seed(st: &AppState, clients: &[(crate::domain::ClientId, Nip)]) -> Result<bool, AppError> {
    if !st.db.tx(User::list).await?.is_empty() {
        return Ok(false);
    }
    for (email, role, nip, _) in PEOPLE {
        let input = users::NewUserInput {
            email: (*email).to_owned(),
            display_name: String::new(),
            role: *role,
            nip: nip.map(Nip::parse).transpose().map_err(AppError::invalid)?,
        };
        users::create_user(st, &Caller::Operator, input, SecretString::from(DEMO_PASSWORD)).await?;
    }
    for (email, nip, perms, delegate) in GRANTS {
        let Some((client_id, _)) = clients.iter().find(|(_, n)| n == nip) else { continue };
        let input = grants::GrantInput {
            user_email: (*email).to_owned(),
            client_id: client_id.clone(),
            permissions: PermissionSet::parse(perms).map_err(AppError::invalid)?,
            can_delegate: *delegate,
        };
        grants::grant(st, &Caller::Operator, input).await?;
    }
    Ok(true)
}
