//! `/klienci/{nip}/dostepy`: who has access to a client (grants), the client's API keys, and
//! its send policy. The services decide who may change what; the page only hides forms the
//! caller could not use, and shows the services' refusals as Polish pages.

use actix_web::{get, post, web, HttpResponse};
use askama::Template;
use secrecy::ExposeSecret;

use actix_web::http::StatusCode;

use super::error::FieldError;
use super::forms::Fields;
use super::labels::{when, when_opt};
use super::{html, may, ok, see_other, Layout, PanelError, PanelUser};
use crate::auth::{ApiScope, Permission, PermissionSet, Role, ScopeSet};
use crate::db::models::Grant;
use crate::domain::{ApiKeyId, CredentialMode, GrantId, SendPolicy};
use crate::error::AppError;
use crate::http::id_in_path_checked;
use crate::service::clients::{self, ClientView};
use crate::service::{apikeys, grants, people};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(access_page)
        .service(grant)
        .service(revoke_grant)
        .service(create_key)
        .service(revoke_key)
        .service(policy);
}

/// One person with access to the client, whatever number of grants they hold: a board member
/// (everything, by role) or an accountant with the union of their grants.
struct PersonRow {
    email: String,
    role: &'static str,
    permissions: String,
    can_delegate: bool,
    since: String,
    /// The grants behind the row, each revocable on its own: id and whether passed on.
    grants: Vec<(GrantId, bool)>,
}

/// One row per person: board members first, then each accountant's grants merged.
fn people_rows(board: Vec<String>, grants: Vec<(Grant, String)>) -> Vec<PersonRow> {
    let mut rows: Vec<PersonRow> = board
        .into_iter()
        .map(|email| PersonRow {
            email,
            role: Role::BoardMember.label_pl(),
            permissions: "wszystkie (z racji roli)".into(),
            can_delegate: true,
            since: "—".into(),
            grants: Vec::new(),
        })
        .collect();
    let mut by_person: std::collections::BTreeMap<String, Vec<Grant>> = std::collections::BTreeMap::new();
    for (g, email) in grants {
        by_person.entry(email).or_default().push(g);
    }
    for (email, gs) in by_person {
        let mut held = PermissionSet::default();
        for g in &gs {
            if let Ok(p) = PermissionSet::parse(&g.permissions) {
                held = held.union(p);
            }
        }
        rows.push(PersonRow {
            role: Role::Accountant.label_pl(),
            permissions: held.iter().map(Permission::label_pl).collect::<Vec<_>>().join(", "),
            can_delegate: gs.iter().any(|g| g.can_delegate),
            since: gs.iter().map(|g| g.created_at).min().map(when).unwrap_or_default(),
            grants: gs.into_iter().map(|g| (g.id, g.parent_grant_id.is_some())).collect(),
            email,
        });
    }
    rows
}

struct KeyRow {
    id: ApiKeyId,
    name: String,
    prefix: String,
    scopes: String,
    created: String,
    last_used: String,
    revoked: Option<String>,
}

#[derive(Template)]
#[template(path = "panel/access.html")]
struct AccessPage {
    layout: Layout,
    client: ClientView,
    can_users: bool,
    can_policy: bool,
    people: Vec<PersonRow>,
    keys: Vec<KeyRow>,
    permissions: Vec<(&'static str, &'static str)>,
    scopes: Vec<(&'static str, &'static str)>,
    policies: Vec<(&'static str, &'static str)>,
    /// The two credential modes with their Polish labels.
    modes: Vec<(&'static str, &'static str)>,
    office_mode: bool,
    /// When KSeF was last asked about the office's access (office mode).
    office_checked: Option<String>,
    /// The credential's last successful login and expiry, in the panel's time format.
    last_auth_ok: Option<String>,
    valid_until: Option<String>,
    /// The credential forms after a failed submit: the error beside its field, what was typed
    /// (secrets excepted).
    form: CredentialForm,
}

/// The page's forms as a failed submit leaves them: the error beside its field and what was
/// typed (secrets excepted).
#[derive(Default)]
pub struct CredentialForm {
    pub error: Option<FieldError>,
    /// The certificate (PEM) typed in: not a secret, so it comes back; the key and the token never do.
    pub certificate_pem: String,
    pub offline: bool,
    /// The grant form: the e-mail, the permissions ticked and "may pass on".
    pub grant_email: String,
    pub grant_permissions: Vec<String>,
    pub grant_onward: bool,
}

