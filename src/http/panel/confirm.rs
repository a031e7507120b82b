//! Confirmation steps before revoking a grant or an API key: the access page links here, this
//! page says what will stop working, and its button posts to the revoking route (no script
//! needed; the POST routes and their checks are in `access`).

use actix_web::{get, web, HttpResponse};
use askama::Template;

use super::access::{permissions_pl, scopes_pl};
use super::{ok, Layout, PanelError, PanelUser};
use crate::domain::GrantId;
use crate::error::AppError;
use crate::service::clients::{self, ClientView};
use crate::service::{apikeys, grants};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(grant).service(key);
}

#[derive(Template)]
#[template(path = "panel/revoke_confirm.html")]
struct ConfirmPage {
    layout: Layout,
    client: ClientView,
    heading: &'static str,
    what: String,
    consequence: &'static str,
    action: String,
    button: &'static str,
}

/// `GET /klienci/{nip}/dostepy/{id}/odbierz`.
#[get("/klienci/{nip}/dostepy/{id}/odbierz")]
async fn grant(
    st: web::Data<AppState>,
    me: PanelUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PanelError> {
    let (nip, id) = path.into_inner();
    let client = clients::find_visible(&st, &me.caller, &crate::http::id_in_path(&nip)?).await?;
    let live = grants::list_for_client(&st, &me.caller, &client.id).await?;
    // Text that is no grant id is the 404 of an unknown grant, after the list's access check.
    let id: GrantId = crate::http::id_in_path(&id)?;
    let (g, email) = live.into_iter().find(|(g, _)| g.id == id).ok_or(AppError::NotFound)?;
    ok(&ConfirmPage {
        layout: Layout::for_user("Odebranie dostępu", &me),
        heading: "Odebrać dostęp?",
        what: format!("{email}: {}", permissions_pl(&g.permissions)),
        consequence: "Ta osoba straci od razu dostęp do klienta, a razem z nim tracą go osoby, którym przekazała go dalej.",
        action: format!("/klienci/{}/dostepy/{id}/odbierz", client.nip),
        button: "Tak, odbierz dostęp",
        client,
    })
}

/// `GET /klienci/{nip}/klucze/{id}/odwolaj`.
#[get("/klienci/{nip}/klucze/{id}/odwolaj")]
async fn key(
    st: web::Data<AppState>,
    me: PanelUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PanelError> {
    let (nip, id) = path.into_inner();
    let client = clients::find_visible(&st, &me.caller, &crate::http::id_in_path(&nip)?).await?;
    let k = apikeys::list(&st, &me.caller, &client.id)
        .await?
        .into_iter()
        .find(|k| k.id == id && k.revoked_at.is_none())
        .ok_or(AppError::NotFound)?;
    ok(&ConfirmPage {
        layout: Layout::for_user("Odwołanie klucza API", &me),
        heading: "Odwołać klucz API?",
        what: format!("{} ({}…): {}", k.name, k.prefix, scopes_pl(&k.scopes)),
        consequence: "System klienta używający tego klucza od razu przestanie móc łączyć się z bramką. Odwołania nie da się cofnąć – potrzebny będzie nowy klucz.",
        action: format!("/klienci/{}/klucze/{id}/odwolaj", client.nip),
        button: "Tak, odwołaj klucz",
        client,
    })
}
