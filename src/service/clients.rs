//! Adding client companies together with their KSeF credential.

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::db::models::{ids, Client, Credential, NewClient, NewCredential, OfficeAccess, OfficeCredential};
use crate::domain::{ClientId, CredentialId, CredentialMode, KsefTarget, Nip, SendPolicy, UserId};
use crate::error::{AppError, Refusal};
use crate::service::audit::AuditActor;
use crate::service::lifetime::Validity;
use crate::state::AppState;
use crate::vault;

/// The credential kind of a KSeF token (certificates come as tokens are retired).
pub const KSEF_TOKEN: &str = "ksef_token";

/// What an office admin says when adding a client.
#[derive(Debug)]
pub struct NewClientInput {
    pub nip: Nip,
    pub name: String,
    pub ksef: KsefTarget,
    pub policy: SendPolicy,
}

/// Adds a client with its own KSeF token ([`CredentialMode::Own`]), sealed in the same
/// transaction: a client never exists half-made. `actor` is the id of the user doing it (None
/// for the CLI, which runs as the operator).
pub async fn add_client(
    st: &AppState,
    input: NewClientInput,
    ksef_token: SecretString,
    actor: Option<UserId>,
) -> Result<Client, AppError> {
    insert_client(st, input, Some(ksef_token), actor).await
}

/// Adds a client that logs in with the office's credential ([`CredentialMode::Office`], the
/// default for new clients): no secret of its own is stored. Its invoices go once the client
/// granted the office permissions in KSeF (the credential health says whether it did).
pub async fn add_office_client(
    st: &AppState,
    input: NewClientInput,
    actor: Option<UserId>,
) -> Result<Client, AppError> {
    insert_client(st, input, None, actor).await
}

async fn insert_client(
    st: &AppState,
    input: NewClientInput,
    ksef_token: Option<SecretString>,
    actor: Option<UserId>,
) -> Result<Client, AppError> {
    let name = crate::service::validate::name("name", &input.name)?;
    let sealed = match &ksef_token {
        Some(t) => {
            let token = t.expose_secret().trim();
            if token.len() < 16 {
                return Err(AppError::invalid("the KSeF token looks too short; paste the whole token"));
            }
            let sealed = vault::seal(&st.keys, &input.nip, KSEF_TOKEN, token.as_bytes())
                .map_err(|e| AppError::Internal(e.into()))?;
            Some((sealed, fingerprint(token.as_bytes())))
        }
        None => None,
    };
    let mode = if sealed.is_some() { CredentialMode::Own } else { CredentialMode::Office };
    let client_id = ClientId::new();
    let credential_id = CredentialId::new();
    st.db
        .tx(move |conn| {
            let now = ids::now();
            if Client::find_by_nip(conn, &input.nip)?.is_some() {
                return Err(crate::db::DbError::Conflict(format!(
                    "client with NIP {} already exists",
                    input.nip
                )));
            }
            Client::insert(
                conn,
                &NewClient {
                    id: &client_id,
                    nip: &input.nip,
                    name: &name,
                    ksef_environment: input.ksef.as_str(),
                    send_policy: input.policy,
                    credential_mode: mode,
                    created_at: now,
                    updated_at: now,
                },
            )?;
            if let Some((sealed, fingerprint)) = &sealed {
                Credential::insert_active(
                    conn,
                    &NewCredential {
                        id: &credential_id,
                        client_id: &client_id,
                        kind: KSEF_TOKEN,
                        key_version: i64::from(sealed.key_version),
                        nonce: &sealed.nonce,
                        ciphertext: &sealed.ciphertext,
                        fingerprint,
                        // Not asked of KSeF here: the token was issued by now at the latest.
                        valid_until: crate::service::lifetime::token_valid_until(None, now),
                        active: true,
                        created_by: actor.as_ref(),
                        created_at: now,
                    },
                )?;
            }
            let audit_actor = actor.clone().map_or(AuditActor::System, AuditActor::User);
            crate::service::audit::record(
                conn,
                crate::service::audit::AuditEntry::on(
                    &audit_actor,
                    &client_id,
                    "client.added",
                    &client_id,
                    serde_json::json!({"nip": input.nip.as_str(), "name": name, "ksef": input.ksef.as_str(),
                        "policy": input.policy.as_str(), "credential_mode": mode.as_str(),
                        "credential_fingerprint": sealed.as_ref().map(|(_, f)| f)}),
                ),
            )?;
            Client::find_by_nip(conn, &input.nip)?.ok_or(crate::db::DbError::NotFound)
        })
        .await
        .map_err(AppError::from)
}

