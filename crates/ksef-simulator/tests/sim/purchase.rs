//! The purchase side (API 2.7): date rules, the HWM and the storage lag, limits of the reading
//! endpoints, exports with onlyMetadata, outside sellers' invoices and the Subject3 view.

use std::io::Read;
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use ksef_simulator::SimulatorConfig;
use serde_json::{json, Value};

use crate::client::{aes_decrypt, b64, fixture, sha, Sim, NIP, TOKEN};

const BUYER: &str = "1111111111";
const PAYER: &str = "2222222222";

fn iso(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn code(body: &Value) -> Value {
    body["exception"]["exceptionDetailList"][0]["exceptionCode"].clone()
}

fn stored(filters_from: &str, restrict: bool) -> Value {
    json!({"subjectType": "Subject2", "dateRange": {"dateType": "PermanentStorage", "from": filters_from,
        "restrictToPermanentStorageHwmDate": restrict}})
}

async fn admin_add(sim: &Sim, body: &Value) -> (u16, Value) {
    let origin = sim.base.trim_end_matches("/v2");
    let res = sim.http.post(format!("{origin}/sim/admin/received-invoices")).json(body).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

async fn buyer(sim: &Sim, nip: &str) -> String {
    sim.sim.add_token(nip, &format!("token-{nip}"), &["InvoiceRead"]);
    sim.login(nip, &format!("token-{nip}")).await.0
}

#[tokio::test]
async fn date_ranges_are_utc_with_offsets_at_most_100_days_and_not_beyond_the_hwm() {
    let sim = Sim::with_token().await;
    let access = buyer(&sim, BUYER).await;
    let q = "/invoices/query/metadata";
    // CHANGES 2.7.1: no more Warsaw time for a date without offset; it is refused.
    let naive =
        json!({"subjectType": "Subject2", "dateRange": {"dateType": "Issue", "from": "2026-11-01T00:00:00"}});
    let (status, body) = sim.post(q, Some(&access), &naive).await;
    assert_eq!((status, code(&body)), (400, json!(21405)), "{body}");
    assert!(body.to_string().contains("strefy"), "{body}");
    let now = Utc::now();
    let (status, body) =
        sim.post(q, Some(&access), &stored(&iso(now - chrono::Duration::days(101)), false)).await;
    assert_eq!((status, code(&body)), (400, json!(21405)), "{body}");
    let hundred = json!({"subjectType": "Subject2", "dateRange": {"dateType": "Invoicing",
        "from": iso(now - chrono::Duration::days(100)), "to": iso(now)}});
    assert_eq!(sim.post(q, Some(&access), &hundred).await.0, 200);
    // Permanent storage stalled an hour ago: a window starting after it is refused (21183) and an
    // export of it fails with status 420; without the restriction the query is answered.
    sim.sim.faults().freeze_hwm(Some(now - chrono::Duration::hours(1)));
    let after = iso(now - chrono::Duration::minutes(30));
    let (status, body) = sim.post(q, Some(&access), &stored(&after, true)).await;
    assert_eq!((status, code(&body)), (400, json!(21183)), "{body}");
    let (status, body) = sim.post(q, Some(&access), &stored(&after, false)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["permanentStorageHwmDate"], iso(now - chrono::Duration::hours(1)).replace('Z', "+00:00"));
    let (export, _, _) = sim.export_body(&stored(&after, true)).await;
    let (status, started) = sim.post("/invoices/exports", Some(&access), &export).await;
    assert_eq!(status, 201, "{started}");
    let (_, st) = sim
        .get(&format!("/invoices/exports/{}", started["referenceNumber"].as_str().unwrap()), &access)
        .await;
    assert_eq!(st["status"]["code"], 420, "{st}");
    sim.sim.stop().await;
}

#[tokio::test]
async fn storage_lag_keeps_new_invoices_above_the_hwm_for_a_while() {
    let lag = Duration::from_millis(400);
    let config = SimulatorConfig {
        permanent_storage_lag: lag,
        rate_limit_scale: 1000.0,
        ..SimulatorConfig::default()
    };
    let sim = Sim::start(config).await;
    sim.sim.add_token(NIP, TOKEN, &["InvoiceWrite", "InvoiceRead"]);
    let (seller, _) = sim.login(NIP, TOKEN).await;
    let access = buyer(&sim, BUYER).await;
    let from = iso(Utc::now() - chrono::Duration::minutes(1));
    let session = sim.open_online(&seller).await;
    let (_, sent) = sim.send(&seller, &session, &fixture("FA_3_Przyklad_1.xml")).await;
    let accepted =
        sim.invoice_final(&seller, &session.reference, sent["referenceNumber"].as_str().unwrap()).await;
    let ksef = accepted["ksefNumber"].as_str().unwrap().to_owned();
    let count = |body: &Value| body["invoices"].as_array().map_or(0, Vec::len);
    let q = "/invoices/query/metadata";
    // Accepted, not yet in permanent storage: neither listed nor downloadable (21165).
    assert_eq!(count(&sim.post(q, Some(&access), &stored(&from, false)).await.1), 0);
    let (status, body) = sim.get(&format!("/invoices/ksef/{ksef}"), &access).await;
    assert_eq!((status, code(&body)), (400, json!(21165)));
    tokio::time::sleep(lag + Duration::from_millis(50)).await;
    // Stored, but above the HWM (which trails now by the lag): only the unrestricted query sees it.
    let (_, open) = sim.post(q, Some(&access), &stored(&from, false)).await;
    assert_eq!(count(&open), 1);
    assert!(
        open["invoices"][0]["permanentStorageDate"].as_str()
            > open["invoices"][0]["acquisitionDate"].as_str()
    );
    assert_eq!(count(&sim.post(q, Some(&access), &stored(&from, true)).await.1), 0);
    tokio::time::sleep(lag).await;
    assert_eq!(count(&sim.post(q, Some(&access), &stored(&from, true)).await.1), 1);
    sim.sim.stop().await;
}

#[tokio::test]
async fn reading_endpoints_answer_429_at_their_published_limits() {
    // Published limits (scale 1): metadata and exports 8/s, export status 10/s, download 8/s.
    let sim = Sim::start(SimulatorConfig::default()).await;
    let access = buyer(&sim, BUYER).await;
    let numbers = sim.sim.add_received_invoices(&ksef_simulator::ReceivedInvoices {
        buyer_nip: Some(BUYER.into()),
        count: 1,
        ..Default::default()
    });
    let ksef = numbers.unwrap().remove(0);
    let from = iso(Utc::now() - chrono::Duration::hours(1));
    let mut exports = Vec::new();
    for _ in 0..9 {
        exports.push(sim.export_body(&stored(&from, true)).await.0);
    }
    let mut meta = Vec::new();
    for _ in 0..9 {
        meta.push(sim.post("/invoices/query/metadata", Some(&access), &stored(&from, true)).await.0);
    }
    assert_eq!(meta, [200, 200, 200, 200, 200, 200, 200, 200, 429]);
    let mut started = Vec::new();
    for body in &exports {
        let (status, res) = sim.post("/invoices/exports", Some(&access), body).await;
        started.push((status, res["referenceNumber"].as_str().unwrap_or_default().to_owned()));
    }
    assert_eq!(
        started.iter().map(|s| s.0).collect::<Vec<_>>(),
        [201, 201, 201, 201, 201, 201, 201, 201, 429]
    );
    let mut polls = Vec::new();
    for _ in 0..11 {
        polls.push(sim.get(&format!("/invoices/exports/{}", started[0].1), &access).await.0);
    }
    assert_eq!(polls.iter().filter(|s| **s == 429).count(), 1, "{polls:?}");
    assert_eq!(polls.last(), Some(&429));
    let mut downloads = Vec::new();
    for _ in 0..9 {
        let res = sim
            .http
            .get(sim.url(&format!("/invoices/ksef/{ksef}")))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap();
        if res.status() == 429 {
            assert!(res.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
        }
        downloads.push(res.status().as_u16());
    }
    assert_eq!(downloads, [200, 200, 200, 200, 200, 200, 200, 200, 429]);
    sim.sim.stop().await;
}

#[tokio::test]
async fn a_scripted_429_burst_can_hit_one_limit_group_only() {
    let sim = Sim::with_token().await;
    let access = buyer(&sim, BUYER).await;
    let from = iso(Utc::now() - chrono::Duration::hours(1));
    sim.sim.faults().rate_limit_storm_on("invoiceExport", 2, Duration::from_secs(7));
    assert_eq!(sim.post("/invoices/query/metadata", Some(&access), &stored(&from, true)).await.0, 200);
    let (body, _, _) = sim.export_body(&stored(&from, true)).await;
    for _ in 0..2 {
        let res = sim
            .http
            .post(sim.url("/invoices/exports"))
            .bearer_auth(&access)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 429);
        assert_eq!(res.headers()["retry-after"], "7");
    }
    assert_eq!(sim.post("/invoices/exports", Some(&access), &body).await.0, 201);
    sim.sim.stop().await;
}

#[tokio::test]
async fn outside_sellers_invoices_are_added_in_bulk_and_seen_by_buyer_and_third_party() {
    let sim = Sim::with_token().await;
    let access = buyer(&sim, BUYER).await;
    let started = Instant::now();
    let (status, added) =
        admin_add(&sim, &json!({"buyerNip": BUYER, "count": 10_000, "net": "1000.00", "vat": "230.00"}))
            .await;
    let elapsed = started.elapsed();
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["ksefNumbers"].as_array().unwrap().len(), 10_000);
    eprintln!("10 000 received invoices added over HTTP in {elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    let from = iso(Utc::now() - chrono::Duration::hours(1));
    let (_, last) = sim
        .post("/invoices/query/metadata?pageSize=250&pageOffset=39", Some(&access), &stored(&from, true))
        .await;
    assert_eq!(last["invoices"].as_array().unwrap().len(), 250);
    assert_eq!(
        (last["hasMore"].clone(), last["isTruncated"].clone()),
        (json!(false), json!(false)),
        "exactly the cap"
    );
    assert_eq!(last["invoices"][0]["grossAmount"], 1230.0);

    // Exact XML bytes; a duplicate or a bad entry stores nothing at all.
    let xml = fixture("FA_3_Przyklad_3.xml");
    let (status, one) = admin_add(&sim, &json!({"invoices": [b64(&xml)]})).await;
    assert_eq!(status, 201, "{one}");
    let ksef = one["ksefNumbers"][0].as_str().unwrap();
    let res =
        sim.http.get(sim.url(&format!("/invoices/ksef/{ksef}"))).bearer_auth(&access).send().await.unwrap();
    assert_eq!(res.headers()["x-ms-meta-hash"], sha(&xml).as_str());
    let (status, dup) = admin_add(
        &sim,
        &json!({"buyerNip": BUYER, "count": 1, "numberPrefix": "NEW/", "invoices": [b64(&xml)]}),
    )
    .await;
    assert_eq!(status, 400, "{dup}");
    assert!(dup["error"].as_str().unwrap().contains("duplicate"));
    let (status, _) = admin_add(&sim, &json!({"buyerNip": "123", "count": 1})).await;
    assert_eq!(status, 400);
    let (status, _) = admin_add(&sim, &json!({"invoices": ["not base64!"]})).await;
    assert_eq!(status, 400);
    let (_, fresh) = admin_add(&sim, &json!({"buyerNip": BUYER, "count": 1, "numberPrefix": "NEW/"})).await;
    assert!(fresh["ksefNumbers"].is_array(), "NEW/1 was not stored by the refused request: {fresh}");

    // Podmiot3: the payer sees the invoice in its Subject3 view and may download it.
    let (_, paid) = admin_add(
        &sim,
        &json!({"buyerNip": BUYER, "count": 1, "numberPrefix": "P3/",
        "thirdSubject": {"nip": PAYER, "name": "Płatnik", "role": 6}}),
    )
    .await;
    let paid = paid["ksefNumbers"][0].as_str().unwrap().to_owned();
    let payer = buyer(&sim, PAYER).await;
    let view =
        json!({"subjectType": "Subject3", "dateRange": {"dateType": "PermanentStorage", "from": from}});
    let (_, found) = sim.post("/invoices/query/metadata", Some(&payer), &view).await;
    assert_eq!(found["invoices"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found["invoices"][0]["ksefNumber"], paid.as_str());
    assert_eq!(
        found["invoices"][0]["thirdSubjects"][0],
        json!({"identifier": {"type": "Nip", "value": PAYER}, "name": "Płatnik", "role": 6})
    );
    assert_eq!(sim.get(&format!("/invoices/ksef/{paid}"), &payer).await.0, 200);
    sim.sim.stop().await;
}

#[tokio::test]
async fn only_metadata_export_holds_just_the_metadata_file() {
    let sim = Sim::with_token().await;
    let access = buyer(&sim, BUYER).await;
    let (_, added) = admin_add(&sim, &json!({"buyerNip": BUYER, "count": 3})).await;
    let from = iso(Utc::now() - chrono::Duration::hours(1));
    let (mut body, key, iv) = sim.export_body(&stored(&from, true)).await;
    body["onlyMetadata"] = json!(true);
    let (_, started) = sim.post("/invoices/exports", Some(&access), &body).await;
    let path = format!("/invoices/exports/{}", started["referenceNumber"].as_str().unwrap());
    let status = loop {
        let (_, st) = sim.get(&path, &access).await;
        if st["status"]["code"] != 100 {
            break st;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let part = &status["package"]["parts"][0];
    let res = sim.http.get(part["url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(res.headers()["x-ms-meta-hash"], part["encryptedPartHash"].as_str().unwrap());
    let archive = aes_decrypt(&key, &iv, &res.bytes().await.unwrap());
    assert_eq!(sha(&archive), part["partHash"].as_str().unwrap());
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).unwrap();
    assert_eq!(zip.len(), 1);
    let mut text = String::new();
    zip.by_name("_metadata.json").unwrap().read_to_string(&mut text).unwrap();
    let meta: Value = serde_json::from_str(&text).unwrap();
    let listed: Vec<&str> =
        meta["invoices"].as_array().unwrap().iter().map(|i| i["ksefNumber"].as_str().unwrap()).collect();
    let expected: Vec<&str> =
        added["ksefNumbers"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    assert_eq!(listed, expected);
    assert_eq!(status["package"]["invoiceCount"], 3);
    sim.sim.stop().await;
}
