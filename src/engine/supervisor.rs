//! Finds clients with work and runs their turns: due outbox rows first come first served, clients
//! with invoices in flight when their poll is due, never two turns of one client at once, at most
//! `max_concurrent` turns in all; clients without tokens are logged in first, outside that
//! bound, unless one alone needs it ([`super::login`]). Also runs the watchdog and closes idle
//! online sessions.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::context::{lock, Engine};
use super::login::{self, Readiness};
use super::record;
use super::turn::SyncAfter;
use crate::db::models::outbox::OutboxEntry;
use crate::db::models::{ids, ClientScope, Invoice};
use crate::domain::{ClientId, InvoiceState, SessionState};

/// How often the watchdog and the housekeeping run.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(5);

pub async fn run(engine: Arc<Engine>) {
    let permits = Arc::new(Semaphore::new(engine.cfg.max_concurrent));
    let mut turns = JoinSet::new();
    let mut logins = JoinSet::new();
    let mut stop = engine.stop.clone();
    let tick = Duration::from_millis(engine.cfg.tick_ms);
    let mut last_housekeeping = Instant::now() - HOUSEKEEPING_EVERY;
    let mut last_purchase_look: Option<Instant> = None;
    let mut sync_behind = false;
    tracing::info!(holder = %engine.holder, "Sending engine started");
    engine.st.status_requests.serve(true);
    // The first look is at once. Later ones come when new work arrives (a decision, a request
    // for statuses), when a turn or a login ahead ends, or when the earliest poll or turn of a
    // client found waiting falls due; a tick at the latest.
    let mut wait = Duration::ZERO;
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            () = tokio::time::sleep(wait) => {}
            () = engine.st.status_requests.woken() => {}
            Some(ended) = turns.join_next(), if !turns.is_empty() => {
                sync_behind |= ended.is_ok_and(|s| s == SyncAfter::Behind);
            }
            Some(_) = logins.join_next(), if !logins.is_empty() => {}
        }
        if engine.stopping() {
            break;
        }
        while let Some(ended) = turns.try_join_next() {
            sync_behind |= ended.is_ok_and(|s| s == SyncAfter::Behind);
        }
        while logins.try_join_next().is_some() {}
        for client_id in engine.st.status_requests.take() {
            engine.poll_now(&client_id);
        }
        wait = tick;
        // A purchase sync falls due at its poll (minutes apart), or at once when a turn's step
        // left work to go on with: look for due syncs (three queries over every client) then,
        // or a tick after the last look, not at every wake for sending work.
        let purchases = sync_behind || last_purchase_look.is_none_or(|at| at.elapsed() >= tick);
        if purchases {
            (last_purchase_look, sync_behind) = (Some(Instant::now()), false);
        }
        match candidates(&engine, purchases).await {
            Ok(Candidates { clients, next_due }) => {
                if let Some(at) = next_due {
                    wait = wait.min(at.saturating_duration_since(Instant::now())).max(MIN_WAIT);
                }
                let slot_free = || permits.available_permits() > engine.waiting_turns.load(Ordering::SeqCst);
                let went_well = |c: &ClientId| engine.schedule_of(c).is_none_or(|s| s.failures == 0);
                let mut to_log_in = Vec::new();
                for Candidate { client_id, sends } in clients {
                    if lock(&engine.running).contains(&client_id) {
                        continue;
                    }
                    match login::readiness(&engine, &client_id).await {
                        Readiness::Ready => start_turn(&engine, &permits, &mut turns, client_id),
                        // Invoices to send for the one client logging in ahead (its purchase
                        // sync fell due first): its turn starts now, under the lease the login
                        // holds, and reads and packs the invoices while the login ends; it
                        // takes the login's tokens (one login), as the case below does its own.
                        Readiness::LoggingIn
                            if sends
                                && slot_free()
                                && went_well(&client_id)
                                && login::alone(&engine, &client_id) =>
                        {
                            start_turn(&engine, &permits, &mut turns, client_id);
                        }
                        Readiness::LoggingIn => {}
                        Readiness::NeedsLogin => to_log_in.push((client_id, sends)),
                    }
                }
                // One client with invoices to send that needs to log in, while no other login
                // runs and a turn slot is free (a decision for one client): its turn logs in
                // while it reads and packs its invoices. The others log in ahead: many at once
                // (their waits at KSeF's per-IP limit must hold no turn slot), a client due only
                // for its purchase sync (that turn would hold the client for its whole sync step
                // when a decision comes), and a client whose last turn failed (a login KSeF does
                // not answer would fail turn after turn, each packing its batch in vain).
                match to_log_in.as_slice() {
                    [(one, true)] if slot_free() && went_well(one) && !login::any_running(&engine) => {
                        start_turn(&engine, &permits, &mut turns, one.clone());
                    }
                    many => many.iter().for_each(|(c, _)| login::log_in_ahead(&engine, c, &mut logins)),
                }
            }
            Err(e) => tracing::warn!(error = %e, "Sending engine could not look for work"),
        }
        if last_housekeeping.elapsed() >= HOUSEKEEPING_EVERY {
            last_housekeeping = Instant::now();
            housekeeping(&engine).await;
        }
    }
    engine.st.status_requests.serve(false);
    logins.shutdown().await;
    while turns.join_next().await.is_some() {}
    close_idle_sessions(&engine, true).await;
    tracing::info!(holder = %engine.holder, "Sending engine stopped");
}

