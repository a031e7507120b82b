//! Per-client API keys: created by whoever manages access to the client, shown once, stored as
//! a hash, revocable; presented keys become a `Caller`.

use chrono::NaiveDateTime;
use secrecy::SecretString;
use serde_json::json;

use crate::auth::verified_keys::VerifiedKey;
use crate::auth::{apikey, Permission, ScopeSet};
use crate::db::models::{ids, ApiKey, Client, NewApiKey};
use crate::db::DbError;
use crate::domain::{ApiKeyId, ClientId, Nip};
use crate::error::AppError;
use crate::service::access::{self, Caller, KeyCaller};
use crate::service::audit::{self, AuditEntry};
use crate::service::validate;
use crate::state::AppState;

/// A key just created: its row and the key itself, to be shown once.
pub struct CreatedKey {
    pub key: ApiKey,
    pub plaintext: SecretString,
}

/// Creates a key for the client with this NIP. The caller needs `users` there and must hold
/// every permission the scopes stand for (`access::require_held`).
pub async fn create(
    st: &AppState,
    caller: &Caller,
    nip: &Nip,
    name: &str,
    scopes: ScopeSet,
    expires_at: Option<NaiveDateTime>,
) -> Result<CreatedKey, AppError> {
    let name = match validate::optional_name("name", name)? {
        n if n.is_empty() => "API".to_owned(),
        n => n,
    };
    let generated = apikey::generate().map_err(|e| AppError::Internal(anyhow::anyhow!("random: {e}")))?;
    let caller = caller.clone();
    let nip = nip.clone();
    let id = ApiKeyId::new();
    let (prefix, hash) = (generated.prefix.clone(), generated.hash.clone());
    let key = st
        .db
        .tx(move |conn| {
            let client = Client::find_by_nip(conn, &nip)?.ok_or(AppError::NotFound)?;
            access::require(conn, &caller, &client.id, Permission::Users)?;
            // Managing access is not holding it: a key may do only what its creator may.
            access::require_held(conn, &caller, &client.id, scopes.permissions())?;
            let scopes_text = scopes.to_string();
            ApiKey::insert(
                conn,
                &NewApiKey {
                    id: &id,
                    client_id: &client.id,
                    name: &name,
                    prefix: &prefix,
                    key_hash: &hash,
                    scopes: &scopes_text,
                    created_by: caller.user().map(|u| &u.id),
                    created_at: ids::now(),
                    expires_at,
                },
            )?;
            audit::record(
                conn,
                AuditEntry::on(
                    &caller.audit_actor(),
                    &client.id,
                    "apikey.created",
                    &id,
                    json!({"name": name, "prefix": prefix, "scopes": scopes_text, "expires_at": expires_at}),
                ),
            )?;
            ApiKey::find_by_prefix(conn, &prefix)?.ok_or(AppError::NotFound)
        })
        .await?;
    Ok(CreatedKey { key, plaintext: generated.plaintext })
}

/// Checks that the caller may manage the client's keys (`users` there), as [`revoke`] does first.
pub async fn require_managing(st: &AppState, caller: &Caller, client_id: &ClientId) -> Result<(), AppError> {
    let (caller, client_id) = (caller.clone(), client_id.clone());
    st.db.tx(move |conn| access::require(conn, &caller, &client_id, Permission::Users)).await
}

/// Revokes a key of a client.
pub async fn revoke(
    st: &AppState,
    caller: &Caller,
    client_id: &ClientId,
    key_id: &ApiKeyId,
) -> Result<(), AppError> {
    let (caller, client_id, revoked) = (caller.clone(), client_id.clone(), key_id.clone());
    st.db
        .tx(move |conn| {
            access::require(conn, &caller, &client_id, Permission::Users)?;
            if !ApiKey::revoke(conn, &client_id, &revoked, ids::now())? {
                return Err(AppError::NotFound);
            }
            audit::record(
                conn,
                AuditEntry::on(&caller.audit_actor(), &client_id, "apikey.revoked", &revoked, json!({})),
            )?;
            Ok(())
        })
        .await?;
    // Committed: the key stops working in this process at once.
    st.verified_keys.forget(std::slice::from_ref(key_id));
    Ok(())
}

/// The client's keys (never their secrets, which are not stored).
pub async fn list(st: &AppState, caller: &Caller, client_id: &ClientId) -> Result<Vec<ApiKey>, AppError> {
    let (caller, client_id) = (caller.clone(), client_id.clone());
    st.db
        .tx(move |conn| {
            access::require(conn, &caller, &client_id, Permission::Users)?;
            Ok(ApiKey::list_for_client(conn, &client_id)?)
        })
        .await
}

/// The caller behind a presented key: `None` for anything but a live, unexpired, matching key.
/// A key verified within the last second is believed without asking the database again
/// ([`crate::auth::verified_keys`]).
pub async fn authenticate(st: &AppState, presented: &str) -> Result<Option<KeyCaller>, AppError> {
    let Some(prefix) = apikey::prefix_of(presented).map(str::to_owned) else { return Ok(None) };
    if let Some(caller) = st.verified_keys.get(&prefix, presented, ids::now()) {
        return Ok(Some(caller));
    }
    let generation = st.verified_keys.generation();
    let presented = presented.to_owned();
    let lookup = prefix.clone();
    let verified = st
        .db
        .run(move |conn| {
            let Some(key) = ApiKey::find_by_prefix(conn, &lookup)? else { return Ok::<_, DbError>(None) };
            let now = ids::now();
            let live = key.revoked_at.is_none() && key.expires_at.is_none_or(|e| e > now);
            if !live || !apikey::matches(&presented, &key.key_hash) {
                return Ok(None);
            }
            ApiKey::touch(conn, &key, now)?;
            let scopes = ScopeSet::parse(&key.scopes).unwrap_or_default();
            let caller = KeyCaller { id: key.id.clone(), client_id: key.client_id, scopes };
            Ok(Some((key.key_hash, VerifiedKey { id: key.id, expires_at: key.expires_at, caller })))
        })
        .await?;
    Ok(verified.map(|(key_hash, key)| {
        let caller = key.caller.clone();
        st.verified_keys.remember(generation, &prefix, key_hash, key);
        caller
    }))
}
