//! Credential health: does the credential a client logs in with really authenticate in the
//! client's KSeF context, and what may it do there? A client logs in with its own credential or
//! with the office's ([`CredentialMode`]); both are checked the same way.

use chrono::NaiveDateTime;
use secrecy::{ExposeSecret, SecretBox, SecretString};

use crate::db::models::{ids, Client, Credential, OfficeAccess};
use crate::db::{AnyConn, DbError};
use crate::domain::CredentialMode;
use crate::error::AppError;
use crate::service::audit::{self, AuditActor};
use crate::service::certificates::{self, KSEF_CERTIFICATE};
use crate::service::clients::KSEF_TOKEN;
use crate::state::AppState;
use crate::vault::{self, Sealed};

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

/// What the office must hold in a client's context to send and follow its invoices.
pub const SENDING_PERMISSIONS: [&str; 2] = ["InvoiceWrite", "InvoiceRead"];

/// The sending permissions missing from what KSeF reported (`InvoiceRead,InvoiceWrite`);
/// nothing is missing when KSeF would not say.
pub fn missing_permissions(reported: Option<&str>) -> Vec<&'static str> {
    let Some(held) = reported else { return Vec::new() };
    let held: Vec<&str> = held.split(',').map(str::trim).collect();
    SENDING_PERMISSIONS.into_iter().filter(|p| !held.contains(p)).collect()
}

/// Which stored credential logs a client in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginSource {
    /// The client's own credential (a `credentials` row).
    Own(String),
    /// The office's credential (an `office_credentials` row), issued for the office's NIP.
    Office { credential_id: String, office_nip: String },
}

