//! `GET /audyt`: the audit export form; the form itself asks the API (`/api/v1/audit`), which
//! checks the caller's `audit` permission and records the export.

use actix_web::{get, web, HttpResponse};
use askama::Template;

use super::{may, ok, Layout, PanelError, PanelUser};
use crate::service::clients::{self, ClientView};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(audit_page);
}

#[derive(Template)]
#[template(path = "panel/audit.html")]
struct AuditPage {
    layout: Layout,
    clients: Vec<ClientView>,
}

#[get("/audyt")]
async fn audit_page(st: web::Data<AppState>, me: PanelUser) -> Result<HttpResponse, PanelError> {
    let clients = clients::list_visible(&st, &me.caller)
        .await?
        .into_iter()
        .filter(|c| may(c, crate::auth::Permission::Audit))
        .collect();
    ok(&AuditPage { layout: Layout::for_user("Dziennik audytu", &me), clients })
}
