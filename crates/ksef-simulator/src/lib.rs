//! A KSeF 2.0 API simulator: a real HTTP server speaking the official API under `/v2`
//! (public-key certificates, KSeF-token auth, online and batch sessions with real decryption,
//! FA(3) validation, duplicates, asynchronous statuses, KSeF numbers, UPO, metadata queries,
//! token management, rate limits and fault injection), with in-memory state.
//!
//! Simulator-only routes: `/sim/storage/*` (pre-signed UPO and export part downloads, batch
//! uploads), `/sim/admin/*` (faults, counters, received invoices from outside sellers) and `/latarnia/status`, `/latarnia/messages` (the separate
//! "Latarnia" status service of KSeF, served on the same port).

mod app;
mod args;
mod certificates;
mod certs;
mod collective;
mod config;
mod counters;
mod crypto;
mod errors;
mod export;
mod faults;
mod http;
mod ids;
mod jwt;
mod limits;
mod package;
mod podmiot3;
mod process;
mod purchase;
mod query;
mod routes;
mod state;
mod time;
mod upo;
mod validate;
mod xades;

use std::sync::Arc;

use actix_web::{App, HttpServer};
use chrono::Utc;

pub use args::SimulatorArgs;
pub use config::{SeededToken, SimulatorConfig};
pub use counters::{Counters, NipCounters};
pub use faults::{CloseFault, FaultHandle, FaultSettings, Outage, OutageScope};
pub use ids::{collective_identifier_is_valid, crc8, ksef_number_is_valid};
pub use purchase::{OutsideThirdSubject, ReceivedInvoices};

use app::AppState;
use state::KsefTokenRec;

/// A simulator serving in the background.
pub struct RunningSimulator {
    state: Arc<AppState>,
    base_url: String,
    root_cert: Option<Vec<u8>>,
    handle: actix_web::dev::ServerHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Starts a simulator on `listener` (bind `127.0.0.1:0` in tests) and returns once it accepts requests.
pub async fn start(
    config: SimulatorConfig,
    listener: std::net::TcpListener,
) -> anyhow::Result<RunningSimulator> {
    listener.set_nonblocking(true)?;
    let port = listener.local_addr()?.port();
    let tls = if config.tls { Some(certs::TlsMaterial::generate()?) } else { None };
    let origin =
        if tls.is_some() { format!("https://localhost:{port}") } else { format!("http://127.0.0.1:{port}") };
    let public_base =
        config.public_base_url.clone().unwrap_or_else(|| origin.clone()).trim_end_matches('/').to_owned();
    let keys = tokio::task::spawn_blocking(certs::KeyMaterial::generate).await??;
    let workers = if config.workers == 0 { 2 } else { config.workers };
    let seeded = config.tokens.clone();
    let state = Arc::new(AppState::new(config, keys, public_base)?);
    for t in &seeded {
        add_token(&state, &t.nip, &t.token, &t.permissions);
    }
    let routes = http::configure(state.clone());
    let server = HttpServer::new(move || App::new().configure(routes.clone()))
        .workers(workers)
        .disable_signals()
        .shutdown_timeout(1);
    let server = match &tls {
        Some(material) => server.listen_rustls_0_23(listener, material.server_config()?)?,
        None => server.listen(listener)?,
    }
    .run();
    let handle = server.handle();
    let task = tokio::spawn(server);
    Ok(RunningSimulator {
        state,
        base_url: format!("{origin}/v2"),
        root_cert: tls.map(|t| t.cert_der),
        handle,
        task,
    })
}

fn add_token(state: &AppState, nip: &str, token: &str, permissions: &[String]) {
    let now = Utc::now();
    state.db.lock().tokens.insert(
        token.to_owned(),
        KsefTokenRec {
            reference: ids::reference_number("EC", now),
            nip: nip.to_owned(),
            permissions: permissions.to_vec(),
            description: "Token dodany przy starcie symulatora".to_owned(),
            created: now,
            last_use: None,
            status: "Active",
        },
    );
}

impl RunningSimulator {
    /// API base, e.g. `http://127.0.0.1:PORT/v2` or `https://localhost:PORT/v2` with TLS.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The self-signed TLS certificate (DER) when serving HTTPS.
    pub fn root_cert_der(&self) -> Option<Vec<u8>> {
        self.root_cert.clone()
    }