impl CredentialForm {
    /// The Polish error beside the field the service named (`ksef_token`, `certificate_pem`,
    /// `private_key_pem`).
    fn error_at(&self, field: &str) -> Option<String> {
        FieldError::at(&self.error, field)
    }
}

pub(super) fn permissions_pl(raw: &str) -> String {
    PermissionSet::parse(raw).map_or_else(
        |_| raw.to_owned(),
        |s| s.iter().map(Permission::label_pl).collect::<Vec<_>>().join(", "),
    )
}

fn scope_pl(s: ApiScope) -> &'static str {
    match s {
        ApiScope::Submit => "wgrywanie faktur",
        ApiScope::Read => "odczyt statusów i UPO",
        ApiScope::Send => "wysyłka (tylko przy polityce automatycznej)",
        ApiScope::Purchase => "pobieranie faktur zakupowych",
    }
}

pub(super) fn scopes_pl(raw: &str) -> String {
    raw.split(',').filter_map(|s| ApiScope::parse(s.trim()).ok()).map(scope_pl).collect::<Vec<_>>().join(", ")
}

#[get("/klienci/{nip}/dostepy")]
async fn access_page(
    st: web::Data<AppState>,
    me: PanelUser,
    nip: web::Path<String>,
) -> Result<HttpResponse, PanelError> {
    let client = clients::find_visible(&st, &me.caller, &crate::http::id_in_path(&nip)?).await?;
    render(&st, &me, client, CredentialForm::default(), StatusCode::OK).await
}

/// The access page, with the credential forms as given (after a failed submit: 422 and the
/// error beside its field, inside the page itself).
pub(super) async fn render(
    st: &AppState,
    me: &PanelUser,
    client: ClientView,
    form: CredentialForm,
    status: StatusCode,
) -> Result<HttpResponse, PanelError> {
    let can_users = may(&client, Permission::Users);
    let (people, keys) = if can_users {
        let g = grants::list_for_client(st, &me.caller, &client.id).await?;
        let board = people::board_of(st, &me.caller, &client.id).await?;
        let k = apikeys::list(st, &me.caller, &client.id).await?;
        (people_rows(board, g), k)
    } else {
        (Vec::new(), Vec::new())
    };
    let page = AccessPage {
        layout: Layout::for_user(format!("{} – dostępy", client.name), me),
        can_users,
        can_policy: may(&client, Permission::Credentials),
        people,
        keys: keys
            .into_iter()
            .map(|k| KeyRow {
                scopes: scopes_pl(&k.scopes),
                created: when(k.created_at),
                last_used: when_opt(k.last_used_at),
                revoked: k.revoked_at.map(when),
                id: k.id,
                name: k.name,
                prefix: k.prefix,
            })
            .collect(),
        // Only what the caller holds itself is offered (the service refuses the rest anyway).
        permissions: Permission::ALL
            .iter()
            .filter(|p| may(&client, **p))
            .map(|p| (p.as_str(), p.label_pl()))
            .collect(),
        scopes: ApiScope::ALL
            .iter()
            .filter(|s| may(&client, s.permission()))
            .map(|s| (s.as_str(), scope_pl(*s)))
            .collect(),
        policies: SendPolicy::ALL.iter().map(|p| (p.as_str(), p.label_pl())).collect(),
        modes: CredentialMode::ALL.iter().map(|m| (m.as_str(), m.label_pl())).collect(),
        office_mode: client.credential_mode == CredentialMode::Office,
        office_checked: client.office_access.as_ref().and_then(|a| a.checked_at).map(when),
        last_auth_ok: client.credential.as_ref().and_then(|k| k.last_auth_ok_at).map(when),
        valid_until: client.credential.as_ref().and_then(|k| k.validity.valid_until).map(when),
        form,
        client,
    };
    html(status, &page)
}

fn back(nip: &str) -> HttpResponse {
    see_other(&format!("/klienci/{nip}/dostepy"))
}