/// Spawns the client's turn, which waits for a turn slot (Tokio's semaphore is fair: turns
/// start in the order they were found).
fn start_turn(
    engine: &Arc<Engine>,
    permits: &Arc<Semaphore>,
    turns: &mut JoinSet<SyncAfter>,
    client_id: ClientId,
) {
    if !lock(&engine.running).insert(client_id.clone()) {
        return;
    }
    let (engine, permits) = (engine.clone(), permits.clone());
    engine.waiting_turns.fetch_add(1, Ordering::SeqCst);
    turns.spawn(async move {
        let permit = permits.acquire_owned().await;
        engine.waiting_turns.fetch_sub(1, Ordering::SeqCst);
        let mut sync = SyncAfter::Settled;
        if let Ok(_permit) = permit {
            if !engine.stopping() {
                sync = super::turn::run(&engine, &client_id).await;
            }
        }
        lock(&engine.running).remove(&client_id);
        sync
    });
}

/// The shortest wait for a client's poll or turn to fall due: many clients polling at staggered
/// times are looked for together, at most a hundred looks a second (each reads the database),
/// and a deadline that is due but not taken never spins the loop.
const MIN_WAIT: Duration = Duration::from_millis(10);

/// A client to run a turn for now.
struct Candidate {
    client_id: ClientId,
    /// It has invoices to send or in flight (not only a purchase sync due).
    sends: bool,
}

/// What one look for work found.
struct Candidates {
    /// Clients to run a turn for now, the longest-waiting first.
    clients: Vec<Candidate>,
    /// The earliest time a client with work but not due yet (its next poll, or its turn after a
    /// backoff or a 429) becomes due: the supervisor looks again then instead of at its next
    /// tick, so a poll KSeF may already answer waits for no tick (250 ms by default).
    next_due: Option<Instant>,
}

