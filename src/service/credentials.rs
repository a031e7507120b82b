//! Credential health: does the credential a client logs in with really authenticate in the
//! client's KSeF context, and what may it do there? A client logs in with its own credential or
//! with the office's ([`CredentialMode`]); both are checked the same way.

use secrecy::{SecretBox, SecretString};

use crate::db::models::{ids, Client, Credential, OfficeAccess};
use crate::db::{AnyConn, DbError};
use crate::domain::{ClientId, CredentialMode};
use crate::error::AppError;
use crate::service::audit::{self, AuditActor};
use crate::service::certificates::{self, KSEF_CERTIFICATE};
use crate::service::clients::KSEF_TOKEN;
use crate::service::ksef_login::{missing_permissions, open_bound, probe, token_of, LoginSource};
use crate::state::AppState;

/// The outcome of one check, in words an office admin can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialHealth {
    /// KSeF accepted the credential just now.
    Ok,
    /// The client has no active credential (or, in office mode, the office stored none).
    Missing,
    /// KSeF refused it, could not be asked, or the office lacks permissions in the client's
    /// context; the reason is stored with the credential (or the office's access) too.
    Failed(String),
}

impl CredentialHealth {
    /// In words for an API answer.
    pub fn describe(&self) -> String {
        match self {
            Self::Ok => "ok: KSeF accepted the credential".to_owned(),
            Self::Missing => "missing: no credential stored".to_owned(),
            Self::Failed(why) => format!("failed: {why}"),
        }
    }
}

/// Opens a stored credential's secret from the vault. Never logged, never returned by a route.
pub(crate) fn open_sealed(
    st: &AppState,
    client: &Client,
    cred: &Credential,
) -> Result<SecretBox<Vec<u8>>, AppError> {
    open_bound(st, &client.nip, &cred.kind, cred.key_version, &cred.nonce, &cred.ciphertext)
}

/// The client's active KSeF token, opened from the vault.
pub async fn open_ksef_token(
    st: &AppState,
    client: &Client,
) -> Result<Option<(Credential, SecretString)>, AppError> {
    let client_id = client.id.clone();
    let Some(cred) = st.db.read(move |c| Credential::find_active(c, &client_id, KSEF_TOKEN)).await? else {
        return Ok(None);
    };
    let token = token_of(&open_sealed(st, client, &cred)?)?;
    Ok(Some((cred, token)))
}

/// The client's own credential: its KSeF certificate when it has one (tokens are being
/// retired), else its KSeF token.
pub async fn open_credential(
    st: &AppState,
    client: &Client,
) -> Result<Option<(Credential, ksef_client::Credential)>, AppError> {
    let client_id = client.id.clone();
    let Some(cred) = st.db.read(move |c| Credential::find_preferred(c, &client_id)).await? else {
        return Ok(None);
    };
    let plain = open_sealed(st, client, &cred)?;
    let credential = if cred.kind == KSEF_CERTIFICATE {
        certificates::to_credential(&plain)?
    } else {
        ksef_client::Credential::KsefToken(token_of(&plain)?)
    };
    Ok(Some((cred, credential)))
}

/// The credential the senders log in to the client's context with: the office's when the
/// client uses it, else the client's own. None when that credential is not stored.
pub async fn open_login(
    st: &AppState,
    client: &Client,
) -> Result<Option<(LoginSource, ksef_client::Credential)>, AppError> {
    Ok(match client.credential_mode {
        CredentialMode::Own => open_credential(st, client).await?.map(|(c, k)| (LoginSource::Own(c.id), k)),
        CredentialMode::Office => match crate::service::office::open_active(st).await? {
            // The office's credential only ever goes to the KSeF it was stored and checked for.
            Some((c, _)) if c.ksef_environment != client.ksef_environment => {
                return Err(crate::service::office::other_ksef(&c.ksef_environment, &client.ksef_environment))
            }
            Some((c, k)) => Some((LoginSource::Office { credential_id: c.id, office_nip: c.office_nip }, k)),
            None => None,
        },
    })
}

