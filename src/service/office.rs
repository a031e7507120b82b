//! The office's own KSeF credential: a KSeF certificate issued for the office's NIP (or a token
//! of the office), stored once, sealed in the vault like the clients' credentials (bound to the
//! office's NIP and its own kinds), checked against KSeF before it is stored. It logs into the
//! context of every client that uses it ([`CredentialMode::Office`]) and granted the office
//! permissions in KSeF.

use chrono::NaiveDateTime;
use secrecy::{ExposeSecret, SecretBox, SecretString};

use crate::db::models::{ids, Client, NewOfficeCredential, OfficeCredential};
use crate::db::DbError;
use crate::domain::{ClientId, CredentialMode, KsefTarget, Nip, OfficeCredentialId, OfficeCredentialKind};
use crate::error::{AppError, Refusal};
use crate::service::access::{self, Caller};
use crate::service::audit;
use crate::service::clients::{fingerprint, KSEF_SAID};
use crate::service::ksef_login::{self, open_bound};
use crate::service::lifetime::Validity;
use crate::state::AppState;
use crate::vault;

/// What the office stores: its KSeF token, or its KSeF certificate with the private key (PEM).
pub enum OfficeSecret {
    Token(SecretString),
    Certificate { certificate_pem: String, private_key_pem: SecretString },
}

/// The office's NIP, the KSeF to check against (None: the one its clients use), the secret.
pub struct OfficeCredentialInput {
    pub nip: Nip,
    pub ksef: Option<KsefTarget>,
    pub secret: OfficeSecret,
}

impl OfficeCredentialInput {
    /// From what a person typed: the NIP, the KSeF (blank: the one the clients use), the secret.
    /// Errors name the field (`office_nip`, `ksef`).
    pub fn read(nip: &str, ksef: Option<&str>, secret: OfficeSecret) -> Result<Self, AppError> {
        let nip = Nip::parse(nip).map_err(|e| AppError::invalid_field("office_nip", "bad_nip", e))?;
        let ksef = ksef
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(KsefTarget::parse)
            .transpose()
            .map_err(|e| AppError::invalid_field("ksef", "not_ksef", e))?;
        Ok(Self { nip, ksef, secret })
    }
}

/// The office's credential as people see it: never the secret.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OfficeCredentialView {
    pub office_nip: Nip,
    pub kind: OfficeCredentialKind,
    pub fingerprint: String,
    pub ksef_environment: String,
    #[serde(serialize_with = "crate::local_time::rfc3339")]
    pub created_at: NaiveDateTime,
    #[serde(flatten)]
    pub validity: Validity,
    #[serde(serialize_with = "crate::local_time::rfc3339_opt")]
    pub last_auth_ok_at: Option<NaiveDateTime>,
    pub last_auth_error: Option<String>,
}

impl From<&OfficeCredential> for OfficeCredentialView {
    fn from(c: &OfficeCredential) -> Self {
        Self {
            office_nip: c.office_nip.clone(),
            kind: c.kind,
            fingerprint: c.fingerprint.clone(),
            ksef_environment: c.ksef_environment.clone(),
            created_at: c.created_at,
            validity: Validity::of(c.valid_until),
            last_auth_ok_at: c.last_auth_ok_at,
            last_auth_error: c.last_auth_error.clone(),
        }
    }
}

/// The office's active credential (office admins and the operator only).
pub async fn show(st: &AppState, caller: &Caller) -> Result<Option<OfficeCredentialView>, AppError> {
    access::require_office_admin(caller)?;
    Ok(st.db.read(OfficeCredential::find_active).await?.as_ref().map(OfficeCredentialView::from))
}

/// The refusal to use the office's credential with a client of another KSeF: it would hand the
/// office's identity to a KSeF (or a mistyped URL) it was never checked against.
pub(crate) fn other_ksef(office: &str, client: &str) -> AppError {
    AppError::invalid_field(
        "ksef",
        "office_credential_other_ksef",
        format!("the office's KSeF credential is for KSeF {office}, this client uses {client}; it is never sent to another KSeF"),
    )
}

