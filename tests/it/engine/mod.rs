//! The sending engine against the embedded KSeF simulator over real HTTP, on both backends.

pub(crate) mod collective;
mod enrollment;
mod faults;
mod kill;
mod office_credential;
mod pg_outage;
mod purchase;
mod restart;
mod rig;
mod rolling;
mod tokens;
mod wake;

use std::time::Duration;

use ksef_client::online::SendOptions;
use ksef_client::{ContextIdentifier, FormCode, TokenManager};
use ksef_gateway::db::models::ksef_session::{KsefSession, NewKsefSession};
use ksef_gateway::db::models::outbox::OutboxEntry;
use ksef_gateway::db::models::{ids, Client, ClientScope, Invoice};
use ksef_gateway::engine;
use ksef_simulator::{OutageScope, SimulatorConfig};
use secrecy::SecretString;

use crate::both_backends;
use crate::common::Backend;
use faults::engine_fault_suite;
use kill::{
    engine_kill_9_at_random_points_never_sends_twice,
    engine_sigterm_exits_within_the_bound_while_a_turn_waits_on_ksef,
    engine_two_serve_processes_share_one_database,
};
use pg_outage::engine_postgres_outage_under_load;
use restart::{
    engine_batch_session_ksef_forgot_is_resent_exactly_once,
    engine_ksef_forgetting_access_tokens_does_not_pause_the_client,
    engine_online_session_ksef_forgot_is_resent_exactly_once,
    engine_online_session_paused_21184_moves_pending_to_a_new_session,
    engine_refused_fresh_login_after_a_restart_pauses_with_the_reason,
};
use rig::{nip, Rig};
use rolling::engine_rolling_restart_of_two_replicas_sends_each_invoice_once;
use tokens::{
    engine_expired_token_is_refreshed_and_a_revoked_session_logs_in_afresh,
    engine_tokens_are_reused_across_turns,
};
use wake::{
    engine_decision_during_a_login_ahead_sends_under_its_lease, engine_does_not_wait_for_its_tick,
    engine_stopping_during_a_login_ahead_gives_the_lease_back,
};

const LIMIT: Duration = Duration::from_secs(60);

both_backends!(
    engine_three_invoices_go_online_and_are_accepted,
    engine_twelve_invoices_go_in_one_batch,
    engine_rate_limits_and_outage_deliver_each_invoice_once,
    engine_crash_after_upload_is_reconciled_not_resent,
    engine_revoked_token_pauses_the_client,
    engine_two_engines_never_send_twice,
    engine_watchdog_flags_invoices_stuck_in_registered,
    engine_duplicate_of_our_own_bytes_counts_as_delivered,
    engine_sends_with_a_ksef_certificate,
    engine_kill_9_at_random_points_never_sends_twice,
    engine_two_serve_processes_share_one_database,
    engine_sigterm_exits_within_the_bound_while_a_turn_waits_on_ksef,
    engine_status_refresh_on_demand_polls_now,
    engine_correction_is_linked_and_sent_the_same_way,
    engine_offline_invoice_gets_kod_ii_signed_with_the_offline_certificate,
    engine_ksef_forgetting_access_tokens_does_not_pause_the_client,
    engine_refused_fresh_login_after_a_restart_pauses_with_the_reason,
    engine_batch_session_ksef_forgot_is_resent_exactly_once,
    engine_online_session_ksef_forgot_is_resent_exactly_once,
    engine_online_session_paused_21184_moves_pending_to_a_new_session,
    engine_watchdog_flags_invoices_stuck_in_the_queue,
    engine_fault_suite,
    engine_postgres_outage_under_load,
    engine_rolling_restart_of_two_replicas_sends_each_invoice_once,
    engine_tokens_are_reused_across_turns,
    engine_expired_token_is_refreshed_and_a_revoked_session_logs_in_afresh,
    engine_does_not_wait_for_its_tick,
    engine_decision_during_a_login_ahead_sends_under_its_lease,
    engine_stopping_during_a_login_ahead_gives_the_lease_back,
);

