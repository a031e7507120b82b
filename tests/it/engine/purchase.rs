//! The purchase sync against the embedded simulator over real HTTP, on both backends: outside
//! sellers invoice a gateway client through KSeF, and the engine fetches every one of those
//! invoices once, with its exact bytes, whatever KSeF does in between.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use futures_util::StreamExt;
use ksef_client::online::SendOptions;
use ksef_client::{ContextIdentifier, FormCode, TokenManager};
use ksef_gateway::config::Settings;
use ksef_gateway::db::models::{Client, PurchaseInvoice, PurchaseSync};
use ksef_gateway::db::schema::{purchase_invoices, purchase_sync, sender_leases};
use ksef_gateway::db::DbError;
use ksef_gateway::domain::PurchaseRole;
use ksef_gateway::engine;
use ksef_simulator::SimulatorConfig;
use secrecy::SecretString;

use super::rig::{invoice_xml, nip, Rig};
use crate::both_backends;
use crate::common::Backend;

const LIMIT: Duration = Duration::from_secs(60);

both_backends!(
    purchase_first_sync_and_increments_store_each_invoice_once,
    purchase_sync_aborted_mid_way_resumes_without_loss_or_duplicates,
    purchase_rate_limit_storm_mid_sync_loses_nothing,
    purchase_bytes_that_do_not_match_the_hash_are_not_stored,
    purchase_recheck_finds_a_gap_and_heals_it,
    purchase_sync_and_sending_share_one_client,
    purchase_step_yields_to_a_send_decided_meanwhile,
    purchase_cli_syncs_now_shows_status_and_names_bad_options,
    purchase_corrupt_or_stuck_export_falls_back_to_the_metadata_query,
    purchase_invoices_past_the_hwm_come_with_the_next_window_once,
);

/// Quick polls and re-checks, and limits raised alike in the gateway and the simulator.
fn quick(mut s: Settings) -> Settings {
    s.sender.rate_limit_scale = 50.0;
    s.purchase.poll_s = 1;
    s.purchase.recheck_s = 3_600;
    s
}

fn sim() -> SimulatorConfig {
    SimulatorConfig { processing_delay: Duration::ZERO, rate_limit_scale: 50.0, ..SimulatorConfig::default() }
}

