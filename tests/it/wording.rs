//! Snapshots of what people and client systems read, so a change of wording is a reviewed diff
//! (`tests/it/snapshots/`): the API's error bodies for representative refusals and the visible
//! text of the panel's key pages, each produced by real requests. Ids, dates and times are
//! redacted, and both backends must produce the very same text.

use actix_web::http::header;
use actix_web::test::{self, TestRequest};
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::{Backend, TestDb};
use crate::office::{self, app, call, login, upload, Who, ACC_READ, ADMIN, NIP_A};
use crate::panel;

both_backends!(api_error_bodies, panel_page_texts);

/// One error answer as the snapshot keeps it: the status and the body, ids redacted.
fn answer(r: &office::Resp) -> Value {
    let body = redact(&r.text());
    json!({"status": r.status.as_u16(), "body": serde_json::from_str::<Value>(&body).unwrap_or(Value::String(body))})
}

async fn api_error_bodies(b: Backend) {
    let Some((_t, o)) = office::office(b).await else { return };
    let app = app(&o.st).await;
    let key = Who::Key(o.key_a_submit.clone());
    let admin = login(&app, ADMIN).await;
    let reader = login(&app, ACC_READ).await;

    let stored = upload(&app, &key, None, office::invoice(NIP_A, "SNAP/1")).await;
    assert_eq!(stored.status, 201, "{}", stored.text());
    let id = stored.json()["invoices"][0]["id"].as_str().unwrap().to_owned();
    let sent = call(
        &app,
        admin.apply(TestRequest::post().uri("/api/v1/invoices/send").set_json(json!({"ids": [id]}))),
    )
    .await;
    assert_eq!(sent.status, 202, "{}", sent.text());
    let Who::Session { cookie, .. } = &admin else { unreachable!("login answers a session") };

    let cases: Vec<(&str, TestRequest, &Who)> = vec![
        ("not_found", TestRequest::get().uri("/api/v1/nope"), &Who::Nobody),
        ("unauthenticated", TestRequest::get().uri("/api/v1/me"), &Who::Nobody),
        ("method_not_allowed", TestRequest::patch().uri("/api/v1/invoices"), &key),
        ("invalid_query", TestRequest::get().uri("/api/v1/collective-identifiers?colour=red"), &key),
        ("invalid_range", TestRequest::get().uri("/api/v1/invoices?from=2026-02-01&to=2026-01-01"), &key),
        (
            "invalid_input_field",
            TestRequest::put()
                .uri(&format!("/api/v1/clients/{NIP_A}/credential-mode"))
                .set_json(json!({"mode": "borrowed"})),
            &admin,
        ),
        (
            "forbidden",
            TestRequest::put()
                .uri(&format!("/api/v1/clients/{NIP_A}/policy"))
                .set_json(json!({"policy": "manual"})),
            &reader,
        ),
        (
            "csrf_failed",
            TestRequest::delete()
                .uri("/api/v1/session")
                .insert_header((header::COOKIE, format!("kgw_session={cookie}"))),
            &Who::Nobody,
        ),
        ("unsupported_format", TestRequest::get().uri("/api/v1/audit?format=xml"), &admin),
        ("invoice_decided", TestRequest::delete().uri(&format!("/api/v1/invoices/{id}")), &key),
    ];
    for (name, req, who) in cases {
        let r = call(&app, who.apply(req)).await;
        assert!(r.status.as_u16() >= 400, "{name}: {} {}", r.status, r.text());
        let text = serde_json::to_string_pretty(&answer(&r)).unwrap();
        insta::assert_snapshot!(format!("api_error_{name}"), text);
    }
}

