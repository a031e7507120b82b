//! `/osoby`: the office admin's people (list, add, deactivate behind a confirmation page,
//! reactivate, set a new password), and `/konto/haslo`: anybody's own password change. The
//! rules (who may, what gets revoked and audited) are in `service::people`; a password never
//! comes back on a page and is never logged.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use askama::Template;
use secrecy::SecretString;

use super::error::FieldError;
use super::forms::Fields;
use super::labels::when_opt;
use super::{html, ok, see_other, Layout, PanelError, PanelUser};
use crate::auth::Role;
use crate::domain::{Nip, UserId};
use crate::error::AppError;
use crate::http::id_in_path;
use crate::service::access::require_office_admin;
use crate::service::clients::{self, ClientView};
use crate::service::people::{self, PersonView};
use crate::service::users::{self, NewUserInput};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    // `reset` before `switch`, whose `{akcja}` would take `haslo` too.
    cfg.service(list_page)
        .service(add)
        .service(confirm_disable)
        .service(reset)
        .service(switch)
        .service(own_password_page)
        .service(own_password);
}

/// What the add form shows again after a refusal (never the password).
#[derive(Default)]
struct Typed {
    email: String,
    name: String,
    role: String,
    nip: String,
}

#[derive(Template)]
#[template(path = "panel/people.html")]
struct PeoplePage {
    layout: Layout,
    people: Vec<(PersonView, &'static str, String)>,
    roles: Vec<(&'static str, &'static str)>,
    clients: Vec<ClientView>,
    typed: Typed,
    error: Option<FieldError>,
    /// A refused password reset: whose row, and why.
    reset_error: Option<(String, String)>,
}

impl PeoplePage {
    fn error_at(&self, field: &str) -> Option<String> {
        FieldError::at(&self.error, field)
    }

