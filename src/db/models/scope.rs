//! Which clients a query may see. Every tenant-owned query takes one: there is no way to ask
//! for "any client's" rows without saying whose.

use crate::domain::ClientId;

/// The clients a caller may see for one purpose (worked out by `service::access`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientScope {
    /// Every client of the office (office admins, the system itself).
    All,
    /// Only these client ids (delegations, a board member's company, an API key's client).
    Only(Vec<ClientId>),
}

impl ClientScope {
    /// True when `client_id` is inside the scope.
    pub fn contains(&self, client_id: &ClientId) -> bool {
        match self {
            Self::All => true,
            Self::Only(ids) => ids.iter().any(|id| id == client_id),
        }
    }

    /// The scope narrowed to one client (empty when that client is outside it).
    pub fn narrow_to(&self, client_id: &ClientId) -> Self {
        if self.contains(client_id) {
            Self::Only(vec![client_id.clone()])
        } else {
            Self::Only(Vec::new())
        }
    }
}

/// A boxed query kept to the scope's clients by its client column: every tenant-owned list
/// narrows the same way. One client (an API key's, a client's page) filters with `=`, so that
/// PostgreSQL walks the list's index in order and stops at the page's end; with `= ANY($1)` it
/// read and sorted every invoice of the client on each page (40 ms at 50 000).
macro_rules! in_scope {
    ($query:expr, $scope:expr, $client_id:expr) => {
        match $scope {
            $crate::db::models::ClientScope::All => $query,
            $crate::db::models::ClientScope::Only(ids) => match ids.as_slice() {
                [one] => $query.filter($client_id.eq(one.clone())),
                _ => $query.filter($client_id.eq_any(ids.clone())),
            },
        }
    };
}

pub(crate) use in_scope;
