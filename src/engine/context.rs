//! What the engine keeps in memory: per-client KSeF clients and token managers, open online
//! sessions for reuse, and when each client is next due.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ksef_client::online::OnlineSession;
use ksef_client::{ContextIdentifier, KsefClient, SecretString, TokenManager};
use tokio::sync::watch;

use super::limits::Limits;
use super::TurnError;
use crate::config::sender::SenderSettings;
use crate::db::models::Client;
use crate::domain::{ClientId, KsefSessionId, Nip};
use crate::service::ksef_login::LoginSource;
use crate::state::AppState;

/// The engine's modules lock through here.
pub use crate::locks::lock;

/// An online session kept open for the next invoices of the same client.
pub struct OpenOnline {
    pub session: OnlineSession,
    /// The `ksef_sessions` row.
    pub row_id: KsefSessionId,
    pub last_used: Instant,
}

/// One client's KSeF plumbing, rebuilt when its credential or environment changes.
pub struct ClientCtx {
    pub client_id: ClientId,
    pub nip: Nip,
    pub environment: String,
    /// The stored credential the token manager logs in with (the client's own or the office's).
    pub login: LoginSource,
    pub ksef: KsefClient,
    pub tokens: TokenManager,
    pub online: tokio::sync::Mutex<Option<OpenOnline>>,
    /// Fresh logins after a 401 since the last turn that went through.
    pub relogins: AtomicU32,
}

impl ClientCtx {
    /// A valid access token: the one in memory, else a refresh with the refresh token, else a
    /// full authentication. A refresh or a login waits for one of the few login slots, and each
    /// of its calls for room under the per-IP limit of KSeF's public endpoints, which all
    /// clients of this process share (the KSeF client asks `limits`: `Engine::ksef_for`);
    /// a 429 there holds back every public call of the process for its Retry-After.
    pub async fn access_token(&self, limits: &Limits) -> Result<SecretString, ksef_client::KsefError> {
        self.tokens.access_token_in_slot(|| limits.login_slot()).await.map(|(token, _)| token)
    }

    /// Whether this context holds tokens from KSeF (a turn then at most refreshes them).
    pub async fn logged_in(&self) -> bool {
        self.tokens.tokens().await.is_some()
    }
}

/// In-memory schedule of one client.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Not before this (backoff after a failed turn).
    pub next_turn: Instant,
    /// In-flight invoices are polled no earlier than this.
    pub next_poll: Instant,
    pub failures: u32,
    pub last_turn: Option<Instant>,
    /// KSeF's Retry-After: no turn before this, whoever asks.
    pub not_before: Instant,
    /// Wait before the next poll: short right after a send, doubling up to `status_poll_ms`.
    pub poll_every: Duration,
}

pub struct Engine {
    pub st: AppState,
    pub cfg: SenderSettings,
    /// Identifies this process in `sender_leases`.
    pub holder: String,
    /// The process's per-NIP limits, shared with requests that call KSeF themselves.
    pub limits: Arc<Limits>,
    pub stop: watch::Receiver<bool>,
    ksef_clients: Mutex<HashMap<String, KsefClient>>,
    clients: Mutex<HashMap<ClientId, Arc<ClientCtx>>>,
    pub running: Mutex<HashSet<ClientId>>,
    /// Turns started but still waiting for one of the `max_concurrent` slots.
    pub waiting_turns: AtomicUsize,
    /// Logins ahead of turns, per client.
    pub logins: Mutex<HashMap<ClientId, Ahead>>,
    /// The client leases this process holds, per client (`lease.rs`).
    pub leases: Mutex<HashMap<ClientId, Arc<tokio::sync::Mutex<Option<HeldLease>>>>>,
    pub schedule: Mutex<HashMap<ClientId, Schedule>>,
    /// Per client: purchase invoice bytes are not fetched before this (a limit or a failure).
    pub purchase_bytes: Mutex<HashMap<ClientId, Instant>>,
    /// Exports KSeF is still packing, per client and role, for the next sync step.
    pub purchase_exports:
        Mutex<HashMap<(ClientId, crate::domain::PurchaseRole), super::purchase::pending::PendingExport>>,
}

