//! Building and running the HTTP server; the same wiring serves `serve`, `demo` and tests.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpResponse, HttpServer};
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
        cfg.app_data(web::Data::new(state)).app_data(json_config()).app_data(payload).service(
            web::scope("")
                .configure(http::routes)
                .default_service(web::to(not_found))
                .wrap(from_fn(http::panel::with_layout))
                .wrap(from_fn(http::auth::authenticate))
                .wrap(middleware::security_headers())
                .wrap(from_fn(middleware::observe))
                .wrap(TracingLogger::default()),
        );
    }
}

/// Malformed JSON bodies get the same error shape as everything else.
fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(1 << 20)
        .error_handler(|err, _req| AppError::invalid(format!("invalid JSON body: {err}")).into())
}

async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
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

/// Serves until SIGINT/SIGTERM, then lets in-flight requests finish within the shutdown timeout.
/// The sending engine runs alongside (unless `sender.enabled` is false) and stops after the
/// HTTP server, finishing its current turns.
pub async fn run(state: AppState, listener: TcpListener) -> std::io::Result<()> {
    let shutdown = state.settings.server.shutdown_timeout_s;
    let workers = state.settings.server.workers;
    let engine = state.settings.sender.enabled.then(|| crate::engine::start(state.clone()));
    let (stop_latarnia, latarnia_stopped) = tokio::sync::watch::channel(false);
    let every = std::time::Duration::from_secs(state.settings.sender.latarnia_poll_s);
    let latarnia =
        tokio::spawn(crate::service::availability::watch_latarnia(state.clone(), every, latarnia_stopped));
    let mut server = HttpServer::new(move || App::new().configure(configure(state.clone())))
        .shutdown_timeout(shutdown)
        .listen(listener)?;
    if workers > 0 {
        server = server.workers(workers);
    }
    let served = server.run().await;
    let _ = stop_latarnia.send(true);
    let _ = latarnia.await;
    if let Some(engine) = engine {
        engine.stop().await;
    }
    served
}