/// `n` invoices from the outside seller `seller` to `buyer`, sent through KSeF (8 at a time);
/// returns their KSeF numbers.
async fn sell(rig: &Rig, seller: &str, buyer: &str, n: usize, tag: &str) -> Vec<String> {
    let token = format!("20261201-EC-{seller}-TESTTOKEN-01|nip-{seller}|0123456789abcdef");
    rig.sim.add_token(seller, &token, &["InvoiceWrite", "InvoiceRead"]);
    let ksef = crate::common::outside_ksef(rig.target.as_str());
    let tm = TokenManager::new(ksef.clone(), ContextIdentifier::nip(seller), SecretString::from(token));
    let access = tm.access_token().await.unwrap();
    let session = ksef.open_online_session(&access, &FormCode::fa3()).await.unwrap();
    let sent: Vec<String> = futures_util::stream::iter(0..n)
        .map(|i| {
            let (ksef, access, session) = (&ksef, &access, &session);
            async move {
                let number = format!("Z/{tag}/{i}/{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
                let xml = invoice_xml(seller, &number);
                let xml = String::from_utf8(xml).unwrap().replacen(
                    "<NIP>1111111111</NIP>",
                    &format!("<NIP>{buyer}</NIP>"),
                    1,
                );
                let sent = ksef
                    .send_invoice(access, session, xml.as_bytes(), &SendOptions::default())
                    .await
                    .unwrap();
                let done = ksef
                    .wait_for_invoice(access, &session.reference_number, &sent.reference_number)
                    .await
                    .unwrap();
                done.ksef_number.unwrap()
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    ksef.close_online_session(&access, &session.reference_number).await.unwrap();
    sent
}

/// The client's stored purchase invoices: (KSeF number, has its bytes).
async fn stored(rig: &Rig, client: &Client) -> Vec<(String, bool)> {
    let cid = client.id.clone();
    rig.st
        .db
        .run(move |c| {
            purchase_invoices::table
                .filter(purchase_invoices::client_id.eq(cid))
                .select((purchase_invoices::ksef_number, purchase_invoices::xml_fetched_at.is_not_null()))
                .load::<(String, bool)>(c)
                .map_err(DbError::from)
        })
        .await
        .unwrap()
}

/// Waits until the client has exactly `expected` (with their bytes), asserting no extra ones.
async fn wait_stored(rig: &Rig, client: &Client, expected: &[String]) {
    let want: HashSet<&String> = expected.iter().collect();
    let start = Instant::now();
    loop {
        let rows = stored(rig, client).await;
        let numbers: HashSet<&String> = rows.iter().map(|(n, _)| n).collect();
        assert_eq!(numbers.len(), rows.len(), "a KSeF number stored twice");
        assert!(numbers.is_subset(&want), "an invoice that is not the client's: {numbers:?}");
        if numbers == want && rows.iter().all(|(_, xml)| *xml) {
            return;
        }
        assert!(start.elapsed() < LIMIT, "{} of {} stored: {rows:?}", rows.len(), expected.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn audit_payloads(rig: &Rig, action: &'static str) -> Vec<serde_json::Value> {
    use ksef_gateway::db::schema::audit_events;
    let payloads = rig
        .st
        .db
        .run(move |c| {
            audit_events::table
                .filter(audit_events::action.eq(action))
                .select(audit_events::payload)
                .load::<String>(c)
                .map_err(DbError::from)
        })
        .await
        .unwrap();
    payloads.iter().map(|p| serde_json::from_str(p).unwrap()).collect()
}

async fn sync_row(rig: &Rig, client: &Client) -> PurchaseSync {
    let cid = client.id.clone();
    rig.st.db.run(move |c| PurchaseSync::find(c, &cid, PurchaseRole::Buyer)).await.unwrap().unwrap()
}

async fn purchase_first_sync_and_increments_store_each_invoice_once(b: Backend) {
    let Some(rig) = Rig::with(b, sim(), quick).await else { return };
    let client = rig.client(&nip(200), true).await;
    let other = nip(201);
    let mut expected = Vec::new();
    for (i, seller) in [nip(210), nip(211), nip(212)].iter().enumerate() {
        expected.extend(sell(&rig, seller, &client.nip, 3 + i, "first").await);
    }
    let foreign = sell(&rig, &nip(210), &other, 2, "foreign").await;
    let engine = engine::start(rig.st.clone());
    wait_stored(&rig, &client, &expected).await;

    // The fields come from KSeF's metadata, the bytes hash to KSeF's SHA-256.
    let (cid, number) = (client.id.clone(), expected[0].clone());
    let inv = rig.st.db.run(move |c| PurchaseInvoice::find(c, &cid, &number)).await.unwrap().unwrap();
    assert_eq!(inv.seller_nip, nip(210));
    assert_eq!(inv.buyer_nip.as_deref(), Some(client.nip.as_str()));
    assert_eq!((inv.gross_amount, inv.currency.as_str()), (205_100, "PLN"));
    assert_eq!(inv.subject_type, PurchaseRole::Buyer);
    let xml = inv.xml.clone().unwrap();
    assert_eq!(ksef_client::crypto::sha256_b64(&xml), inv.invoice_hash);
    assert!(String::from_utf8_lossy(&xml).contains(client.nip.as_str()));
    // The step's audit event follows its last store.
    let start = Instant::now();
    while rig.count_audit("purchase.sync").await == 0 {
        assert!(start.elapsed() < LIMIT, "no purchase.sync audit event");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let first = sync_row(&rig, &client).await;
    assert!(first.hwm.is_some(), "complete up to KSeF's high-water mark");

    // Increments: invoices arriving while the engine runs, in the open window and right at its
    // edge (sent just after a poll moved the cursor); polls that re-read the edge store nothing.
    for round in 0..3 {
        expected.extend(sell(&rig, &nip(211), &client.nip, 2, &format!("inc{round}")).await);
        wait_stored(&rig, &client, &expected).await;
    }
    let before = sync_row(&rig, &client).await;
    tokio::time::sleep(Duration::from_millis(2_500)).await; // two more polls with nothing new
    wait_stored(&rig, &client, &expected).await;
    let after = sync_row(&rig, &client).await;
    assert!(after.hwm >= before.hwm && after.last_run_at > before.last_run_at, "it kept polling");
    engine.stop().await;
    let rows = stored(&rig, &client).await;
    assert!(rows.iter().all(|(n, _)| !foreign.contains(n)), "another buyer's invoices stay out");
    let metrics = rig.st.metrics.render();
    let line = format!("ksef_gateway_purchase_invoices_total{{outcome=\"stored\"}} {}", expected.len());
    assert!(metrics.contains(&line), "{metrics}");
    assert!(metrics.contains("ksef_gateway_purchase_sync_gaps{subject_type=\"buyer\"} 0"), "{metrics}");
    rig.sim.stop().await;
}

/// Invoices an outside seller issued to `buyer`, stored permanently `days_ago` days back (one
/// millisecond apart), through the simulator's test-data door.
fn received(rig: &Rig, buyer: &str, count: usize, days_ago: i64, prefix: &str) -> Vec<String> {
    rig.sim
        .add_received_invoices(&ksef_simulator::ReceivedInvoices {
            buyer_nip: Some(buyer.to_owned()),
            count,
            number_prefix: Some(format!("{prefix}/")),
            stored_from: Some(chrono::Utc::now() - chrono::Duration::days(days_ago)),
            ..Default::default()
        })
        .unwrap()
}

async fn purchase_sync_aborted_mid_way_resumes_without_loss_or_duplicates(b: Backend) {
    // History from 200 days back: two windows of 100 days, each an export package stored with the
    // cursor's move; KSeF slow enough to abort the run between them.
    let Some(rig) = Rig::with(b, sim(), |s| {
        let mut s = quick(s);
        s.purchase.history_start =
            (chrono::Utc::now() - chrono::Duration::days(200)).format("%Y-%m-%d").to_string();
        s
    })
    .await
    else {
        return;
    };
    let client = rig.client(&nip(220), true).await;
    let old = received(&rig, &client.nip, 150, 150, "OLD");
    let recent = received(&rig, &client.nip, 150, 20, "NEW");
    rig.sim.faults().set_latency(Duration::from_millis(400));
    let (st, c2) = (rig.st.clone(), client.clone());
    let run = tokio::spawn(async move { engine::purchase::sync_client_now(st, &c2).await });
    let start = Instant::now();
    loop {
        let n = stored(&rig, &client).await.len();
        if n > 0 {
            assert_eq!(n, old.len(), "aborted after the first window, not at the end");
            break;
        }
        assert!(start.elapsed() < LIMIT, "nothing stored");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    run.abort();
    let _ = run.await;
    let midway = sync_row(&rig, &client).await;
    let window_end = chrono::Utc::now().naive_utc() - chrono::Duration::days(99);
    assert!(midway.cursor_from < window_end && midway.hwm == Some(midway.cursor_from), "{midway:?}");
    // The aborted run's lease would expire by itself; the test does not wait for it.
    rig.st.db.tx(|c| diesel::delete(sender_leases::table).execute(c).map_err(DbError::from)).await.unwrap();
    rig.sim.faults().set_latency(Duration::ZERO);
    let engine = engine::start(rig.st.clone());
    let expected: Vec<String> = old.into_iter().chain(recent).collect();
    wait_stored(&rig, &client, &expected).await;
    engine.stop().await;
    rig.sim.stop().await;
}

async fn purchase_rate_limit_storm_mid_sync_loses_nothing(b: Backend) {
    let Some(rig) = Rig::with(b, sim(), quick).await else { return };
    let client = rig.client(&nip(230), true).await;
    let mut expected = sell(&rig, &nip(231), &client.nip, 6, "storm").await;
    let engine = engine::start(rig.st.clone());
    wait_stored(&rig, &client, &expected).await;
    // New invoices arrive, and KSeF answers 429 to everything for a while as the sync polls.
    expected.extend(sell(&rig, &nip(232), &client.nip, 4, "storm2").await);
    rig.sim.faults().rate_limit_storm(8, Duration::from_secs(1));
    wait_stored(&rig, &client, &expected).await;
    engine.stop().await;
    assert!(rig.sim.counters().faults_injected > 0, "KSeF answered 429");
    let errors = audit_payloads(&rig, "purchase.sync").await;
    assert!(errors.iter().any(|p| p["error"].as_str().is_some_and(|e| e.contains("429"))), "{errors:?}");
    let row = sync_row(&rig, &client).await;
    assert_eq!(row.last_error, None, "the sync recovered: {:?}", row.last_error);
    rig.sim.stop().await;
}

async fn purchase_bytes_that_do_not_match_the_hash_are_not_stored(b: Backend) {
    let Some(rig) = Rig::with(b, sim(), quick).await else { return };
    let client = rig.client(&nip(240), true).await;
    let expected = sell(&rig, &nip(241), &client.nip, 3, "hash").await;
    let reports = engine::purchase::sync_client_now(rig.st.clone(), &client).await.unwrap();
    assert_eq!(reports.iter().map(|r| r.stored()).sum::<usize>(), 3);
    wait_stored(&rig, &client, &expected).await;
    // KSeF's hash of one invoice no longer matches the bytes KSeF serves for it.
    let (cid, bad) = (client.id.clone(), expected[1].clone());
    rig.st
        .db
        .tx(move |c| {
            diesel::update(
                purchase_invoices::table
                    .filter(purchase_invoices::client_id.eq(cid))
                    .filter(purchase_invoices::ksef_number.eq(bad)),
            )
            .set((
                purchase_invoices::invoice_hash.eq("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
                purchase_invoices::xml.eq(None::<Vec<u8>>),
                purchase_invoices::xml_fetched_at.eq(None::<chrono::NaiveDateTime>),
            ))
            .execute(c)
            .map_err(DbError::from)
        })
        .await
        .unwrap();
    let reports = engine::purchase::sync_client_now(rig.st.clone(), &client).await.unwrap();
    let mismatches: Vec<&String> = reports.iter().flat_map(|r| &r.hash_mismatches).collect();
    assert_eq!(mismatches, vec![&expected[1]]);
    let (cid, bad) = (client.id.clone(), expected[1].clone());
    let inv = rig.st.db.run(move |c| PurchaseInvoice::find(c, &cid, &bad)).await.unwrap().unwrap();
    assert!(inv.xml.is_none() && inv.xml_fetched_at.is_none(), "bytes not stored");
    let row = sync_row(&rig, &client).await;
    let error = row.last_error.unwrap();
    assert!(error.contains(&expected[1]) && error.contains("SHA-256"), "{error}");
    let status = ksef_gateway::service::purchase_sync::status(
        &rig.st,
        &ksef_gateway::service::access::Caller::Operator,
        Some(&client.nip),
    )
    .await
    .unwrap();
    assert_eq!(status.len(), 1);
    assert_eq!(status[0].last_error.as_deref(), Some(error.as_str()));
    let events = rig.count_audit("purchase.sync").await;
    assert!(events >= 2, "the mismatch is an audit event ({events})");
    rig.sim.stop().await;
}

async fn purchase_recheck_finds_a_gap_and_heals_it(b: Backend) {
    let Some(rig) = Rig::with(b, sim(), |s| {
        let mut s = quick(s);
        s.purchase.recheck_s = 1;
        s
    })
    .await
    else {
        return;
    };
    let client = rig.client(&nip(250), true).await;
    let expected = sell(&rig, &nip(251), &client.nip, 4, "gap").await;
    let engine = engine::start(rig.st.clone());
    wait_stored(&rig, &client, &expected).await;
    // One stored invoice goes missing (a restore from an older backup, say).
    let (cid, gone) = (client.id.clone(), expected[2].clone());
    rig.st
        .db
        .tx(move |c| {
            diesel::delete(
                purchase_invoices::table
                    .filter(purchase_invoices::client_id.eq(cid))
                    .filter(purchase_invoices::ksef_number.eq(gone)),
            )
            .execute(c)
            .map_err(DbError::from)
        })
        .await
        .unwrap();
    wait_stored(&rig, &client, &expected).await;
    engine.stop().await;
    let found = audit_payloads(&rig, "purchase.sync").await;
    assert!(
        found.iter().any(|p| p["roles"][0]["gap_found"] == 1),
        "the re-check recorded the gap: {found:?}"
    );
    let row = sync_row(&rig, &client).await;
    assert!(row.last_checked_at.is_some());
    let cid = client.id.clone();
    let gaps: i64 = rig
        .st
        .db
        .run(move |c| {
            purchase_sync::table
                .filter(purchase_sync::client_id.eq(cid))
                .select(purchase_sync::gap_count)
                .first(c)
                .map_err(DbError::from)
        })
        .await
        .unwrap();
    assert_eq!(gaps, 0, "healed");
    rig.sim.stop().await;
}

async fn purchase_sync_and_sending_share_one_client(b: Backend) {
    let Some(rig) = Rig::with(b, sim(), quick).await else { return };
    let client = rig.client(&nip(260), true).await;
    let expected = sell(&rig, &nip(261), &client.nip, 20, "both").await;
    let ids = rig.invoices(&client, 12, "both").await;
    rig.decide(&client, &ids, false).await;
    let start = Instant::now();
    let engine = engine::start(rig.st.clone());
    rig.wait_for(&ids, "accepted", LIMIT).await;
    let sending = start.elapsed();
    wait_stored(&rig, &client, &expected).await;
    engine.stop().await;
    rig.assert_accepted(&ids).await;
    // Sending went first in the turn: it never waited for the sync's downloads.
    assert!(sending < Duration::from_secs(10), "sending took {sending:?}");
    let c = rig.sim.counters().per_nip[client.nip.as_str()].clone();
    assert_eq!((c.received, c.accepted, c.duplicates), (12, 12, 0));
    rig.sim.stop().await;
}

/// A send decided while a purchase sync step waits on KSeF (an export it is still packing, for a
/// step allowed two minutes) goes out at once: the step yields the turn to it, and the sync
/// goes on where it left off in the turns after.
async fn purchase_step_yields_to_a_send_decided_meanwhile(b: Backend) {
    let Some(rig) = Rig::with(b, sim(), |s| {
        let mut s = quick(s);
        (s.purchase.step_ms, s.purchase.export_wait_s) = (120_000, 120);
        s
    })
    .await
    else {
        return;
    };
    let client = rig.client(&nip(300), true).await;
    let held = received(&rig, &client.nip, 4, 2, "YIELD");
    let ids = rig.invoices(&client, 3, "yield").await;
    rig.sim.faults().hold_exports(true);
    let engine = engine::start(rig.st.clone());
    // The step has begun once its cursor exists; then it asks for the export and waits on it.
    let start = Instant::now();
    while rig
        .st
        .db
        .run({
            let cid = client.id.clone();
            move |c| PurchaseSync::find(c, &cid, PurchaseRole::Buyer)
        })
        .await
        .unwrap()
        .is_none()
    {
        assert!(start.elapsed() < LIMIT, "no purchase sync step began");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    rig.decide(&client, &ids, false).await;
    // Well before the step would have ended by itself.
    rig.wait_for(&ids, "accepted", Duration::from_secs(20)).await;
    assert!(stored(&rig, &client).await.is_empty(), "the held export was not packed yet");
    rig.sim.faults().hold_exports(false);
    wait_stored(&rig, &client, &held).await;
    engine.stop().await;
    let c = rig.sim.counters().per_nip[client.nip.as_str()].clone();
    assert_eq!((c.received, c.accepted, c.duplicates, c.authentications), (3, 3, 0, 1));
    rig.sim.stop().await;
}

/// `ksef-gateway purchase sync | status` on the test's database, as an operator would run them.
async fn purchase_cli_syncs_now_shows_status_and_names_bad_options(b: Backend) {
    let Some(rig) = Rig::with(b, sim(), quick).await else { return };
    let client = rig.client(&nip(270), true).await;
    let expected = sell(&rig, &nip(271), &client.nip, 3, "cli").await;
    let (dir, url) = (rig.db.dir.path().to_path_buf(), rig.db.url.clone());
    // Off the runtime's thread: the simulator serves on it while the command runs.
    let cli = |args: &[&str]| {
        let (dir, url) = (dir.clone(), url.clone());
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        tokio::task::spawn_blocking(move || {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_ksef-gateway"))
                .arg("--data-dir")
                .arg(dir)
                .args(args)
                .env("KSEF_GW__DATABASE__URL", url)
                .env("KSEF_GW__SENDER__RATE_LIMIT_SCALE", "50")
                .env("RUST_LOG", "error")
                .output()
                .unwrap();
            let text =
                format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            (out.status.code(), text)
        })
    };
    let (code, text) = cli(&["purchase", "sync", "--nip", &client.nip]).await.unwrap();
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("3 purchase invoices stored now; the client has 3, 3 with their XML"), "{text}");
    assert!(text.contains("buyer: 3 stored, complete up to 20"), "{text}");
    wait_stored(&rig, &client, &expected).await;
    let (code, text) = cli(&["purchase", "status"]).await.unwrap();
    assert_eq!(code, Some(0), "{text}");
    let line = text.lines().find(|l| l.starts_with(client.nip.as_str())).unwrap_or_default();
    assert!(line.contains("buyer") && line.contains(" 0  -"), "{text}");
    for (args, option) in [
        (vec!["purchase", "sync", "--nip", "123"], "--nip"),
        (vec!["purchase", "status", "--nip", "5260250275"], "--nip"),
        (vec!["purchase", "sync", "--nip", &nip(279)], "--nip"),
    ] {
        let (code, text) = cli(&args).await.unwrap();
        assert_eq!(code, Some(2), "{args:?}: {text}");
        assert!(text.contains(option), "{args:?}: {text}");
    }
    rig.sim.stop().await;
}

/// A corrupt package part, then an export KSeF keeps at status 100: the window is fetched through
/// the metadata query and downloads instead, and the fault is reported.
async fn purchase_corrupt_or_stuck_export_falls_back_to_the_metadata_query(b: Backend) {
    let Some(rig) = Rig::with(b, sim(), |s| {
        let mut s = quick(s);
        s.purchase.export_wait_s = 1;
        s
    })
    .await
    else {
        return;
    };
    let client = rig.client(&nip(290), true).await;
    let first = received(&rig, &client.nip, 20, 3, "CORRUPT");
    rig.sim.faults().corrupt_export_parts(1);
    let reports = engine::purchase::sync_client_now(rig.st.clone(), &client).await.unwrap();
    wait_stored(&rig, &client, &first).await;
    let warnings: Vec<&String> = reports.iter().flat_map(|r| &r.warnings).collect();
    assert!(warnings.iter().any(|w| w.contains("paczka eksportu")), "{warnings:?}");
    let row = sync_row(&rig, &client).await;
    assert!(row.last_error.as_deref().is_some_and(|e| e.contains("paczka eksportu")), "{row:?}");

    // A client synced from scratch again while KSeF holds every export at 100.
    let other = rig.client(&nip(291), true).await;
    let held = received(&rig, &other.nip, 5, 2, "HELD");
    rig.sim.faults().hold_exports(true);
    let engine = engine::start(rig.st.clone());
    wait_stored(&rig, &other, &held).await;
    engine.stop().await;
    rig.sim.faults().hold_exports(false);
    let events = audit_payloads(&rig, "purchase.sync").await;
    let late = |p: &serde_json::Value| {
        p["warnings"]
            .as_array()
            .is_some_and(|w| w.iter().any(|w| w.as_str().is_some_and(|w| w.contains("nie był gotowy"))))
    };
    assert!(events.iter().any(late), "{events:?}");
    rig.sim.stop().await;
}

/// KSeF's permanent storage stalls: invoices stored after the frozen HWM are not returned (the
/// window ends at the HWM, complete up to there); once storage moves on, the next window brings
/// them, and the edge shared by both windows stores nothing twice.
async fn purchase_invoices_past_the_hwm_come_with_the_next_window_once(b: Backend) {
    let Some(rig) = Rig::with(b, sim(), quick).await else { return };
    let client = rig.client(&nip(295), true).await;
    let before = received(&rig, &client.nip, 5, 1, "BEFORE");
    let frozen = chrono::Utc::now();
    rig.sim.faults().freeze_hwm(Some(frozen));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let after = sell(&rig, &nip(296), &client.nip, 3, "after").await;
    let engine = engine::start(rig.st.clone());
    wait_stored(&rig, &client, &before).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await; // polls at the frozen HWM
    wait_stored(&rig, &client, &before).await;
    let row = sync_row(&rig, &client).await;
    let hwm = row.hwm.unwrap();
    assert!(hwm <= frozen.naive_utc(), "complete up to the frozen HWM, not beyond: {hwm} > {frozen}");
    rig.sim.faults().freeze_hwm(None);
    let all: Vec<String> = before.into_iter().chain(after).collect();
    wait_stored(&rig, &client, &all).await;
    engine.stop().await;
    assert!(sync_row(&rig, &client).await.hwm > Some(hwm));
    rig.sim.stop().await;
}

/// Benchmark, not a test: 10 000 purchase invoices of one client from a cold start to all stored
/// with their bytes, at KSeF's published limits and with the limits raised a thousandfold (the
/// difference is the time spent waiting on the limits).
/// `cargo test -p ksef-gateway --test it -- --ignored --nocapture purchase_bench_10000`
#[actix_web::test]
#[ignore = "a benchmark: prints figures"]
async fn purchase_bench_10000_invoices_of_one_client() {
    let published = bench_10000(1.0).await;
    let raised = bench_10000(1000.0).await;
    println!(
        "purchase bench: waiting on KSeF's limits: {:.1} s of {:.1} s ({:.0} %)",
        (published - raised).max(0.0),
        published,
        100.0 * (published - raised).max(0.0) / published
    );
}

async fn bench_10000(scale: f64) -> f64 {
    const N: usize = 10_000;
    let sim = SimulatorConfig {
        processing_delay: Duration::ZERO,
        rate_limit_scale: scale,
        ..SimulatorConfig::default()
    };
    let rig = Rig::with(Backend::Sqlite, sim, move |mut s| {
        s.sender.rate_limit_scale = scale;
        s.purchase.poll_s = 3_600;
        s.database.pool_size = 8;
        s
    })
    .await
    .unwrap();
    let buyer = rig.client(&nip(280), true).await;
    let numbers = received(&rig, &buyer.nip, N, 20, "BENCH");
    let start = Instant::now();
    let engine = engine::start(rig.st.clone());
    loop {
        let cid = buyer.id.clone();
        let (all, with_xml) = rig.st.db.run(move |c| PurchaseInvoice::counts(c, &cid)).await.unwrap();
        if with_xml as usize == N && all as usize == N {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(1_800), "stuck at {all}/{with_xml}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let total = start.elapsed().as_secs_f64();
    engine.stop().await;
    wait_stored(&rig, &buyer, &numbers).await;
    let c = rig.sim.counters().total.clone();
    println!(
        "purchase bench: {N} invoices of one client, limits x{scale}: all stored with their bytes in {total:.1} s ({:.0} invoices/s), {} calls rate-limited by KSeF",
        N as f64 / total,
        c.rate_limited
    );
    rig.sim.stop().await;
    total
}
