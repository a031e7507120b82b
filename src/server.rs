//! Building and running the HTTP server; the same wiring serves `serve`, `demo` and tests.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use tracing_actix_web::TracingLogger;

use crate::config::Settings;
use crate::db::{run_migrations, Db, DbError, DbUrl};
use crate::error::AppError;
use crate::http::{self, middleware};
use crate::state::AppState;
use crate::vault::Keyring;

/// Registers state, middleware and every route on an actix `App`.
pub fn configure(state: AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        let payload = web::PayloadConfig::new(state.settings.intake.max_upload_bytes);
        cfg.app_data(web::Data::new(state))
            .app_data(json_config())
            .app_data(query_config())
            .app_data(payload)
            .service(
                web::scope("")
                    .configure(http::routes)
                    .default_service(web::to(http::fallback))
                    .wrap(from_fn(http::auth::authenticate))
                    .wrap(middleware::security_headers())
                    .wrap(from_fn(middleware::observe))
                    .wrap(TracingLogger::default()),
            );
    }
}

/// Malformed JSON bodies get the same error shape as everything else; one over the limit is
/// a 413 like any other body that is too large.
fn json_config() -> web::JsonConfig {
    web::JsonConfig::default().limit(1 << 20).error_handler(|err, _req| match err {
        actix_web::error::JsonPayloadError::Overflow { limit }
        | actix_web::error::JsonPayloadError::OverflowKnownLength { limit, .. } => {
            AppError::TooLarge(format!("JSON body over {limit} bytes")).into()
        }
        other => AppError::invalid(format!("invalid JSON body: {other}")).into(),
    })
}

/// A query string that does not fit the route (an unknown parameter, `limit=abc`) is a 400
/// in the API's error shape, naming what was wrong.
fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|err, _req| AppError::bad_query(format!("query string: {err}")).into())
}

/// Why the gateway could not start; each maps to a distinct exit code.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("{0}")]
    Database(#[from] DbError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Vault(#[from] crate::vault::KeyringError),
    #[error("{0}")]
    Command(String),
}

impl StartError {
    /// 2 for configuration mistakes (the user must fix a setting), 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Config(_) => 2,
            _ => 1,
        }
    }
}

/// Opens (and by default migrates) the database and builds the application state.
pub fn bootstrap(settings: Settings) -> Result<AppState, StartError> {
    settings.ensure_data_dir()?;
    let url = DbUrl::parse(&settings.database.url)
        .map_err(|e| crate::config::ConfigError(format!("database.url: {e}")))?;
    let db = Db::connect(
        &url,
        settings.database.pool_size,
        Duration::from_millis(settings.database.pool_timeout_ms),
    )?;
    if settings.database.migrate_on_start {
        let applied = run_migrations(&db)?;
        if !applied.is_empty() {
            tracing::info!(migrations = ?applied, "Applied {} database migrations", applied.len());
        }
    }
    let keys = Keyring::load(&settings.vault.master_key_file, settings.vault.master_key.as_ref())?;
    let fa3 = ksef_fa3::Fa3Schema::load().map_err(|e| StartError::Command(format!("FA(3) schema: {e}")))?;
    Ok(AppState::new(settings, db, keys, fa3)?)
}

/// Serves until SIGINT/SIGTERM, then drains within `server.shutdown_timeout_s`: the listener
/// closes at once (the load balancer's next attempt goes to another replica), in-flight
/// requests get the bound to finish, and at the same time the sending engine stops taking new
/// turns, lets running ones end (they release their leases) and closes its online sessions.
/// Turns still running at the bound are abandoned; their leases expire by themselves, so
/// another replica takes the clients over without a double send.
pub async fn run(state: AppState, listener: TcpListener) -> std::io::Result<()> {
    let shutdown = state.settings.server.shutdown_timeout_s;
    let workers = state.settings.server.workers;
    let engine = state.settings.sender.enabled.then(|| crate::engine::start(state.clone()));
    let (stop_latarnia, latarnia_stopped) = tokio::sync::watch::channel(false);
    let every = std::time::Duration::from_secs(state.settings.sender.latarnia_poll_s);
    let latarnia =
        tokio::spawn(crate::service::availability::watch_latarnia(state.clone(), every, latarnia_stopped));
    // actix would handle the signals itself but stop only the HTTP side; the engine must start
    // draining at the same moment, not after the HTTP drain, to fit in one bound.
    let mut server = HttpServer::new(move || App::new().configure(configure(state.clone())))
        .shutdown_timeout(shutdown)
        .disable_signals()
        .listen(listener)?;
    if workers > 0 {
        server = server.workers(workers);
    }
    let server = server.run();
    let handle = server.handle();
    let mut http = actix_web::rt::spawn(server);
    let served = tokio::select! {
        signal = shutdown_signal() => {
            tracing::info!(signal, timeout_s = shutdown, "Shutting down: no new connections, draining requests and sender turns");
            let drain_engine = async {
                if let Some(engine) = engine {
                    let bound = Duration::from_secs(shutdown);
                    if tokio::time::timeout(bound, engine.stop()).await.is_err() {
                        tracing::warn!(timeout_s = shutdown, "Sender turns still running at the shutdown bound were abandoned; their leases expire by themselves");
                    }
                }
            };
            let (_, served) = tokio::join!(drain_engine, async {
                handle.stop(true).await;
                (&mut http).await
            });
            served
        }
        served = &mut http => {
            if let Some(engine) = engine {
                engine.stop().await;
            }
            served
        }
    };
    let _ = stop_latarnia.send(true);
    let _ = latarnia.await;
    tracing::info!("Stopped");
    served.map_err(|e| std::io::Error::other(format!("server task: {e}")))?
}

/// Resolves with the name of the first SIGTERM (orchestrators) or SIGINT (Ctrl-C) received.
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "SIGINT",
            },
            Err(e) => {
                tracing::warn!(error = %e, "Cannot listen for SIGTERM; only Ctrl-C stops the server");
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}