/// `POST /klienci/{nip}/dostepy/nadaj`: delegate permissions to an accountant by e-mail.
#[post("/klienci/{nip}/dostepy/nadaj")]
async fn grant(
    st: web::Data<AppState>,
    me: PanelUser,
    nip: web::Path<String>,
    form: Fields,
) -> Result<HttpResponse, PanelError> {
    let client = me.client_for_form(&st, &nip, &form).await?;
    let ticked = form.all("uprawnienia");
    let permissions = PermissionSet::parse(&ticked.join(","))
        .map_err(|e| AppError::invalid_field("permissions", "unknown_permission", e))?;
    let input = grants::GrantInput {
        user_email: form.text("email"),
        client_id: client.id.clone(),
        permissions,
        can_delegate: form.ticked("dalej"),
    };
    match grants::grant(&st, &me.caller, input).await {
        Ok(_) => Ok(back(&client.nip)),
        Err(e) => match FieldError::of(&e, "user_email") {
            // The form again, filled in as sent, with the reason beside its field.
            Some(error) => {
                let typed = CredentialForm {
                    error: Some(error),
                    grant_email: form.text("email"),
                    grant_permissions: ticked,
                    grant_onward: form.ticked("dalej"),
                    ..CredentialForm::default()
                };
                render(&st, &me, client, typed, StatusCode::UNPROCESSABLE_ENTITY).await
            }
            None => Err(e.into()),
        },
    }
}

/// `POST /klienci/{nip}/dostepy/{id}/odbierz`: revoke a grant and all derived from it.
#[post("/klienci/{nip}/dostepy/{id}/odbierz")]
async fn revoke_grant(
    st: web::Data<AppState>,
    me: PanelUser,
    path: web::Path<(String, String)>,
    form: Fields,
) -> Result<HttpResponse, PanelError> {
    me.check_csrf(&st, form.csrf())?;
    let (nip, id) = path.into_inner();
    let client = clients::find_visible(&st, &me.caller, &crate::http::id_in_path(&nip)?).await?;
    grants::revoke(&st, &me.caller, &crate::http::id_in_path(&id)?).await?;
    Ok(back(&client.nip))
}

#[derive(Template)]
#[template(path = "panel/key_created.html")]
struct KeyCreatedPage {
    layout: Layout,
    client: ClientView,
    name: String,
    scopes: String,
    key: String,
}

/// `POST /klienci/{nip}/klucze`: the new key is shown on this answer once, and never again.
#[post("/klienci/{nip}/klucze")]
async fn create_key(
    st: web::Data<AppState>,
    me: PanelUser,
    nip: web::Path<String>,
    form: Fields,
) -> Result<HttpResponse, PanelError> {
    let client = me.client_for_form(&st, &nip, &form).await?;
    let scopes = ScopeSet::parse(&form.all("zakresy").join(",")).map_err(AppError::invalid)?;
    let created = apikeys::create(&st, &me.caller, &client.nip, &form.text("nazwa"), scopes, None).await?;
    let page = KeyCreatedPage {
        layout: Layout::for_user("Nowy klucz API", &me),
        name: created.key.name.clone(),
        scopes: scopes_pl(&created.key.scopes),
        key: created.plaintext.expose_secret().to_owned(),
        client,
    };
    ok(&page)
}

/// `POST /klienci/{nip}/klucze/{id}/odwolaj`.
#[post("/klienci/{nip}/klucze/{id}/odwolaj")]
async fn revoke_key(
    st: web::Data<AppState>,
    me: PanelUser,
    path: web::Path<(String, String)>,
    form: Fields,
) -> Result<HttpResponse, PanelError> {
    me.check_csrf(&st, form.csrf())?;
    let (nip, id) = path.into_inner();
    let client = clients::find_visible(&st, &me.caller, &crate::http::id_in_path(&nip)?).await?;
    let id = id_in_path_checked(&id, apikeys::require_managing(&st, &me.caller, &client.id)).await?;
    apikeys::revoke(&st, &me.caller, &client.id, &id).await?;
    Ok(back(&client.nip))
}

/// `POST /klienci/{nip}/polityka`: change the send policy.
#[post("/klienci/{nip}/polityka")]
async fn policy(
    st: web::Data<AppState>,
    me: PanelUser,
    nip: web::Path<String>,
    form: Fields,
) -> Result<HttpResponse, PanelError> {
    let client = me.client_for_form(&st, &nip, &form).await?;
    let policy = SendPolicy::parse(&form.text("polityka")).map_err(AppError::invalid)?;
    clients::set_policy(&st, &me.caller, &client.id, policy).await?;
    Ok(back(&client.nip))
}
