//! Rate limits, outages, failing closes, held invoices, TLS.

use std::time::Duration;

use ksef_simulator::{CloseFault, OutageScope, SimulatorConfig};
use serde_json::json;

use crate::client::{fixture, Sim, NIP, TOKEN};

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let sim = Sim::start(SimulatorConfig::default()).await;
    sim.sim.add_token(NIP, TOKEN, &["InvoiceWrite"]);
    let (access, _) = sim.login(NIP, TOKEN).await;
    // sessionList: 5 requests per second.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let res =
            sim.http.get(sim.url("/sessions?sessionType=Online")).bearer_auth(&access).send().await.unwrap();
        statuses.push(res.status().as_u16());
        if res.status() == 429 {
            let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=3600).contains(&retry));
            let body: serde_json::Value = res.json().await.unwrap();
            assert_eq!(body["status"]["code"], 429);
            assert_eq!(body["status"]["description"], "Too Many Requests");
        }
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429]);
    assert_eq!(sim.sim.counters().per_nip[NIP].rate_limited, 1);
}

/// KSeF 2.8: closing sessions has its own groups, `onlineSessionClose` 20/60/240 and
/// `batchSessionClose` 20/40/120, apart from opening them.
#[tokio::test]
async fn session_close_groups_answer_429_past_their_limits() {
    let sim = Sim::start(SimulatorConfig::default()).await;
    sim.sim.add_token(NIP, TOKEN, &["InvoiceWrite"]);
    let (access, _) = sim.login(NIP, TOKEN).await;
    for (kind, per_minute) in [("online", 60), ("batch", 40)] {
        let mut first_429 = None;
        // 20 per second pass whatever the window; past the minute limit a 429 is certain.
        for n in 1..=per_minute + 1 {
            let path = format!("/sessions/{kind}/20250101-SO-0000000000-0000000000-00/close");
            let (status, _) = sim.post(&path, Some(&access), &json!(null)).await;
            if status == 429 {
                first_429 = Some(n);
                break;
            }
        }
        assert!(first_429.is_some_and(|n| n > 20), "{kind}: {first_429:?}");
        // Other groups are not affected by the closes.
        let (status, res) = sim.get("/rate-limits", &access).await;
        assert_eq!(status, 200, "{res}");
    }
    let (_, limits) = sim.get("/rate-limits", &access).await;
    assert_eq!(limits["onlineSessionClose"], json!({"perSecond": 20, "perMinute": 60, "perHour": 240}));
    assert_eq!(limits["batchSessionClose"], json!({"perSecond": 20, "perMinute": 40, "perHour": 120}));
    assert_eq!(limits["global"], json!({"perSecond": -1, "perMinute": -1, "perHour": -1}));
}

#[tokio::test]
async fn outage_answers_503_and_latarnia_reports_it() {
    let sim = Sim::with_token().await;
    sim.sim.faults().outage(OutageScope::Auth, Duration::ZERO, Duration::from_secs(60));
    let (status, _) = sim.post("/auth/challenge", None, &json!(null)).await;
    assert_eq!(status, 503);
    assert_eq!(sim.get("/security/public-key-certificates", "").await.0, 200);
    sim.sim.faults().outage(OutageScope::All, Duration::ZERO, Duration::from_secs(60));
    assert_eq!(sim.get("/security/public-key-certificates", "").await.0, 503);
    let origin = sim.base.trim_end_matches("/v2");
    let lat: serde_json::Value =
        sim.http.get(format!("{origin}/latarnia/status")).send().await.unwrap().json().await.unwrap();
    assert_eq!(lat["status"], "TOTAL_FAILURE");
    sim.sim.faults().end_outage();
    assert_eq!(sim.post("/auth/challenge", None, &json!(null)).await.0, 200);
    let lat: serde_json::Value =
        sim.http.get(format!("{origin}/latarnia/status")).send().await.unwrap().json().await.unwrap();
    assert_eq!(lat["status"], "AVAILABLE");
}

