//! Clients, people and access: the clients a caller sees, users, delegations, API keys, the
//! send policy, and the KSeF credential (stored, never shown).

use actix_web::{delete, get, post, put, web, HttpResponse};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use super::openapi_types::Errors;
use crate::auth::{PermissionSet, Role, ScopeSet};
use crate::domain::{Nip, SendPolicy};
use crate::error::AppError;
use crate::http::{id_in_path, id_in_path_checked};
use crate::service::access::Caller;
use crate::service::clients::{self as client_svc, ClientView};
use crate::service::users::{self, NewUserInput};
use crate::service::{apikeys, grants};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_clients)
        .service(create_user)
        .service(list_grants)
        .service(create_grant)
        .service(revoke_grant)
        .service(list_keys)
        .service(create_key)
        .service(revoke_key)
        .service(set_policy)
        .service(put_credential)
        .service(refresh_statuses)
        .service(ksef_status);
}

/// The client named in the path as the caller sees it: text that is no NIP is the 404 of an
/// unknown one.
async fn visible(st: &AppState, caller: &Caller, nip: &str) -> Result<ClientView, AppError> {
    client_svc::find_visible(st, caller, &id_in_path(nip)?).await
}

/// `GET /api/v1/clients`: the clients the caller may see, with its permissions on each.
#[utoipa::path(
    get,
    path = "/api/v1/clients",
    tag = "clients",
    operation_id = "clients_list_clients",
    summary = "Clients the caller may see, with its permissions and credential health",
    responses(
        (status = 200, description = "OK", content_type = "application/json"),
        Errors<401, 403, 404, 405, 422, 429>,
    ),
)]
#[get("/clients")]
async fn list_clients(st: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(json!({"clients": client_svc::list_visible(&st, &caller).await?})))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct UserBody {
    email: String,
    #[serde(default)]
    display_name: String,
    #[schema(schema_with = super::openapi_types::role)]
    role: String,
    nip: Option<String>,
    #[schema(value_type = String)]
    password: SecretString,
}

/// `POST /api/v1/users` (office admins).
#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "clients",
    operation_id = "clients_create_user",
    summary = "Add a user (office admins)",
    request_body(content = inline(UserBody), content_type = "application/json"),
    responses(
        (status = 201, description = "OK", content_type = "application/json"),
        Errors<401, 403, 404, 405, 409, 413, 422, 429>,
    ),
)]
#[post("/users")]
async fn create_user(
    st: web::Data<AppState>,
    caller: Caller,
    body: web::Json<UserBody>,
) -> Result<HttpResponse, AppError> {
    let b = body.into_inner();
    let input = NewUserInput {
        email: b.email,
        display_name: b.display_name,
        role: Role::parse(&b.role).map_err(AppError::invalid)?,
        nip: b.nip.as_deref().map(Nip::parse).transpose().map_err(AppError::invalid)?,
    };
    let user = users::create_user(&st, &caller, input, b.password).await?;
    Ok(HttpResponse::Created().json(json!({"id": user.id, "email": user.email, "role": user.role})))
}

/// `GET /api/v1/clients/{nip}/grants`.
#[utoipa::path(
    get,
    path = "/api/v1/clients/{nip}/grants",
    tag = "clients",
    operation_id = "clients_list_grants",
    summary = "Delegations on the client",
    params(
        ("nip" = String, Path, description = "Client NIP"),
    ),
    responses(
        (status = 200, description = "OK", content_type = "application/json"),
        Errors<401, 403, 404, 405, 422, 429>,
    ),
)]
#[get("/clients/{nip}/grants")]
async fn list_grants(
    st: web::Data<AppState>,
    caller: Caller,
    nip: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let client = visible(&st, &caller, &nip).await?;
    let rows = grants::list_for_client(&st, &caller, &client.id).await?;
    let items: Vec<_> = rows
        .into_iter()
        .map(|(g, email)| {
            json!({"id": g.id, "user_email": email, "permissions": g.permissions, "can_delegate": g.can_delegate,
                   "granted_by": g.granted_by, "parent_grant_id": g.parent_grant_id, "created_at": g.created_at})
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"grants": items})))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct GrantBody {
    user_email: String,
    #[schema(schema_with = super::openapi_types::permissions)]
    permissions: Vec<String>,
    #[serde(default)]
    can_delegate: bool,
}

