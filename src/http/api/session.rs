//! Logging in and out through the API (the panel's forms use the same service), and `me`.

use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

use crate::error::AppError;
use crate::http::auth::{client_ip_text, removal_cookie, session_cookie, Authenticated, Via};
use crate::service::access::Caller;
use crate::service::users;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(login).service(logout).service(me);
}

#[derive(Deserialize)]
struct LoginBody {
    email: String,
    password: SecretString,
}

/// `POST /api/v1/session`: sets the session cookie and returns the CSRF token for later calls.
#[post("/session")]
async fn login(
    st: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginBody>,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip_text(&req, &st);
    st.throttles.login(&body.email, ip.as_deref())?;
    let out = users::login(&st, &body.email, &body.password, ip).await?;
    Ok(HttpResponse::Ok().cookie(session_cookie(&st, out.token)).json(json!({
        "user": {"id": out.user.id, "email": out.user.email, "role": out.user.role},
        "csrf_token": out.csrf,
    })))
}

/// `DELETE /api/v1/session`: ends the session for good.
#[delete("/session")]
async fn logout(st: web::Data<AppState>, auth: Authenticated) -> Result<HttpResponse, AppError> {
    match (&auth.caller, auth.via) {
        (Caller::User(u), Via::Cookie) => {
            users::logout(&st, u).await?;
            Ok(HttpResponse::NoContent().cookie(removal_cookie(&st)).finish())
        }
        _ => Err(AppError::invalid("only a panel session can be logged out")),
    }
}

/// `GET /api/v1/me`: who the caller is.
#[get("/me")]
async fn me(st: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, AppError> {
    let kind = caller.actor().kind();
    Ok(HttpResponse::Ok().json(match caller {
        Caller::User(u) => json!({
            "kind": kind, "id": u.id, "email": u.email, "role": u.role.as_str(), "client_id": u.client_id,
            "csrf_token": st.session_keys.csrf_token(&u.session_id),
        }),
        Caller::ApiKey(k) => {
            json!({"kind": kind, "id": k.id, "client_id": k.client_id, "scopes": k.scopes.to_string()})
        }
        Caller::Operator => json!({"kind": kind}),
    }))
}