/// A short, non-reversible label that lets people tell two credentials apart without seeing
/// either: the first 8 bytes of SHA-256, hex.
pub fn fingerprint(secret: &[u8]) -> String {
    hex::encode(&Sha256::digest(secret)[..8])
}

/// A client as a person sees it in lists: no secrets, the credential's health only.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ClientView {
    pub id: ClientId,
    pub nip: Nip,
    pub name: String,
    pub send_policy: SendPolicy,
    pub ksef_environment: String,
    pub paused_reason: Option<String>,
    /// Whose credential logs in to the client's KSeF context.
    pub credential_mode: CredentialMode,
    /// The client's own credential, if it has one (used in [`CredentialMode::Own`]).
    pub credential: Option<CredentialView>,
    /// In [`CredentialMode::Office`]: whether KSeF lets the office into the client's context,
    /// and with which permissions, as of the last login there.
    pub office_access: Option<OfficeAccessView>,
    /// What the caller may do on this client.
    pub permissions: Vec<&'static str>,
}

/// A stored credential's health, never its secret.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CredentialView {
    pub kind: String,
    pub fingerprint: String,
    #[serde(serialize_with = "crate::local_time::rfc3339")]
    pub created_at: chrono::NaiveDateTime,
    /// A certificate's validTo; a token's end of validity (KSeF's word, else 30.11.2027 for
    /// tokens issued by 31.12.2026), with the days left and the warning.
    #[serde(flatten)]
    pub validity: Validity,
    #[serde(serialize_with = "crate::local_time::rfc3339_opt")]
    pub last_auth_ok_at: Option<chrono::NaiveDateTime>,
    pub last_auth_error: Option<String>,
    pub ksef_permissions: Option<String>,
}

impl From<&Credential> for CredentialView {
    fn from(c: &Credential) -> Self {
        Self {
            kind: c.kind.clone(),
            fingerprint: c.fingerprint.clone(),
            created_at: c.created_at,
            validity: Validity::of(c.valid_until),
            last_auth_ok_at: c.last_auth_ok_at,
            last_auth_error: c.last_auth_error.clone(),
            ksef_permissions: c.ksef_permissions.clone(),
        }
    }
}

/// Whether the office's credential gets into a client's context, and what the client still has
/// to grant the office in KSeF.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OfficeAccessView {
    /// The office's NIP (None until the office stores its credential).
    pub office_nip: Option<Nip>,
    /// True when the last login worked and the office holds the sending permissions there.
    pub ok: bool,
    #[serde(serialize_with = "crate::local_time::rfc3339_opt")]
    pub checked_at: Option<chrono::NaiveDateTime>,
    #[serde(serialize_with = "crate::local_time::rfc3339_opt")]
    pub last_ok_at: Option<chrono::NaiveDateTime>,
    /// What KSeF reports the office may do in the client's context.
    pub ksef_permissions: Option<String>,
    /// Sending permissions the office lacks there.
    pub missing_permissions: Vec<&'static str>,
    pub last_error: Option<String>,
    /// In Polish: what the client (or the office) must do, when something is missing.
    pub explanation_pl: Option<String>,
}