impl LoginSource {
    /// The office's NIP when the office's credential logs in.
    pub fn office_nip(&self) -> Option<&str> {
        match self {
            Self::Own(_) => None,
            Self::Office { office_nip, .. } => Some(office_nip),
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

/// Opens sealed bytes bound to `nip` and `kind`.
pub(crate) fn open_bound(
    st: &AppState,
    nip: &str,
    kind: &str,
    key_version: i64,
    nonce: &[u8],
    ciphertext: &[u8],
) -> Result<SecretBox<Vec<u8>>, AppError> {
    vault::open(&st.keys, nip, kind, &Sealed::stored(key_version, nonce, ciphertext))
        .map_err(|e| AppError::Internal(e.into()))
}

/// The client's active KSeF token, opened from the vault.
pub async fn open_ksef_token(
    st: &AppState,
    client: &Client,
) -> Result<Option<(Credential, SecretString)>, AppError> {
    let client_id = client.id.clone();
    let Some(cred) = st.db.tx(move |c| Credential::find_active(c, &client_id, KSEF_TOKEN)).await? else {
        return Ok(None);
    };
    let token = token_of(&open_sealed(st, client, &cred)?)?;
    Ok(Some((cred, token)))
}

/// A KSeF token from its opened secret.
pub(crate) fn token_of(plain: &SecretBox<Vec<u8>>) -> Result<SecretString, AppError> {
    let token = String::from_utf8(plain.expose_secret().clone()).map_err(|e| AppError::Internal(e.into()))?;
    Ok(SecretString::from(token))
}

/// The client's own credential: its KSeF certificate when it has one (tokens are being
/// retired), else its KSeF token.
pub async fn open_credential(
    st: &AppState,
    client: &Client,
) -> Result<Option<(Credential, ksef_client::Credential)>, AppError> {
    let client_id = client.id.clone();
    let Some(cred) = st.db.tx(move |c| Credential::find_preferred(c, &client_id)).await? else {
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
    client_id: &str,
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
    client_id: &str,
) -> Result<CredentialHealth, AppError> {
    let (c2, id) = (caller.clone(), client_id.to_owned());
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
    let probed = probe(&client.ksef_environment, &client.nip, credential).await;
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
                audit::record(
                    c,
                    audit::AuditEntry {
                        actor: &actor,
                        client_id: Some(&client_id),
                        action: "send.client_resumed",
                        subject: Some(&client_id),
                        payload: serde_json::json!({"why": "credential_check_passed", "office_nip": source.office_nip()}),
                    },
                )?;
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

/// What a successful login told about the credential.
#[derive(Debug, Clone, Default)]
pub(crate) struct Probe {
    /// The permissions KSeF reports for it in the context (`InvoiceRead,InvoiceWrite`); None
    /// when KSeF would not say (the login itself still counts).
    pub permissions: Option<String>,
    /// A token's end of validity (see [`crate::service::lifetime`]); None for certificates.
    pub token_valid_until: Option<NaiveDateTime>,
}

/// Why a login (or a call after it) failed, without the secret: KSeF's words, whether KSeF
/// refused the credential or its permissions (rather than being unreachable), and, when KSeF
/// ended the authentication with a status, its code (415: no permissions in the context).
#[derive(Debug, Clone)]
pub struct Refusal {
    pub message: String,
    pub refused: bool,
    pub auth_code: Option<i32>,
}

impl From<&ksef_client::KsefError> for Refusal {
    fn from(e: &ksef_client::KsefError) -> Self {
        let auth_code = match e {
            ksef_client::KsefError::AuthFailed(status) => Some(status.code),
            _ => None,
        };
        let message = e.to_string();
        let message = if message.trim().is_empty() { e.code().to_owned() } else { message };
        Self { message, refused: e.class() == ksef_client::ErrorClass::Credential, auth_code }
    }
}

impl From<ksef_client::KsefError> for Refusal {
    fn from(e: ksef_client::KsefError) -> Self {
        Self::from(&e)
    }
}

/// KSeF's status of an authentication refused for lack of permissions in the context.
pub const NO_PERMISSIONS_IN_CONTEXT: i32 = 415;

/// Logs in to the KSeF `environment` in the context of `context_nip` with `credential` (stored
/// or not yet): what KSeF reports for it there, or why it failed (never the secret itself).
pub(crate) async fn probe(
    environment: &str,
    context_nip: &str,
    credential: ksef_client::Credential,
) -> Result<Probe, Refusal> {
    let ksef = crate::ksef::client_for(environment)?;
    let token_reference = match &credential {
        ksef_client::Credential::KsefToken(t) => t.expose_secret().split('|').next().map(str::to_owned),
        ksef_client::Credential::Certificate { .. } => None,
    };
    let context = ksef_client::ContextIdentifier::nip(context_nip);
    let login = ksef_client::TokenManager::with_credential(ksef.clone(), context, credential);
    let access = login.access_token().await?;
    let permissions = reported_permissions(&ksef, &access, context_nip).await;
    let token_valid_until = match token_reference {
        Some(reference) => reported_token_end(&ksef, &access, &reference).await,
        None => None,
    };
    Ok(Probe { permissions, token_valid_until })
}

/// What KSeF says the credential may do in the context (`InvoiceWrite,InvoiceRead…`);
/// None when KSeF would not say (the check itself still counts as a successful login).
async fn reported_permissions(
    ksef: &ksef_client::KsefClient,
    access: &SecretString,
    nip: &str,
) -> Option<String> {
    use ksef_client::models::manage::{PersonalPermissionsQuery, TypedIdentifier};
    let query = PersonalPermissionsQuery {
        context_identifier: Some(TypedIdentifier { kind: "Nip".into(), value: Some(nip.to_owned()) }),
        permission_types: None,
        permission_state: Some("Active".into()),
    };
    let page = ksef.query_personal_permissions(access, &query, 0, 100).await.ok()?;
    let mut scopes: Vec<String> = page.permissions.into_iter().map(|p| p.permission_scope).collect();
    scopes.sort();
    scopes.dedup();
    Some(scopes.join(","))
}

/// A token's end of validity: KSeF's own (`GET /tokens/{ref}`, a token sees itself) when it
/// reports one, else the announced end by its issue date; when KSeF will not tell, the token was
/// issued before now at the latest.
async fn reported_token_end(
    ksef: &ksef_client::KsefClient,
    access: &SecretString,
    reference: &str,
) -> Option<NaiveDateTime> {
    let info = ksef.get_token(access, reference).await.ok();
    let reported = info.as_ref().and_then(|i| i.valid_until).map(|t| t.naive_utc());
    let issued = info.and_then(|i| i.date_created).map_or_else(ids::now, |t| t.naive_utc());
    crate::service::lifetime::token_valid_until(reported, issued)
}