/// `POST /api/v1/clients/{nip}/grants`: delegate permissions on the client to an accountant.
#[utoipa::path(
    post,
    path = "/api/v1/clients/{nip}/grants",
    tag = "clients",
    operation_id = "clients_create_grant",
    summary = "Delegate permissions to an accountant",
    description = "Needs `users` on the client and a grant that may be delegated; nobody delegates a permission they do not hold there (403 scope_not_held).",
    params(
        ("nip" = String, Path, description = "Client NIP"),
    ),
    request_body(content = inline(GrantBody), content_type = "application/json"),
    responses(
        (status = 201, description = "OK", content_type = "application/json"),
        Errors<401, 403, 404, 405, 413, 422, 429>,
    ),
)]
#[post("/clients/{nip}/grants")]
async fn create_grant(
    st: web::Data<AppState>,
    caller: Caller,
    nip: web::Path<String>,
    body: web::Json<GrantBody>,
) -> Result<HttpResponse, AppError> {
    let client = visible(&st, &caller, &nip).await?;
    let b = body.into_inner();
    let permissions = PermissionSet::parse(&b.permissions.join(",")).map_err(AppError::invalid)?;
    let input = grants::GrantInput {
        user_email: b.user_email,
        client_id: client.id,
        permissions,
        can_delegate: b.can_delegate,
    };
    let g = grants::grant(&st, &caller, input).await?;
    Ok(HttpResponse::Created()
        .json(json!({"id": g.id, "permissions": g.permissions, "parent_grant_id": g.parent_grant_id})))
}

/// `DELETE /api/v1/grants/{id}`: revokes the grant and all grants derived from it.
#[utoipa::path(
    delete,
    path = "/api/v1/grants/{id}",
    tag = "clients",
    operation_id = "clients_revoke_grant",
    summary = "Revoke a grant and everything derived from it",
    params(
        ("id" = String, Path, description = "Grant id"),
    ),
    responses(
        (status = 200, description = "OK", content_type = "application/json"),
        Errors<401, 403, 404, 405, 422, 429>,
    ),
)]
#[delete("/grants/{id}")]
async fn revoke_grant(
    st: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let revoked = grants::revoke(&st, &caller, &crate::http::id_in_path(&id)?).await?;
    Ok(HttpResponse::Ok().json(json!({"revoked": revoked})))
}

/// `GET /api/v1/clients/{nip}/api-keys`: the keys (prefix, scopes, use), never a secret.
#[utoipa::path(
    get,
    path = "/api/v1/clients/{nip}/api-keys",
    tag = "clients",
    operation_id = "clients_list_keys",
    summary = "The client's API keys (never their secrets)",
    params(
        ("nip" = String, Path, description = "Client NIP"),
    ),
    responses(
        (status = 200, description = "OK", content_type = "application/json"),
        Errors<401, 403, 404, 405, 422, 429>,
    ),
)]
#[get("/clients/{nip}/api-keys")]
async fn list_keys(
    st: web::Data<AppState>,
    caller: Caller,
    nip: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let client = visible(&st, &caller, &nip).await?;
    let keys = apikeys::list(&st, &caller, &client.id).await?;
    let items: Vec<_> = keys
        .into_iter()
        .map(|k| {
            json!({"id": k.id, "name": k.name, "prefix": k.prefix, "scopes": k.scopes, "created_at": k.created_at,
                   "expires_at": k.expires_at, "revoked_at": k.revoked_at, "last_used_at": k.last_used_at})
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"api_keys": items})))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct KeyBody {
    #[serde(default)]
    name: String,
    #[schema(schema_with = super::openapi_types::scopes)]
    scopes: Vec<String>,
    expires_at: Option<String>,
}

