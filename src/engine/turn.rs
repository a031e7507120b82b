//! One turn of one client's sender: take the lease, reconcile what is in flight, send a bounded
//! slice of due invoices, give the lease back.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use ksef_client::ErrorClass;
use tracing::Instrument;

use super::context::{ClientCtx, Engine};
use super::lease::{take_lease, Lease};
use super::{record, TurnError};
use crate::db::models::outbox::OutboxEntry;
use crate::db::models::{ids, Client};
use crate::domain::ClientId;
use crate::service::ksef_login::LoginSource;
use crate::service::reasons;

/// Where a turn left the client's purchase sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncAfter {
    /// Caught up, limited, failed, or not run: its own schedule says when it is due again.
    Settled,
    /// Its step ended with work left that may go on at once (history still to walk, bytes to
    /// fetch): the supervisor looks for due purchase syncs at once rather than at its next tick.
    Behind,
}

pub async fn run(engine: &Engine, client_id: &ClientId) -> SyncAfter {
    let Some(lease) = take_lease(engine, client_id).await else {
        // Another replica works this client; look again after a poll interval.
        engine.turn_finished(client_id, false, None);
        return SyncAfter::Settled;
    };
    let outcome = work(engine, client_id, &lease).await;
    lease.give_back().await;
    engine.st.metrics.count_turn(outcome_label(&outcome));
    match outcome {
        Ok(sync) => {
            if let Some(ctx) = engine.cached_context(client_id) {
                ctx.relogins.store(0, Ordering::SeqCst);
            }
            engine.turn_finished(client_id, false, None);
            sync
        }
        Err((ctx, e)) => {
            let wait = handle_error(engine, client_id, ctx.as_deref(), &e).await;
            engine.turn_finished(client_id, true, wait);
            SyncAfter::Settled
        }
    }
}

type TurnFailure = (Option<Arc<ClientCtx>>, TurnError);

/// The `outcome` label of the turn counter.
fn outcome_label(outcome: &Result<SyncAfter, TurnFailure>) -> &'static str {
    match outcome {
        Ok(_) => "ok",
        Err((_, TurnError::Ksef(e))) => match e.class() {
            ErrorClass::RateLimited { .. } => "rate_limited",
            ErrorClass::Credential => "credential",
            ErrorClass::Transient => "transient",
            ErrorClass::SessionUnusable => "session_unusable",
            ErrorClass::Permanent => "other",
        },
        Err(_) => "other",
    }
}

