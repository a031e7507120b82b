//! An office admin adding a client company from the panel or the API, and renaming one. Unlike
//! the CLI's `client add` (the operator at the machine), the KSeF token is checked against the
//! client's KSeF first: a client whose token KSeF refuses is not added at all, so nothing is
//! stored half-way and the office learns at once that the token is wrong.

use secrecy::{SecretBox, SecretString};

use crate::db::models::{ids, Client, Credential};
use crate::domain::{ClientId, CredentialMode};
use crate::error::AppError;
use crate::service::access::require_office_admin;
use crate::service::access::Caller;
use crate::service::clients::{self, NewClientInput, KSEF_TOKEN};
use crate::service::{audit, validate};
use crate::state::AppState;

/// Adds a client that logs in with the office's credential (audited `client.added`), once the
/// office has one stored: without it the client could never log in. Whether KSeF lets the office
/// into the client is asked at once (`credentials::check_as`): a client that has not granted the
/// office yet is added all the same, and its access page says what it must grant.
pub async fn add_with_office_credential(
    st: &AppState,
    caller: &Caller,
    input: NewClientInput,
) -> Result<Client, AppError> {
    require_office_admin(caller)?;
    let Some(office) = crate::service::office::show(st, caller).await? else {
        return Err(AppError::invalid_field(
            "credential",
            "no_office_credential",
            "the office has no KSeF credential of its own yet; store it first (office credential page)",
        ));
    };
    // The office's KSeF answered as KSeF when its credential was stored: the same one is asked.
    if office.ksef_environment != input.ksef.as_str() {
        return Err(crate::service::office::other_ksef(&office.ksef_environment, input.ksef.as_str()));
    }
    let name = validate::name("name", &input.name)
        .map_err(|e| AppError::invalid_field("name", "name_invalid", e.to_string()))?;
    let nip = input.nip.clone();
    if st.db.run(move |c| Client::find_by_nip(c, &nip)).await?.is_some() {
        return Err(AppError::invalid_field("nip", "client_exists", "a client with this NIP already exists"));
    }
    let client =
        clients::add_office_client(st, NewClientInput { name, ..input }, caller.user().map(|u| u.id.clone()))
            .await?;
    // The answer is recorded on the client (office access); a refusal is no reason to fail here.
    if let Err(e) = crate::service::credentials::check_as(st, caller, &client.id).await {
        tracing::warn!(client.id = %client.id, error = %e, "The first check of the office's access to a new client failed");
    }
    Ok(client)
}

/// Adds a client with its KSeF token once KSeF has accepted the token (audited `client.added`).
pub async fn add_checked(
    st: &AppState,
    caller: &Caller,
    input: NewClientInput,
    ksef_token: SecretString,
) -> Result<Client, AppError> {
    require_office_admin(caller)?;
    let name = validate::name("name", &input.name)
        .map_err(|e| AppError::invalid_field("name", "name_invalid", e.to_string()))?;
    let token = crate::service::ksef_login::pasted_token(&ksef_token)?;
    let nip = input.nip.clone();
    if st.db.run(move |c| Client::find_by_nip(c, &nip)).await?.is_some() {
        return Err(AppError::invalid_field("nip", "client_exists", "a client with this NIP already exists"));
    }
    // A URL that is not KSeF is said to be that, not a refused token.
    crate::service::office::answers_as_ksef(st, input.ksef.as_str()).await?;
    // KSeF is asked in the context of the client as it would be stored.
    let now = ids::now();
    let would_be = Client {
        id: ClientId::new(),
        nip: input.nip.clone(),
        name: name.clone(),
        ksef_environment: input.ksef.as_str().to_owned(),
        send_policy: input.policy,
        // A client added with its own token logs in with it.
        credential_mode: CredentialMode::Own,
        paused_reason: None,
        created_at: now,
        updated_at: now,
    };
    let secret = SecretBox::new(Box::new(token.clone().into_bytes()));
    let reported = clients::check_before_storing(st, &would_be, KSEF_TOKEN, &secret).await?;
    let actor = caller.user().map(|u| u.id.clone());
    let client =
        clients::add_client(st, NewClientInput { name, ..input }, SecretString::from(token), actor).await?;
    // The check just made is the credential's first successful login.
    let id = client.id.clone();
    st.db
        .tx(move |c| {
            if let Some(cred) = Credential::find_active(c, &id, KSEF_TOKEN)? {
                Credential::record_auth(c, &cred.id, ids::now(), None)?;
                if let Some(p) = reported.as_ref().and_then(|p| p.permissions.as_deref()) {
                    Credential::record_permissions(c, &cred.id, p)?;
                }
            }
            Ok::<_, AppError>(())
        })
        .await?;
    Ok(client)
}

/// Renames a client (the name the office knows it by), audited with the old and new name.
pub async fn rename(
    st: &AppState,
    caller: &Caller,
    client_id: &ClientId,
    name: &str,
) -> Result<(), AppError> {
    require_office_admin(caller)?;
    let name = validate::name("name", name)
        .map_err(|e| AppError::invalid_field("name", "name_invalid", e.to_string()))?;
    let (actor, id) = (caller.audit_actor(), client_id.clone());
    st.db
        .tx(move |c| {
            let before = Client::get(c, &id)?.name;
            Client::set_name(c, &id, &name)?;
            audit::record(
                c,
                audit::AuditEntry::on(
                    &actor,
                    &id,
                    "client.renamed",
                    &id,
                    serde_json::json!({"from": before, "to": name}),
                ),
            )?;
            Ok::<_, AppError>(())
        })
        .await
}
