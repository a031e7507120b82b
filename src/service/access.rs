//! Who may do what on which client. Every service function asks here first, with the caller
//! as a required argument; the answer is a `ClientScope` that the queries themselves take.
//!
//! Denials never tell a caller more than it may know: a client outside everything the caller
//! can see is `NotFound`, exactly as if it did not exist; a client the caller can see but not
//! act on in this way is `Forbidden`.

use crate::auth::{ApiScope, Permission, PermissionSet, Role, ScopeSet};
use crate::db::models::{Client, ClientScope, Grant, Invoice};
use crate::db::{AnyConn, DbError};
use crate::domain::{Actor, ApiKeyId, ClientId, Nip, UserId, UserSessionId};
use crate::error::{AppError, Refusal};
use crate::service::audit::AuditActor;

/// A person who logged in to the panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCaller {
    pub id: UserId,
    pub email: String,
    pub role: Role,
    /// A board member's own company.
    pub client_id: Option<ClientId>,
    /// The panel session, for logout and CSRF.
    pub session_id: UserSessionId,
}

/// A client system calling with its API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCaller {
    pub id: ApiKeyId,
    pub client_id: ClientId,
    pub scopes: ScopeSet,
}

/// Who is calling, and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    User(UserCaller),
    ApiKey(KeyCaller),
    /// The operator at the command line (trusted like an office admin).
    Operator,
}

impl Caller {
    /// How the audit trail names this caller.
    pub fn audit_actor(&self) -> AuditActor {
        match self {
            Self::User(u) => AuditActor::User(u.id.clone()),
            Self::ApiKey(k) => AuditActor::ApiKey(k.id.clone()),
            Self::Operator => AuditActor::System,
        }
    }

    /// How invoice timelines name this caller.
    pub fn actor(&self) -> Actor {
        match self {
            Self::User(u) => Actor::User(u.id.clone()),
            Self::ApiKey(k) => Actor::ApiKey(k.id.clone()),
            Self::Operator => Actor::Operator,
        }
    }

    pub fn user(&self) -> Option<&UserCaller> {
        match self {
            Self::User(u) => Some(u),
            _ => None,
        }
    }

    fn is_office_wide(&self) -> bool {
        matches!(self, Self::Operator) || matches!(self, Self::User(u) if u.role == Role::OfficeAdmin)
    }
}

/// Office-wide matters (the office's own KSeF credential): the operator and office admins only.
/// The client a query's `nip` filter names (a list's, a report's, an upload's). The filter is
/// still text here; text that is no NIP names no client, so it is the 404 of an unknown NIP,
/// at the same point of the use case. Whether the caller may see it is the caller's check.
pub fn client_named(conn: &mut AnyConn, nip: &str) -> Result<Client, AppError> {
    let nip = Nip::exact(nip).map_err(|_| AppError::NotFound)?;
    Client::find_by_nip(conn, &nip)?.ok_or(AppError::NotFound)
}