/// Spans at debug level (`sender.*`, `batch.*`, `db.*`) time the steps of a turn; the send
/// benchmark prints them with `BENCH_TRACE=1` (docs/ENGINE.md, "Where the time goes").
#[tracing::instrument(level = "debug", name = "sender.turn", skip_all)]
async fn work(engine: &Engine, client_id: &ClientId, lease: &Lease) -> Result<SyncAfter, TurnFailure> {
    let cid = client_id.clone();
    let client = engine.st.db.run(move |c| Client::get(c, &cid)).await.map_err(|e| (None, e.into()))?;
    if client.paused_reason.is_some() {
        return Ok(SyncAfter::Settled);
    }
    let Some(ctx) = engine.client_ctx(&client).await.map_err(|e| (None, e))? else {
        let reason = match client.credential_mode {
            crate::domain::CredentialMode::Own => reasons::NO_CREDENTIAL,
            crate::domain::CredentialMode::Office => reasons::NO_OFFICE_CREDENTIAL,
        };
        record::pause_client(&engine.st.db, client_id, reason).await.map_err(|e| (None, e.into()))?;
        return Ok(SyncAfter::Settled);
    };
    let fail = |e: TurnError| (Some(ctx.clone()), e);
    let asked_ksef = super::sync::reconcile(engine, &ctx).await.map_err(fail)?;
    super::online::close_orphans(engine, &ctx, lease).await.map_err(fail)?;
    if engine.stopping() {
        return Ok(SyncAfter::Settled);
    }
    let limit = i64::try_from(engine.cfg.max_invoices_per_turn).unwrap_or(1_000);
    // Cleared before the read: a decision committed after it marks the client again, and the
    // purchase step below then yields to the turn that sends it. (A decision that commits just
    // before the read but marks just after it costs one turn more, nothing else.)
    engine.st.status_requests.sends_taken(client_id);
    let cid = client_id.clone();
    let due = engine
        .st
        .db
        .run(move |c| OutboxEntry::due_for_client(c, &cid, ids::now(), limit))
        .instrument(tracing::debug_span!("db.due"))
        .await
        .map_err(|e| fail(e.into()))?;
    let sent = !due.is_empty();
    let mut batch_closed = false;
    // Offline-issued invoices go with offlineMode, which a batch declares for all its invoices.
    let (offline, normal): (Vec<_>, Vec<_>) = due.into_iter().partition(|d| d.offline);
    for group in [normal, offline] {
        if group.is_empty() {
            continue;
        }
        lease.check().map_err(fail)?;
        if group.len() <= engine.cfg.online_max {
            super::online::send(engine, &ctx, lease, group).await.map_err(fail)?;
        } else {
            super::batch::send(engine, &ctx, lease, group).await.map_err(fail)?;
            batch_closed = true;
        }
    }
    if sent {
        engine.sent(client_id);
    }
    // A small batch may be processed by the time its close is answered: one status call now
    // instead of a turn later (a batch still processing is only marked registered, as on any
    // poll; the poll schedule goes on from the send).
    if batch_closed && !engine.stopping() {
        super::sync::reconcile(engine, &ctx).await.map_err(fail)?;
    }
    // Sending went first; the purchase sync takes a bounded step in what is left of the turn,
    // unless other clients' turns wait for this slot to send or poll: their invoices go first,
    // and the sync takes its step in a later turn (its own schedule makes the client due).
    lease.check().map_err(fail)?;
    let sending_busy = asked_ksef || sent;
    let synced = if sending_busy && engine.turns_waiting() {
        None
    } else {
        let budget = super::purchase::Budget::of_turn(engine, client_id, sending_busy);
        super::purchase::step(engine, &ctx, budget, false)
            .instrument(tracing::debug_span!("sender.purchase_step"))
            .await
            .map_err(fail)?
    };
    if asked_ksef || sent || synced.as_ref().is_some_and(|r| r.error.is_none()) {
        engine.st.availability.record_success(&ctx.environment);
    }
    Ok(match synced {
        Some(r) if r.goes_on_at_once => SyncAfter::Behind,
        _ => SyncAfter::Settled,
    })
}

/// What a failed turn means for the client: pause it, wait out a 429, or back off. Returns an
/// extra wait before the client's next turn.
async fn handle_error(
    engine: &Engine,
    client_id: &ClientId,
    ctx: Option<&ClientCtx>,
    e: &TurnError,
) -> Option<Duration> {
    let TurnError::Ksef(err) = e else {
        tracing::warn!(client.id = %client_id, error = %e, "Sender turn failed; will retry");
        return None;
    };
    match err.class() {
        ErrorClass::RateLimited { retry_after } => {
            if let Some(ctx) = ctx {
                engine.limits.penalize(&ctx.nip, retry_after);
            }
            tracing::info!(client.id = %client_id, retry_after_s = retry_after.as_secs(), "KSeF asked to slow down");
            Some(retry_after)
        }
        ErrorClass::Credential => {
            let Some(ctx) = ctx else {
                pause(engine, client_id, None, err).await;
                return None;
            };
            if err.http_status() != Some(401) {
                ctx.tokens.reset().await;
                pause(engine, client_id, Some(&ctx.login), err).await;
                return None;
            }
            // The refresh token usually outlives what KSeF forgot: a refreshed access token
            // first (one public call instead of four), a full login when that one is refused too.
            if ctx.relogins.load(Ordering::SeqCst) == 0 {
                ctx.tokens.invalidate_access().await;
            } else {
                ctx.tokens.reset().await;
            }
            relogin(engine, ctx, err).await
        }
        ErrorClass::Transient => {
            tracing::warn!(client.id = %client_id, error = %err, "Sender turn failed; will retry");
            if let Some(ctx) = ctx {
                engine.st.availability.record_failure(&ctx.environment);
            }
            None
        }
        // The session is dropped where the error arose; the next turn opens a new one.
        ErrorClass::SessionUnusable | ErrorClass::Permanent => {
            tracing::warn!(client.id = %client_id, error = %err, "Sender turn failed; will retry");
            None
        }
    }
}

