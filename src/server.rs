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
use crate::service::master_key::{self, KeyCheckError};
use crate::state::AppState;
use crate::vault::Keyring;

/// Registers state, middleware and every route on an actix `App`.
pub fn configure(state: AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        let payload = web::PayloadConfig::new(state.settings.intake.max_upload_bytes);
        let metrics_here = state.settings.metrics.listen.is_none();
        cfg.app_data(web::Data::new(state))
            .app_data(json_config())
            .app_data(query_config())
            .app_data(path_config())
            .app_data(payload);
        if metrics_here {
            // Ahead of the scope, outside `authenticate`: its bearer token is not an API key.
            cfg.service(http::health::metrics);
        }
        cfg.service(
            web::scope("")
                .configure(http::routes)
                .default_service(web::to(http::fallback))
                .wrap(from_fn(http::panel::with_layout))
                .wrap(from_fn(http::authenticate::authenticate))
                .wrap(middleware::security_headers())
                .wrap(from_fn(middleware::observe))
                .wrap(TracingLogger::default()),
        );
    }
}

/// The app of the separate metrics listener (`metrics.listen`): `/metrics` and nothing else.
pub fn configure_metrics(state: AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::new(state))
            .service(http::health::metrics)
            .default_service(web::to(http::fallback));
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

/// And path segments that do not parse.
fn path_config() -> web::PathConfig {
    web::PathConfig::default()
        .error_handler(|err, _req| AppError::bad_query(format!("path parameter: {err}")).into())
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
    /// The master key cannot be used with this database (missing, or does not open its data).
    #[error("{0}")]
    MasterKey(String),
    #[error("{0}")]
    Command(String),
}

impl StartError {
    /// 2 for configuration mistakes (the user must fix a setting or the master key file), 1 for
    /// everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Config(_) | Self::Vault(_) | Self::MasterKey(_) => 2,
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
    let keys = master_keys(&settings, &db)?;
    let fa3 = ksef_fa3::Fa3Schema::load().map_err(|e| StartError::Command(format!("FA(3) schema: {e}")))?;
    Ok(AppState::new(settings, db, keys, fa3)?)
}

/// The vault's keys, checked against the database before anything is served: a key is generated
/// only when the key file is missing and the database holds nothing sealed, and a key that does
/// not open the database's sealed data stops the start (exit code 2, naming the key's source).
fn master_keys(settings: &Settings, db: &Db) -> Result<Keyring, StartError> {
    let file = &settings.vault.master_key_file;
    let inline = settings.vault.master_key.as_ref();
    let keys = if inline.is_none() && !file.exists() {
        if master_key::sealed_data_exists(db)? {
            return Err(StartError::MasterKey(format!(
                "master key file {} is missing, but the database holds credentials sealed with a master key; \
                 restore the file from your backup (a new key would not open them)",
                file.display()
            )));
        }
        Keyring::create(file)?
    } else {
        Keyring::load(file, inline)?
    };
    keys.warn_if_exposed();
    let source = match keys.file() {
        Some(path) => format!("master key file {}", path.display()),
        None => "vault.master_key".to_owned(),
    };
    master_key::verify_at_start(db, &keys).map_err(|e| match e {
        KeyCheckError::Db(e) => StartError::Database(e),
        KeyCheckError::WrongKey(why) => StartError::MasterKey(format!(
            "{source} is not the key this database was sealed with: {why}; restore the right key file"
        )),
    })?;
    Ok(keys)
}

/// Serves until SIGINT/SIGTERM, then drains within `server.shutdown_timeout_s`: the listener
/// closes at once (the load balancer's next attempt goes to another replica), in-flight
/// requests get the bound to finish, and at the same time the sending engine stops taking new
/// turns, lets running ones end (they release their leases) and closes its online sessions.
/// Turns still running at the bound are abandoned; their leases expire by themselves, so
/// another replica takes the clients over without a double send.
pub async fn run(state: AppState, listener: TcpListener) -> std::io::Result<()> {
    let metrics = match state.settings.metrics.listen {
        Some(addr) => Some(TcpListener::bind(addr).map_err(|e| {
            std::io::Error::new(e.kind(), format!("metrics.listen: cannot listen on {addr}: {e}"))
        })?),
        None => None,
    };
    run_with_metrics(state, listener, metrics).await
}

/// [`run`] with the metrics listener already bound (tests bind port 0 and read the address).
pub async fn run_with_metrics(
    state: AppState,
    listener: TcpListener,
    metrics: Option<TcpListener>,
) -> std::io::Result<()> {
    let shutdown = state.settings.server.shutdown_timeout_s;
    let workers = state.settings.server.workers;
    let engine = state.settings.sender.enabled.then(|| crate::engine::start(state.clone()));
    let webhooks = state.settings.webhooks.enabled.then(|| crate::webhooks::start(state.clone()));
    let (stop_latarnia, latarnia_stopped) = tokio::sync::watch::channel(false);
    let every = std::time::Duration::from_secs(state.settings.sender.latarnia_poll_s);
    let latarnia =
        tokio::spawn(crate::service::latarnia::watch_latarnia(state.clone(), every, latarnia_stopped));
    let metrics_server = match metrics {
        Some(listener) => {
            tracing::info!(listen = ?listener.local_addr().ok(), "Serving /metrics on a separate listener");
            let state = state.clone();
            let server = HttpServer::new(move || App::new().configure(configure_metrics(state.clone())))
                .workers(1)
                .shutdown_timeout(shutdown)
                .disable_signals()
                .listen(listener)?
                .run();
            Some(server)
        }
        None => None,
    };
    let metrics_handle = metrics_server.as_ref().map(actix_web::dev::Server::handle);
    let metrics_task = metrics_server.map(tokio::spawn);
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
    // Metrics stay scrapeable through the drain and stop last.
    if let Some(handle) = metrics_handle {
        handle.stop(true).await;
    }
    if let Some(task) = metrics_task {
        let _ = task.await;
    }
    let _ = stop_latarnia.send(true);
    let _ = latarnia.await;
    // Attempts in flight are bounded by webhooks.timeout_ms; one cut short leaves a claim that
    // expires, and the delivery is sent again (at least once).
    if let Some(webhooks) = webhooks {
        let bound = Duration::from_secs(shutdown);
        if tokio::time::timeout(bound, webhooks.stop()).await.is_err() {
            tracing::warn!(timeout_s = shutdown, "Webhook attempts still running at the shutdown bound were abandoned; their claims expire and they are sent again");
        }
    }
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