/// A login ahead of a client's turn (`login.rs`); here, with the map that holds it, so the
/// engine's state imports none of its steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ahead {
    Running,
    /// It did not end with tokens: the turn logs in itself and handles the refusal (a pause,
    /// a backoff), as for any login.
    Failed,
}

/// A client's lease in the database, held by this process for the tasks working the client now:
/// a turn and the login ahead it started under (`lease.rs` takes it for the first and gives it
/// back after the last). Here, with the map that holds it, as [`Ahead`].
pub struct HeldLease {
    /// Tasks holding it.
    pub users: usize,
    /// Set by the renewer when another process took the client over.
    pub lost: Arc<AtomicBool>,
    pub renewer: tokio::task::JoinHandle<()>,
}

impl Engine {
    pub fn new(st: AppState, stop: watch::Receiver<bool>) -> Self {
        let cfg = st.settings.sender.clone();
        Self {
            limits: st.ksef_limits.clone(),
            holder: format!("gw-{}-{}", std::process::id(), uuid::Uuid::now_v7().simple()),
            cfg,
            st,
            stop,
            ksef_clients: Mutex::new(HashMap::new()),
            clients: Mutex::new(HashMap::new()),
            running: Mutex::new(HashSet::new()),
            waiting_turns: AtomicUsize::new(0),
            logins: Mutex::new(HashMap::new()),
            leases: Mutex::new(HashMap::new()),
            schedule: Mutex::new(HashMap::new()),
            purchase_bytes: Mutex::new(HashMap::new()),
            purchase_exports: Mutex::new(HashMap::new()),
        }
    }

    pub fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Whether other clients' turns wait for a slot now (sending goes before purchase syncs).
    pub fn turns_waiting(&self) -> bool {
        self.waiting_turns.load(Ordering::SeqCst) > 0
    }

    /// One HTTP client per KSeF environment, shared by all its clients (connection reuse),
    /// pacing its calls to the public endpoints under the process's per-IP window.
    fn ksef_for(&self, environment: &str) -> Result<KsefClient, TurnError> {
        let mut map = lock(&self.ksef_clients);
        if let Some(c) = map.get(environment) {
            return Ok(c.clone());
        }
        let c = crate::ksef::client_for(environment, self.limits.clone())?;
        map.insert(environment.to_owned(), c.clone());
        Ok(c)
    }

    /// The client's context with a token manager for the credential it logs in with (its own,
    /// or the office's in the client's context); None when that credential is not stored (the
    /// caller pauses the client).
    pub async fn client_ctx(&self, client: &Client) -> Result<Option<Arc<ClientCtx>>, TurnError> {
        let opened = crate::service::credentials::open_login(&self.st, client)
            .await
            .map_err(|e| TurnError::Setup(format!("cannot open the stored KSeF credential: {e}")))?;
        let Some((login, credential)) = opened else { return Ok(None) };
        if let Some(ctx) = lock(&self.clients).get(&client.id) {
            if ctx.login == login && ctx.environment == client.ksef_environment {
                return Ok(Some(ctx.clone()));
            }
        }
        let ksef = self.ksef_for(&client.ksef_environment)?;
        let ctx = Arc::new(ClientCtx {
            client_id: client.id.clone(),
            nip: client.nip.clone(),
            environment: client.ksef_environment.clone(),
            login,
            tokens: TokenManager::with_credential(
                ksef.clone(),
                ContextIdentifier::nip(client.nip.as_str()),
                credential,
            ),
            ksef,
            online: tokio::sync::Mutex::new(None),
            relogins: AtomicU32::new(0),
        });
        lock(&self.clients).insert(client.id.clone(), ctx.clone());
        Ok(Some(ctx))
    }