/// An invoice issued offline by a client with a KSeF certificate of type Offline carries KOD II:
/// the certificate link KSeF specifies, signed with that certificate's key (verified here with
/// the certificate). The offline certificate never replaces the login credential.
async fn engine_offline_invoice_gets_kod_ii_signed_with_the_offline_certificate(b: Backend) {
    use ksef_gateway::offline::OfflineMode;
    use ksef_gateway::service::access::Caller;
    use ksef_gateway::service::certificates::CertificateUse;
    use ksef_gateway::service::clients::store_certificate;
    use ksef_gateway::service::decisions::{decide_send, SendRequest};
    use ksef_gateway::service::invoices::certificate_link;
    let Some(rig) = Rig::new(b, SimulatorConfig::default()).await else { return };
    let client = rig.client(&nip(43), true).await;
    // A serial whose top bit is set: DER stores it with a leading 0x00 that KOD II must not carry.
    let (cert, key) = seal_pem_with_serial(&client.nip, 1, Some(&[0x9A, 0x01, 0x02, 0x03]));
    let view = store_certificate(
        &rig.st,
        &Caller::Operator,
        &client.id,
        CertificateUse::Offline,
        &cert,
        &SecretString::from(key),
    )
    .await
    .unwrap();
    assert_eq!(view.kind, "ksef_offline_certificate");
    let ids = rig.invoices(&client, 2, "kod2").await;
    let (offline, online) = (ids[0].clone(), ids[1].clone());
    for (id, mode) in [(&offline, Some(OfflineMode::Offline24)), (&online, None)] {
        let req = SendRequest {
            invoice_ids: vec![id.clone()],
            offline: mode.map(Into::into),
            failure_confirmed: false,
            source_ip: None,
        };
        decide_send(&rig.st, &Caller::Operator, req).await.unwrap();
    }
    assert_eq!(
        certificate_link(&rig.st, &Caller::Operator, &online).await.unwrap(),
        None,
        "online: KOD I only"
    );
    let link = certificate_link(&rig.st, &Caller::Operator, &offline).await.unwrap().unwrap();
    let inv = rig.invoice(&offline).await;
    let (signed, signature) = link.rsplit_once('/').unwrap();
    let signed = signed.split_once("://").unwrap().1;
    let hash = ksef_client::crypto::sha256_b64url(
        &rig.st.db.run(move |c| ksef_gateway::db::models::Invoice::document(c, &inv.id)).await.unwrap(),
    );
    assert!(signed.contains(&format!("/certificate/Nip/{0}/{0}/9A010203/", client.nip)), "{link}");
    assert!(signed.ends_with(&hash), "KOD II carries the invoice hash: {link}");
    let der = pem::parse(&cert).unwrap().into_contents();
    ksef_client::qr::verify_certificate_link_signature(signed, signature, &der).unwrap();

    // Sending still logs in with the KSeF token, and the offline invoice is delivered.
    let engine = engine::start(rig.st.clone());
    rig.wait_for(&ids, "accepted", LIMIT).await;
    engine.stop().await;
    rig.assert_accepted(&ids).await;
    rig.sim.stop().await;
}

const CORRECTION: &str =
    include_str!("../../../crates/ksef-client/tests/fixtures/examples/FA_3_Przyklad_2.xml");

