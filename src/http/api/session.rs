//! Logging in and out through the API (the panel's forms use the same service), and `me`.

use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

use super::openapi_types::Errors;
use crate::error::AppError;
use crate::http::auth::{client_ip_text, removal_cookie, session_cookie, Authenticated, Via};
use crate::service::access::Caller;
use crate::service::users;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(login).service(logout).service(me);
}

#[derive(Deserialize, utoipa::ToSchema)]
struct LoginBody {
    email: String,
    #[schema(value_type = String)]
    password: SecretString,
}

/// `POST /api/v1/session`: sets the session cookie and returns the CSRF token for later calls.
#[utoipa::path(
    post,
    path = "/api/v1/session",
    tag = "session",
    operation_id = "session_login",
    summary = "Log in (sets the session cookie; returns the CSRF token)",
    request_body(content = inline(LoginBody), content_type = "application/json"),
    responses(
        (status = 200, description = "OK", content_type = "application/json"),
        Errors<401, 405, 413, 422, 429>,
    ),
    security(),
)]
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
#[utoipa::path(
    delete,
    path = "/api/v1/session",
    tag = "session",
    operation_id = "session_logout",
    summary = "Log out: the session ends at once",
    responses(
        (status = 204, description = "Logged out"),
        Errors<401, 403, 404, 405, 422, 429>,
    ),
)]
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
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "session",
    operation_id = "session_me",
    summary = "Who is calling",
    responses(
        (status = 200, description = "OK", content_type = "application/json"),
        Errors<401, 403, 404, 405, 422, 429>,
    ),
)]
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
