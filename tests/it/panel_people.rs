//! People in the panel, through its real forms (session cookie and CSRF field): an office admin
//! adds an accountant who then logs in, deactivates (behind a confirmation page) and
//! reactivates them, sets a new password; a person changes their own; every change is audited
//! and ends the sessions it must; nobody but an office admin reaches these pages.

use actix_web::http::{header, StatusCode};
use actix_web::test::TestRequest;

use ksef_gateway::db::models::api_key::NewApiKey;
use ksef_gateway::db::models::audit::AuditEvent;
use ksef_gateway::db::models::{ids, ApiKey, User};
use ksef_gateway::domain::ApiKeyId;

use crate::both_backends;
use crate::common::Backend;
use crate::office::{app, call, login, office, Resp, Who, ACC_FULL, ADMIN, BOARD_A};

const NEW: &str = "nowa@biuro.test";
const FIRST: &str = "Pierwsze-haslo-2026";
const SECOND: &str = "Drugie-haslo-od-admina";
const THIRD: &str = "Trzecie-haslo-wlasne";

both_backends!(
    panel_people_add_deactivate_reset_and_own_password,
    panel_people_refusals,
    panel_revocations_ask_for_confirmation_first,
);

/// A panel form posted with the session's cookie and the `csrf` field (the header is not used
/// on panel routes).
pub fn form(who: &Who, uri: &str, fields: &[(&str, &str)]) -> TestRequest {
    let Who::Session { cookie, csrf } = who else { panic!("a session") };
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(all).finish();
    TestRequest::post()
        .uri(uri)
        .insert_header((header::COOKIE, format!("kgw_session={cookie}")))
        .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
        .set_payload(body)
}

pub fn page(who: &Who, uri: &str) -> TestRequest {
    who.apply(TestRequest::get().uri(uri))
}

/// A login through the API with any password: its status.
async fn try_login<S, B>(app: &S, email: &str, password: &str) -> StatusCode
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let req = TestRequest::post()
        .uri("/api/v1/session")
        .set_json(serde_json::json!({"email": email, "password": password}));
    call(app, req).await.status
}

fn to_login(r: &Resp) -> bool {
    r.status == StatusCode::SEE_OTHER && r.headers.get(header::LOCATION).is_some_and(|l| l == "/login")
}

async fn audit_actions(st: &ksef_gateway::state::AppState, subject: &str) -> Vec<String> {
    let events = st.db.run(|c| AuditEvent::page(c, 0, 10_000)).await.unwrap();
    events.into_iter().filter(|e| e.subject.as_deref() == Some(subject)).map(|e| e.action).collect()
}