/// Clients to run a turn for now, the longest-waiting first, and when the next one falls due;
/// with `purchases`, also the clients whose purchase sync is due.
#[tracing::instrument(level = "debug", name = "sender.candidates", skip_all)]
async fn candidates(engine: &Engine, purchases: bool) -> Result<Candidates, crate::db::DbError> {
    let (due, in_flight) = engine
        .st
        .db
        .run(|c| {
            Ok::<_, crate::db::DbError>((
                OutboxEntry::clients_with_due(c, ids::now())?,
                Invoice::clients_in_flight(c)?,
            ))
        })
        .await?;
    let now = Instant::now();
    let mut out: Vec<(Option<Instant>, ClientId)> = Vec::new();
    let mut next_due: Option<Instant> = None;
    let mut later = |at: Instant| next_due = Some(next_due.map_or(at, |n| n.min(at)));
    let running = lock(&engine.running).clone();
    for id in due {
        let s = engine.schedule_of(&id);
        if running.contains(&id) {
            continue;
        }
        match s {
            Some(s) if s.next_turn > now => later(s.next_turn),
            _ => out.push((s.and_then(|s| s.last_turn), id)),
        }
    }
    for id in in_flight {
        if running.contains(&id) || out.iter().any(|(_, c)| *c == id) {
            continue;
        }
        let s = engine.schedule_of(&id);
        match s.map(|s| s.next_poll.max(s.next_turn)) {
            Some(at) if at > now => later(at),
            _ => out.push((s.and_then(|s| s.last_turn), id)),
        }
    }
    let sending: std::collections::HashSet<ClientId> = out.iter().map(|(_, id)| id.clone()).collect();
    // Purchase syncs ride on the same turns, after the clients with sending work.
    let syncs = if purchases { super::purchase::due_clients(engine).await } else { Ok(Vec::new()) };
    match syncs {
        Ok(syncs) => {
            for id in syncs {
                let s = engine.schedule_of(&id);
                let turn_due = s.is_none_or(|s| s.next_turn <= now);
                if turn_due && !running.contains(&id) && !out.iter().any(|(_, c)| *c == id) {
                    out.push((s.and_then(|s| s.last_turn), id));
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "Could not look for due purchase syncs"),
    }
    // Clients that never had a turn, then the ones whose last turn is oldest.
    out.sort_by_key(|(last, _)| *last);
    let clients =
        out.into_iter().map(|(_, id)| Candidate { sends: sending.contains(&id), client_id: id }).collect();
    Ok(Candidates { clients, next_due })
}

async fn housekeeping(engine: &Engine) {
    engine.limits.prune();
    close_idle_sessions(engine, false).await;
    if let Err(e) = watchdog(engine).await {
        tracing::warn!(error = %e, "Sending watchdog failed");
    }
    if let Err(e) = super::purchase::publish_gaps(engine).await {
        tracing::warn!(error = %e, "Could not publish the purchase sync gaps");
    }
}

/// Flags invoices that stay in a state on their way to KSeF (W or O) longer than the
/// configured time, once per state, and publishes how many are stuck now per state.
async fn watchdog(engine: &Engine) -> Result<(), crate::db::DbError> {
    let cutoffs = engine.cfg.stuck_cutoffs(ids::now());
    for state in InvoiceState::WATCHED {
        let before = cutoffs.for_state(state);
        let stuck = engine.st.db.run(move |c| Invoice::stuck_unflagged(c, state, before, 500)).await?;
        for inv in stuck {
            let waited = (ids::now() - inv.updated_at).num_seconds();
            tracing::warn!(invoice.id = %inv.id, state = state.as_str(), waited_s = waited, "Invoice stays too long in its state");
            record::flag_stuck(&engine.st.db, &inv, waited).await?;
        }
    }
    let groups =
        engine.st.db.run(move |c| Invoice::stuck(c, &ClientScope::All, &cutoffs, STUCK_COUNTED)).await?;
    for state in InvoiceState::WATCHED {
        let n: i64 = groups.iter().filter(|g| g.state == state).map(|g| g.count).sum();
        engine.st.metrics.set_stuck(state.as_str(), n);
    }
    Ok(())
}

/// Stuck invoices counted for the metric at most (the count says "at least" beyond it).
const STUCK_COUNTED: i64 = 100_000;

/// Closes online sessions unused for `online_session_idle_s` (all of them when stopping), so
/// KSeF generates their collective UPO. Sessions of a client whose turn is running are skipped.
async fn close_idle_sessions(engine: &Engine, all: bool) {
    let idle = Duration::from_secs(engine.cfg.online_session_idle_s);
    for ctx in engine.cached_contexts() {
        if !all && lock(&engine.running).contains(&ctx.client_id) {
            continue;
        }
        let Ok(mut slot) = ctx.online.try_lock() else { continue };
        if !slot.as_ref().is_some_and(|o| all || o.last_used.elapsed() >= idle) {
            continue;
        }
        let Some(open) = slot.take() else { continue };
        drop(slot);
        let reference = open.session.reference_number.clone();
        let closed = async {
            let token = ctx.access_token(&engine.limits).await?;
            engine.limits.acquire(&ctx.nip, super::limits::EndpointClass::OnlineSessionClose).await;
            ctx.ksef.close_online_session(&token, &reference).await
        }
        .await;
        match closed {
            Ok(()) => {
                if let Err(e) = record::session_state(
                    &engine.st.db,
                    &ctx.client_id,
                    &open.row_id,
                    SessionState::Closed,
                    None,
                )
                .await
                {
                    tracing::warn!(error = %e, "Could not record a closed online session");
                }
            }
            Err(e) => {
                tracing::info!(ksef.session = %reference, error = %e, "Closing an idle online session failed")
            }
        }
    }
}
