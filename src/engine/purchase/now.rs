//! A sync run now, outside the supervisor (`ksef-gateway purchase sync`): the client's sender
//! lease is taken first, so a running server never works the same client at the same time.

use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::{step, Budget, StepReport};
use crate::db::models::{ids, lease, Client, PurchaseSync};
use crate::engine::context::Engine;
use crate::state::AppState;

/// Steps run at most by one call (each bounded by [`STEP`]).
const MAX_STEPS: usize = 100;
/// One step's time; a limit that needs longer than [`WAIT`] ends the run.
const STEP: Duration = Duration::from_secs(60);
const WAIT: Duration = Duration::from_secs(65);

/// Runs sync steps for `client` until every role is caught up with KSeF's high-water mark and
/// every byte fetched, a KSeF limit needs a longer wait, or a step fails. Err: why it could
/// not run at all, in Polish.
pub async fn sync_client_now(st: AppState, client: &Client) -> Result<Vec<StepReport>, String> {
    let (_stop, stopped) = watch::channel(false);
    let engine = Engine::new(st, stopped);
    let ttl = chrono::Duration::seconds(i64::try_from(engine.cfg.lease_ttl_s).unwrap_or(30));
    let (cid, holder) = (client.id.clone(), engine.holder.clone());
    let took = engine
        .st
        .db
        .tx(move |c| {
            let now = ids::now();
            PurchaseSync::make_due(c, &cid, now)?;
            lease::acquire(c, &cid, &holder, now, now + STEP_TTL.max(ttl))
        })
        .await
        .map_err(|e| e.to_string())?;
    if !took {
        return Err(
            "inny proces gateway pracuje teraz dla tego klienta; synchronizacja odbywa się tam".into()
        );
    }
    let outcome = run(&engine, client, ttl).await;
    let (cid, holder) = (client.id.clone(), engine.holder.clone());
    if let Err(e) = engine.st.db.tx(move |c| lease::release(c, &cid, &holder)).await {
        tracing::warn!(error = %e, "Could not release the sender lease; it expires by itself");
    }
    outcome
}

/// The lease covers one whole step.
const STEP_TTL: chrono::Duration = chrono::Duration::seconds(STEP.as_secs() as i64 + 65);

async fn run(engine: &Engine, client: &Client, ttl: chrono::Duration) -> Result<Vec<StepReport>, String> {
    let ctx = engine
        .client_ctx(client)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "klient nie ma poświadczenia KSeF".to_owned())?;
    let mut reports = Vec::new();
    for i in 0..MAX_STEPS {
        let (cid, holder) = (client.id.clone(), engine.holder.clone());
        let renewed = engine
            .st
            .db
            .tx(move |c| lease::renew(c, &cid, &holder, ids::now() + STEP_TTL.max(ttl)))
            .await
            .map_err(|e| e.to_string())?;
        if !renewed {
            return Err("utracono dzierżawę klienta na rzecz innego procesu".into());
        }
        let budget = Budget { deadline: Instant::now() + STEP, max_wait: WAIT };
        let report = match step(engine, &ctx, budget, i == 0).await {
            Ok(Some(report)) => report,
            Ok(None) => break,
            Err(e) => return Err(super::polish(&e.to_string())),
        };
        let done = report.roles.iter().all(|r| r.caught_up) && !report.bytes_left;
        let stuck = report.limited || report.error.is_some();
        reports.push(report);
        if done || stuck {
            break;
        }
    }
    Ok(reports)
}