async fn panel_people_add_deactivate_reset_and_own_password(b: Backend) {
    let Some((_t, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let admin = login(&app, ADMIN).await;

    let list = call(&app, page(&admin, "/osoby")).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    let text = list.text();
    assert!(text.contains(BOARD_A) && text.contains("członek zarządu") && text.contains("Firma 9999999999"));
    assert!(text.contains("osoba księgowa") && !text.contains("księgowy"), "neutral role names: {text}");
    assert!(text.contains("href=\"/osoby\""), "office admins have the people page in the navigation");

    // Added with a starting password; she logs in with it.
    let fields =
        [("email", NEW), ("nazwa", "Nowa Księgowa"), ("rola", "accountant"), ("nip", ""), ("haslo", FIRST)];
    let added = call(&app, form(&admin, "/osoby", &fields)).await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.text());
    let text = call(&app, page(&admin, "/osoby")).await.text();
    assert!(text.contains(NEW) && text.contains("Nowa Księgowa"));
    assert!(!text.contains(FIRST), "a password is never shown");
    let id = o.st.db.run(|c| User::find_by_email(c, NEW)).await.unwrap().unwrap().id;
    assert_eq!(audit_actions(&o.st, &id).await, ["user.created"]);
    let nowa = crate::office::login_as(&app, NEW, FIRST).await;
    assert_eq!(call(&app, page(&nowa, "/")).await.status, StatusCode::OK);

    // Deactivation: a confirmation page first, then her session is gone and she cannot log in.
    let confirm = call(&app, page(&admin, &format!("/osoby/{id}/dezaktywuj"))).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.text().contains("id=\"potwierdz-dezaktywacje\"") && confirm.text().contains(NEW));
    let still = call(&app, page(&nowa, "/")).await;
    assert_eq!(still.status, StatusCode::OK, "showing the confirmation page changes nothing");
    // A key she had created (shown to her once) must not outlive her access.
    let (key_id, client_id, creator) = (ApiKeyId::new(), o.a.id.clone(), id.clone());
    let key_row = key_id.clone();
    o.st.db
        .run(move |c| {
            ApiKey::insert(
                c,
                &NewApiKey {
                    id: &key_row,
                    client_id: &client_id,
                    name: "ERP",
                    prefix: "kgw_0123456789ab",
                    key_hash: &[0; 32],
                    scopes: "read",
                    created_by: Some(&creator),
                    created_at: ids::now(),
                    expires_at: None,
                },
            )
        })
        .await
        .unwrap();
    let off = call(&app, form(&admin, &format!("/osoby/{id}/dezaktywuj"), &[])).await;
    assert_eq!(off.status, StatusCode::SEE_OTHER, "{}", off.text());
    let cid = o.a.id.clone();
    let keys = o.st.db.run(move |c| ApiKey::list_for_client(c, &cid)).await.unwrap();
    let hers = keys.iter().find(|k| k.id == key_id).unwrap();
    assert!(hers.revoked_at.is_some(), "her API key was revoked with her account");
    assert!(keys.iter().filter(|k| k.id != key_id).all(|k| k.revoked_at.is_none()), "nobody else's key");
    assert!(to_login(&call(&app, page(&nowa, "/")).await), "her session ended at once");
    assert_eq!(try_login(&app, NEW, FIRST).await, StatusCode::UNAUTHORIZED);
    assert!(call(&app, page(&admin, "/osoby")).await.text().contains("nieaktywne"));

    // Back on; then the admin sets a new password: her sessions end and only the new one works.
    let on = call(&app, form(&admin, &format!("/osoby/{id}/aktywuj"), &[])).await;
    assert_eq!(on.status, StatusCode::SEE_OTHER);
    assert!(to_login(&call(&app, page(&nowa, "/")).await), "revoked, not only skipped while disabled");
    let nowa = crate::office::login_as(&app, NEW, FIRST).await;
    let reset = call(&app, form(&admin, &format!("/osoby/{id}/haslo"), &[("haslo", SECOND)])).await;
    assert_eq!(reset.status, StatusCode::SEE_OTHER, "{}", reset.text());
    assert!(to_login(&call(&app, page(&nowa, "/")).await), "a reset ends her sessions");
    assert_eq!(try_login(&app, NEW, FIRST).await, StatusCode::UNAUTHORIZED);
    let nowa = crate::office::login_as(&app, NEW, SECOND).await;

    // Her own change: the current password is required, the new one typed twice.
    let own = |current: &'static str, new: &'static str, again: &'static str| {
        form(&nowa, "/konto/haslo", &[("obecne", current), ("nowe", new), ("powtorzone", again)])
    };
    let wrong = call(&app, own(FIRST, THIRD, THIRD)).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong.text().contains("id=\"blad-obecne\"")
            && wrong.text().contains("Obecne hasło jest nieprawidłowe")
    );
    let differ = call(&app, own(SECOND, THIRD, "Trzecie-haslo-wlasnE")).await;
    assert_eq!(differ.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(differ.text().contains("id=\"blad-powtorzone\""));
    let short = call(&app, own(SECOND, "krotkie", "krotkie")).await;
    assert!(short.text().contains("id=\"blad-nowe\"") && short.text().contains("co najmniej 12 znaków"));
    let other = crate::office::login_as(&app, NEW, SECOND).await;
    let changed = call(&app, own(SECOND, THIRD, THIRD)).await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.text());
    assert_eq!(call(&app, page(&nowa, "/")).await.status, StatusCode::OK, "the session she used stays");
    assert!(to_login(&call(&app, page(&other, "/")).await), "her other sessions end");
    assert_eq!(try_login(&app, NEW, SECOND).await, StatusCode::UNAUTHORIZED);
    assert_eq!(try_login(&app, NEW, THIRD).await, StatusCode::OK);

    let actions = audit_actions(&o.st, &id).await;
    for a in ["user.created", "user.disabled", "user.enabled", "user.password_reset", "user.password_changed"]
    {
        assert!(actions.iter().any(|x| x == a), "{a} audited: {actions:?}");
    }
    let text = format!("{:?}", o.st.db.run(|c| AuditEvent::page(c, 0, 10_000)).await.unwrap());
    for pw in [FIRST, SECOND, THIRD] {
        assert!(!text.contains(pw), "no password in the audit trail");
    }
}