impl OfficeAccessView {
    fn new(office: Option<&OfficeCredential>, access: Option<&OfficeAccess>) -> Self {
        use crate::service::reasons;
        // What was learned with an earlier office credential says nothing about the current one.
        let access = access.filter(|a| office.is_some_and(|o| o.id == a.office_credential_id));
        let office_nip = office.map(|o| o.office_nip.clone());
        let missing = match access {
            Some(a) if a.last_error.is_none() => {
                crate::service::ksef_login::missing_permissions(a.ksef_permissions.as_deref())
            }
            _ => crate::service::ksef_login::SENDING_PERMISSIONS.to_vec(),
        };
        let ok = access.is_some_and(|a| a.last_error.is_none()) && missing.is_empty();
        let explanation_pl = match (&office_nip, access) {
            _ if ok => None,
            (None, _) => Some(reasons::NO_OFFICE_CREDENTIAL.to_owned()),
            (Some(_), None) => Some(
                "Dostęp biura do tego klienta nie był jeszcze sprawdzany w KSeF: kliknij „Sprawdź dostęp biura w KSeF”."
                    .to_owned(),
            ),
            (Some(nip), Some(a)) => Some(match &a.last_error {
                Some(e) => e.clone(),
                None => reasons::office_lacks(nip, &missing, a.ksef_permissions.as_deref()),
            }),
        };
        Self {
            office_nip,
            ok,
            checked_at: access.map(|a| a.checked_at),
            last_ok_at: access.and_then(|a| a.last_ok_at),
            ksef_permissions: access.and_then(|a| a.ksef_permissions.clone()),
            missing_permissions: missing,
            last_error: access.and_then(|a| a.last_error.clone()),
            explanation_pl,
        }
    }
}

/// The clients the caller can see (any permission), with what it may do on each.
pub async fn list_visible(
    st: &AppState,
    caller: &crate::service::access::Caller,
) -> Result<Vec<ClientView>, AppError> {
    use crate::service::access;
    let caller = caller.clone();
    st.db
        .read(move |conn| {
            let scope = access::visible(conn, &caller)?;
            let clients = match scope {
                crate::db::models::ClientScope::All => Client::list_all(conn)?,
                crate::db::models::ClientScope::Only(ids) => Client::list_by_ids(conn, &ids)?,
            };
            let mut out = Vec::with_capacity(clients.len());
            for c in clients {
                out.push(client_view(conn, &caller, c)?);
            }
            Ok::<_, AppError>(out)
        })
        .await
}

/// What the caller sees of one client: its permissions there and the credential's health.
fn client_view(
    conn: &mut crate::db::AnyConn,
    caller: &crate::service::access::Caller,
    c: Client,
) -> Result<ClientView, AppError> {
    let held = crate::service::access::permissions_on(conn, caller, &c.id)?;
    let credential = Credential::find_preferred(conn, &c.id)?;
    let office_access = match c.credential_mode {
        CredentialMode::Office => {
            let office = OfficeCredential::find_active(conn)?;
            let access = OfficeAccess::find(conn, &c.id)?;
            Some(OfficeAccessView::new(office.as_ref(), access.as_ref()))
        }
        CredentialMode::Own => None,
    };
    Ok(ClientView {
        permissions: held.iter().map(crate::auth::Permission::as_str).collect(),
        credential: credential.as_ref().map(CredentialView::from),
        office_access,
        credential_mode: c.credential_mode,
        id: c.id,
        nip: c.nip,
        name: c.name,
        send_policy: c.send_policy,
        ksef_environment: c.ksef_environment,
        paused_reason: c.paused_reason,
    })
}

/// The client with this NIP as the caller sees it; NotFound unless it holds anything there
/// (the same visibility as [`list_visible`], looked up by NIP instead of listing them all).
pub async fn find_visible(
    st: &AppState,
    caller: &crate::service::access::Caller,
    nip: &Nip,
) -> Result<ClientView, AppError> {
    let (caller, nip) = (caller.clone(), nip.clone());
    st.db
        .read(move |conn| {
            let client = Client::find_by_nip(conn, &nip)?.ok_or(AppError::NotFound)?;
            let scope = crate::service::access::visible(conn, &caller)?;
            if !scope.contains(&client.id) {
                return Err(AppError::NotFound);
            }
            client_view(conn, &caller, client)
        })
        .await
}

