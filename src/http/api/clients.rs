//! Clients, people and access: the clients a caller sees, users, delegations, API keys, the
//! send policy, and the KSeF credential (stored, never shown).

use actix_web::{delete, get, post, put, web, HttpResponse};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{PermissionSet, Role, ScopeSet};
use crate::domain::{Nip, SendPolicy};
use crate::error::AppError;
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

async fn visible(st: &AppState, caller: &Caller, nip: &str) -> Result<ClientView, AppError> {
    client_svc::find_visible(st, caller, nip).await
}

/// `GET /api/v1/clients`: the clients the caller may see, with its permissions on each.
#[get("/clients")]
async fn list_clients(st: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(json!({"clients": client_svc::list_visible(&st, &caller).await?})))
}

#[derive(Deserialize)]
struct UserBody {
    email: String,
    #[serde(default)]
    display_name: String,
    role: String,
    nip: Option<String>,
    password: SecretString,
}

/// `POST /api/v1/users` (office admins).
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

#[derive(Deserialize)]
struct GrantBody {
    user_email: String,
    permissions: Vec<String>,
    #[serde(default)]
    can_delegate: bool,
}

/// `POST /api/v1/clients/{nip}/grants`: delegate permissions on the client to an accountant.
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
#[delete("/grants/{id}")]
async fn revoke_grant(
    st: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let revoked = grants::revoke(&st, &caller, &id).await?;
    Ok(HttpResponse::Ok().json(json!({"revoked": revoked})))
}

/// `GET /api/v1/clients/{nip}/api-keys`: the keys (prefix, scopes, use), never a secret.
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

#[derive(Deserialize)]
struct KeyBody {
    #[serde(default)]
    name: String,
    scopes: Vec<String>,
    expires_at: Option<String>,
}

/// `POST /api/v1/clients/{nip}/api-keys`: the key is in this answer and nowhere else, ever.
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
    let created = apikeys::create(&st, &caller, &nip, &b.name, scopes, expires).await?;
    Ok(HttpResponse::Created().json(json!({
        "id": created.key.id, "prefix": created.key.prefix, "scopes": created.key.scopes,
        "key": created.plaintext.expose_secret(),
    })))
}

/// `DELETE /api/v1/clients/{nip}/api-keys/{id}`.
#[delete("/clients/{nip}/api-keys/{id}")]
async fn revoke_key(
    st: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (nip, id) = path.into_inner();
    let client = visible(&st, &caller, &nip).await?;
    apikeys::revoke(&st, &caller, &client.id, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
struct PolicyBody {
    policy: String,
}

/// `PUT /api/v1/clients/{nip}/policy`: manual, four-eyes or api-auto.
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
#[derive(Deserialize)]
#[serde(untagged)]
enum CredentialBody {
    Token {
        ksef_token: SecretString,
    },
    Certificate {
        certificate_pem: String,
        private_key_pem: SecretString,
        #[serde(default)]
        offline: bool,
    },
}

/// `PUT /api/v1/clients/{nip}/credential`: store a new KSeF token or certificate once KSeF
/// accepts it (422 `credential_refused`, nothing stored, when it does not); answers its health
/// only, never the secret.
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
    let view = client_svc::find_visible(&st, &caller, &nip).await?.credential;
    Ok(HttpResponse::Ok().json(serde_json::json!({"credential": view, "check": health.describe()})))
}

/// `POST /api/v1/clients/{nip}/status-refresh` ("Statusy w KSeF"): the senders poll KSeF for
/// the client's in-flight invoices now instead of on their schedule. 202: asked, not yet done.
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
#[get("/clients/{nip}/ksef-status")]
async fn ksef_status(
    st: web::Data<AppState>,
    caller: Caller,
    nip: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let client = visible(&st, &caller, &nip).await?;
    let notice = st.availability.notice(&client.ksef_environment);
    Ok(HttpResponse::Ok().json(json!({"nip": client.nip, "available": notice.is_none(), "notice": notice})))
}