/// Records how a login with `source` into the client's context ended: Ok with the permissions
/// KSeF reported (when it said), or why it failed.
pub fn record_login(
    conn: &mut AnyConn,
    client_id: &ClientId,
    source: &LoginSource,
    outcome: Result<Option<&str>, &str>,
) -> Result<(), DbError> {
    let now = ids::now();
    match source {
        LoginSource::Own(id) => {
            Credential::record_auth(conn, id, now, outcome.err())?;
            match outcome {
                Ok(Some(p)) => Credential::record_permissions(conn, id, p),
                _ => Ok(()),
            }
        }
        LoginSource::Office { credential_id, .. } => {
            OfficeAccess::record(conn, client_id, credential_id, now, outcome)
        }
    }
}

/// Logs in to the client's context with the credential it uses and records the result, with the
/// permissions KSeF reports there. When the login works (and, with the office's credential, the
/// office holds the sending permissions there) a client paused for its credential resumes:
/// that is how a client granting the office access in KSeF gets going without anything new
/// being stored.
pub async fn check(st: &AppState, client: &Client) -> Result<CredentialHealth, AppError> {
    check_by(st, client, &AuditActor::System).await
}

/// [`check`] asked by a person or an API key holding the `credentials` permission on the client.
pub async fn check_as(
    st: &AppState,
    caller: &crate::service::access::Caller,
    client_id: &ClientId,
) -> Result<CredentialHealth, AppError> {
    let (c2, id) = (caller.clone(), client_id.clone());
    let client = st
        .db
        .tx(move |conn| {
            crate::service::access::require(conn, &c2, &id, crate::auth::Permission::Credentials)?;
            Ok::<_, AppError>(Client::get(conn, &id)?)
        })
        .await?;
    check_by(st, &client, &caller.audit_actor()).await
}

/// [`check`] on behalf of `actor` (who the audit trail names for a resume).
pub async fn check_by(
    st: &AppState,
    client: &Client,
    actor: &AuditActor,
) -> Result<CredentialHealth, AppError> {
    let Some((source, credential)) = open_login(st, client).await? else {
        return Ok(CredentialHealth::Missing);
    };
    let probed = probe(st, &client.ksef_environment, &client.nip, credential).await;
    let permissions = probed.as_ref().ok().and_then(|p| p.permissions.clone());
    let verdict = match (&probed, source.office_nip()) {
        (Ok(_), None) => Ok(()),
        (Ok(_), Some(office)) => {
            let missing = missing_permissions(permissions.as_deref());
            if missing.is_empty() {
                Ok(())
            } else {
                Err(crate::service::reasons::office_lacks(office, &missing, permissions.as_deref()))
            }
        }
        (Err(refusal), None) => Err(refusal.message.clone()),
        (Err(refusal), Some(office)) => Err(crate::service::reasons::office_refused(office, refusal)),
    };
    let (client_id, paused, actor) = (client.id.clone(), client.paused_reason.is_some(), actor.clone());
    // A failed login is recorded in the words the verdict found for it (Polish, naming what to
    // grant, for the office's credential).
    let login_error =
        probed.as_ref().err().map(|r| verdict.as_ref().err().cloned().unwrap_or(r.message.clone()));
    let healthy = verdict.is_ok();
    st.db
        .tx(move |c| {
            let outcome = match &login_error {
                None => Ok(permissions.as_deref()),
                Some(e) => Err(e.as_str()),
            };
            record_login(c, &client_id, &source, outcome)?;
            if healthy && paused {
                Client::clear_pause(c, &client_id)?;
                let why =
                    serde_json::json!({"why": "credential_check_passed", "office_nip": source.office_nip()});
                let entry = audit::AuditEntry::on(&actor, &client_id, "send.client_resumed", &client_id, why);
                audit::record(c, entry)?;
            }
            Ok::<_, DbError>(())
        })
        .await?;
    Ok(match verdict {
        Ok(()) => CredentialHealth::Ok,
        Err(why) => {
            tracing::warn!(client.id = %client.id, error = %why, "KSeF authentication with a stored credential failed");
            CredentialHealth::Failed(why)
        }
    })
}
