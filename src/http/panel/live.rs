//! Live progress: `GET /stany-faktur?ids=a,b,…` answers the current state of invoices the
//! person may read, as JSON for `static/live.js`, which polls it every 1.5 s while a page shows
//! anything on its way to KSeF (W or O) and stops once all of it is final. Session cookie like
//! every panel page, scoped by the same `access` rules; a foreign id is simply left out.

use actix_web::http::header;
use actix_web::{get, web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{PanelError, PanelUser};
use crate::service::panel_views;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(states);
}

#[derive(Deserialize)]
struct Query {
    #[serde(default)]
    ids: String,
}

#[derive(Serialize)]
struct LiveState {
    id: crate::domain::InvoiceId,
    state: String,
    /// The Polish label the pages show.
    label: &'static str,
    /// W, O or A; empty before a decision and after a refusal.
    letter: &'static str,
    /// Still on its way: keep polling.
    on_its_way: bool,
    /// Once KSeF assigned it.
    ksef_number: Option<String>,
}

#[derive(Serialize)]
struct Answer {
    invoices: Vec<LiveState>,
}

#[get("/stany-faktur")]
async fn states(
    st: web::Data<AppState>,
    me: PanelUser,
    q: web::Query<Query>,
) -> Result<HttpResponse, PanelError> {
    let ids: Vec<String> =
        q.ids.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
    let invoices = panel_views::live_states(&st, &me.caller, ids)
        .await?
        .into_iter()
        .map(|inv| {
            let s = inv.state;
            LiveState {
                id: inv.id,
                ksef_number: inv.ksef_number,
                state: s.as_str().to_owned(),
                label: s.label_pl(),
                letter: s.status_letter().unwrap_or(""),
                on_its_way: s.is_on_its_way(),
            }
        })
        .collect();
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(Answer { invoices }))
}