/// A correction (the official KOR sample) naming an accepted invoice's KSeF number is linked to
/// it at intake and delivered through the same decision and sender path.
async fn engine_correction_is_linked_and_sent_the_same_way(b: Backend) {
    use ksef_gateway::service::access::Caller;
    use ksef_gateway::service::intake::{self, Source};
    let Some(rig) = Rig::new(b, SimulatorConfig::default()).await else { return };
    let client = rig.client(&nip(42), true).await;
    let original = rig.invoices(&client, 1, "orig").await;
    rig.decide(&client, &original, false).await;
    let engine = engine::start(rig.st.clone());
    rig.wait_for(&original, "accepted", LIMIT).await;
    let first = rig.invoice(&original[0]).await;
    let ksef_number = first.ksef_number.clone().unwrap();

    let xml = CORRECTION
        .replacen("<NIP>9999999999</NIP>", &format!("<NIP>{}</NIP>", client.nip), 1)
        .replace(
            "<NrFaKorygowanej>FV2026/02/150</NrFaKorygowanej>",
            &format!("<NrFaKorygowanej>{}</NrFaKorygowanej>", first.number.as_deref().unwrap()),
        )
        .replace("9999999999-20230908-8BEF280C8D35-4D", &ksef_number);
    let stored =
        intake::submit(&rig.st, &Caller::Operator, &client.id, xml.into_bytes(), Source::Api).await.unwrap();
    let correction = stored[0].invoice.clone();
    assert_eq!(correction.state, ksef_gateway::domain::InvoiceState::Draft, "{:?}", stored[0]);
    assert_eq!(
        correction.corrects_invoice_id.as_deref(),
        Some(original[0].as_str()),
        "linked by KSeF number"
    );
    rig.decide(&client, std::slice::from_ref(&correction.id), false).await;
    rig.wait_for(std::slice::from_ref(&correction.id), "accepted", LIMIT).await;
    engine.stop().await;
    rig.assert_accepted(std::slice::from_ref(&correction.id)).await;
    let c = rig.sim.counters().per_nip[client.nip.as_str()].clone();
    assert_eq!((c.received, c.accepted, c.duplicates), (2, 2, 0));
    rig.sim.stop().await;
}

/// "Statusy w KSeF": with the background poll an hour away, a person's request makes the sender
/// ask KSeF at once, and the registered invoices come back accepted within seconds.
async fn engine_status_refresh_on_demand_polls_now(b: Backend) {
    let sim = SimulatorConfig { processing_delay: Duration::from_millis(300), ..SimulatorConfig::default() };
    let Some(rig) = Rig::with(b, sim, |mut s| {
        s.sender.status_poll_ms = 3_600_000;
        s
    })
    .await
    else {
        return;
    };
    let client = rig.client(&nip(41), true).await;
    let ids = rig.invoices(&client, 2, "refresh").await;
    rig.decide(&client, &ids, false).await;
    let engine = engine::start(rig.st.clone());
    rig.wait_for(&ids, "registered", LIMIT).await;
    // KSeF has long finished processing; without a request the next poll is an hour away.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(rig.count_state("accepted").await, 0, "no poll before the request");
    let refresh = ksef_gateway::service::invoices::refresh_statuses(
        &rig.st,
        &ksef_gateway::service::access::Caller::Operator,
        &client.id,
    )
    .await
    .unwrap();
    assert_eq!((refresh.in_flight, refresh.immediate), (2, true));
    rig.wait_for(&ids, "accepted", Duration::from_secs(10)).await;
    engine.stop().await;
    rig.assert_accepted(&ids).await;
    rig.sim.stop().await;
}

async fn engine_three_invoices_go_online_and_are_accepted(b: Backend) {
    let Some(rig) = Rig::new(b, SimulatorConfig::default()).await else { return };
    let client = rig.client(&nip(1), true).await;
    let ids = rig.invoices(&client, 3, "on").await;
    let offline = rig.invoices(&client, 2, "off").await;
    rig.decide(&client, &ids, false).await;
    rig.decide(&client, &offline, true).await;
    let engine = engine::start(rig.st.clone());
    rig.wait_for(&ids, "accepted", LIMIT).await;
    rig.wait_for(&offline, "accepted", LIMIT).await;
    engine.stop().await;
    rig.assert_accepted(&ids).await;
    rig.assert_accepted(&offline).await;
    let c = rig.sim.counters().per_nip[client.nip.as_str()].clone();
    assert_eq!((c.received, c.accepted, c.duplicates), (5, 5, 0));
    assert_eq!(rig.count_audit("send.invoice_accepted").await, 5);
    assert_eq!(rig.count_audit("send.invoice_registered").await, 5);
    let metrics = rig.st.metrics.render();
    assert!(metrics.contains("ksef_gateway_sender_invoices_total{outcome=\"accepted\"} 5"), "{metrics}");
    assert!(metrics.contains("ksef_gateway_sender_turns_total{outcome=\"ok\"}"), "{metrics}");
    let first = rig.invoice(&ids[0]).await;
    assert!(first.session_reference.is_some() && first.invoice_reference.is_some());
    assert_eq!(first.ksef_status_code, Some(200));
    rig.sim.stop().await;
}