/// The office's active credential opened for a login, if the office stored one.
pub(crate) async fn open_active(
    st: &AppState,
) -> Result<Option<(OfficeCredential, ksef_client::Credential)>, AppError> {
    let Some(cred) = st.db.read(OfficeCredential::find_active).await? else { return Ok(None) };
    let plain = open_bound(
        st,
        &cred.office_nip,
        cred.kind.vault_kind(),
        cred.key_version,
        &cred.nonce,
        &cred.ciphertext,
    )?;
    let login = to_login(cred.kind, &plain)?;
    Ok(Some((cred, login)))
}

fn to_login(
    kind: OfficeCredentialKind,
    plain: &SecretBox<Vec<u8>>,
) -> Result<ksef_client::Credential, AppError> {
    Ok(match kind {
        OfficeCredentialKind::Token => ksef_client::Credential::KsefToken(ksef_login::token_of(plain)?),
        OfficeCredentialKind::Certificate => crate::service::certificates::to_credential(plain)?,
    })
}

/// A secret read and checked locally, ready to be tried against KSeF.
struct Prepared {
    kind: OfficeCredentialKind,
    secret: SecretBox<Vec<u8>>,
    fingerprint: String,
    valid_until: Option<NaiveDateTime>,
}

fn prepare(secret: OfficeSecret) -> Result<Prepared, AppError> {
    match secret {
        OfficeSecret::Token(token) => {
            let token = ksef_login::pasted_token(&token)?;
            Ok(Prepared {
                kind: OfficeCredentialKind::Token,
                fingerprint: fingerprint(token.as_bytes()),
                secret: SecretBox::new(Box::new(token.into_bytes())),
                valid_until: None,
            })
        }
        OfficeSecret::Certificate { certificate_pem, private_key_pem } => {
            let parsed =
                crate::service::certificates::parse(&certificate_pem, private_key_pem.expose_secret())?;
            Ok(Prepared {
                kind: OfficeCredentialKind::Certificate,
                fingerprint: fingerprint(&parsed.certificate_der),
                secret: parsed.secret,
                valid_until: Some(parsed.not_after),
            })
        }
    }
}

/// The KSeF to check against: the one named, else the one every client uses.
async fn target_of(st: &AppState, named: Option<KsefTarget>) -> Result<String, AppError> {
    if let Some(t) = named {
        return Ok(t.as_str().to_owned());
    }
    let mut used = st.db.read(Client::environments).await?;
    match (used.pop(), used.is_empty()) {
        (Some(only), true) => Ok(only),
        _ => Err(AppError::invalid_field(
            "ksef",
            "ksef_required",
            "say which KSeF the office's credential is for (test, demo, prod or an API URL): the clients do not name exactly one",
        )),
    }
}

/// Whether `environment` answers as KSeF does (a challenge from its public auth endpoint): a
/// mistyped URL or a simulator without `/v2` is told apart from a refused credential. Asked
/// before anything naming that KSeF is stored (the office's credential, a new client).
pub(crate) async fn answers_as_ksef(st: &AppState, environment: &str) -> Result<(), AppError> {
    let not_ksef = |why: String| {
        AppError::invalid_field("ksef", "not_ksef", format!("{environment} does not answer as KSeF: {why}"))
    };
    let ksef =
        crate::ksef::client_for(environment, st.ksef_limits.clone()).map_err(|e| not_ksef(e.to_string()))?;
    ksef.auth_challenge().await.map(|_| ()).map_err(|e| not_ksef(e.to_string()))
}