async fn panel_people_refusals(b: Backend) {
    let Some((_t, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let admin = login(&app, ADMIN).await;
    let admin_id = o.st.db.run(|c| User::find_by_email(c, ADMIN)).await.unwrap().unwrap().id;

    // Not an office admin: 403 on every people page, even with every permission on a client.
    let acc = login(&app, ACC_FULL).await;
    for uri in ["/osoby".to_owned(), format!("/osoby/{admin_id}/dezaktywuj")] {
        assert_eq!(call(&app, page(&acc, &uri)).await.status, StatusCode::FORBIDDEN, "{uri}");
    }
    let fields = [("email", NEW), ("nazwa", ""), ("rola", "office-admin"), ("nip", ""), ("haslo", FIRST)];
    assert_eq!(call(&app, form(&acc, "/osoby", &fields)).await.status, StatusCode::FORBIDDEN);
    let reset = form(&acc, &format!("/osoby/{admin_id}/haslo"), &[("haslo", SECOND)]);
    assert_eq!(call(&app, reset).await.status, StatusCode::FORBIDDEN);
    assert!(!call(&app, page(&acc, "/")).await.text().contains("href=\"/osoby\""));
    assert!(o.st.db.run(|c| User::find_by_email(c, NEW)).await.unwrap().is_none());

    // Bad input comes back beside its field in Polish, with what was typed (not the password).
    let short =
        [("email", NEW), ("nazwa", "Nowa"), ("rola", "accountant"), ("nip", ""), ("haslo", "krotkie")];
    let r = call(&app, form(&admin, "/osoby", &short)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("id=\"blad-haslo\"") && r.text().contains(&format!("value=\"{NEW}\"")));
    assert!(!r.text().contains("krotkie"));
    let taken = [("email", ACC_FULL), ("nazwa", ""), ("rola", "accountant"), ("nip", ""), ("haslo", FIRST)];
    let r = call(&app, form(&admin, "/osoby", &taken)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("id=\"blad-email\"") && r.text().contains("ma już konto"));
    let board = [("email", NEW), ("nazwa", ""), ("rola", "board-member"), ("nip", ""), ("haslo", FIRST)];
    let r = call(&app, form(&admin, "/osoby", &board)).await;
    assert!(r.text().contains("id=\"blad-nip\"") && r.text().contains("wybierz jego spółkę"), "{}", r.text());
    assert!(o.st.db.run(|c| User::find_by_email(c, NEW)).await.unwrap().is_none(), "nothing stored");

    // A board member is added for their company.
    let board =
        [("email", NEW), ("nazwa", ""), ("rola", "board-member"), ("nip", "9999999999"), ("haslo", FIRST)];
    assert_eq!(call(&app, form(&admin, "/osoby", &board)).await.status, StatusCode::SEE_OTHER);
    let added = o.st.db.run(|c| User::find_by_email(c, NEW)).await.unwrap().unwrap();
    assert_eq!((added.role.as_str(), added.client_id.as_deref()), ("board-member", Some(o.a.id.as_str())));

    // No CSRF field: refused. The admin cannot turn themself off.
    let Who::Session { cookie, .. } = &admin else { unreachable!() };
    let no_csrf = TestRequest::post()
        .uri(&format!("/osoby/{}/dezaktywuj", added.id))
        .insert_header((header::COOKIE, format!("kgw_session={cookie}")))
        .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
        .set_payload("");
    assert_eq!(call(&app, no_csrf).await.status, StatusCode::FORBIDDEN);
    let me = call(&app, form(&admin, &format!("/osoby/{admin_id}/dezaktywuj"), &[])).await;
    assert_eq!(me.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(me.text().contains("własnego konta"));
    assert_eq!(try_login(&app, ADMIN, crate::office::PASSWORD).await, StatusCode::OK);
}

/// Revoking a grant or an API key goes through a confirmation page: the access page links to
/// it, showing it changes nothing, and only its button (a form with the CSRF field) revokes.
async fn panel_revocations_ask_for_confirmation_first(b: Backend) {
    use ksef_gateway::service::{apikeys, grants};
    let Some((_t, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let admin = login(&app, ADMIN).await;
    let op = ksef_gateway::service::access::Caller::Operator;
    let grant = grants::list_for_client(&o.st, &op, &o.a.id)
        .await
        .unwrap()
        .into_iter()
        .find(|(_, email)| email == crate::office::ACC_READ)
        .unwrap()
        .0;
    let key = apikeys::list(&o.st, &op, &o.a.id).await.unwrap().into_iter().next().unwrap();
    let access = call(&app, page(&admin, &format!("/klienci/{}/dostepy", o.a.nip))).await.text();
    let grant_uri = format!("/klienci/{}/dostepy/{}/odbierz", o.a.nip, grant.id);
    let key_uri = format!("/klienci/{}/klucze/{}/odwolaj", o.a.nip, key.id);
    assert!(
        access.contains(&format!("href=\"{grant_uri}\"")) && access.contains(&format!("href=\"{key_uri}\""))
    );
    // "Osoby z dostępem": one row per person, the company's board member included.
    let people = access.split("id=\"dost-h\"").nth(1).unwrap().split("</table>").next().unwrap();
    assert!(people.contains(BOARD_A) && people.contains("członek zarządu"), "{people}");
    for email in [ACC_FULL, crate::office::ACC_READ, BOARD_A] {
        assert_eq!(people.matches(&format!("<td>{email}</td>")).count(), 1, "{email}: {people}");
    }

    for (uri, words) in [(&grant_uri, crate::office::ACC_READ), (&key_uri, key.prefix.as_str())] {
        let confirm = call(&app, page(&admin, uri)).await;
        assert_eq!(confirm.status, StatusCode::OK, "{uri}");
        let text = confirm.text();
        assert!(
            text.contains(words)
                && text.contains("id=\"potwierdz\"")
                && text.contains(&format!("action=\"{uri}\""))
        );
    }
    let still = grants::list_for_client(&o.st, &op, &o.a.id).await.unwrap();
    assert!(still.iter().any(|(g, _)| g.id == grant.id), "showing the confirmation revokes nothing");
    let reader = login(&app, crate::office::ACC_READ).await;
    assert_eq!(call(&app, page(&reader, "/")).await.status, StatusCode::OK);

    assert_eq!(call(&app, form(&admin, &grant_uri, &[])).await.status, StatusCode::SEE_OTHER);
    assert_eq!(call(&app, form(&admin, &key_uri, &[])).await.status, StatusCode::SEE_OTHER);
    let left = grants::list_for_client(&o.st, &op, &o.a.id).await.unwrap();
    assert!(left.iter().all(|(g, _)| g.id != grant.id));
    let keys = apikeys::list(&o.st, &op, &o.a.id).await.unwrap();
    assert!(keys.iter().find(|k| k.id == key.id).unwrap().revoked_at.is_some());
    assert_eq!(
        call(&app, page(&admin, &key_uri)).await.status,
        StatusCode::NOT_FOUND,
        "nothing left to revoke"
    );
    // Someone without access to the client sees no confirmation page either (the same 404 as
    // for a client that does not exist).
    let other = grants::list_for_client(&o.st, &op, &o.a.id).await.unwrap()[0].0.id.clone();
    let uri = format!("/klienci/{}/dostepy/{other}/odbierz", o.a.nip);
    assert_eq!(
        call(&app, page(&login(&app, crate::office::ACC_NONE).await, &uri)).await.status,
        StatusCode::NOT_FOUND
    );
}
