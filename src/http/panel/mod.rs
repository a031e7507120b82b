//! The accountants' web panel under `/`, in Polish, rendered on the server (STYLE.md §4.14):
//! askama templates compiled into the binary, one embedded stylesheet, one small self-hosted
//! script for live progress (`static/live.js`, no inline script). Handlers are
//! thin: they call the same service functions as the JSON API and render the result; every
//! rule (who may see or do what) stays in `service`.
//!
//! Every POST form carries a hidden `csrf` field checked here (the auth middleware checks the
//! header only for `/api/`), on top of the SameSite=Strict session cookie.

mod access;
mod approvals;
mod assets;
mod audit;
mod certificates;
mod client;
mod client_admin;
mod collective;
mod confirm;
mod credential;
mod dashboard;
mod discard;
mod error;
mod forms;
mod invoice;
mod labels;
mod list_form;
mod live;
mod login;
mod notice;
mod office;
mod people;
mod purchases;
mod send;
mod upload;
mod webhooks;

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse};

pub use error::{with_layout, PanelError};

use crate::auth::Permission;
use crate::error::AppError;
use crate::http::auth::{Authenticated, Via};
use crate::service::access::{Caller, UserCaller};
use crate::service::clients::ClientView;
use crate::state::AppState;

/// Registers the panel's pages and its stylesheet.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(assets::routes)
        .configure(login::routes)
        .configure(dashboard::routes)
        .configure(upload::routes)
        .configure(send::routes)
        .configure(collective::routes)
        .configure(client::routes)
        .configure(invoice::routes)
        .configure(approvals::routes)
        .configure(live::routes)
        .configure(access::routes)
        .configure(credential::routes)
        .configure(office::routes)
        .configure(certificates::routes)
        .configure(audit::routes)
        .configure(purchases::routes)
        .configure(webhooks::routes)
        .configure(people::routes)
        .configure(client_admin::routes)
        .configure(discard::routes)
        .configure(confirm::routes);
}

/// What every page's frame shows: the title, and who is logged in (with the CSRF token for the
/// logout form). `user` is None on the login and error pages.
pub struct Layout {
    pub title: String,
    pub user: Option<NavUser>,
    pub css: &'static str,
    pub icon: &'static str,
}

pub struct NavUser {
    pub email: String,
    pub role: &'static str,
    pub csrf: String,
    /// Office admins see the office's own pages (its KSeF credential, people, new clients).
    pub office_admin: bool,
}

impl Layout {
    /// The frame of a page for a logged-in person.
    pub fn for_user(title: impl Into<String>, me: &PanelUser) -> Self {
        Self {
            title: title.into(),
            user: Some(NavUser {
                email: me.user.email.clone(),
                role: me.user.role.label_pl(),
                csrf: me.csrf.clone(),
                office_admin: me.user.role == crate::auth::Role::OfficeAdmin,
            }),
            css: assets::href("panel.css"),
            icon: assets::href("favicon.svg"),
        }
    }

    /// This session's CSRF token, for the page's POST forms.
    pub fn csrf(&self) -> &str {
        self.user.as_ref().map_or("", |u| u.csrf.as_str())
    }

    /// The frame of a page seen before logging in (or of an error page, which shows nobody).
    pub fn anonymous(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            user: None,
            css: assets::href("panel.css"),
            icon: assets::href("favicon.svg"),
        }
    }
}

/// Renders a template as an HTML response. Pages show personal data, so nobody caches them.
pub fn html<T: askama::Template>(status: StatusCode, page: &T) -> Result<HttpResponse, PanelError> {
    let body = page.render().map_err(|e| AppError::Internal(anyhow::anyhow!("template: {e}")))?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

/// `html` with 200 OK.
pub fn ok<T: askama::Template>(page: &T) -> Result<HttpResponse, PanelError> {
    html(StatusCode::OK, page)
}

/// 303 See Other: where a successful POST sends the browser.
pub fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, to)).finish()
}

/// True when the caller holds permission `p` on the client (to hide forms it could not use;
/// the services check again).
pub fn may(client: &ClientView, p: Permission) -> bool {
    client.permissions.contains(&p.as_str())
}

/// A person logged in to the panel (API keys are for programs and get the login page here).
pub struct PanelUser {
    pub caller: Caller,
    pub user: UserCaller,
    /// This session's CSRF token, for the forms of the page.
    pub csrf: String,
}

impl PanelUser {
    /// Refuses a form whose `csrf` field is not this session's token.
    pub fn check_csrf(&self, st: &AppState, presented: Option<&str>) -> Result<(), PanelError> {
        if st.session_keys.csrf_ok(&self.user.session_id, presented.unwrap_or("")) {
            Ok(())
        } else {
            Err(PanelError::Csrf)
        }
    }

    /// A form posted about one client: its CSRF token checked first, then the client looked up
    /// in what the caller may see (the same 404 for a foreign client as for none).
    pub async fn client_for_form(
        &self,
        st: &AppState,
        nip: &str,
        form: &forms::Fields,
    ) -> Result<crate::service::clients::ClientView, PanelError> {
        self.check_csrf(st, form.csrf())?;
        Ok(crate::service::clients::find_visible(st, &self.caller, &crate::http::id_in_path(nip)?).await?)
    }
}

impl PanelUser {
    /// The person logged in to the panel on this request, if any.
    pub fn of(req: &HttpRequest) -> Option<Self> {
        let auth = req.extensions().get::<Authenticated>().cloned();
        let st = req.app_data::<web::Data<AppState>>()?;
        match auth {
            Some(Authenticated { caller: Caller::User(user), via: Via::Cookie }) => Some(Self {
                csrf: st.session_keys.csrf_token(&user.session_id),
                caller: Caller::User(user.clone()),
                user,
            }),
            _ => None,
        }
    }
}

impl FromRequest for PanelUser {
    type Error = PanelError;
    type Future = Ready<Result<Self, PanelError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::of(req).ok_or(PanelError::Login))
    }
}