/// Changes a client's send policy: a permission of its own (`credentials`), and audited.
pub async fn set_policy(
    st: &AppState,
    caller: &crate::service::access::Caller,
    client_id: &ClientId,
    policy: SendPolicy,
) -> Result<(), AppError> {
    use crate::service::{access, audit};
    let (caller, client_id) = (caller.clone(), client_id.clone());
    st.db
        .tx(move |conn| {
            access::require(conn, &caller, &client_id, crate::auth::Permission::Credentials)?;
            let before = Client::get(conn, &client_id)?.send_policy;
            Client::set_policy(conn, &client_id, policy)?;
            audit::record(
                conn,
                audit::AuditEntry::on(
                    &caller.audit_actor(),
                    &client_id,
                    "client.policy_changed",
                    &client_id,
                    serde_json::json!({"from": before, "to": policy.as_str()}),
                ),
            )?;
            Ok::<_, AppError>(())
        })
        .await
}

/// Stores a new KSeF token for a client (the old one is retired), audited; the token itself
/// goes nowhere but the vault.
pub async fn replace_token(
    st: &AppState,
    caller: &crate::service::access::Caller,
    client_id: &ClientId,
    ksef_token: SecretString,
) -> Result<CredentialView, AppError> {
    let token = crate::service::ksef_login::pasted_token(&ksef_token)?;
    let secret =
        NewSecret { kind: KSEF_TOKEN, fingerprint: fingerprint(token.as_bytes()), valid_until: None };
    store_secret(st, caller, client_id, secret, secrecy::SecretBox::new(Box::new(token.into_bytes()))).await
}

/// Stores a KSeF certificate with its private key (PEM) as the client's credential; from then
/// on the client authenticates with it (XAdES) instead of its KSeF token.
/// With [`CertificateUse::Offline`] it is stored beside the login credential, to sign KOD II.
///
/// [`CertificateUse::Offline`]: crate::service::certificates::CertificateUse::Offline
pub async fn store_certificate(
    st: &AppState,
    caller: &crate::service::access::Caller,
    client_id: &ClientId,
    usage: crate::service::certificates::CertificateUse,
    certificate_pem: &str,
    private_key_pem: &SecretString,
) -> Result<CredentialView, AppError> {
    let parsed = crate::service::certificates::parse(certificate_pem, private_key_pem.expose_secret())?;
    let secret = NewSecret {
        kind: usage.kind(),
        fingerprint: fingerprint(&parsed.certificate_der),
        valid_until: Some(parsed.not_after),
    };
    store_secret(st, caller, client_id, secret, parsed.secret).await
}

/// What is known about a secret before it is sealed.
struct NewSecret {
    kind: &'static str,
    fingerprint: String,
    valid_until: Option<chrono::NaiveDateTime>,
}

/// What precedes KSeF's own answer in a refusal's message (the panel quotes it).
pub const KSEF_SAID: &str = "KSeF said: ";

/// Logs in to KSeF with a login credential before it is stored: one KSeF refuses (or that
/// cannot be checked) must never replace a working one. An offline certificate never logs in,
/// so there is nothing to check. Ok with the permissions KSeF reports (when it says).
pub(crate) async fn check_before_storing(
    st: &AppState,
    client: &Client,
    kind: &str,
    secret: &secrecy::SecretBox<Vec<u8>>,
) -> Result<Option<crate::service::ksef_login::Probe>, AppError> {
    use crate::service::{certificates, ksef_login};
    let credential = match kind {
        KSEF_TOKEN => ksef_client::Credential::KsefToken(ksef_login::token_of(secret)?),
        certificates::KSEF_CERTIFICATE => certificates::to_credential(secret)?,
        _ => return Ok(None),
    };
    let probed = ksef_login::probe(st, &client.ksef_environment, &client.nip, credential).await;
    probed.map(Some).map_err(|refusal| {
        let why = refusal.message;
        tracing::warn!(client.id = %client.id, error = %why, "A new KSeF credential failed its check; not stored");
        AppError::Refused {
            refusal: Refusal::CredentialRefused,
            message: format!(
                "KSeF did not accept the credential, so it was not stored and the previous one stays. {KSEF_SAID}{why}"
            ),
        }
    })
}