#[tokio::test]
async fn close_commits_then_502_and_held_invoices_stay_150() {
    let sim = Sim::with_token().await;
    let (access, _) = sim.login(NIP, TOKEN).await;
    sim.sim.faults().hold_invoices(true);
    let session = sim.open_online(&access).await;
    let (_, sent) = sim.send(&access, &session, &fixture("FA_3_Przyklad_5.xml")).await;
    let invoice = sent["referenceNumber"].as_str().unwrap();
    sim.sim.faults().fail_next_closes(CloseFault::BadGateway, 1, Duration::ZERO);
    assert_eq!(sim.close_online(&access, &session).await, 502);
    // The close was committed: a second close is refused with 21180.
    let (status, res) =
        sim.post(&format!("/sessions/online/{}/close", session.reference), Some(&access), &json!(null)).await;
    assert_eq!(
        (status, res["exception"]["exceptionDetailList"][0]["exceptionCode"].clone()),
        (400, json!(21180))
    );
    let (_, inv) = sim.get(&format!("/sessions/{}/invoices/{invoice}", session.reference), &access).await;
    assert_eq!(inv["status"]["code"], 150);
    let (_, st) = sim.get(&format!("/sessions/{}", session.reference), &access).await;
    assert_eq!(st["status"]["code"], 170);
    sim.sim.faults().hold_invoices(false);
    let inv = sim.invoice_final(&access, &session.reference, invoice).await;
    assert_eq!(inv["status"]["code"], 200);
    let origin = sim.base.trim_end_matches("/v2");
    let counters: serde_json::Value =
        sim.http.get(format!("{origin}/sim/admin/counters")).send().await.unwrap().json().await.unwrap();
    assert_eq!(counters["per_nip"][NIP]["accepted"], 1);
    assert_eq!(counters["faults_injected"], 1);
}

#[tokio::test]
async fn processing_delay_shows_100_then_final() {
    let config = SimulatorConfig {
        processing_delay: Duration::from_millis(300),
        rate_limit_scale: 100.0,
        ..SimulatorConfig::default()
    };
    let sim = Sim::start(config).await;
    sim.sim.add_token(NIP, TOKEN, &["InvoiceWrite"]);
    let (access, _) = sim.login(NIP, TOKEN).await;
    let session = sim.open_online(&access).await;
    let (_, sent) = sim.send(&access, &session, &fixture("FA_3_Przyklad_1.xml")).await;
    let invoice = sent["referenceNumber"].as_str().unwrap();
    let (_, first) = sim.get(&format!("/sessions/{}/invoices/{invoice}", session.reference), &access).await;
    assert_eq!(first["status"]["code"], 100);
    assert!(first["ksefNumber"].is_null());
    let done = sim.invoice_final(&access, &session.reference, invoice).await;
    assert_eq!(done["status"]["code"], 200);
}

#[tokio::test]
async fn tls_serves_https_on_localhost() {
    let config = SimulatorConfig { tls: true, rate_limit_scale: 100.0, ..SimulatorConfig::default() };
    let sim = Sim::start(config).await;
    assert!(sim.base.starts_with("https://localhost:"));
    sim.sim.add_token(NIP, TOKEN, &["InvoiceWrite"]);
    let (access, _) = sim.login(NIP, TOKEN).await;
    let session = sim.open_online(&access).await;
    let (status, _) = sim.send(&access, &session, &fixture("FA_3_Przyklad_1.xml")).await;
    assert_eq!(status, 202);
    sim.sim.stop().await;
}

#[tokio::test]
async fn admin_route_scripts_errors_and_latency() {
    let sim = Sim::with_token().await;
    let origin = sim.base.trim_end_matches("/v2").to_owned();
    let settings = json!({"error_rate": 1.0, "latency_ms": 50});
    let res = sim.http.put(format!("{origin}/sim/admin/faults")).json(&settings).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let started = std::time::Instant::now();
    let (status, _) = sim.get("/security/public-key-certificates", "").await;
    assert!([500, 502, 503].contains(&status), "{status}");
    assert!(started.elapsed() >= Duration::from_millis(50));
    // Admin and storage routes are never faulted; resetting restores service.
    sim.http.put(format!("{origin}/sim/admin/faults")).json(&json!({})).send().await.unwrap();
    assert_eq!(sim.get("/security/public-key-certificates", "").await.0, 200);
    assert_eq!(sim.sim.counters().faults_injected, 1);
}