async fn engine_twelve_invoices_go_in_one_batch(b: Backend) {
    // KSeF takes a moment to process the batch: meanwhile its invoices show O, not W.
    let sim =
        SimulatorConfig { processing_delay: Duration::from_millis(1_500), ..SimulatorConfig::default() };
    let Some(rig) = Rig::new(b, sim).await else { return };
    let client = rig.client(&nip(2), true).await;
    let ids = rig.invoices(&client, 12, "batch").await;
    rig.decide(&client, &ids, false).await;
    let engine = engine::start(rig.st.clone());
    rig.wait_for(&ids, "registered", LIMIT).await;
    assert_eq!(rig.count_audit("send.invoice_registered").await, 12);
    rig.wait_for(&ids, "accepted", LIMIT).await;
    engine.stop().await;
    rig.assert_accepted(&ids).await;
    let sessions: std::collections::HashSet<String> = {
        let mut s = std::collections::HashSet::new();
        for id in &ids {
            s.insert(rig.invoice(id).await.session_reference.unwrap());
        }
        s
    };
    assert_eq!(sessions.len(), 1, "one batch session for 12 invoices");
    let reference = sessions.into_iter().next().unwrap();
    let row = rig.st.db.run(move |c| KsefSession::find_by_reference(c, &reference)).await.unwrap().unwrap();
    assert_eq!((row.kind.as_str(), row.invoice_count), ("batch", 12));
    assert_eq!(rig.count_state("accepted").await, 12);
    let c = rig.sim.counters().per_nip[client.nip.as_str()].clone();
    assert_eq!((c.received, c.accepted, c.duplicates), (12, 12, 0));
    rig.sim.stop().await;
}

async fn engine_rate_limits_and_outage_deliver_each_invoice_once(b: Backend) {
    // KSeF at half its published limits while the gateway believes ten times them, and sends
    // up to 12 invoices online: it runs into 429s and must honour Retry-After. KSeF is also
    // down for the first two seconds.
    let sim = SimulatorConfig { rate_limit_scale: 0.5, ..SimulatorConfig::default() };
    let Some(rig) = Rig::with(b, sim, |mut s| {
        s.sender.rate_limit_scale = 10.0;
        s.sender.online_max = 12;
        s
    })
    .await
    else {
        return;
    };
    rig.sim.faults().outage(OutageScope::All, Duration::ZERO, Duration::from_secs(2));
    let small = rig.client(&nip(3), true).await;
    let big = rig.client(&nip(4), true).await;
    let mut online = Vec::new();
    for round in 0..3 {
        let ids = rig.invoices(&small, 4, &format!("r{round}")).await;
        rig.decide(&small, &ids, false).await;
        online.extend(ids);
    }
    let batch = rig.invoices(&big, 9, "big").await;
    rig.decide(&big, &batch, false).await;
    let engine = engine::start(rig.st.clone());
    rig.wait_for(&online, "accepted", Duration::from_secs(150)).await;
    rig.wait_for(&batch, "accepted", Duration::from_secs(150)).await;
    engine.stop().await;
    rig.assert_accepted(&online).await;
    let counters = rig.sim.counters();
    assert!(counters.faults_injected > 0, "the outage was seen");
    for (client, n) in [(&small, online.len() as u64), (&big, batch.len() as u64)] {
        let c = counters.per_nip[client.nip.as_str()].clone();
        assert_eq!((c.received, c.accepted, c.duplicates), (n, n, 0), "{}: {c:?}", client.nip);
    }
    assert!(counters.total.rate_limited > 0, "KSeF answered 429 at least once: {counters:?}");
    rig.sim.stop().await;
}