    fn reset_error_for(&self, id: &str) -> Option<String> {
        self.reset_error.as_ref().filter(|(who, _)| who == id).map(|(_, why)| why.clone())
    }
}

async fn render(
    st: &AppState,
    me: &PanelUser,
    typed: Typed,
    error: Option<FieldError>,
    reset_error: Option<(String, String)>,
) -> Result<HttpResponse, PanelError> {
    let status = if error.is_some() || reset_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let people = people::list(st, &me.caller).await?;
    let page = PeoplePage {
        layout: Layout::for_user("Osoby", me),
        people: people
            .into_iter()
            .map(|p| {
                let (role, seen) = (p.role.label_pl(), when_opt(p.last_login_at));
                (p, role, seen)
            })
            .collect(),
        roles: [Role::Accountant, Role::OfficeAdmin, Role::BoardMember]
            .into_iter()
            .map(|r| (r.as_str(), r.label_pl()))
            .collect(),
        clients: clients::list_visible(st, &me.caller).await?,
        typed,
        error,
        reset_error,
    };
    html(status, &page)
}

#[get("/osoby")]
async fn list_page(st: web::Data<AppState>, me: PanelUser) -> Result<HttpResponse, PanelError> {
    render(&st, &me, Typed::default(), None, None).await
}

/// `POST /osoby`: adds a person with the password the admin chose (told to them once).
#[post("/osoby")]
async fn add(st: web::Data<AppState>, me: PanelUser, form: Fields) -> Result<HttpResponse, PanelError> {
    me.check_csrf(&st, form.csrf())?;
    let typed = Typed {
        email: form.text("email"),
        name: form.text("nazwa"),
        role: form.text("rola"),
        nip: form.text("nip"),
    };
    let added = async {
        let role =
            Role::parse(&typed.role).map_err(|e| AppError::invalid_field("role", "unknown_role", e))?;
        let nip = match (role, typed.nip.as_str()) {
            (Role::BoardMember, raw) if !raw.is_empty() => {
                Some(Nip::parse(raw).map_err(|e| AppError::invalid_field("nip", "no_such_client", e))?)
            }
            _ => None,
        };
        let input = NewUserInput { email: typed.email.clone(), display_name: typed.name.clone(), role, nip };
        users::create_user(&st, &me.caller, input, SecretString::from(form.text("haslo"))).await
    }
    .await;
    match added {
        Ok(_) => Ok(see_other("/osoby")),
        Err(AppError::Conflict(_)) => {
            let taken = FieldError {
                field: "email".into(),
                message: "Osoba o tym adresie e-mail ma już konto w bramce.".into(),
            };
            render(&st, &me, typed, Some(taken), None).await
        }
        Err(e) => match FieldError::of(&e, "email") {
            Some(error) => render(&st, &me, typed, Some(error), None).await,
            None => Err(e.into()),
        },
    }
}

/// The person named in a path. Text that is no user id is the 404 of an unknown person, once
/// the office-admin check every person's page makes first has passed (so anybody else still
/// gets its 403).
fn person_in_path(me: &PanelUser, raw: &str) -> Result<UserId, AppError> {
    id_in_path(raw).or_else(|unknown| require_office_admin(&me.caller).and(Err(unknown)))
}

#[derive(Template)]
#[template(path = "panel/person_disable.html")]
struct DisablePage {
    layout: Layout,
    person: PersonView,
    role: &'static str,
}

/// `GET /osoby/{id}/dezaktywuj`: the confirmation step (no script needed).
#[get("/osoby/{id}/dezaktywuj")]
async fn confirm_disable(
    st: web::Data<AppState>,
    me: PanelUser,
    id: web::Path<String>,
) -> Result<HttpResponse, PanelError> {
    let person = people::find(&st, &me.caller, &person_in_path(&me, &id)?).await?;
    ok(&DisablePage {
        layout: Layout::for_user("Dezaktywacja konta", &me),
        role: person.role.label_pl(),
        person,
    })
}

/// `POST /osoby/{id}/dezaktywuj` (from the confirmation page) and `POST /osoby/{id}/aktywuj`.
#[post("/osoby/{id}/{akcja}")]
async fn switch(
    st: web::Data<AppState>,
    me: PanelUser,
    path: web::Path<(String, String)>,
    form: Fields,
) -> Result<HttpResponse, PanelError> {
    me.check_csrf(&st, form.csrf())?;
    let (id, action) = path.into_inner();
    let active = match action.as_str() {
        "dezaktywuj" => false,
        "aktywuj" => true,
        _ => return Err(AppError::NotFound.into()),
    };
    people::set_active(&st, &me.caller, &person_in_path(&me, &id)?, active).await?;
    Ok(see_other("/osoby"))
}

/// `POST /osoby/{id}/haslo`: a new password set by the admin; the person's sessions end.
#[post("/osoby/{id}/haslo")]
async fn reset(
    st: web::Data<AppState>,
    me: PanelUser,
    id: web::Path<String>,
    form: Fields,
) -> Result<HttpResponse, PanelError> {
    me.check_csrf(&st, form.csrf())?;
    let password = SecretString::from(form.text("haslo"));
    let reset = match id_in_path::<UserId>(&id) {
        Ok(person) => people::reset_password(&st, &me.caller, &person, password).await,
        // Text that is no user id is an unknown person, after the checks a reset makes first
        // (an admin, a long enough password), so each refusal stays the one it was.
        Err(unknown) => people::reset_checks(&me.caller, &password).and(Err(unknown)),
    };
    match reset {
        Ok(()) => Ok(see_other("/osoby")),
        Err(e) => match FieldError::of(&e, "password") {
            Some(error) => {
                render(&st, &me, Typed::default(), None, Some((id.into_inner(), error.message))).await
            }
            None => Err(e.into()),
        },
    }
}

#[derive(Template)]
#[template(path = "panel/own_password.html")]
struct OwnPasswordPage {
    layout: Layout,
    error: Option<FieldError>,
    changed: bool,
}

impl OwnPasswordPage {
    fn error_at(&self, field: &str) -> Option<String> {
        FieldError::at(&self.error, field)
    }
}

#[derive(serde::Deserialize)]
struct Changed {
    zmienione: Option<String>,
}

#[get("/konto/haslo")]
async fn own_password_page(me: PanelUser, q: web::Query<Changed>) -> Result<HttpResponse, PanelError> {
    ok(&OwnPasswordPage {
        layout: Layout::for_user("Zmiana hasła", &me),
        error: None,
        changed: q.zmienione.is_some(),
    })
}

/// `POST /konto/haslo`: the current password proves it is the person; the new one is typed
/// twice so a typo does not lock them out.
#[post("/konto/haslo")]
async fn own_password(
    st: web::Data<AppState>,
    me: PanelUser,
    form: Fields,
) -> Result<HttpResponse, PanelError> {
    me.check_csrf(&st, form.csrf())?;
    let new = form.text("nowe");
    let changed = if new == form.text("powtorzone") {
        let current = SecretString::from(form.text("obecne"));
        people::change_own_password(&st, &me.user, &current, SecretString::from(new)).await
    } else {
        Err(AppError::invalid_field("repeat_password", "passwords_differ", "the two new passwords differ"))
    };
    match changed {
        Ok(()) => Ok(see_other("/konto/haslo?zmienione=1")),
        Err(e) => match FieldError::of(&e, "new_password") {
            Some(error) => html(
                StatusCode::UNPROCESSABLE_ENTITY,
                &OwnPasswordPage {
                    layout: Layout::for_user("Zmiana hasła", &me),
                    error: Some(error),
                    changed: false,
                },
            ),
            None => Err(e.into()),
        },
    }
}
