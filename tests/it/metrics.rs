//! `/metrics`: labels from closed sets whatever the requests, an optional bearer token, and an
//! optional separate listener (#20).

use std::net::TcpListener;

use actix_web::http::Method;
use actix_web::{test, App};
use sha2::{Digest, Sha256};

use crate::common::{Backend, TestDb};

/// The series lines of the request counter in a metrics text.
fn request_series(body: &str) -> Vec<&str> {
    body.lines().filter(|l| l.starts_with("ksef_gateway_http_requests_total{")).collect()
}

#[actix_web::test]
async fn unique_methods_and_paths_add_no_series() {
    let t = TestDb::new(Backend::Sqlite).unwrap();
    let st = t.state();
    let app = test::init_service(App::new().configure(ksef_gateway::configure(st.clone()))).await;
    let before = request_series(&st.metrics.render()).len();
    for i in 0..300 {
        let method = Method::from_bytes(format!("M{i}X").as_bytes()).unwrap();
        let req = test::TestRequest::default().method(method).uri(&format!("/nope/{i}")).to_request();
        let _ = test::call_service(&app, req).await;
        let req = test::TestRequest::get().uri(&format!("/api/v1/unknown-{i}")).to_request();
        let _ = test::call_service(&app, req).await;
        let req = test::TestRequest::default().method(Method::PATCH).uri(&format!("/x{i}")).to_request();
        let _ = test::call_service(&app, req).await;
    }
    let body = st.metrics.render();
    let series = request_series(&body);
    assert!(series.len() <= before + 4, "{series:#?}");
    assert!(body.contains("method=\"other\""), "{body}");
    assert!(body.contains("route=\"unmatched\""), "{body}");
    assert!(!body.contains("M17X") && !body.contains("/nope/17") && !body.contains("unknown-17"), "{body}");
    let resp = test::call_service(&app, test::TestRequest::get().uri("/metrics").to_request()).await;
    assert_eq!(resp.status(), 200);
    assert!(test::read_body(resp).await.len() < 64 * 1024, "the exposition stays small");
}

#[actix_web::test]
async fn protected_metrics_need_the_token() {
    let t = TestDb::new(Backend::Sqlite).unwrap();
    let mut s = t.settings();
    s.metrics.token_sha256 = hex::encode(Sha256::digest(b"scrape-secret-1"));
    let app = test::init_service(App::new().configure(ksef_gateway::configure(t.state_with(s)))).await;
    let _ = test::call_service(&app, test::TestRequest::get().uri("/healthz").to_request()).await;
    for header in [None, Some("Bearer wrong"), Some("Bearer kgw_notakey"), Some("Basic c2NyYXBl")] {
        let mut req = test::TestRequest::get().uri("/metrics");
        if let Some(h) = header {
            req = req.insert_header(("Authorization", h));
        }
        let resp = test::call_service(&app, req.to_request()).await;
        assert_eq!(resp.status(), 401, "{header:?}");
        let body: serde_json::Value = test::read_body_json(resp).await;
        assert_eq!(body["error"]["code"], "unauthenticated");
    }
    let req =
        test::TestRequest::get().uri("/metrics").insert_header(("Authorization", "Bearer scrape-secret-1"));
    let resp = test::call_service(&app, req.to_request()).await;
    assert_eq!(resp.status(), 200);
    let body = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    assert!(body.contains("route=\"/healthz\""), "{body}");
}

#[actix_web::test]
async fn metrics_on_a_separate_listener() {
    let t = TestDb::new(Backend::Sqlite).unwrap();
    let main = TcpListener::bind("127.0.0.1:0").unwrap();
    let metrics = TcpListener::bind("127.0.0.1:0").unwrap();
    let (main_url, metrics_url) = (
        format!("http://{}", main.local_addr().unwrap()),
        format!("http://{}", metrics.local_addr().unwrap()),
    );
    let mut s = t.settings();
    s.server.workers = 1;
    s.sender.enabled = false;
    s.metrics.listen = Some(metrics.local_addr().unwrap());
    let st = t.state_with(s);
    std::thread::spawn(move || {
        let served = actix_web::rt::System::new().block_on(ksef_gateway::server::run_with_metrics(
            st,
            main,
            Some(metrics),
        ));
        served.unwrap();
    });
    let http = reqwest::Client::new();
    let get = |url: String| {
        let http = http.clone();
        async move { http.get(url).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(get(format!("{main_url}/healthz")).await, 200);
    assert_eq!(get(format!("{main_url}/metrics")).await, 404, "not on the public listener");
    assert_eq!(get(format!("{metrics_url}/metrics")).await, 200);
    assert_eq!(get(format!("{metrics_url}/healthz")).await, 404, "the metrics listener serves nothing else");
}
