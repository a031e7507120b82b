//! Webhooks end to end, on both backends: a real HTTP receiver on 127.0.0.1 that checks every
//! signature and timestamp itself (its own HMAC, not the gateway's), fed by the real delivery
//! worker; invoices sent through the simulator to A; retries, timeouts, redirects, manual
//! redelivery, deletion; URL rules; secrets never shown twice nor stored in clear.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};

use ksef_gateway::config::Settings;
use ksef_gateway::db::models::{ids, NewPurchaseInvoice, PurchaseInvoice};
use ksef_gateway::domain::{EventSet, PurchaseRole, SendPolicy};
use ksef_gateway::service::access::Caller;
use ksef_gateway::service::webhooks;
use ksef_gateway::state::AppState;
use ksef_simulator::SimulatorConfig;

use crate::both_backends;
use crate::common::{contains, dump, Backend};
use crate::engine::shared_rig::{invoice_xml, nip, Rig};
use crate::office::{app, call, login, office_tuned, Who, ACC_READ, ADMIN, NIP_A};

both_backends!(
    webhooks_invoice_sent_to_a_emits_exactly_its_signed_state_changes,
    webhooks_retry_timeout_redirect_redelivery_and_delete,
    webhooks_urls_refused_unless_the_configuration_allows,
    webhooks_two_workers_never_send_one_delivery_twice,
);

const LIMIT: Duration = Duration::from_secs(20);

/// Webhooks to the test's receiver on 127.0.0.1 allowed; quick retries and timeouts.
fn local_webhooks(s: &mut Settings) {
    s.webhooks.allow_http_hosts = vec!["127.0.0.1".into()];
    s.webhooks.allow_private = vec!["127.0.0.0/8".into()];
    s.webhooks.tick_ms = 40;
    s.webhooks.timeout_ms = 400;
    s.webhooks.backoff_base_ms = 100;
    s.webhooks.backoff_max_s = 1;
    s.webhooks.max_attempts = 3;
}

/// What the receiver answers to the next request.
enum Plan {
    Status(u16),
    Sleep(u64),
    Redirect,
}

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Seen {
    event: String,
    delivery: String,
    signature_ok: bool,
    body: Value,
}

#[derive(Default)]
struct Inbox {
    secret: Vec<u8>,
    plan: VecDeque<Plan>,
    seen: Vec<Seen>,
    redirect_hits: usize,
}

struct Receiver {
    url: String,
    inbox: Arc<Mutex<Inbox>>,
    server: actix_web::dev::ServerHandle,
}

/// The receiver's own check, as an integrator would write it: HMAC-SHA256 over "<t>.<body>",
/// constant-time compare, and `t` within 5 minutes of now.
fn signature_ok(secret: &[u8], header: &str, body: &[u8]) -> bool {
    let parts: Vec<(&str, &str)> = header.split(',').filter_map(|p| p.split_once('=')).collect();
    let t = parts.iter().find(|(k, _)| *k == "t").and_then(|(_, v)| v.parse::<i64>().ok());
    let v1 = parts.iter().find(|(k, _)| *k == "v1").and_then(|(_, v)| hex::decode(v).ok());
    let (Some(t), Some(v1)) = (t, v1) else { return false };
    if (chrono::Utc::now().timestamp() - t).abs() > 300 {
        return false;
    }
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    mac.verify_slice(&v1).is_ok()
}

async fn hook(req: HttpRequest, body: web::Bytes, inbox: web::Data<Arc<Mutex<Inbox>>>) -> HttpResponse {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let plan = {
        let mut inbox = inbox.lock().unwrap();
        let ok = signature_ok(&inbox.secret, &header("x-ksef-gateway-signature"), &body);
        inbox.seen.push(Seen {
            event: header("x-ksef-gateway-event"),
            delivery: header("x-ksef-gateway-delivery"),
            signature_ok: ok,
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        });
        inbox.plan.pop_front()
    };
    match plan {
        None => HttpResponse::Ok().finish(),
        Some(Plan::Status(code)) => HttpResponse::build(StatusCode::from_u16(code).unwrap()).body("nope"),
        Some(Plan::Sleep(ms)) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            HttpResponse::Ok().finish()
        }
        Some(Plan::Redirect) => HttpResponse::Found().insert_header(("Location", "/elsewhere")).finish(),
    }
}