    /// Registers a KSeF token for `nip` with `permissions`.
    pub fn add_token(&self, nip: &str, token: &str, permissions: &[&str]) {
        let perms: Vec<String> = permissions.iter().map(|p| (*p).to_owned()).collect();
        add_token(&self.state, nip, token, &perms);
    }

    /// Lets `authorized_nip` (e.g. an accounting office) act in the context of `context_nip` with
    /// `permissions`, as `POST /testdata/permissions` does: its tokens and certificates then log
    /// in there.
    pub fn grant(&self, context_nip: &str, authorized_nip: &str, permissions: &[&str]) {
        let mut db = self.state.db.lock();
        let held = db.granted.entry((context_nip.to_owned(), authorized_nip.to_owned())).or_default();
        held.extend(permissions.iter().map(|p| (*p).to_owned()));
    }

    /// Snapshot of the counters.
    pub fn counters(&self) -> Counters {
        self.state.counters.snapshot()
    }

    /// Revokes a KSeF token (logins with it end in 450 from now on).
    pub fn revoke_token(&self, token: &str) {
        if let Some(t) = self.state.db.lock().tokens.get_mut(token) {
            t.status = "Revoked";
        }
    }

    /// SHA-256 hashes of the invoices of `nip` KSeF holds as accepted: a hash listed twice
    /// would be one invoice delivered twice.
    pub fn accepted_hashes(&self, nip: &str) -> Vec<String> {
        self.state.db.lock().accepted_hashes(nip)
    }

    /// Stores accepted invoices an outside seller issued (simulator test data, not KSeF's API; see
    /// [`ReceivedInvoices`]); returns their KSeF numbers in order. Nothing is stored on error.
    pub fn add_received_invoices(&self, invoices: &ReceivedInvoices) -> Result<Vec<String>, String> {
        purchase::add(&self.state, invoices)
    }

    /// The collective identifiers (IZ) created in `context`, oldest first, each with the KSeF
    /// numbers of its invoices: what KSeF holds, for tests to compare with.
    pub fn collective_identifiers(&self, context: &str) -> Vec<(String, Vec<String>)> {
        let db = self.state.db.lock();
        db.collective
            .all
            .iter()
            .filter(|c| c.context == context)
            .map(|c| (c.number.clone(), c.invoices.iter().map(|m| m.ksef_number.clone()).collect()))
            .collect()
    }

    /// Handle to script faults.
    pub fn faults(&self) -> FaultHandle {
        FaultHandle { state: self.state.clone() }
    }

    /// Stops serving (in-flight requests get a second to finish).
    pub async fn stop(mut self) {
        self.handle.stop(true).await;
        let _ = (&mut self.task).await;
    }
}

/// A simulator that is dropped without `stop()` still shuts its worker threads down.
impl Drop for RunningSimulator {
    fn drop(&mut self) {
        // The stop command is sent when `stop` is called; its future only waits for completion.
        drop(self.handle.stop(false));
    }
}

/// Runs a simulator until Ctrl-C or SIGTERM.
pub async fn run(args: SimulatorArgs) -> anyhow::Result<()> {
    let listener = std::net::TcpListener::bind(args.listen)?;
    let sim = start(args.to_config(), listener).await?;
    if let (Some(path), Some(der)) = (&args.cert_out, sim.root_cert_der()) {
        std::fs::write(path, der)?;
    }
    tracing::info!(base_url = %sim.base_url(), "KSeF simulator listening");
    println!("KSeF simulator listening on {}", sim.base_url());
    shutdown_signal().await;
    sim.stop().await;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