    /// The cached context of one client, if any.
    pub fn cached_context(&self, client_id: &ClientId) -> Option<Arc<ClientCtx>> {
        lock(&self.clients).get(client_id).cloned()
    }

    /// Contexts that are cached (to close idle sessions).
    pub fn cached_contexts(&self) -> Vec<Arc<ClientCtx>> {
        lock(&self.clients).values().cloned().collect()
    }

    pub fn schedule_of(&self, client_id: &ClientId) -> Option<Schedule> {
        lock(&self.schedule).get(client_id).copied()
    }

    /// A person asked for fresh statuses: the client's next poll (and turn) is due now, a
    /// failure backoff cut short, but never before a 429's Retry-After (a turn would only sit
    /// in the penalty box holding a sender slot).
    pub fn poll_now(&self, client_id: &ClientId) {
        let now = Instant::now();
        if let Some(s) = lock(&self.schedule).get_mut(client_id) {
            let at = now.max(s.not_before);
            s.next_turn = s.next_turn.min(at);
            s.next_poll = at;
        }
    }

    /// The client just handed invoices to KSeF: poll soon, as a client waiting for its session
    /// would (KSeF may be done in well under `status_poll_ms`), then less and less often.
    pub fn sent(&self, client_id: &ClientId) {
        // The supervisor looks again when a poll falls due, so no tick bounds this from below.
        let first = Duration::from_millis(self.cfg.status_poll_ms) / 4;
        let mut map = lock(&self.schedule);
        self.entry(&mut map, client_id).poll_every = first;
    }

    /// How long the client's next poll waits after its turn ends.
    pub fn poll_interval(&self, client_id: &ClientId) -> Duration {
        let poll_max = Duration::from_millis(self.cfg.status_poll_ms);
        self.schedule_of(client_id).map_or(poll_max, |s| s.poll_every.min(poll_max))
    }

    fn entry<'a>(&self, map: &'a mut HashMap<ClientId, Schedule>, client_id: &ClientId) -> &'a mut Schedule {
        let now = Instant::now();
        map.entry(client_id.clone()).or_insert(Schedule {
            next_turn: now,
            next_poll: now,
            failures: 0,
            last_turn: None,
            not_before: now,
            poll_every: Duration::from_millis(self.cfg.status_poll_ms),
        })
    }

    /// Records the end of a turn: the next poll, and backoff when it failed.
    pub fn turn_finished(&self, client_id: &ClientId, failed: bool, extra_wait: Option<Duration>) {
        let now = Instant::now();
        let mut map = lock(&self.schedule);
        let s = self.entry(&mut map, client_id);
        s.last_turn = Some(now);
        s.failures = if failed { s.failures.saturating_add(1) } else { 0 };
        let backoff = if failed {
            super::backoff::delay(self.backoff_base(), self.backoff_max(), s.failures.saturating_sub(1))
        } else {
            Duration::ZERO
        };
        s.not_before = now + extra_wait.unwrap_or_default();
        let wait = backoff.max(extra_wait.unwrap_or_default());
        s.next_turn = now + wait;
        let poll_max = Duration::from_millis(self.cfg.status_poll_ms);
        s.next_poll = now + s.poll_every.min(poll_max).max(wait);
        s.poll_every = (s.poll_every * 2).min(poll_max);
    }

    pub fn backoff_base(&self) -> Duration {
        Duration::from_millis(self.cfg.backoff_base_ms)
    }

    pub fn backoff_max(&self) -> Duration {
        Duration::from_secs(self.cfg.backoff_max_s)
    }

    /// When an invoice that failed `attempts` times should be tried again.
    pub fn retry_at(&self, attempts: i64, at_least: Option<Duration>) -> chrono::NaiveDateTime {
        let n = u32::try_from(attempts.max(0)).unwrap_or(u32::MAX);
        let d = super::backoff::delay(self.backoff_base(), self.backoff_max(), n)
            .max(at_least.unwrap_or_default());
        crate::db::models::ids::now() + chrono::Duration::from_std(d).unwrap_or_default()
    }
}