/// `POST /api/v1/clients/{nip}/api-keys`: the key is in this answer and nowhere else, ever.
#[utoipa::path(
    post,
    path = "/api/v1/clients/{nip}/api-keys",
    tag = "clients",
    operation_id = "clients_create_key",
    summary = "Create an API key; the key is in this answer only",
    description = "Needs `users` on the client, and the creator must hold what the scopes stand for (read and purchase: read; submit: upload; send: send), else 403 scope_not_held.",
    params(
        ("nip" = String, Path, description = "Client NIP"),
    ),
    request_body(content = inline(KeyBody), content_type = "application/json"),
    responses(
        (status = 201, description = "OK", content_type = "application/json"),
        Errors<401, 403, 404, 405, 413, 422, 429>,
    ),
)]
#[post("/clients/{nip}/api-keys")]
async fn create_key(
    st: web::Data<AppState>,
    caller: Caller,
    nip: web::Path<String>,
    body: web::Json<KeyBody>,
) -> Result<HttpResponse, AppError> {
    let b = body.into_inner();
    let scopes = ScopeSet::parse(&b.scopes.join(",")).map_err(AppError::invalid)?;
    let expires = b.expires_at.as_deref().map(|v| super::parse_time("expires_at", v)).transpose()?;
    // The name is checked before the client is looked up; it still is for text that is no NIP.
    let name_checked = async { crate::service::validate::optional_name("name", &b.name).map(drop) };
    let nip = id_in_path_checked(&nip, name_checked).await?;
    let created = apikeys::create(&st, &caller, &nip, &b.name, scopes, expires).await?;
    Ok(HttpResponse::Created().json(json!({
        "id": created.key.id, "prefix": created.key.prefix, "scopes": created.key.scopes,
        "key": created.plaintext.expose_secret(),
    })))
}

/// `DELETE /api/v1/clients/{nip}/api-keys/{id}`.
#[utoipa::path(
    delete,
    path = "/api/v1/clients/{nip}/api-keys/{id}",
    tag = "clients",
    operation_id = "clients_revoke_key",
    summary = "Revoke an API key",
    params(
        ("nip" = String, Path, description = "Client NIP"),
        ("id" = String, Path, description = "Key id"),
    ),
    responses(
        (status = 204, description = "OK"),
        Errors<401, 403, 404, 405, 422, 429>,
    ),
)]
#[delete("/clients/{nip}/api-keys/{id}")]
async fn revoke_key(
    st: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (nip, id) = path.into_inner();
    let client = visible(&st, &caller, &nip).await?;
    let id = id_in_path_checked(&id, apikeys::require_managing(&st, &caller, &client.id)).await?;
    apikeys::revoke(&st, &caller, &client.id, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, utoipa::ToSchema)]
struct PolicyBody {
    #[schema(schema_with = super::openapi_types::send_policy)]
    policy: String,
}

/// `PUT /api/v1/clients/{nip}/policy`: manual, four-eyes or api-auto.
#[utoipa::path(
    put,
    path = "/api/v1/clients/{nip}/policy",
    tag = "clients",
    operation_id = "clients_set_policy",
    summary = "Change the send policy (audited)",
    params(
        ("nip" = String, Path, description = "Client NIP"),
    ),
    request_body(content = inline(PolicyBody), content_type = "application/json"),
    responses(
        (status = 200, description = "OK", content_type = "application/json"),
        Errors<401, 403, 404, 405, 413, 422, 429>,
    ),
)]
#[put("/clients/{nip}/policy")]
async fn set_policy(
    st: web::Data<AppState>,
    caller: Caller,
    nip: web::Path<String>,
    body: web::Json<PolicyBody>,
) -> Result<HttpResponse, AppError> {
    let policy = SendPolicy::parse(&body.policy).map_err(AppError::invalid)?;
    let client = visible(&st, &caller, &nip).await?;
    client_svc::set_policy(&st, &caller, &client.id, policy).await?;
    Ok(HttpResponse::Ok().json(json!({"nip": client.nip, "send_policy": policy.as_str()})))
}

/// A KSeF token, or a KSeF certificate with its private key (PEM); `offline: true` for a
/// certificate of type Offline (signs KOD II, never logs in).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
enum CredentialBody {
    Token {
        #[schema(value_type = String)]
        ksef_token: SecretString,
    },
    Certificate {
        /// KSeF certificate, PEM
        certificate_pem: String,
        /// Its private key, PEM (PKCS#8, PKCS#1 or SEC1)
        #[schema(value_type = String)]
        private_key_pem: SecretString,
        /// A certificate of type Offline: signs KOD II on invoices issued offline, never used to
        /// log in
        #[serde(default)]
        offline: bool,
    },
}