async fn panel_page_texts(b: Backend) {
    let Some(t) = TestDb::new(b) else { return };
    let st = t.state();
    let foreign = panel::seed(&st).await;
    let app = test::init_service(actix_web::App::new().configure(ksef_gateway::configure(st.clone()))).await;

    let login_page = test::call_service(&app, TestRequest::get().uri("/login").to_request()).await;
    insta::assert_snapshot!("panel_login", visible_text(&panel::body(login_page).await));

    let s = panel::open_session_as(&app, panel::EMAIL, panel::PASSWORD).await;
    let sample = std::fs::read(panel::SAMPLE).unwrap();
    let uri = format!("/klienci/{}/wgraj", panel::SELLER_NIP);
    let up = test::call_service(&app, panel::post_file(&s.cookie, &uri, &s.csrf, "a.xml", &sample)).await;
    assert_eq!(up.status(), 200);
    let list = ksef_gateway::service::invoices::list(
        &st,
        &ksef_gateway::service::access::Caller::Operator,
        Default::default(),
    )
    .await
    .unwrap();
    let mine = list.invoices.into_iter().find(|i| i.head.nip == panel::SELLER_NIP).unwrap();

    let pages = [
        ("panel_dashboard", "/".to_owned(), 200),
        ("panel_client", format!("/klienci/{}", panel::SELLER_NIP), 200),
        ("panel_invoice", format!("/faktury/{}", mine.head.id), 200),
        ("panel_error_not_found", format!("/faktury/{foreign}"), 404),
        ("panel_error_forbidden", "/osoby".to_owned(), 403),
    ];
    for (name, uri, status) in pages {
        let resp = test::call_service(&app, panel::get(&s.cookie, &uri)).await;
        assert_eq!(resp.status(), status, "{uri}");
        insta::assert_snapshot!(name, visible_text(&panel::body(resp).await));
    }
}

/// The text a person sees on a page: no tags, scripts or styles, entities decoded, one line per
/// block of text, volatile parts redacted.
fn visible_text(html: &str) -> String {
    let mut text = String::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let tag = &rest[open..];
        let name: String =
            tag[1..].chars().take_while(|c| c.is_ascii_alphanumeric()).collect::<String>().to_lowercase();
        // Scripts and styles are not read; their closing tag ends the skip.
        let skip_to = match name.as_str() {
            "script" | "style" => tag.find(&format!("</{name}>")).map(|i| i + name.len() + 3),
            _ => tag.find('>').map(|i| i + 1),
        };
        let Some(end) = skip_to else { break };
        // Block-level tags break lines; inline ones (a, span, strong, …) do not.
        if !matches!(name.as_str(), "a" | "span" | "strong" | "em" | "b" | "i" | "code" | "abbr" | "small") {
            text.push('\n');
        }
        rest = &tag[end..];
    }
    text.push_str(rest);
    let decoded = text
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&");
    let lines: Vec<String> = decoded
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect();
    redact(&lines.join("\n"))
}

/// Shapes of volatile text (`h` a hex digit, `d` a decimal one) and what replaces them.
const VOLATILE: [(&str, &str); 6] = [
    ("hhhhhhhh-hhhh-hhhh-hhhh-hhhhhhhhhhhh", "[id]"),
    ("dddd-dd-ddTdd:dd:dd", "[czas]"),
    ("dddd-dd-dd", "[data]"),
    ("dd.dd.dddd", "[data]"),
    ("dd:dd:dd", "[godzina]"),
    ("dd:dd", "[godzina]"),
];

/// `text` with ids, dates, times and SHA-256 digests replaced by placeholders.
fn redact(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let fits = |shape: &str, at: usize| {
        shape.chars().enumerate().all(|(i, s)| {
            chars.get(at + i).is_some_and(|c| match s {
                'h' => c.is_ascii_hexdigit(),
                'd' => c.is_ascii_digit(),
                other => *c == other,
            })
        }) && !chars.get(at + shape.len()).is_some_and(char::is_ascii_alphanumeric)
    };
    let digest = "h".repeat(64);
    let shapes: Vec<(&str, &str)> = std::iter::once((digest.as_str(), "[sha256]")).chain(VOLATILE).collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let at_boundary = i == 0 || !chars[i - 1].is_ascii_alphanumeric();
        let hit = at_boundary
            .then(|| {
                shapes.iter().find(|(shape, _)| fits(shape, i)).map(|(shape, label)| (shape.len(), *label))
            })
            .flatten();
        match hit {
            Some((len, label)) => {
                out.push_str(label);
                i += len;
            }
            None => {
                out.push(chars[i]);
                i += 1;
            }
        }
    }
    out
}