async fn engine_crash_after_upload_is_reconciled_not_resent(b: Backend) {
    let Some(rig) = Rig::new(b, SimulatorConfig::default()).await else { return };
    let client = rig.client(&nip(5), true).await;
    let ids = rig.invoices(&client, 2, "crash").await;
    rig.decide(&client, &ids, false).await;
    // A previous process opened a session, recorded both invoices as `sending` in it, uploaded
    // the first one and died before recording KSeF's answer; the second never left.
    let ksef = crate::common::outside_ksef(&client.ksef_environment);
    let token = format!("20261201-EC-{}-TESTTOKEN-01|nip-{}|0123456789abcdef", client.nip, client.nip);
    let tm = TokenManager::new(
        ksef.clone(),
        ContextIdentifier::nip(client.nip.as_str()),
        SecretString::from(token),
    );
    let access = tm.access_token().await.unwrap();
    let session = ksef.open_online_session(&access, &FormCode::fa3()).await.unwrap();
    let reference = session.reference_number.clone();
    let (cid, r, ids2) = (client.id.clone(), reference.clone(), ids.clone());
    let first_xml = rig
        .st
        .db
        .tx(move |c| {
            // Left by the dead process ten minutes ago.
            let now = ids::now() - chrono::Duration::minutes(10);
            KsefSession::insert(
                c,
                &NewKsefSession {
                    id: &ksef_gateway::domain::KsefSessionId::new(),
                    client_id: &cid,
                    kind: ksef_gateway::domain::SessionKind::Online,
                    reference: Some(&r),
                    state: ksef_gateway::domain::SessionState::Open,
                    invoice_count: 2,
                    valid_until: None,
                    opened_at: now,
                    updated_at: now,
                },
            )?;
            for id in &ids2 {
                assert!(Invoice::start_sending(c, id, &r, now)?);
                OutboxEntry::set_status(c, id, ksef_gateway::domain::OutboxState::Sending, None)?;
            }
            Invoice::document(c, &ids2[0])
        })
        .await
        .unwrap();
    ksef.send_invoice(&access, &session, &first_xml, &SendOptions::default()).await.unwrap();

    let engine = engine::start(rig.st.clone());
    rig.wait_for(&ids, "accepted", LIMIT).await;
    engine.stop().await;
    rig.assert_accepted(&ids).await;
    let c = rig.sim.counters().per_nip[client.nip.as_str()].clone();
    assert_eq!((c.received, c.accepted, c.duplicates), (2, 2, 0), "the uploaded one was not sent again");
    assert_eq!(rig.invoice(&ids[0]).await.session_reference.as_deref(), Some(reference.as_str()));
    assert_ne!(rig.invoice(&ids[1]).await.session_reference.as_deref(), Some(reference.as_str()));
    assert_eq!(rig.count_audit("send.invoice_requeued").await, 1, "only the one KSeF did not have");
    let r = reference.clone();
    let orphan = rig.st.db.run(move |c| KsefSession::find_by_reference(c, &r)).await.unwrap().unwrap();
    assert_eq!(
        orphan.state,
        ksef_gateway::domain::SessionState::Closed,
        "the dead process's online session is closed, not left open"
    );
    rig.sim.stop().await;
}

