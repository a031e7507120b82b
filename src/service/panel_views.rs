//! Read models only the panel needs, beyond what the API returns: invoice counts per state for
//! the dashboard, and the people behind the actor labels of a timeline. Both go through
//! `access` like every other read.

use std::collections::HashMap;

use crate::auth::Permission;
use crate::db::models::sending::StuckGroup;
use crate::db::models::{Invoice, User};
use crate::domain::{Actor, ClientId, InvoiceId, InvoiceState};
use crate::error::AppError;
use crate::service::access::{self, Caller};
use crate::state::AppState;

/// How many of the client's invoices are in each state (states with none are left out).
pub async fn state_counts(
    st: &AppState,
    caller: &Caller,
    client_id: &ClientId,
) -> Result<Vec<(InvoiceState, i64)>, AppError> {
    let (caller, client_id) = (caller.clone(), client_id.clone());
    st.db
        .read(move |conn| {
            access::require(conn, &caller, &client_id, Permission::Read)?;
            Ok(Invoice::count_by_state(conn, &client_id)?)
        })
        .await
}

/// How many offline invoices the dashboard lists at most (soonest deadline first); it says how
/// many there are in all, and each client's page lists the rest (filter "wystawiona offline").
pub const OFFLINE_DUE_SHOWN: i64 = 100;

/// Invoices issued offline that are not in KSeF yet and whose legal deadline ends within
/// `within` (or has passed), soonest first, with their client's NIP (at most
/// [`OFFLINE_DUE_SHOWN`]), and how many there are in all: the dashboard warns.
pub async fn offline_due(
    st: &AppState,
    caller: &Caller,
    within: chrono::Duration,
) -> Result<(Vec<(Invoice, crate::domain::Nip)>, i64), AppError> {
    let caller = caller.clone();
    st.db
        .read(move |conn| {
            let scope = access::scope(conn, &caller, Permission::Read)?;
            let before = crate::db::models::ids::now() + within;
            let shown = Invoice::offline_due(conn, &scope, before, OFFLINE_DUE_SHOWN)?;
            Ok((shown, Invoice::count_offline_due(conn, &scope, before)?))
        })
        .await
}

/// Invoices of the caller's clients stuck on their way to KSeF beyond the watchdog's limits
/// (`[sender]` waiting_watchdog_s for W, registered_watchdog_s for O), per client and state.
pub async fn stuck(st: &AppState, caller: &Caller) -> Result<Vec<StuckGroup>, AppError> {
    let caller = caller.clone();
    let cutoffs = st.settings.sender.stuck_cutoffs(crate::db::models::ids::now());
    st.db
        .read(move |conn| {
            let scope = access::scope(conn, &caller, Permission::Read)?;
            Ok(Invoice::stuck(conn, &scope, &cutoffs, 10_000)?)
        })
        .await
}

/// Records that the person opened the list `list_key` now and returns their previous visit
/// (None on the first): what was stored since is "nowe" for them on this visit.
pub async fn visit_list(
    st: &AppState,
    user: &crate::service::access::UserCaller,
    list_key: String,
) -> Result<Option<chrono::NaiveDateTime>, AppError> {
    let user_id = user.id.clone();
    st.db
        .tx(move |conn| {
            let now = crate::db::models::ids::now();
            Ok::<_, AppError>(crate::db::models::list_visit::visit(conn, &user_id, &list_key, now)?)
        })
        .await
}

/// The e-mail addresses of the people among `actors` (others are left out). The caller passes
/// actors from a timeline it was allowed to read.
pub async fn actor_emails(st: &AppState, actors: Vec<Actor>) -> Result<HashMap<Actor, String>, AppError> {
    st.db
        .read(move |conn| {
            let mut out = HashMap::new();
            for actor in actors {
                let Some(id) = actor.user_id() else { continue };
                if let Some(u) = User::find(conn, id)? {
                    out.insert(actor.clone(), u.email);
                }
            }
            Ok::<_, AppError>(out)
        })
        .await
}

/// How many invoices one live-progress poll may ask about.
pub const LIVE_LIMIT: usize = 500;

/// Each of these invoices the caller may read, as it is now (others are left out, as if
/// they did not exist): what the panel's live progress polls.
pub async fn live_states(st: &AppState, caller: &Caller, ids: Vec<String>) -> Result<Vec<Invoice>, AppError> {
    if ids.len() > LIVE_LIMIT {
        return Err(AppError::invalid_field(
            "ids",
            "too_many_invoices",
            format!("ids: at most {LIVE_LIMIT}"),
        ));
    }
    let caller = caller.clone();
    st.db
        .read(move |conn| {
            let scope = access::scope(conn, &caller, Permission::Read)?;
            // Read as the page sent them, after the bound: text that is no id names no
            // invoice and is left out like an unknown one.
            let ids: Vec<InvoiceId> = ids.iter().filter_map(|id| InvoiceId::parse(id).ok()).collect();
            Ok(Invoice::find_many(conn, &scope, &ids)?)
        })
        .await
}
