//! Delegating access to a client and taking it back.
//!
//! A grant is passed on only by someone who holds every permission in it on that client with
//! the right to delegate (office admins and the company's own board members hold everything);
//! the new grant records its parent, and revoking a grant revokes everything derived from it.

use serde_json::json;

use crate::auth::{Permission, PermissionSet, Role};
use crate::db::models::{ids, Client, Grant, NewGrant, User};
use crate::db::{AnyConn, DbError};
use crate::domain::{ClientId, GrantId};
use crate::error::AppError;
use crate::service::access::{self, Caller};
use crate::service::audit::{self, AuditEntry};
use crate::state::AppState;

/// What is being delegated.
#[derive(Debug, Clone)]
pub struct GrantInput {
    pub user_email: String,
    pub client_id: ClientId,
    pub permissions: PermissionSet,
    pub can_delegate: bool,
}

/// The caller's own grant that can carry `wanted` on the client, if the caller needs one.
/// `Ok(None)` means the caller is a root of delegation there (admin, operator, board member).
fn delegating_grant(
    conn: &mut AnyConn,
    caller: &Caller,
    client_id: &ClientId,
    wanted: PermissionSet,
) -> Result<Option<Grant>, AppError> {
    access::require(conn, caller, client_id, Permission::Users)?;
    access::require_held(conn, caller, client_id, wanted)?;
    match caller {
        Caller::Operator => Ok(None),
        Caller::User(u) if u.role == Role::OfficeAdmin => Ok(None),
        Caller::User(u) if u.role == Role::BoardMember => Ok(None),
        Caller::User(u) => Grant::live_for_user(conn, &u.id, Some(client_id))?
            .into_iter()
            .find(|g| {
                g.can_delegate && PermissionSet::parse(&g.permissions).is_ok_and(|held| held.covers(wanted))
            })
            .map(Some)
            .ok_or(AppError::Forbidden),
        Caller::ApiKey(_) => Err(AppError::Forbidden),
    }
}

/// Delegates permissions on a client to a user.
pub async fn grant(st: &AppState, caller: &Caller, input: GrantInput) -> Result<Grant, AppError> {
    if input.permissions.is_empty() {
        return Err(AppError::invalid_field(
            "permissions",
            "no_permission_chosen",
            "choose at least one permission",
        ));
    }
    let caller = caller.clone();
    let id = GrantId::new();
    st.db
        .tx(move |conn| {
            let parent = delegating_grant(conn, &caller, &input.client_id, input.permissions)?;
            let email = crate::service::validate::email(&input.user_email)?;
            let grantee = User::find_by_email(conn, &email)?.ok_or_else(|| {
                AppError::invalid_field("user_email", "no_such_user", format!("no user with e-mail {email}"))
            })?;
            let role = Role::parse(&grantee.role).map_err(AppError::invalid)?;
            if role != Role::Accountant {
                return Err(AppError::invalid_field(
                    "user_email",
                    "not_an_accountant",
                    "permissions are delegated to accountants; admins and board members hold theirs by role",
                ));
            }
            let granted_by = caller.user().map(|u| u.id.clone());
            let permissions = input.permissions.to_string();
            Grant::insert(
                conn,
                &NewGrant {
                    id: &id,
                    user_id: &grantee.id,
                    client_id: &input.client_id,
                    permissions: &permissions,
                    can_delegate: input.can_delegate,
                    granted_by: granted_by.as_ref(),
                    parent_grant_id: parent.as_ref().map(|g| &g.id),
                    created_at: ids::now(),
                },
            )?;
            audit::record(
                conn,
                AuditEntry::on(
                    &caller.audit_actor(),
                    &input.client_id,
                    "grant.created",
                    &id,
                    json!({
                        "grantee": grantee.id, "permissions": permissions,
                        "can_delegate": input.can_delegate, "parent_grant": parent.map(|g| g.id),
                    }),
                ),
            )?;
            Ok(Grant::find_live(conn, &id)?.ok_or(DbError::NotFound)?)
        })
        .await
}

/// Revokes a grant and everything derived from it. Allowed to whoever may manage access on
/// the client (admins, its board members, delegators with `users`).
pub async fn revoke(st: &AppState, caller: &Caller, grant_id: &GrantId) -> Result<Vec<GrantId>, AppError> {
    let caller = caller.clone();
    let grant_id = grant_id.clone();
    st.db
        .tx(move |conn| {
            let g = Grant::find_live(conn, &grant_id)?.ok_or(AppError::NotFound)?;
            access::require(conn, &caller, &g.client_id, Permission::Users)?;
            let by = caller.user().map(|u| u.id.clone());
            let revoked = Grant::revoke_tree(conn, &g.id, by.as_ref(), ids::now())?;
            audit::record(
                conn,
                AuditEntry::on(
                    &caller.audit_actor(),
                    &g.client_id,
                    "grant.revoked",
                    &g.id,
                    json!({"revoked": revoked}),
                ),
            )?;
            Ok(revoked)
        })
        .await
}

/// The live grants on a client, for whoever may manage access there.
pub async fn list_for_client(
    st: &AppState,
    caller: &Caller,
    client_id: &ClientId,
) -> Result<Vec<(Grant, String)>, AppError> {
    let caller = caller.clone();
    let client_id = client_id.clone();
    st.db
        .tx(move |conn| {
            access::require(conn, &caller, &client_id, Permission::Users)?;
            Client::get(conn, &client_id)?;
            Ok(Grant::live_for_client(conn, &client_id)?)
        })
        .await
}