/// Checks a login credential against KSeF first (see [`check_before_storing`]), then seals it
/// for the client, makes it the active one of its kind (retiring the previous one), records the
/// successful check on it, lets a paused client send again (a login credential), and records
/// it in the audit trail. Answers the stored credential's health. The one way the CLI, the
/// panel and the API store a credential.
async fn store_secret(
    st: &AppState,
    caller: &crate::service::access::Caller,
    client_id: &ClientId,
    meta: NewSecret,
    secret: secrecy::SecretBox<Vec<u8>>,
) -> Result<CredentialView, AppError> {
    use crate::service::{access, audit};
    let (caller, client_id) = (caller.clone(), client_id.clone());
    // Who may do it is settled before KSeF is asked anything.
    let client = {
        let (caller, client_id) = (caller.clone(), client_id.clone());
        st.db
            .tx(move |conn| {
                access::require(conn, &caller, &client_id, crate::auth::Permission::Credentials)?;
                Ok::<_, AppError>(Client::get(conn, &client_id)?)
            })
            .await?
    };
    let checked = check_before_storing(st, &client, meta.kind, &secret).await?;
    let logs_in = matches!(meta.kind, KSEF_TOKEN | crate::service::certificates::KSEF_CERTIFICATE);
    let keys = st.keys.clone();
    st.db
        .tx(move |conn| {
            access::require(conn, &caller, &client_id, crate::auth::Permission::Credentials)?;
            let client = Client::get(conn, &client_id)?;
            let sealed = vault::seal(&keys, &client.nip, meta.kind, secret.expose_secret())
                .map_err(|e| AppError::Internal(e.into()))?;
            let id = CredentialId::new();
            Credential::insert_active(
                conn,
                &NewCredential {
                    id: &id,
                    client_id: &client.id,
                    kind: meta.kind,
                    key_version: i64::from(sealed.key_version),
                    nonce: &sealed.nonce,
                    ciphertext: &sealed.ciphertext,
                    fingerprint: &meta.fingerprint,
                    valid_until: meta.valid_until.or(checked.as_ref().and_then(|p| p.token_valid_until)),
                    active: true,
                    created_by: caller.user().map(|u| &u.id),
                    created_at: ids::now(),
                },
            )?;
            if logs_in {
                Credential::record_auth(conn, &id, ids::now(), None)?;
                if let Some(p) = checked.as_ref().and_then(|p| p.permissions.as_deref()) {
                    Credential::record_permissions(conn, &id, p)?;
                }
            }
            // A new login credential is what a paused sender waits for, but only the one the
            // senders will log in with (a certificate wins over a token); an offline certificate
            // never logs in.
            let logs_in_with_it = client.credential_mode == CredentialMode::Own
                && Credential::find_preferred(conn, &client.id)?.is_some_and(|c| c.id == id);
            if logs_in_with_it {
                Client::clear_pause(conn, &client.id)?;
            }
            audit::record(
                conn,
                audit::AuditEntry::on(
                    &caller.audit_actor(),
                    &client.id,
                    "credential.replaced",
                    &id,
                    serde_json::json!({"kind": meta.kind, "fingerprint": meta.fingerprint, "valid_until": meta.valid_until}),
                ),
            )?;
            let stored = Credential::find_active(conn, &client.id, meta.kind)?.ok_or(AppError::NotFound)?;
            Ok::<_, AppError>(CredentialView::from(&stored))
        })
        .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_office_token_is_sealed_apart_from_a_clients_token() {
        assert_ne!(crate::domain::OfficeCredentialKind::Token.vault_kind(), super::KSEF_TOKEN);
    }
}
