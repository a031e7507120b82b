//! The panel's audit screen: the events a caller may read (permission `audit`), filtered by
//! client, person and period like the reports, newest first in keyset pages, with the chain's
//! verdict. Reading the screen is not an export, so it records nothing.

use std::collections::HashMap;

use chrono::NaiveDateTime;

use crate::db::models::audit::{AuditEvent, AuditFilter};
use crate::db::models::{Client, User};
use crate::error::AppError;
use crate::pdf::Lang;
use crate::service::access::Caller;
use crate::service::audit::{self, ChainVerdict};
use crate::service::reports::{self, ReportQuery};
use crate::state::AppState;

/// Events per page of the screen.
pub const PAGE: i64 = 50;

/// One event as the screen shows it.
pub struct ScreenEvent {
    pub seq: i64,
    pub at: NaiveDateTime,
    pub who: String,
    pub client_nip: String,
    pub action: String,
    pub details: String,
}

/// One page of the screen.
pub struct AuditScreen {
    pub events: Vec<ScreenEvent>,
    /// Where the next (older) page starts, when there is one.
    pub older: Option<i64>,
    pub verdict: ChainVerdict,
}

/// A page of the events matching `q`, newest first, older than `before` (the previous page's
/// cursor), with the verdict of the whole chain.
pub async fn page(
    st: &AppState,
    caller: &Caller,
    q: ReportQuery,
    before: Option<i64>,
) -> Result<AuditScreen, AppError> {
    crate::service::validate::range(q.from, q.to)?;
    let caller = caller.clone();
    let (events, older) = st
        .db
        .tx(move |conn| {
            let (client_ids, person) = reports::resolve(conn, &caller, &q)?;
            let filter =
                AuditFilter { client_ids, actor_id: person.map(|p| p.id.into()), from: q.from, to: q.to };
            let mut rows = AuditEvent::page_filtered_newest(conn, &filter, before, PAGE + 1)?;
            let older = (rows.len() > PAGE as usize).then(|| {
                rows.truncate(PAGE as usize);
                rows.last().map_or(0, |e| e.seq)
            });
            let users: HashMap<String, String> =
                User::list(conn)?.into_iter().map(|u| (u.id.into(), u.email)).collect();
            let clients: HashMap<crate::domain::ClientId, crate::domain::Nip> =
                Client::list_all(conn)?.into_iter().map(|c| (c.id, c.nip)).collect();
            let events = rows
                .iter()
                .map(|e| ScreenEvent {
                    seq: e.seq,
                    at: e.at,
                    who: reports::who(&users, Lang::Pl, e),
                    client_nip: reports::client_nip(&clients, e),
                    action: reports::action_label(&e.action, Lang::Pl).to_owned(),
                    details: reports::details(&e.payload, Lang::Pl),
                })
                .collect();
            Ok::<_, AppError>((events, older))
        })
        .await?;
    let verdict = st.db.run(audit::verify).await?;
    Ok(AuditScreen { events, older, verdict })
}
