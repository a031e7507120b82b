//! People: creating users, logging in and out, and turning a session token back into a caller.

use chrono::Duration;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::auth::password::{dummy_hash, hash_password, verify_password};
use crate::auth::Role;
use crate::db::models::{ids, Client, NewUser, User, UserSession};
use crate::db::DbError;
use crate::domain::{Nip, UserId, UserSessionId};
use crate::error::AppError;
use crate::service::access::{Caller, UserCaller};
use crate::service::audit::{self, AuditActor, AuditEntry};
use crate::state::AppState;

/// What an office admin (or the CLI) says when adding a person.
#[derive(Debug)]
pub struct NewUserInput {
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// Required for board members: their company.
    pub nip: Option<Nip>,
}

/// Adds a user. Only office admins (and the operator) may; board members need their company.
pub async fn create_user(
    st: &AppState,
    caller: &Caller,
    input: NewUserInput,
    password: SecretString,
) -> Result<User, AppError> {
    if !matches!(caller, Caller::Operator)
        && !matches!(caller, Caller::User(u) if u.role == Role::OfficeAdmin)
    {
        return Err(AppError::Forbidden);
    }
    // Each refusal names its field, so the panel shows it beside the field in Polish.
    let email = crate::service::validate::email(&input.email)
        .map_err(|e| AppError::invalid_field("email", "email_invalid", e.to_string()))?;
    let display_name = crate::service::validate::optional_name("display_name", &input.display_name)
        .map_err(|e| AppError::invalid_field("display_name", "name_invalid", e.to_string()))?;
    if input.role == Role::BoardMember && input.nip.is_none() {
        return Err(AppError::invalid_field(
            "nip",
            "board_member_needs_company",
            "a board member needs --nip of their company",
        ));
    }
    let phc = hash(&password, "password").await?;
    let actor = caller.audit_actor();
    let id = UserId::new();
    st.db
        .tx(move |conn| -> Result<User, AppError> {
            let client_id = match &input.nip {
                Some(nip) => Some(
                    Client::find_by_nip(conn, nip)?
                        .ok_or_else(|| {
                            AppError::invalid_field(
                                "nip",
                                "no_such_client",
                                format!("no client with NIP {nip}"),
                            )
                        })?
                        .id,
                ),
                None => None,
            };
            if User::find_by_email(conn, &email)?.is_some() {
                return Err(AppError::Conflict(format!("a user with e-mail {email} already exists")));
            }
            let display_name = if display_name.is_empty() { email.clone() } else { display_name };
            User::insert(
                conn,
                &NewUser {
                    id: &id,
                    email: &email,
                    display_name: &display_name,
                    password_hash: &phc,
                    role: input.role.as_str(),
                    client_id: client_id.as_ref(),
                    disabled: false,
                    created_at: ids::now(),
                },
            )?;
            audit::record(
                conn,
                AuditEntry {
                    actor: &actor,
                    client_id: client_id.as_ref(),
                    action: "user.created",
                    subject: Some(id.as_str()),
                    payload: json!({"email": email, "role": input.role.as_str()}),
                },
            )?;
            Ok(User::find(conn, &id)?.ok_or(DbError::NotFound)?)
        })
        .await
}

/// The argon2id PHC string of a new password, off the async threads (hashing takes tens of
/// milliseconds on purpose); a too short password is refused naming the form's `field`.
pub(crate) async fn hash(password: &SecretString, field: &'static str) -> Result<String, AppError> {
    let pw = password.expose_secret().to_owned();
    tokio::task::spawn_blocking(move || hash_password(&pw))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|e| AppError::invalid_field(field, "password_too_short", e))
}

/// A successful login: the session token for the cookie, and the CSRF token for forms.
#[derive(Debug)]
pub struct LoginOutcome {
    pub token: String,
    pub csrf: String,
    pub user: User,
}