async fn elsewhere(inbox: web::Data<Arc<Mutex<Inbox>>>) -> HttpResponse {
    inbox.lock().unwrap().redirect_hits += 1;
    HttpResponse::Ok().finish()
}

impl Receiver {
    async fn start() -> Self {
        let inbox = Arc::new(Mutex::new(Inbox::default()));
        let data = web::Data::new(inbox.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/hook", web::post().to(hook))
                .route("/elsewhere", web::to(elsewhere))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self { url, inbox, server: handle }
    }

    fn set_secret(&self, secret: &str) {
        self.inbox.lock().unwrap().secret = secret.as_bytes().to_vec();
    }

    fn plan(&self, steps: Vec<Plan>) {
        self.inbox.lock().unwrap().plan.extend(steps);
    }

    fn seen(&self) -> Vec<Seen> {
        self.inbox.lock().unwrap().seen.clone()
    }

    /// Waits until the receiver has seen `n` requests.
    async fn wait_for(&self, n: usize) -> Vec<Seen> {
        let start = Instant::now();
        loop {
            let seen = self.seen();
            if seen.len() >= n {
                return seen;
            }
            assert!(start.elapsed() < LIMIT, "receiver saw {} of {n}: {seen:?}", seen.len());
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }

    async fn stop(self) {
        self.server.stop(false).await;
    }
}

/// A panel form posted as `who` (with its CSRF token) to `uri`; `fields` are already encoded.
fn panel_post(who: &Who, uri: &str, fields: &str) -> TestRequest {
    let Who::Session { cookie, csrf } = who else { panic!("a panel session") };
    TestRequest::post()
        .uri(uri)
        .insert_header(("Cookie", format!("kgw_session={cookie}")))
        .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
        .set_payload(format!("csrf={csrf}{fields}"))
}

/// The panel's "Dodaj punkt odbioru" form for client A.
fn panel_create(who: &Who, url: &str) -> TestRequest {
    let url = url::form_urlencoded::byte_serialize(url.as_bytes()).collect::<String>();
    panel_post(
        who,
        &format!("/klienci/{NIP_A}/webhooki"),
        &format!("&url={url}&zdarzenia=invoice.state_changed"),
    )
}

/// Waits until `check` holds, polling.
async fn until<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < LIMIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

async fn webhooks_invoice_sent_to_a_emits_exactly_its_signed_state_changes(b: Backend) {
    let tweak = |mut s: Settings| {
        local_webhooks(&mut s);
        s
    };
    let Some(rig) = Rig::with(b, SimulatorConfig::default(), tweak).await else { return };
    let receiver = Receiver::start().await;
    let client = rig.client(&nip(901), true).await;
    let op = Caller::Operator;
    let invoices_only = EventSet::parse(&["invoice.state_changed"]).unwrap();
    let created = webhooks::create(&rig.st, &op, &client.id, &receiver.url, invoices_only).await.unwrap();
    receiver.set_secret(secrecy::ExposeSecret::expose_secret(&created.secret));
    // A second endpoint that only wants purchase invoices hears nothing of this.
    let other = Receiver::start().await;
    let purchases_only = EventSet::parse(&["purchase_invoice.received"]).unwrap();
    webhooks::create(&rig.st, &op, &client.id, &other.url, purchases_only).await.unwrap();

    let ids = rig.invoices(&client, 2, "wh").await;
    // A third one whose number the client already issued elsewhere (other bytes): KSeF rejects it.
    let rejected = rig.invoices(&client, 1, "whr").await.remove(0);
    let number = rig.invoice(&rejected).await.number.unwrap();
    let mut elsewhere = invoice_xml(&client.nip, &number);
    elsewhere.push(b'\n');
    issue_elsewhere(&rig, &client.nip, &elsewhere).await;
    rig.decide(&client, &ids, false).await;
    rig.decide(&client, std::slice::from_ref(&rejected), false).await;
    let engine = ksef_gateway::engine::start(rig.st.clone());
    let worker = ksef_gateway::webhooks::start(rig.st.clone());
    rig.wait_for(&ids, "accepted", LIMIT).await;
    rig.wait_for(std::slice::from_ref(&rejected), "rejected", LIMIT).await;
    // One event per change of state into O, A or rejected, as each invoice's timeline has them.
    let mut expected = Vec::new();
    for id in ids.iter().chain([&rejected]) {
        expected.push((id.clone(), changes_in_timeline(&rig, id).await));
    }
    let total: usize = expected.iter().map(|(_, steps)| steps.len()).sum();
    let seen = receiver.wait_for(total).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen_after = receiver.seen();
    assert_eq!(seen_after.len(), total, "exactly one event per change: {seen_after:?}");
    engine.stop().await;
    worker.stop().await;
    assert!(other.seen().is_empty(), "the purchase-only endpoint got invoice events");
    for (id, steps) in &expected {
        let got: Vec<(String, String)> = seen
            .iter()
            .filter(|s| s.body["data"]["invoice_id"] == json!(id))
            .map(|s| {
                let d = &s.body["data"];
                (d["old_state"].as_str().unwrap().to_owned(), d["new_state"].as_str().unwrap().to_owned())
            })
            .collect();
        assert_eq!(&got, steps, "{id}");
    }
    let last = seen.iter().rfind(|s| s.body["data"]["invoice_id"] == json!(rejected)).unwrap();
    assert_eq!(
        (last.body["data"]["new_state"].clone(), last.body["data"]["status_letter"].clone()),
        (json!("rejected"), Value::Null)
    );
    assert!(last.signature_ok);

    let mut event_ids = std::collections::HashSet::new();
    for id in &ids {
        let inv = rig.invoice(id).await;
        let mine: Vec<&Seen> = seen.iter().filter(|s| s.body["data"]["invoice_id"] == json!(id)).collect();
        let steps: Vec<(String, String, Value, Value)> = mine
            .iter()
            .map(|s| {
                let d = &s.body["data"];
                (
                    d["old_state"].as_str().unwrap().to_owned(),
                    d["new_state"].as_str().unwrap().to_owned(),
                    d["status_letter"].clone(),
                    d["ksef_number"].clone(),
                )
            })
            .collect();
        assert_eq!(
            steps,
            vec![
                ("sending".into(), "registered".into(), json!("O"), Value::Null),
                ("registered".into(), "accepted".into(), json!("A"), json!(inv.ksef_number.clone().unwrap())),
            ],
            "{mine:?}"
        );
        for s in mine {
            assert!(s.signature_ok, "signature and timestamp verify: {s:?}");
            assert_eq!(s.event, "invoice.state_changed");
            assert_eq!(s.body["type"], "invoice.state_changed");
            assert_eq!(s.body["client"]["nip"], json!(client.nip));
            assert_eq!(s.body["data"]["number"], json!(inv.number));
            let at = s.body["created_at"].as_str().unwrap();
            assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok() && at.ends_with("+00:00"), "{at}");
            assert!(!s.delivery.is_empty());
            assert!(event_ids.insert(s.body["id"].as_str().unwrap().to_owned()), "event ids are unique");
        }
    }
    let metrics = rig.st.metrics.render();
    let delivered = format!("ksef_gateway_webhook_deliveries_total{{outcome=\"delivered\"}} {total}");
    assert!(metrics.contains(&delivered), "{metrics}");
    receiver.stop().await;
    other.stop().await;
    rig.sim.stop().await;
}

/// The changes into O, A or rejected in an invoice's timeline, as (old state, new state).
async fn changes_in_timeline(rig: &Rig, id: &ksef_gateway::domain::InvoiceId) -> Vec<(String, String)> {
    let id = id.clone();
    let events = rig.st.db.run(move |c| ksef_gateway::db::models::Invoice::events(c, &id)).await.unwrap();
    let mut out = Vec::new();
    let mut prev: Option<String> = None;
    for e in events {
        if prev.as_deref() == Some(e.state.as_str()) {
            continue;
        }
        if ["registered", "accepted", "rejected"].contains(&e.state.as_str()) {
            out.push((prev.clone().unwrap_or_default(), e.state.to_string()));
        }
        prev = Some(e.state.to_string());
    }
    out
}

/// Sends `xml` for `nip` straight to the simulator with the client's token, as another program
/// of the client would.
async fn issue_elsewhere(rig: &Rig, nip: &str, xml: &[u8]) {
    use ksef_client::online::SendOptions;
    use ksef_client::{ContextIdentifier, FormCode, SecretString};
    let ksef = crate::common::outside_ksef(&rig.sim.base_url());
    let token = SecretString::from(format!("20261201-EC-{nip}-TESTTOKEN-01|nip-{nip}|0123456789abcdef"));
    let tokens = ksef.authenticate_with_ksef_token(&ContextIdentifier::nip(nip), &token).await.unwrap();
    let access = &tokens.access_token.token;
    let session = ksef.open_online_session(access, &FormCode::fa3()).await.unwrap();
    ksef.send_invoice(access, &session, xml, &SendOptions::default()).await.unwrap();
    ksef.close_online_session(access, &session.reference_number).await.unwrap();
}

/// Purchase invoices stored for the client, as the sync stores them, and their event queued in
/// the same transaction.
async fn receive_purchases(
    st: &AppState,
    client_id: &ksef_gateway::domain::ClientId,
    n: usize,
) -> Vec<ksef_gateway::domain::PurchaseInvoiceId> {
    let client_id = client_id.clone();
    st.db
        .tx(move |c| {
            let now = ids::now();
            let rows = (0..n)
                .map(|i| {
                    let ksef_number = format!("5260250274-20261206-{}-{i:02}", &ids::new_id()[24..36]);
                    NewPurchaseInvoice {
                        id: ksef_gateway::domain::PurchaseInvoiceId::new(),
                        client_id: client_id.clone(),
                        subject_type: PurchaseRole::Buyer,
                        ksef_number,
                        invoice_number: format!("FZ/{i}/2026"),
                        invoice_type: "VAT".into(),
                        issue_date: now.date(),
                        seller_nip: "5260250274".into(),
                        seller_name: Some("Dostawca S.A.".into()),
                        buyer_nip: Some(NIP_A.into()),
                        buyer_name: None,
                        net_amount: 10_000,
                        vat_amount: 2_300,
                        gross_amount: 12_300,
                        currency: "PLN".into(),
                        invoice_hash: "aGFzaA==".into(),
                        acquisition_date: now,
                        permanent_storage_date: now,
                        xml: None,
                        xml_fetched_at: None,
                        synced_at: now,
                    }
                })
                .collect();
            let stored = PurchaseInvoice::insert_new(c, rows)?;
            webhooks::enqueue_purchase_received(c, &client_id, &stored)?;
            Ok::<_, ksef_gateway::db::DbError>(stored)
        })
        .await
        .unwrap()
}

async fn webhooks_retry_timeout_redirect_redelivery_and_delete(b: Backend) {
    let Some((db, o)) = office_tuned(b, SendPolicy::Manual, local_webhooks).await else { return };
    let app = app(&o.st).await;
    let admin = login(&app, ADMIN).await;
    let receiver = Receiver::start().await;
    let base = format!("/api/v1/clients/{NIP_A}/webhooks");
    let r = call(
        &app,
        admin.apply(TestRequest::post().uri(&base).set_json(
            json!({"url": receiver.url, "events": ["purchase_invoice.received", "invoice.state_changed"]}),
        )),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let created = r.json();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_") && secret.len() == 6 + 64, "{secret}");
    assert_eq!(created["events"], json!(["invoice.state_changed", "purchase_invoice.received"]));
    receiver.set_secret(&secret);
    let endpoint = created["id"].as_str().unwrap().to_owned();
    let worker = ksef_gateway::webhooks::start(o.st.clone());
    let log_uri = format!("{base}/{endpoint}/deliveries");
    let log = |_: &()| {
        let req = admin.apply(TestRequest::get().uri(&log_uri));
        let app = &app;
        async move { call(app, req).await.json()["deliveries"].clone() }
    };

    // 500, then 200: the same event again, signed again; delivered after two attempts.
    receiver.plan(vec![Plan::Status(500)]);
    receive_purchases(&o.st, &o.a.id, 1).await;
    let seen = receiver.wait_for(2).await;
    assert_eq!(seen[0].body["id"], seen[1].body["id"], "a retry carries the same event id");
    assert_eq!(seen[0].delivery, seen[1].delivery);
    assert!(seen.iter().all(|s| s.signature_ok && s.event == "purchase_invoice.received"));
    assert_eq!(seen[1].body["data"]["gross_amount_minor"], 12_300);
    until("delivered", || async { log(&()).await[0]["status"] == "delivered" }).await;
    let d = &log(&()).await[0];
    assert_eq!((d["attempts"].clone(), d["last_status_code"].clone()), (json!(2), json!(200)), "{d}");

    // A receiver that never answers in time: three attempts, then failed, in Polish.
    receiver.plan(vec![Plan::Sleep(1_500), Plan::Sleep(1_500), Plan::Sleep(1_500)]);
    receive_purchases(&o.st, &o.a.id, 1).await;
    until("failed", || async { log(&()).await[0]["status"] == "failed" }).await;
    let failed = log(&()).await[0].clone();
    assert_eq!(failed["attempts"], 3, "{failed}");
    assert!(failed["last_error"].as_str().unwrap().contains("nie odpowiedział"), "{failed}");
    let metrics = o.st.metrics.render();
    assert!(metrics.contains("ksef_gateway_webhook_deliveries_total{outcome=\"timeout\"} 3"), "{metrics}");
    assert!(metrics.contains("ksef_gateway_webhook_backlog{status=\"failed\"} 1"), "{metrics}");

    // "Wyślij ponownie": one more attempt now, delivered; the receiver sees the same event id.
    let before = receiver.seen().len();
    let delivery = failed["id"].as_str().unwrap();
    let r =
        call(&app, admin.apply(TestRequest::post().uri(&format!("{log_uri}/{delivery}/redeliver")))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    let seen = receiver.wait_for(before + 1).await;
    assert_eq!(seen.last().unwrap().body["id"], failed["event_id"]);
    until("redelivered", || async { log(&()).await[0]["status"] == "delivered" }).await;

    // `keys rotate` re-seals the webhook secret too: it still signs, with the same secret.
    let rotated = ksef_gateway::service::keys::rotate(&o.st).await.unwrap();
    assert_eq!(rotated.resealed, 3, "two KSeF tokens and one webhook secret");

    // A redirect is never followed.
    let before = receiver.seen().len();
    receiver.plan(vec![Plan::Redirect, Plan::Redirect, Plan::Redirect]);
    receive_purchases(&o.st, &o.a.id, 1).await;
    until("redirect gave up", || async { log(&()).await[0]["status"] == "failed" }).await;
    assert_eq!(receiver.inbox.lock().unwrap().redirect_hits, 0, "the redirect target was never called");
    assert_eq!(receiver.seen().len(), before + 3);
    assert!(receiver.seen()[before..].iter().all(|s| s.signature_ok), "signed after the key rotation");
    let redirected = log(&()).await[0].clone();
    assert_eq!(redirected["last_status_code"], 302);
    assert!(redirected["last_error"].as_str().unwrap().contains("przekierowa"), "{redirected}");

    // The secret is in the creating answer only, and nowhere in the database in clear.
    for uri in [base.clone(), log_uri.clone()] {
        let r = call(&app, admin.apply(TestRequest::get().uri(&uri))).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(!r.text().contains(&secret) && !r.text().contains("whsec_"), "{uri}: {}", r.text());
    }
    let page =
        call(&app, admin.apply(TestRequest::get().uri(&format!("/klienci/{NIP_A}/webhooki/{endpoint}"))))
            .await;
    assert!(page.text().contains("Wyślij ponownie") && !page.text().contains(&secret), "{}", page.text());
    assert!(!contains(&dump(&db, b), &secret), "the secret is in the {b:?} database in clear");

    // The panel creates one too, showing its secret on that answer only.
    let panel_url = format!("{}?from=panel", receiver.url);
    let r = call(&app, panel_create(&admin, &panel_url)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let shown = r.text();
    assert!(shown.contains("id=\"sekret\"") && shown.contains("whsec_"), "{shown}");
    let list = call(&app, admin.apply(TestRequest::get().uri(&format!("/klienci/{NIP_A}/webhooki")))).await;
    assert!(list.text().contains("?from=panel") && !list.text().contains("whsec_"), "{}", list.text());
    let panel_endpoint = call(&app, admin.apply(TestRequest::get().uri(&base))).await.json()["webhooks"][1]
        ["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (action, status) in [("wylacz", 303), ("sekret", 200), ("usun", 303), ("usun", 404)] {
        let r = call(
            &app,
            panel_post(&admin, &format!("/klienci/{NIP_A}/webhooki/{panel_endpoint}/{action}"), ""),
        )
        .await;
        assert_eq!(r.status.as_u16(), status, "{action}: {}", r.text());
        if action == "sekret" {
            assert!(r.text().contains("whsec_"), "the new secret is shown once");
        }
        if action == "wylacz" {
            let listed = call(&app, admin.apply(TestRequest::get().uri(&base))).await.json();
            assert_eq!(listed["webhooks"][1]["active"], false, "{listed}");
        }
    }

    // Deleting stops deliveries: what waits is cancelled, nothing new is queued. (The worker is
    // stopped while the event waits, so no attempt is in flight at the deletion.)
    worker.stop().await;
    receive_purchases(&o.st, &o.a.id, 1).await;
    let before = receiver.seen().len();
    let r = call(&app, admin.apply(TestRequest::delete().uri(&format!("{base}/{endpoint}")))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let worker = ksef_gateway::webhooks::start(o.st.clone());
    receive_purchases(&o.st, &o.a.id, 2).await;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    worker.stop().await;
    assert_eq!(receiver.seen().len(), before, "nothing was delivered after the endpoint was deleted");
    let endpoint_id = endpoint.clone();
    let statuses: Vec<String> =
        o.st.db
            .run(move |c| {
                use diesel::prelude::*;
                use ksef_gateway::db::schema::webhook_deliveries as d;
                d::table
                    .filter(d::endpoint_id.eq(endpoint_id))
                    .order(d::created_at.desc())
                    .select(d::status)
                    .load(c)
                    .map_err(ksef_gateway::db::DbError::from)
            })
            .await
            .unwrap();
    assert_eq!(statuses[0], "cancelled", "the waiting event was cancelled: {statuses:?}");
    assert!(!statuses.iter().any(|s| s == "pending"), "{statuses:?}");
    let r = call(&app, admin.apply(TestRequest::get().uri(&base))).await;
    assert_eq!(r.json()["webhooks"], json!([]));
    let audit: Vec<String> =
        o.st.db
            .run(|c| {
                use diesel::prelude::*;
                use ksef_gateway::db::schema::audit_events as a;
                a::table
                    .filter(a::action.like("webhook.%"))
                    .order(a::seq.asc())
                    .select(a::action)
                    .load(c)
                    .map_err(ksef_gateway::db::DbError::from)
            })
            .await
            .unwrap();
    let expected = [
        "webhook.created",
        "webhook.redelivery_requested",
        "webhook.created",
        "webhook.deactivated",
        "webhook.secret_rotated",
        "webhook.deleted",
        "webhook.deleted",
    ];
    assert_eq!(audit, expected);
    receiver.stop().await;
}

async fn webhooks_urls_refused_unless_the_configuration_allows(b: Backend) {
    let Some((_db, o)) = office_tuned(b, SendPolicy::Manual, |_| ()).await else { return };
    let app = app(&o.st).await;
    let admin = login(&app, ADMIN).await;
    let base = format!("/api/v1/clients/{NIP_A}/webhooks");
    for (url, reason) in [
        ("http://127.0.0.1:9/hook", "url_http_not_allowed"),
        ("http://erp.example.com/hook", "url_http_not_allowed"),
        ("https://127.0.0.1/hook", "url_private_address"),
        ("https://10.1.2.3/hook", "url_private_address"),
        ("https://169.254.169.254/latest/meta-data", "url_private_address"),
        ("https://[::1]/hook", "url_private_address"),
        ("https://localhost/hook", "url_private_address"),
        ("ftp://erp.example.com/hook", "url_scheme"),
        ("https://user:pass@erp.example.com/hook", "url_credentials"),
        ("erp.example.com/hook", "url_malformed"),
    ] {
        let body = json!({"url": url, "events": ["invoice.state_changed"]});
        let r = call(&app, admin.apply(TestRequest::post().uri(&base).set_json(body))).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {}", r.text());
        assert_eq!(r.json()["error"]["code"], "invalid_input", "{url}");
        assert_eq!(r.json()["error"]["details"][0], json!({"field": "url", "reason": reason}), "{url}");
    }
    let body = json!({"url": "https://erp.example.com/hook", "events": ["invoice.deleted"]});
    let r = call(&app, admin.apply(TestRequest::post().uri(&base).set_json(body))).await;
    assert_eq!(r.json()["error"]["details"][0]["reason"], "unknown_event", "{}", r.text());
    // Nothing was stored.
    let r = call(&app, admin.apply(TestRequest::get().uri(&base))).await;
    assert_eq!(r.json()["webhooks"], json!([]));

    // The panel says why in Polish, beside the field, and keeps what was typed.
    let r = call(&app, panel_create(&admin, "https://192.168.1.10/erp")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text();
    assert!(page.contains("id=\"blad-url\"") && page.contains("sieć lokalną, prywatną"), "{page}");
    assert!(page.contains("https://192.168.1.10/erp"), "what was typed comes back: {page}");

    // Someone who sees the client but lacks `credentials`: 403; a foreign client: 404.
    let reader = login(&app, ACC_READ).await;
    let r = call(&app, reader.apply(TestRequest::get().uri(&base))).await;
    assert_eq!((r.status, r.json()["error"]["code"].clone()), (StatusCode::FORBIDDEN, json!("forbidden")));
    let foreign = format!("/api/v1/clients/{}/webhooks", o.b.nip);
    let r = call(&app, reader.apply(TestRequest::get().uri(&foreign))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = call(&app, reader.apply(TestRequest::get().uri(&format!("/klienci/{NIP_A}/webhooki")))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Text that is no endpoint id gets what an unknown endpoint gets: the permission first.
    let malformed = format!("{base}/not-an-id/deliveries");
    let r = call(&app, reader.apply(TestRequest::get().uri(&malformed))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(&app, admin.apply(TestRequest::get().uri(&malformed))).await;
    assert_eq!((r.status, r.json()["error"]["code"].clone()), (StatusCode::NOT_FOUND, json!("not_found")));
}

async fn webhooks_two_workers_never_send_one_delivery_twice(b: Backend) {
    let Some((_db, o)) = office_tuned(b, SendPolicy::Manual, local_webhooks).await else { return };
    let receiver = Receiver::start().await;
    // Slow answers: without the claim, the second worker's rounds would pick the same rows up.
    receiver.plan((0..12).map(|_| Plan::Sleep(150)).collect());
    let events = EventSet::parse(&["purchase_invoice.received"]).unwrap();
    let created = webhooks::create(&o.st, &Caller::Operator, &o.a.id, &receiver.url, events).await.unwrap();
    receiver.set_secret(secrecy::ExposeSecret::expose_secret(&created.secret));
    receive_purchases(&o.st, &o.a.id, 12).await;
    // Two replicas: two workers, each with its own state, on one database.
    let (one, two) =
        (ksef_gateway::webhooks::start(o.st.clone()), ksef_gateway::webhooks::start(o.st.clone()));
    let seen = receiver.wait_for(12).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    one.stop().await;
    two.stop().await;
    let seen_after = receiver.seen();
    let sent: Vec<&str> = seen_after.iter().map(|s| s.delivery.as_str()).collect();
    assert_eq!(sent.len(), 12, "each delivery sent once: {sent:?}");
    let deliveries: std::collections::HashSet<_> = seen.iter().map(|s| s.delivery.clone()).collect();
    assert_eq!(deliveries.len(), 12);
    assert!(seen.iter().all(|s| s.signature_ok));
    receiver.stop().await;
}

/// A figure, not a check run in CI: how fast a backlog of 1 000 events drains to a local receiver
/// (`cargo test -p ksef-gateway --test it -- --ignored webhooks_backlog_of_1000 --nocapture`).
#[actix_web::test]
#[ignore = "a measurement"]
async fn webhooks_backlog_of_1000_drains() {
    for b in [Backend::Sqlite, Backend::Pg] {
        let Some((_db, o)) = office_tuned(b, SendPolicy::Manual, local_webhooks).await else { continue };
        let receiver = Receiver::start().await;
        let events = EventSet::parse(&["purchase_invoice.received"]).unwrap();
        let created =
            webhooks::create(&o.st, &Caller::Operator, &o.a.id, &receiver.url, events).await.unwrap();
        receiver.set_secret(secrecy::ExposeSecret::expose_secret(&created.secret));
        receive_purchases(&o.st, &o.a.id, 1_000).await;
        let start = Instant::now();
        let worker = ksef_gateway::webhooks::start(o.st.clone());
        let seen = receiver.wait_for(1_000).await;
        let took = start.elapsed();
        worker.stop().await;
        assert!(seen.iter().all(|s| s.signature_ok));
        eprintln!(
            "{b:?}: 1000 webhook deliveries in {:.2} s ({:.0}/s)",
            took.as_secs_f64(),
            1000.0 / took.as_secs_f64()
        );
        receiver.stop().await;
    }
}
