//! The HTTP skeleton: health, readiness, metrics, the error contract, headers, 503 on a busy pool.

use actix_web::{test, App};
use serde_json::Value;

use crate::both_backends;
use crate::common::{Backend, TestDb};

both_backends!(health_ready_and_metrics, busy_pool_answers_503);

async fn health_ready_and_metrics(b: Backend) {
    let Some(t) = TestDb::new(b) else { return };
    let app = test::init_service(App::new().configure(ksef_gateway::configure(t.state()))).await;

    let resp = test::call_service(&app, test::TestRequest::get().uri("/healthz").to_request()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers().get("x-frame-options").unwrap(), "DENY");
    assert!(resp.headers().get("content-security-policy").is_some());
    assert!(resp.headers().get("x-request-id").is_some());

    let ready: Value =
        test::call_and_read_body_json(&app, test::TestRequest::get().uri("/readyz").to_request()).await;
    let expected = if b == Backend::Sqlite { "sqlite" } else { "postgres" };
    assert_eq!(ready["database"], expected);

    let resp = test::call_service(&app, test::TestRequest::get().uri("/metrics").to_request()).await;
    assert_eq!(resp.status(), 200);
    let body = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    assert!(body.contains("ksef_gateway_http_requests_total"), "{body}");
    assert!(body.contains("route=\"/healthz\""), "{body}");
}

async fn busy_pool_answers_503(b: Backend) {
    let Some(t) = TestDb::new(b) else { return };
    let mut s = t.settings();
    s.database.pool_size = 1;
    s.database.pool_timeout_ms = 150;
    let st = t.state_with(s);
    let db = st.db.clone();
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        db.blocking(|_conn| {
            held_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            Ok(())
        })
        .unwrap();
    });
    held_rx.recv().unwrap();
    let app = test::init_service(App::new().configure(ksef_gateway::configure(st.clone()))).await;
    let resp = test::call_service(&app, test::TestRequest::get().uri("/readyz").to_request()).await;
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers().get("retry-after").unwrap(), "1");
    let body: Value = test::read_body_json(resp).await;
    assert_eq!(body["error"]["code"], "unavailable");
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    let resp = test::call_service(&app, test::TestRequest::get().uri("/readyz").to_request()).await;
    assert_eq!(resp.status(), 200, "the server recovers once a connection frees up");
}

#[actix_web::test]
async fn unknown_routes_get_the_json_error_contract() {
    let t = TestDb::new(Backend::Sqlite).unwrap();
    let app = test::init_service(App::new().configure(ksef_gateway::configure(t.state()))).await;
    let resp = test::call_service(&app, test::TestRequest::get().uri("/api/v1/nope").to_request()).await;
    assert_eq!(resp.status(), 404);
    let body: Value = test::read_body_json(resp).await;
    assert_eq!(body["error"]["code"], "not_found");
    assert!(body["error"]["details"].is_array());
}

/// The served OpenAPI document and the routes agree: every documented operation exists and
/// asks for authentication (or, for login, answers without it) and documents 403 and 405, any
/// other method on a documented path is 405, and unknown routes are 404.
#[actix_web::test]
async fn openapi_document_matches_the_routes() {
    let t = TestDb::new(Backend::Sqlite).unwrap();
    let app = test::init_service(App::new().configure(ksef_gateway::configure(t.state()))).await;
    let resp =
        test::call_service(&app, test::TestRequest::get().uri("/api/v1/openapi.json").to_request()).await;
    assert_eq!(resp.status(), 200);
    let doc: Value = test::read_body_json(resp).await;
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let uri = path
                .replace("{id}", "01900000-0000-7000-8000-000000000000")
                .replace("{nip}", "9999999999")
                .replace("{ksefNumber}", "9999999999-20260215-0100001AF629-AF");
            let req = test::TestRequest::default()
                .method(method.to_uppercase().parse().unwrap())
                .uri(&uri)
                .to_request();
            let resp = test::call_service(&app, req).await;
            let public = op["security"].as_array().is_some_and(Vec::is_empty);
            if public {
                assert_ne!(resp.status(), 404, "{method} {path} is documented but not routed");
            } else {
                assert_eq!(resp.status(), 401, "{method} {path} must exist and require authentication");
            }
            let documented: &[&str] = if public { &["405"] } else { &["401", "403", "405"] };
            for status in documented {
                assert!(op["responses"].get(*status).is_some(), "{method} {path} documents {status}");
            }
            operations += 1;
        }
        // Any method the path does not take is 405 in the error shape, documented or not.
        let uri = path
            .replace("{id}", "01900000-0000-7000-8000-000000000000")
            .replace("{nip}", "9999999999")
            .replace("{ksefNumber}", "9999999999-20260215-0100001AF629-AF");
        let req = test::TestRequest::default().method(actix_web::http::Method::PATCH).uri(&uri).to_request();
        let resp = test::call_service(&app, req).await;
        assert_eq!(resp.status(), 405, "PATCH {path}");
        let body: Value = test::read_body_json(resp).await;
        assert_eq!(body["error"]["code"], "method_not_allowed", "PATCH {path}");
    }
    assert!(operations >= 20, "{operations}");
}

/// The other direction: every route of the JSON API is in the document. actix keeps no list of
/// its routes to ask, so the route attributes of `src/http/api` are read from the source; a
/// handler registered without `#[utoipa::path]` (or left out of the document's `paths`) fails here.
#[actix_web::test]
async fn every_api_route_is_documented() {
    /// `{nip}`, `{ksefNumber}` and the like all read `{}`.
    fn shape(path: &str) -> String {
        let mut out = String::new();
        let mut depth = 0;
        for c in path.chars() {
            match c {
                '{' if depth == 0 => {
                    out.push('{');
                    depth = 1;
                }
                '}' if depth == 1 => {
                    out.push('}');
                    depth = 0;
                }
                _ if depth == 0 => out.push(c),
                _ => {}
            }
        }
        out
    }
    let doc: Value = serde_json::from_str(ksef_gateway::http::api::openapi_json()).unwrap();
    let mut documented = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert(format!("{method} {}", shape(path)));
        }
    }
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http/api");
    let mut routes = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(path).unwrap();
        for line in source.lines().map(str::trim) {
            let Some((method, rest)) = ["get", "post", "put", "delete"]
                .iter()
                .find_map(|m| line.strip_prefix(&format!("#[{m}(\"")).map(|rest| (*m, rest)))
            else {
                continue;
            };
            let route = rest.split('"').next().unwrap();
            // `{answer:return|reject}`: one route, one documented operation per spelling.
            let spellings: Vec<String> = match route.split_once("{answer:") {
                Some((head, tail)) => {
                    let (words, end) = tail.split_once('}').unwrap();
                    words.split('|').map(|w| format!("{head}{w}{end}")).collect()
                }
                None => vec![route.to_owned()],
            };
            for path in spellings {
                let key = format!("{method} {}", shape(&format!("/api/v1{path}")));
                assert!(documented.contains(&key), "{key} is routed but not in the OpenAPI document");
                routes += 1;
            }
        }
    }
    assert!(routes >= 50, "{routes} routes found in {dir}");
    assert_eq!(routes, documented.len(), "the document lists an operation no route answers");
}