async fn engine_revoked_token_pauses_the_client(b: Backend) {
    let Some(rig) = Rig::new(b, SimulatorConfig::default()).await else { return };
    let client = rig.client(&nip(6), false).await;
    let ids = rig.invoices(&client, 3, "revoked").await;
    rig.decide(&client, &ids, false).await;
    let engine = engine::start(rig.st.clone());
    let start = std::time::Instant::now();
    let paused = loop {
        let cid = client.id.clone();
        let c = rig.st.db.run(move |c| Client::get(c, &cid)).await.unwrap();
        if let Some(reason) = c.paused_reason {
            break reason;
        }
        assert!(start.elapsed() < LIMIT, "client not paused");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    engine.stop().await;
    assert!(paused.contains("token"), "{paused}");
    assert!(!paused.contains("0123456789abcdef"), "the reason never repeats the token");
    for id in &ids {
        let inv = rig.invoice(id).await;
        assert_eq!(
            inv.state,
            ksef_gateway::domain::InvoiceState::Queued,
            "not rejected, waits for a new token"
        );
    }
    let cid = client.id.clone();
    let by_status = rig.st.db.run(move |c| OutboxEntry::count_by_status(c, &cid)).await.unwrap();
    assert_eq!(by_status, vec![(ksef_gateway::domain::OutboxState::Pending, 3)]);
    assert_eq!(rig.count_audit("send.client_paused").await, 1);
    assert_eq!(rig.sim.counters().total.received, 0);
    rig.sim.stop().await;
}

async fn engine_two_engines_never_send_twice(b: Backend) {
    let Some(rig) = Rig::new(b, SimulatorConfig::default()).await else { return };
    // Two processes on PostgreSQL: two states, two pools. SQLite is a one-process database (two
    // pools on one file fail with SQLITE_BUSY on lock upgrades), so there two engines share one.
    let other = match b {
        Backend::Pg => rig.db.state_with(rig::fast(rig.db.settings())),
        Backend::Sqlite => rig.st.clone(),
    };
    let clients =
        [rig.client(&nip(7), true).await, rig.client(&nip(8), true).await, rig.client(&nip(9), true).await];
    let mut all = Vec::new();
    for (i, c) in clients.iter().enumerate() {
        let ids = rig.invoices(c, 8 + i, "two").await;
        rig.decide(c, &ids, false).await;
        all.push((c.nip.clone(), ids));
    }
    let (e1, e2) = (engine::start(rig.st.clone()), engine::start(other));
    // More decisions while both engines run: small ones take the online path.
    for (i, c) in clients.iter().enumerate() {
        for round in 0..2 {
            let ids = rig.invoices(c, 2 + i, &format!("late{round}")).await;
            rig.decide(c, &ids, false).await;
            all[i].1.extend(ids);
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }
    for (_, ids) in &all {
        rig.wait_for(ids, "accepted", LIMIT).await;
    }
    e1.stop().await;
    e2.stop().await;
    let counters = rig.sim.counters();
    for (nip, ids) in &all {
        let c = counters.per_nip[nip.as_str()].clone();
        let n = ids.len() as u64;
        assert_eq!((c.received, c.accepted, c.duplicates), (n, n, 0), "{nip}: {c:?}");
        rig.assert_accepted(ids).await;
    }
    rig.sim.stop().await;
}

async fn engine_watchdog_flags_invoices_stuck_in_registered(b: Backend) {
    let Some(rig) = Rig::with(b, SimulatorConfig::default(), |mut s| {
        s.sender.registered_watchdog_s = 1;
        s
    })
    .await
    else {
        return;
    };
    rig.sim.faults().hold_invoices(true);
    let client = rig.client(&nip(10), true).await;
    let ids = rig.invoices(&client, 2, "held").await;
    rig.decide(&client, &ids, false).await;
    let engine = engine::start(rig.st.clone());
    rig.wait_for(&ids, "registered", LIMIT).await;
    let start = std::time::Instant::now();
    while rig.count_audit("send.invoice_stuck").await < 2 {
        assert!(start.elapsed() < LIMIT, "watchdog did not flag");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let id = ids[0].clone();
    let events = rig.st.db.run(move |c| Invoice::events(c, &id)).await.unwrap();
    assert!(events.iter().any(|e| e.note.as_deref().is_some_and(|n| n.starts_with("watchdog:registered "))));
    let metrics = rig.st.metrics.render();
    assert!(metrics.contains("ksef_gateway_invoices_stuck{state=\"registered\"} 2"), "{metrics}");
    rig.sim.faults().hold_invoices(false);
    rig.wait_for(&ids, "accepted", LIMIT).await;
    engine.stop().await;
    assert_eq!(rig.count_audit("send.invoice_stuck").await, 2, "flagged once each");
    let _ = ClientScope::All;
    rig.sim.stop().await;
}

/// The watchdog watches every state on the way to KSeF, not only O: invoices of a paused client
/// wait in the queue (W), get flagged once with a note that says why to look, are counted in the
/// metric, and listed as stuck for the dashboard.
async fn engine_watchdog_flags_invoices_stuck_in_the_queue(b: Backend) {
    use ksef_gateway::service::access::Caller;
    let Some(rig) = Rig::with(b, SimulatorConfig::default(), |mut s| {
        s.sender.waiting_watchdog_s = 1;
        s
    })
    .await
    else {
        return;
    };
    let client = rig.client(&nip(12), false).await; // KSeF refuses its token: paused
    let ids = rig.invoices(&client, 2, "queued").await;
    rig.decide(&client, &ids, false).await;
    let engine = engine::start(rig.st.clone());
    let start = std::time::Instant::now();
    while rig.count_audit("send.invoice_stuck").await < 2 {
        assert!(start.elapsed() < LIMIT, "watchdog did not flag queued invoices");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let start = std::time::Instant::now();
    loop {
        let metrics = rig.st.metrics.render();
        if metrics.contains("ksef_gateway_invoices_stuck{state=\"queued\"} 2") {
            break;
        }
        assert!(start.elapsed() < LIMIT, "{metrics}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(5_500)).await; // another watchdog run
    engine.stop().await;
    assert_eq!(rig.count_audit("send.invoice_stuck").await, 2, "flagged once each");
    let id = ids[0].clone();
    let events = rig.st.db.run(move |c| Invoice::events(c, &id)).await.unwrap();
    let note =
        events.iter().filter_map(|e| e.note.clone()).find(|n| n.starts_with("watchdog:queued ")).unwrap();
    assert!(note.contains("wstrzymana"), "{note}");
    let stuck = ksef_gateway::service::panel_views::stuck(&rig.st, &Caller::Operator).await.unwrap();
    assert_eq!(stuck.len(), 1, "{stuck:?}");
    assert_eq!(
        (stuck[0].nip.as_str(), stuck[0].state.as_str(), stuck[0].count),
        (client.nip.as_str(), "queued", 2)
    );
    rig.sim.stop().await;
}

async fn engine_duplicate_of_our_own_bytes_counts_as_delivered(b: Backend) {
    let Some(rig) = Rig::new(b, SimulatorConfig::default()).await else { return };
    let client = rig.client(&nip(11), true).await;
    let ids = rig.invoices(&client, 1, "dup").await;
    // The exact bytes already reached KSeF outside anything the gateway recorded (say, a restore
    // from a backup taken before the send): KSeF answers 440 with the original KSeF number.
    let id = ids[0].clone();
    let xml = rig.st.db.run(move |c| Invoice::document(c, &id)).await.unwrap();
    let ksef = crate::common::outside_ksef(&client.ksef_environment);
    let token = format!("20261201-EC-{}-TESTTOKEN-01|nip-{}|0123456789abcdef", client.nip, client.nip);
    let tm = TokenManager::new(
        ksef.clone(),
        ContextIdentifier::nip(client.nip.as_str()),
        SecretString::from(token),
    );
    let access = tm.access_token().await.unwrap();
    let session = ksef.open_online_session(&access, &FormCode::fa3()).await.unwrap();
    let sent = ksef.send_invoice(&access, &session, &xml, &SendOptions::default()).await.unwrap();
    let original =
        ksef.wait_for_invoice(&access, &session.reference_number, &sent.reference_number).await.unwrap();

    rig.decide(&client, &ids, false).await;
    let engine = engine::start(rig.st.clone());
    rig.wait_for(&ids, "accepted", LIMIT).await;
    engine.stop().await;
    rig.assert_accepted(&ids).await;
    let inv = rig.invoice(&ids[0]).await;
    assert_eq!(inv.ksef_number, original.ksef_number, "the original KSeF number, not a rejection");
    let c = rig.sim.counters().per_nip[client.nip.as_str()].clone();
    assert_eq!((c.accepted, c.duplicates), (1, 1));
    assert_eq!(rig.count_audit("send.invoice_rejected").await, 0);
    rig.sim.stop().await;
}

/// A self-signed KSeF-style seal for `nip` (organizationIdentifier VATPL-nip), PEM.
fn seal_pem(nip: &str, valid_days: i64) -> (String, String) {
    seal_pem_with_serial(nip, valid_days, None)
}

/// [`seal_pem`] with a chosen serial number.
fn seal_pem_with_serial(nip: &str, valid_days: i64, serial: Option<&[u8]>) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.serial_number = serial.map(rcgen::SerialNumber::from_slice);
    params.distinguished_name.push(rcgen::DnType::CommonName, "Pieczęć firmy");
    params.distinguished_name.push(rcgen::DnType::CustomDnType(vec![2, 5, 4, 97]), format!("VATPL-{nip}"));
    let now = rcgen::date_time_ymd(2026, 1, 1);
    params.not_before = now;
    params.not_after =
        if valid_days > 0 { rcgen::date_time_ymd(2030, 1, 1) } else { rcgen::date_time_ymd(2026, 6, 1) };
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// KSeF tokens are being retired: a client whose only working credential is a KSeF
/// certificate authenticates with XAdES, and its invoices are delivered; the key is sealed.
async fn engine_sends_with_a_ksef_certificate(b: Backend) {
    use ksef_gateway::service::access::Caller;
    use ksef_gateway::service::certificates::CertificateUse;
    use ksef_gateway::service::clients::store_certificate;
    use ksef_gateway::service::credentials::{check, CredentialHealth};
    let Some(rig) = Rig::new(b, SimulatorConfig::default()).await else { return };
    let nip = nip(9);
    let client = rig.client(&nip, false).await; // its KSeF token is unknown to KSeF
    assert!(matches!(check(&rig.st, &client).await.unwrap(), CredentialHealth::Failed(_)));
    let (expired_cert, expired_key) = seal_pem(&nip, -1);
    let refused = store_certificate(
        &rig.st,
        &Caller::Operator,
        &client.id,
        CertificateUse::Authentication,
        &expired_cert,
        &SecretString::from(expired_key),
    )
    .await;
    assert!(refused.is_err(), "an expired certificate is refused");
    let (cert, key) = seal_pem(&nip, 1);
    let view = store_certificate(
        &rig.st,
        &Caller::Operator,
        &client.id,
        CertificateUse::Authentication,
        &cert,
        &SecretString::from(key.clone()),
    )
    .await
    .unwrap();
    assert_eq!(view.kind, "ksef_certificate");
    assert!(view.validity.valid_until.is_some() && view.validity.expiry_warning.is_none());
    assert_eq!(check(&rig.st, &client).await.unwrap(), CredentialHealth::Ok);
    let ids = rig.invoices(&client, 2, "cert").await;
    rig.decide(&client, &ids, false).await;
    let engine = engine::start(rig.st.clone());
    rig.wait_for(&ids, "accepted", LIMIT).await;
    engine.stop().await;
    rig.assert_accepted(&ids).await;
    let dump = crate::common::dump(&rig.db, b);
    let key_line = key.lines().nth(1).unwrap();
    assert!(!crate::common::contains(&dump, key_line), "the private key is never stored in clear");
    rig.sim.stop().await;
}

/// The rig, for other areas' tests that need the engine and the simulator (webhooks).
pub(crate) mod shared_rig {
    pub(crate) use super::rig::{invoice_xml, nip, Rig};
}