/// Checks the password and opens a panel session. Wrong e-mail and wrong password are the same
/// error after the same work, so logins do not reveal which accounts exist.
pub async fn login(
    st: &AppState,
    email: &str,
    password: &SecretString,
    ip: Option<String>,
) -> Result<LoginOutcome, AppError> {
    let email = email.trim().to_lowercase();
    let lookup = email.clone();
    let user = st.db.tx(move |c| User::find_by_email(c, &lookup)).await?;
    let phc = user.as_ref().map_or_else(|| dummy_hash().to_owned(), |u| u.password_hash.clone());
    let pw = password.expose_secret().to_owned();
    let ok = tokio::task::spawn_blocking(move || verify_password(&pw, &phc))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let user = match user {
        Some(u) if ok && !u.disabled => u,
        other => {
            let client = other.as_ref().and_then(|u| u.client_id.clone());
            let subject = other.map(|u| u.id);
            st.db
                .tx(move |c| {
                    audit::record(
                        c,
                        AuditEntry {
                            actor: &AuditActor::System,
                            client_id: client.as_ref(),
                            action: "login.failed",
                            subject: subject.as_deref(),
                            payload: json!({"ip": ip}),
                        },
                    )
                })
                .await?;
            return Err(AppError::Unauthenticated);
        }
    };
    let sid = UserSessionId::new();
    let now = ids::now();
    let ttl = st.settings.auth.session_max_age_h;
    let expires = now + Duration::hours(i64::from(ttl));
    let (uid, client_id, sid2) = (user.id.clone(), user.client_id.clone(), sid.clone());
    st.db
        .tx(move |c| {
            UserSession::insert(c, &sid2, &uid, now, expires, ip.as_deref())?;
            User::record_login(c, &uid, now)?;
            audit::record(
                c,
                AuditEntry {
                    actor: &AuditActor::User(uid.clone()),
                    client_id: client_id.as_ref(),
                    action: "login.succeeded",
                    subject: Some(sid2.as_str()),
                    payload: json!({"ip": ip}),
                },
            )
        })
        .await?;
    let token = issue_token(st, &user.id, &sid)?;
    Ok(LoginOutcome { token, csrf: st.session_keys.csrf_token(&sid), user })
}

/// A fresh short-lived token for a live session (also used to slide the cookie forward).
pub fn issue_token(st: &AppState, user_id: &UserId, sid: &UserSessionId) -> Result<String, AppError> {
    let now = chrono::Utc::now().timestamp();
    st.session_keys
        .issue(user_id, sid, now, i64::from(st.settings.auth.token_ttl_s))
        .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))
}

/// The caller behind a session token, when the token is valid and its session still live.
/// Returns the caller and the token's remaining lifetime in seconds.
pub async fn resolve_session(st: &AppState, token: &str) -> Result<Option<(UserCaller, i64)>, AppError> {
    let Some(claims) = st.session_keys.check(token) else { return Ok(None) };
    // A claim that is no session id names no live session, as an unknown one does.
    let Some(sid) = claims.session_id() else { return Ok(None) };
    let live = st.db.run(move |c| UserSession::find_live(c, &sid, ids::now())).await?;
    let Some((session, user)) = live else { return Ok(None) };
    if claims.user_id().as_ref() != Some(&user.id) {
        return Ok(None);
    }
    let role = Role::parse(&user.role).map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
    let remaining = claims.exp - chrono::Utc::now().timestamp();
    Ok(Some((
        UserCaller {
            id: user.id,
            email: user.email,
            role,
            client_id: user.client_id,
            session_id: session.id,
        },
        remaining,
    )))
}

/// Ends the session for good: the token stops working at once, wherever it was copied.
pub async fn logout(st: &AppState, caller: &UserCaller) -> Result<(), AppError> {
    let (sid, uid, client) = (caller.session_id.clone(), caller.id.clone(), caller.client_id.clone());
    st.db
        .tx(move |c| {
            UserSession::revoke(c, &sid, ids::now())?;
            audit::record(
                c,
                AuditEntry {
                    actor: &AuditActor::User(uid),
                    client_id: client.as_ref(),
                    action: "logout",
                    subject: Some(sid.as_str()),
                    payload: json!({}),
                },
            )
        })
        .await?;
    Ok(())
}