pub fn require_office_admin(caller: &Caller) -> Result<(), AppError> {
    if caller.is_office_wide() {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Everything the caller holds on one client (empty when it holds nothing there).
pub fn permissions_on(
    conn: &mut AnyConn,
    caller: &Caller,
    client_id: &ClientId,
) -> Result<PermissionSet, DbError> {
    Ok(match caller {
        c if c.is_office_wide() => PermissionSet::all(),
        Caller::User(u) if u.role == Role::BoardMember => {
            if u.client_id.as_deref() == Some(client_id) {
                PermissionSet::all()
            } else {
                PermissionSet::default()
            }
        }
        Caller::User(u) => Grant::live_for_user(conn, &u.id, Some(client_id))?
            .iter()
            .filter_map(|g| PermissionSet::parse(&g.permissions).ok())
            .fold(PermissionSet::default(), PermissionSet::union),
        Caller::ApiKey(k) if k.client_id == *client_id => key_permissions(k),
        _ => PermissionSet::default(),
    })
}

/// Checks that the caller may do `p` on the client.
pub fn require(
    conn: &mut AnyConn,
    caller: &Caller,
    client_id: &ClientId,
    p: Permission,
) -> Result<(), AppError> {
    require_any(conn, caller, client_id, &[p])
}

/// Checks that the caller may do at least one of `ps` on the client.
pub fn require_any(
    conn: &mut AnyConn,
    caller: &Caller,
    client_id: &ClientId,
    ps: &[Permission],
) -> Result<(), AppError> {
    let held = permissions_on(conn, caller, client_id)?;
    // An API key always knows its own client (a `purchase`-only key holds no permission there).
    let own_key_client = matches!(caller, Caller::ApiKey(k) if k.client_id == *client_id);
    if ps.iter().any(|p| held.contains(*p)) {
        Ok(())
    } else if held.is_empty() && !own_key_client {
        Err(AppError::NotFound)
    } else {
        Err(AppError::Forbidden)
    }
}

/// The one rule of every delegation (a grant to another person, an API key for a client
/// system): nobody hands on what they do not hold on that client themselves. Office admins
/// and the operator hold everything, so they may hand on anything; an accountant with only
/// `users` may manage access but not mint a key that reads, uploads or sends.
pub fn require_held(
    conn: &mut AnyConn,
    caller: &Caller,
    client_id: &ClientId,
    wanted: PermissionSet,
) -> Result<(), AppError> {
    let held = permissions_on(conn, caller, client_id)?;
    if held.is_empty() {
        return Err(AppError::NotFound);
    }
    let missing: PermissionSet = wanted.iter().filter(|p| !held.contains(*p)).collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(AppError::Refused {
            refusal: Refusal::ScopeNotHeld,
            message: format!(
                "you cannot hand on what you do not hold on this client yourself; missing permissions: {missing}"
            ),
        })
    }
}

/// The invoice `id` when the caller may do `p` on its client: `NotFound` when it lies outside
/// every client the caller can see (or does not exist), `Forbidden` when its client is visible
/// but `p` is not held there. Looking it up among the visible clients (not only those where
/// `p` is held) is what tells the two apart.
pub fn invoice(
    conn: &mut AnyConn,
    caller: &Caller,
    id: &crate::domain::InvoiceId,
    p: Permission,
) -> Result<Invoice, AppError> {
    let scope = visible(conn, caller)?;
    let inv = Invoice::get(conn, &scope, id)?;
    require(conn, caller, &inv.client_id, p)?;
    Ok(inv)
}

/// [`invoice`] with its client's NIP, read in the same statement.
pub fn invoice_with_nip(
    conn: &mut AnyConn,
    caller: &Caller,
    id: &crate::domain::InvoiceId,
    p: Permission,
) -> Result<(Invoice, Nip), AppError> {
    let scope = visible(conn, caller)?;
    let (inv, nip) = Invoice::get_with_nip(conn, &scope, id)?;
    require(conn, caller, &inv.client_id, p)?;
    Ok((inv, nip))
}

/// Checks that the caller may read the client's purchase invoices: `read` on the client for a
/// person; for an API key, the `purchase` scope (a key that only reads what the client sent
/// is refused with 403, as for any other scope it lacks).
pub fn require_purchase(conn: &mut AnyConn, caller: &Caller, client_id: &ClientId) -> Result<(), AppError> {
    match caller {
        Caller::ApiKey(k) if k.client_id == *client_id => {
            if k.scopes.contains(ApiScope::Purchase) {
                Ok(())
            } else {
                Err(AppError::Forbidden)
            }
        }
        _ => require(conn, caller, client_id, Permission::Read),
    }
}

/// The clients whose purchase invoices the caller may read (see [`require_purchase`]).
pub fn purchase_scope(conn: &mut AnyConn, caller: &Caller) -> Result<ClientScope, DbError> {
    match caller {
        Caller::ApiKey(k) if k.scopes.contains(ApiScope::Purchase) => {
            Ok(ClientScope::Only(vec![k.client_id.clone()]))
        }
        Caller::ApiKey(_) => Ok(ClientScope::Only(Vec::new())),
        _ => scope(conn, caller, Permission::Read),
    }
}

/// The clients on which the caller may do `p`.
pub fn scope(conn: &mut AnyConn, caller: &Caller, p: Permission) -> Result<ClientScope, DbError> {
    scope_where(conn, caller, |held| held.contains(p))
}

/// The clients on which the caller holds anything at all: those it may know exist. Outside
/// them everything is `NotFound`; inside them a missing permission is `Forbidden`. An API key
/// always knows its own client (a `purchase`-only key holds no permission there).
pub fn visible(conn: &mut AnyConn, caller: &Caller) -> Result<ClientScope, DbError> {
    match caller {
        Caller::ApiKey(k) => Ok(ClientScope::Only(vec![k.client_id.clone()])),
        _ => scope_where(conn, caller, |held| !held.is_empty()),
    }
}

/// What an API key's scopes grant on its own client.
fn key_permissions(k: &KeyCaller) -> PermissionSet {
    Permission::ALL.into_iter().filter(|p| k.scopes.allows(*p)).collect()
}

fn scope_where(
    conn: &mut AnyConn,
    caller: &Caller,
    wanted: impl Fn(PermissionSet) -> bool,
) -> Result<ClientScope, DbError> {
    Ok(match caller {
        c if c.is_office_wide() => ClientScope::All,
        Caller::User(u) if u.role == Role::BoardMember => {
            ClientScope::Only(u.client_id.iter().cloned().collect())
        }
        Caller::User(u) => {
            let mut ids: Vec<ClientId> = Grant::live_for_user(conn, &u.id, None)?
                .into_iter()
                .filter(|g| PermissionSet::parse(&g.permissions).is_ok_and(&wanted))
                .map(|g| g.client_id)
                .collect();
            ids.sort();
            ids.dedup();
            ClientScope::Only(ids)
        }
        Caller::ApiKey(k) if wanted(key_permissions(k)) => ClientScope::Only(vec![k.client_id.clone()]),
        _ => ClientScope::Only(Vec::new()),
    })
}
