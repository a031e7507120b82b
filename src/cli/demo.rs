//! `ksef-gateway demo`: the gateway on SQLite in a demo data directory, ready to look at.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;

use crate::config::{Settings, Sources};
use crate::server::{self, StartError};

pub fn run(mut sources: Sources) -> Result<(), StartError> {
    if sources.data_dir.is_none() {
        sources.data_dir = Some(PathBuf::from("./data/demo"));
    }
    let listen = sources.listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
    sources.listen = Some(listen);
    let settings = Settings::load(&sources)?;
    crate::telemetry::init(&settings.log);
    let state = server::bootstrap(settings)?;
    let listener = TcpListener::bind(listen)
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {listen}: {e}")))?;
    let base = format!("http://{}", listener.local_addr()?);
    println!("ksef-gateway demo");
    println!("  database:  {}", state.db.describe());
    println!("  health:    {base}/healthz");
    println!("  readiness: {base}/readyz");
    println!("  metrics:   {base}/metrics");
    println!("Press Ctrl-C to stop.");
    actix_web::rt::System::new().block_on(server::run(state, listener))?;
    Ok(())
}