/// Fresh logins after a 401 in a row, without a turn that went through, before the credential
/// is judged refused after all (KSeF keeps refusing the tokens it has just issued).
const MAX_RELOGINS: u32 = 3;

/// A 401 on an access token KSeF issued means KSeF no longer knows the token (it restarted, or
/// revoked the session), not that the credential is bad: a new access token (refreshed, or
/// from a fresh login), and pause only when that login is refused, with KSeF's reason. Returns an extra wait before the next turn.
async fn relogin(engine: &Engine, ctx: &ClientCtx, first: &ksef_client::KsefError) -> Option<Duration> {
    let tries = ctx.relogins.fetch_add(1, Ordering::SeqCst) + 1;
    if tries > MAX_RELOGINS {
        tracing::warn!(client.id = %ctx.client_id, error = %first, "KSeF refuses every fresh access token; sender paused");
        let why = format!("KSeF odrzuca każdy nowy token dostępu ({tries} logowania z rzędu): {first}");
        pause_with(engine, &ctx.client_id, &reasons::credential_pause(&why)).await;
        return None;
    }
    let outcome = ctx.access_token(&engine.limits).await;
    let error = outcome.as_ref().err().map(|e| match ctx.login.office_nip() {
        Some(office) => reasons::office_refused(office, &crate::service::ksef_login::Refusal::from(e)),
        None => e.to_string(),
    });
    if let Err(db) = record::login_outcome(&engine.st.db, &ctx.client_id, &ctx.login, error.as_deref()).await
    {
        tracing::warn!(client.id = %ctx.client_id, error = %db, "Could not record the login outcome");
    }
    match outcome {
        Ok(_) => {
            tracing::info!(client.id = %ctx.client_id, error = %first, "KSeF no longer knew the access token; logged in afresh");
            Some(Duration::ZERO)
        }
        Err(fresh) if fresh.class() == ErrorClass::Credential => {
            pause(engine, &ctx.client_id, Some(&ctx.login), &fresh).await;
            None
        }
        Err(fresh) => {
            tracing::warn!(client.id = %ctx.client_id, error = %fresh, "A fresh KSeF login failed; will retry");
            engine.st.availability.record_failure(&ctx.environment);
            None
        }
    }
}

/// Pauses the client because KSeF refused its credential (or the office's, in the client's
/// context), saying why in the words that fit whose credential it was.
async fn pause(
    engine: &Engine,
    client_id: &ClientId,
    login: Option<&LoginSource>,
    err: &ksef_client::KsefError,
) {
    tracing::warn!(client.id = %client_id, error = %err, "KSeF refused the client's credential; sender paused");
    let refusal = crate::service::ksef_login::Refusal::from(err);
    let reason = match login {
        Some(login) => reasons::pause_for(login, &refusal),
        None => reasons::credential_pause(&refusal.message),
    };
    // The office's access to this client is shown from what KSeF last said: this refusal.
    if let Some(login @ LoginSource::Office { office_nip, .. }) = login {
        let why = reasons::office_refused(office_nip, &refusal);
        if let Err(db) = record::login_outcome(&engine.st.db, client_id, login, Some(&why)).await {
            tracing::warn!(client.id = %client_id, error = %db, "Could not record the login outcome");
        }
    }
    pause_with(engine, client_id, &reason).await;
}

async fn pause_with(engine: &Engine, client_id: &ClientId, reason: &str) {
    if let Err(db) = record::pause_client(&engine.st.db, client_id, reason).await {
        tracing::error!(client.id = %client_id, error = %db, "Could not record the pause");
    }
}
