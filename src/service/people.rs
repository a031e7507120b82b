//! The people of the office after they were added (`users::create_user`): the office admin's
//! list, turning accounts off and on, password resets, and a person's own password change.
//! Every change is audited and ends the sessions it must (a deactivated person or one whose
//! password was reset is logged out everywhere at once).

use chrono::NaiveDateTime;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::auth::password::verify_password;
use crate::auth::Role;
use crate::db::models::{ids, Client, User, UserSession};
use crate::db::DbError;
use crate::domain::{ClientId, UserId};
use crate::error::{AppError, Refusal};
use crate::service::access::{require_office_admin, Caller, UserCaller};
use crate::service::audit::{self, AuditEntry};
use crate::service::users::hash;
use crate::state::AppState;

/// One person as the office admin's list shows them (never the password hash).
#[derive(Debug, Clone)]
pub struct PersonView {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// A board member's company: NIP and name.
    pub company: Option<(crate::domain::Nip, String)>,
    pub disabled: bool,
    pub last_login_at: Option<NaiveDateTime>,
}

/// Everybody with a panel account, by e-mail.
pub async fn list(st: &AppState, caller: &Caller) -> Result<Vec<PersonView>, AppError> {
    require_office_admin(caller)?;
    let (users, clients) = st.db.run(|c| Ok::<_, DbError>((User::list(c)?, Client::list_all(c)?))).await?;
    users
        .into_iter()
        .map(|u| {
            let company = u.client_id.as_ref().and_then(|id| clients.iter().find(|c| &c.id == id));
            Ok(PersonView {
                role: Role::parse(&u.role).map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?,
                company: company.map(|c| (c.nip.clone(), c.name.clone())),
                id: u.id,
                email: u.email,
                display_name: u.display_name,
                disabled: u.disabled,
                last_login_at: u.last_login_at,
            })
        })
        .collect()
}

/// One person, for the confirmation page of a deactivation.
pub async fn find(st: &AppState, caller: &Caller, user_id: &UserId) -> Result<PersonView, AppError> {
    list(st, caller).await?.into_iter().find(|p| &p.id == user_id).ok_or(AppError::NotFound)
}

/// Turns an account off (its sessions and the API keys it created revoked at once) or back on. An admin cannot turn
/// themself off: the office would risk locking itself out of its own panel.
pub async fn set_active(
    st: &AppState,
    caller: &Caller,
    user_id: &UserId,
    active: bool,
) -> Result<(), AppError> {
    require_office_admin(caller)?;
    if !active && matches!(caller, Caller::User(u) if &u.id == user_id) {
        return Err(AppError::Refused {
            refusal: Refusal::CannotDisableSelf,
            message: "you cannot deactivate your own account".into(),
        });
    }
    let actor = caller.audit_actor();
    let id = user_id.clone();
    let keys_revoked = st
        .db
        .tx(move |c| {
            let user = User::find(c, &id)?.ok_or(DbError::NotFound)?;
            User::set_disabled(c, &id, !active)?;
            let revoked = if active { 0 } else { UserSession::revoke_all_of(c, &id, None, ids::now())? };
            // The API keys they created go with them: a key is shown once, to its creator.
            let keys_revoked =
                if active { Vec::new() } else { crate::db::models::ApiKey::revoke_created_by(c, &id, ids::now())? };
            audit::record(
                c,
                AuditEntry {
                    actor: &actor,
                    client_id: user.client_id.as_ref(),
                    action: if active { "user.enabled" } else { "user.disabled" },
                    subject: Some(id.as_str()),
                    payload: json!({"email": user.email, "sessions_revoked": revoked, "api_keys_revoked": keys_revoked}),
                },
            )?;
            Ok::<_, AppError>(keys_revoked)
        })
        .await?;
    // Committed: their keys stop working in this process at once.
    st.verified_keys.forget(&keys_revoked);
    Ok(())
}

/// An office admin sets a new password for somebody (told to them once, out of band); every
/// session of that person ends, so whoever knew the old password is out.
pub async fn reset_password(
    st: &AppState,
    caller: &Caller,
    user_id: &UserId,
    password: SecretString,
) -> Result<(), AppError> {
    reset_checks(caller, &password)?;
    let phc = hash(&password, "password").await?;
    let actor = caller.audit_actor();
    let id = user_id.clone();
    st.db
        .tx(move |c| {
            let user = User::find(c, &id)?.ok_or(DbError::NotFound)?;
            User::set_password_hash(c, &id, &phc)?;
            let revoked = UserSession::revoke_all_of(c, &id, None, ids::now())?;
            audit::record(
                c,
                AuditEntry {
                    actor: &actor,
                    client_id: user.client_id.as_ref(),
                    action: "user.password_reset",
                    subject: Some(id.as_str()),
                    payload: json!({"email": user.email, "sessions_revoked": revoked}),
                },
            )
        })
        .await?;
    Ok(())
}

/// What a password reset checks before it looks the person up: that the caller is an office
/// admin, then that the password is long enough. A handler given text that is no user id runs
/// these first, so its answer is the one an unknown id gets after the same checks.
pub fn reset_checks(caller: &Caller, password: &SecretString) -> Result<(), AppError> {
    require_office_admin(caller)?;
    crate::auth::password::long_enough(password.expose_secret())
        .map_err(|e| AppError::invalid_field("password", "password_too_short", e))
}

/// A person changes their own password, proving the current one first. Their other sessions
/// end; the one they are using stays.
pub async fn change_own_password(
    st: &AppState,
    me: &UserCaller,
    current: &SecretString,
    new: SecretString,
) -> Result<(), AppError> {
    let id = me.id.clone();
    let user = st.db.run(move |c| User::find(c, &id)).await?.ok_or(AppError::Unauthenticated)?;
    let (pw, phc) = (current.expose_secret().to_owned(), user.password_hash);
    let ok = tokio::task::spawn_blocking(move || verify_password(&pw, &phc))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    if !ok {
        return Err(AppError::invalid_field(
            "current_password",
            "wrong_password",
            "the current password is not right",
        ));
    }
    let phc = hash(&new, "new_password").await?;
    let (id, sid, client) = (me.id.clone(), me.session_id.clone(), me.client_id.clone());
    st.db
        .tx(move |c| {
            User::set_password_hash(c, &id, &phc)?;
            let revoked = UserSession::revoke_all_of(c, &id, Some(&sid), ids::now())?;
            audit::record(
                c,
                AuditEntry {
                    actor: &crate::service::audit::AuditActor::User(id.clone()),
                    client_id: client.as_ref(),
                    action: "user.password_changed",
                    subject: Some(id.as_str()),
                    payload: json!({"other_sessions_revoked": revoked}),
                },
            )
        })
        .await?;
    Ok(())
}

/// The e-mails of a client's active board members, for whoever manages access to the client
/// (they hold every permission there by their role, not by a grant).
pub async fn board_of(st: &AppState, caller: &Caller, client_id: &ClientId) -> Result<Vec<String>, AppError> {
    let (caller, id) = (caller.clone(), client_id.clone());
    st.db
        .tx(move |c| {
            crate::service::access::require(c, &caller, &id, crate::auth::Permission::Users)?;
            Ok::<_, AppError>(User::board_of(c, &id)?.into_iter().map(|u| u.email).collect())
        })
        .await
}