/// `PUT /api/v1/clients/{nip}/credential`: store a new KSeF token or certificate once KSeF
/// accepts it (422 `credential_refused`, nothing stored, when it does not); answers its health
/// only, never the secret.
#[utoipa::path(
    put,
    path = "/api/v1/clients/{nip}/credential",
    tag = "clients",
    operation_id = "clients_put_credential",
    summary = "Store a new KSeF token (answers its health only)",
    params(
        ("nip" = String, Path, description = "Client NIP"),
    ),
    request_body(content = inline(CredentialBody), content_type = "application/json"),
    responses(
        (status = 200, description = "OK", content_type = "application/json"),
        Errors<401, 403, 404, 405, 413, 422, 429>,
    ),
)]
#[put("/clients/{nip}/credential")]
async fn put_credential(
    st: web::Data<AppState>,
    caller: Caller,
    nip: web::Path<String>,
    body: web::Json<CredentialBody>,
) -> Result<HttpResponse, AppError> {
    use crate::service::certificates::CertificateUse;
    let client = visible(&st, &caller, &nip).await?;
    match body.into_inner() {
        CredentialBody::Token { ksef_token } => {
            client_svc::replace_token(&st, &caller, &client.id, ksef_token).await?
        }
        CredentialBody::Certificate { certificate_pem, private_key_pem, offline } => {
            let usage = if offline { CertificateUse::Offline } else { CertificateUse::Authentication };
            let view = client_svc::store_certificate(
                &st,
                &caller,
                &client.id,
                usage,
                &certificate_pem,
                &private_key_pem,
            )
            .await?;
            if offline {
                // It never logs in, so there is nothing to check against KSeF.
                return Ok(HttpResponse::Ok().json(json!({"offline_certificate": view})));
            }
            view
        }
    };
    // Stored means KSeF accepted it just now: the service logs in with it before storing.
    let health = crate::service::credentials::CredentialHealth::Ok;
    let view = client_svc::find_visible(&st, &caller, &id_in_path(&nip)?).await?.credential;
    Ok(HttpResponse::Ok().json(serde_json::json!({"credential": view, "check": health.describe()})))
}

/// `POST /api/v1/clients/{nip}/status-refresh` ("Statusy w KSeF"): the senders poll KSeF for
/// the client's in-flight invoices now instead of on their schedule. 202: asked, not yet done.
#[utoipa::path(
    post,
    path = "/api/v1/clients/{nip}/status-refresh",
    tag = "clients",
    operation_id = "clients_refresh_statuses",
    summary = "Statusy w KSeF: ask the senders to poll KSeF for the client's in-flight invoices now",
    description = "Needs a write permission on the client (upload or send; for API keys the submit or send scope); read alone is 403 forbidden.",
    params(
        ("nip" = String, Path, description = "Client NIP"),
    ),
    responses(
        (status = 202, description = "Asked; statuses change as KSeF answers", body = inline(crate::service::invoices::StatusRefresh), content_type = "application/json"),
        Errors<401, 403, 404, 405, 429>,
    ),
)]
#[post("/clients/{nip}/status-refresh")]
async fn refresh_statuses(
    st: web::Data<AppState>,
    caller: Caller,
    nip: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let client = visible(&st, &caller, &nip).await?;
    let refresh = crate::service::invoices::refresh_statuses(&st, &caller, &client.id).await?;
    Ok(HttpResponse::Accepted().json(refresh))
}

/// `GET /api/v1/clients/{nip}/ksef-status`: is the client's KSeF up, as the gateway knows it
/// (Latarnia and its senders' experience); with the notice and the offline mode that fits when
/// not, for a client system that has to decide whether to issue offline.
#[utoipa::path(
    get,
    path = "/api/v1/clients/{nip}/ksef-status",
    tag = "clients",
    operation_id = "clients_ksef_status",
    summary = "Is the client's KSeF available (Latarnia and the senders' experience); the notice and the fitting offline mode when not",
    params(
        ("nip" = String, Path, description = "Client NIP"),
    ),
    responses(
        (status = 200, description = "OK", body = inline(KsefStatus), content_type = "application/json"),
        Errors<401, 403, 404, 405, 429>,
    ),
)]
#[get("/clients/{nip}/ksef-status")]
async fn ksef_status(
    st: web::Data<AppState>,
    caller: Caller,
    nip: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let client = visible(&st, &caller, &nip).await?;
    let notice = st.availability.notice(&client.ksef_environment);
    Ok(HttpResponse::Ok().json(KsefStatus { nip: client.nip, available: notice.is_none(), notice }))
}

/// Whether the client's KSeF answers, and why not when it does not.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct KsefStatus {
    #[schema(value_type = String)]
    nip: Nip,
    available: bool,
    #[schema(inline)]
    notice: Option<crate::service::availability::Notice>,
}
