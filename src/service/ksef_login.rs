//! Logging in to a client's KSeF context with a credential, stored or about to be: the sealed
//! secret opened, the login tried (`probe`), what KSeF reported there, and why it refused. The
//! ground that client credentials (`clients`, `credentials`), the office's (`office`) and their
//! Polish reasons (`reasons`) all stand on, so none of them imports another to reach it.

use chrono::NaiveDateTime;
use secrecy::{ExposeSecret, SecretBox, SecretString};

use crate::db::models::ids;
use crate::domain::{CredentialId, Nip, OfficeCredentialId};
use crate::error::AppError;
use crate::state::AppState;
use crate::vault::{self, Sealed};

/// The shortest text taken for a KSeF token: anything shorter was cut when pasted.
const TOKEN_MIN_LEN: usize = 16;

/// A KSeF token as a person pasted it, trimmed; refused (naming the `ksef_token` field) when it
/// is too short to be a whole token.
pub(crate) fn pasted_token(token: &SecretString) -> Result<String, AppError> {
    let token = token.expose_secret().trim();
    if token.len() < TOKEN_MIN_LEN {
        return Err(AppError::invalid_field(
            "ksef_token",
            "token_too_short",
            "the KSeF token looks too short; paste the whole token",
        ));
    }
    Ok(token.to_owned())
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
    Own(CredentialId),
    /// The office's credential (an `office_credentials` row), issued for the office's NIP.
    Office { credential_id: OfficeCredentialId, office_nip: Nip },
}

impl LoginSource {
    /// The office's NIP when the office's credential logs in.
    pub fn office_nip(&self) -> Option<&Nip> {
        match self {
            Self::Own(_) => None,
            Self::Office { office_nip, .. } => Some(office_nip),
        }
    }
}

/// Opens sealed bytes bound to `nip` and `kind`.
pub(crate) fn open_bound(
    st: &AppState,
    nip: &Nip,
    kind: &str,
    key_version: i64,
    nonce: &[u8],
    ciphertext: &[u8],
) -> Result<SecretBox<Vec<u8>>, AppError> {
    vault::open(&st.keys, nip, kind, &Sealed::stored(key_version, nonce, ciphertext))
        .map_err(|e| AppError::Internal(e.into()))
}

/// A KSeF token from its opened secret.
pub(crate) fn token_of(plain: &SecretBox<Vec<u8>>) -> Result<SecretString, AppError> {
    let token = String::from_utf8(plain.expose_secret().clone()).map_err(|e| AppError::Internal(e.into()))?;
    Ok(SecretString::from(token))
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
    st: &AppState,
    environment: &str,
    context_nip: &Nip,
    credential: ksef_client::Credential,
) -> Result<Probe, Refusal> {
    let ksef = crate::ksef::client_for(environment, st.ksef_limits.clone())?;
    let token_reference = match &credential {
        ksef_client::Credential::KsefToken(t) => t.expose_secret().split('|').next().map(str::to_owned),
        ksef_client::Credential::Certificate { .. } => None,
    };
    let context = ksef_client::ContextIdentifier::nip(context_nip.as_str());
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
    nip: &Nip,
) -> Option<String> {
    use ksef_client::models::manage::{PersonalPermissionsQuery, TypedIdentifier};
    let query = PersonalPermissionsQuery {
        context_identifier: Some(TypedIdentifier { kind: "Nip".into(), value: Some(nip.to_string()) }),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pasted_token_is_trimmed_and_a_cut_one_refused() {
        let whole = "20251201-EC-1A2B3C4D5E-F6A7B8C9D0-AB|nip-5260250274|0123456789abcdef";
        let pasted = SecretString::from(format!("  {whole}\n"));
        assert_eq!(pasted_token(&pasted).ok().as_deref(), Some(whole));
        let cut = SecretString::from(format!(" {} ", &whole[..TOKEN_MIN_LEN - 1]));
        assert!(pasted_token(&cut).is_err());
        let shortest = SecretString::from(whole[..TOKEN_MIN_LEN].to_owned());
        assert!(pasted_token(&shortest).is_ok());
    }

    #[test]
    fn missing_permissions_are_those_ksef_did_not_report() {
        assert_eq!(missing_permissions(Some("InvoiceRead, InvoiceWrite")), Vec::<&str>::new());
        assert_eq!(missing_permissions(Some("InvoiceRead")), vec!["InvoiceWrite"]);
        assert_eq!(missing_permissions(Some("")), SENDING_PERMISSIONS.to_vec());
        assert!(missing_permissions(None).is_empty(), "KSeF would not say: nothing is known missing");
    }
}