/// Stores the office's credential once KSeF accepts it in the office's own context (one KSeF
/// refuses is never stored and the previous one stays), retiring the previous one; clients
/// paused while using the office's credential try again. Audited; office admins only.
pub async fn store(
    st: &AppState,
    caller: &Caller,
    input: OfficeCredentialInput,
) -> Result<OfficeCredentialView, AppError> {
    access::require_office_admin(caller)?;
    let prepared = prepare(input.secret)?;
    let environment = target_of(st, input.ksef).await?;
    answers_as_ksef(st, &environment).await?;
    let office_nip = input.nip;
    let probe = ksef_login::probe(st, &environment, &office_nip, to_login(prepared.kind, &prepared.secret)?)
        .await
        .map_err(|refusal| {
            tracing::warn!(error = %refusal.message, "The office's new KSeF credential failed its check; not stored");
            AppError::Refused {
                refusal: Refusal::CredentialRefused,
                message: format!(
                    "KSeF did not accept the office's credential in the office's own context (NIP {office_nip}), so it was not stored and the previous one stays. {KSEF_SAID}{}",
                    refusal.message
                ),
            }
        })?;
    let sealed =
        vault::seal(&st.keys, &office_nip, prepared.kind.vault_kind(), prepared.secret.expose_secret())
            .map_err(|e| AppError::Internal(e.into()))?;
    let valid_until = prepared.valid_until.or(probe.token_valid_until);
    let (caller, fingerprint) = (caller.clone(), prepared.fingerprint);
    let kind = prepared.kind;
    st.db
        .tx(move |conn| {
            let (id, now) = (OfficeCredentialId::new(), ids::now());
            OfficeCredential::insert_active(
                conn,
                &NewOfficeCredential {
                    id: &id,
                    office_nip: &office_nip,
                    kind,
                    key_version: i64::from(sealed.key_version),
                    nonce: &sealed.nonce,
                    ciphertext: &sealed.ciphertext,
                    fingerprint: &fingerprint,
                    ksef_environment: &environment,
                    valid_until,
                    active: true,
                    last_auth_ok_at: Some(now),
                    created_by: caller.user().map(|u| &u.id),
                    created_at: now,
                },
            )?;
            let mut resumed = 0;
            for client in Client::list_office_mode(conn)? {
                if client.paused_reason.is_some() {
                    Client::clear_pause(conn, &client.id)?;
                    resumed += 1;
                }
            }
            audit::record(
                conn,
                audit::AuditEntry {
                    actor: &caller.audit_actor(),
                    client_id: None,
                    action: "office_credential.replaced",
                    subject: Some(&id),
                    payload: serde_json::json!({"office_nip": office_nip, "kind": kind.as_str(), "fingerprint": fingerprint,
                        "ksef_environment": environment, "valid_until": valid_until, "paused_clients_resumed": resumed}),
                },
            )?;
            let stored = OfficeCredential::find_active(conn)?.ok_or(DbError::NotFound)?;
            Ok::<_, AppError>(OfficeCredentialView::from(&stored))
        })
        .await
}

/// Switches the credential a client logs in with: the office's or its own. Needs the
/// `credentials` permission on the client; audited. A pause for the previous credential no
/// longer says anything, so it is lifted: the sender tries with the new one and pauses again,
/// with the reason that fits, if KSeF refuses it.
pub async fn set_mode(
    st: &AppState,
    caller: &Caller,
    client_id: &ClientId,
    mode: CredentialMode,
) -> Result<(), AppError> {
    let (caller, client_id) = (caller.clone(), client_id.clone());
    st.db
        .tx(move |conn| {
            access::require(conn, &caller, &client_id, crate::auth::Permission::Credentials)?;
            let before = Client::get(conn, &client_id)?;
            if before.credential_mode == mode {
                return Ok(());
            }
            // Logging a client in under the office's identity is the office's decision, and
            // needs an office credential for the client's KSeF.
            if mode == CredentialMode::Office {
                access::require_office_admin(&caller)?;
                match OfficeCredential::find_active(conn)? {
                    None => {
                        return Err(AppError::invalid_field(
                            "credential",
                            "no_office_credential",
                            "the office has no KSeF credential of its own yet; store it first",
                        ))
                    }
                    Some(c) if c.ksef_environment != before.ksef_environment => {
                        return Err(other_ksef(&c.ksef_environment, &before.ksef_environment))
                    }
                    Some(_) => {}
                }
            }
            Client::set_credential_mode(conn, &client_id, mode)?;
            if before.paused_reason.is_some() {
                Client::clear_pause(conn, &client_id)?;
            }
            audit::record(
                conn,
                audit::AuditEntry::on(
                    &caller.audit_actor(),
                    &client_id,
                    "client.credential_mode_changed",
                    &client_id,
                    serde_json::json!({"from": before.credential_mode.as_str(), "to": mode.as_str()}),
                ),
            )?;
            Ok::<_, AppError>(())
        })
        .await
}
