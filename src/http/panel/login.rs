//! Logging in and out of the panel.
//!
//! The login form has no session to bind a CSRF token to, so it uses a signed double submit: a
//! random nonce in a short-lived SameSite=Strict cookie, and the HMAC of that nonce in the
//! form. A page on another site can neither read the cookie nor forge the HMAC, so it cannot
//! log a victim into the attacker's account.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use secrecy::SecretString;

use super::forms::Fields;
use super::{html, see_other, Layout, PanelError, PanelUser};
use crate::error::AppError;
use crate::http::auth::{client_ip_text, removal_cookie, session_cookie, Authenticated};
use crate::service::users;
use crate::state::AppState;

const LOGIN_NONCE_COOKIE: &str = "kgw_login";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(login_form).service(submit).service(logout);
}

#[derive(Template)]
#[template(path = "panel/login.html")]
struct LoginPage {
    layout: Layout,
    csrf: String,
    email: String,
    error: Option<String>,
}

fn nonce_tag(nonce: &str) -> String {
    format!("login:{nonce}")
}

fn nonce_cookie(st: &AppState, nonce: String) -> Cookie<'static> {
    Cookie::build(LOGIN_NONCE_COOKIE, nonce)
        .path("/login")
        .http_only(true)
        .secure(st.settings.auth.cookie_secure)
        .same_site(SameSite::Strict)
        .max_age(actix_web::cookie::time::Duration::hours(1))
        .finish()
}

/// The login page with a fresh nonce; `status` and `error` say why it is shown again.
fn login_page(
    st: &AppState,
    status: StatusCode,
    email: String,
    error: Option<String>,
) -> Result<HttpResponse, PanelError> {
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw).map_err(|e| AppError::Internal(anyhow::anyhow!("random: {e}")))?;
    let nonce = hex::encode(raw);
    let page = LoginPage {
        layout: Layout::anonymous("Logowanie"),
        csrf: st.session_keys.csrf_token(&nonce_tag(&nonce)),
        email,
        error,
    };
    let mut resp = html(status, &page)?;
    resp.add_cookie(&nonce_cookie(st, nonce)).map_err(|e| AppError::Internal(e.into()))?;
    Ok(resp)
}

/// `GET /login` (a logged-in person goes straight to the dashboard).
#[get("/login")]
async fn login_form(
    st: web::Data<AppState>,
    auth: Option<Authenticated>,
) -> Result<HttpResponse, PanelError> {
    if auth.is_some_and(|a| a.caller.user().is_some()) {
        return Ok(see_other("/"));
    }
    login_page(&st, StatusCode::OK, String::new(), None)
}

/// `POST /login`: throttled per account and IP, then `users::login`.
#[post("/login")]
async fn submit(st: web::Data<AppState>, req: HttpRequest, form: Fields) -> Result<HttpResponse, PanelError> {
    let email = form.text("email");
    let nonce = req.cookie(LOGIN_NONCE_COOKIE).map(|c| c.value().to_owned()).unwrap_or_default();
    if nonce.is_empty() || !st.session_keys.csrf_ok(&nonce_tag(&nonce), form.csrf().unwrap_or("")) {
        let why = "Formularz logowania wygasł. Spróbuj zalogować się ponownie.".to_owned();
        return login_page(&st, StatusCode::FORBIDDEN, email, Some(why));
    }
    let ip = client_ip_text(&req, &st);
    if let Err(AppError::RateLimited { retry_after_s }) = st.throttles.login(&email, ip.as_deref()) {
        let why = format!("Zbyt wiele prób logowania. Odczekaj {retry_after_s} s i spróbuj ponownie.");
        let mut resp = login_page(&st, StatusCode::TOO_MANY_REQUESTS, email, Some(why))?;
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
        return Ok(resp);
    }
    let password = SecretString::from(form.get("password").unwrap_or("").to_owned());
    match users::login(&st, &email, &password, ip).await {
        Ok(out) => {
            let mut gone = nonce_cookie(&st, String::new());
            gone.make_removal();
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/"))
                .cookie(session_cookie(&st, out.token))
                .cookie(gone)
                .finish())
        }
        Err(AppError::Unauthenticated) => {
            let why = "Nieprawidłowy e-mail lub hasło".to_owned();
            login_page(&st, StatusCode::UNAUTHORIZED, email, Some(why))
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /logout`: ends the session for good (the cookie stops working even if copied).
#[post("/logout")]
async fn logout(st: web::Data<AppState>, me: PanelUser, form: Fields) -> Result<HttpResponse, PanelError> {
    me.check_csrf(&st, form.csrf())?;
    users::logout(&st, &me.user).await?;
    let mut resp = see_other("/login");
    resp.add_cookie(&removal_cookie(&st)).map_err(|e| AppError::Internal(e.into()))?;
    Ok(resp)
}
