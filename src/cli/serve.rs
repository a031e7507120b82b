//! `ksef-gateway serve`: the production server.

use std::net::TcpListener;

use crate::config::Settings;
use crate::server::{self, StartError};

pub fn run(settings: Settings) -> Result<(), StartError> {
    let listen = settings.server.listen;
    let state = server::bootstrap(settings)?;
    let listener = TcpListener::bind(listen)
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {listen}: {e}")))?;
    tracing::info!(listen = %listen, database = %state.db.describe(), "ksef-gateway serving on http://{listen}");
    actix_web::rt::System::new().block_on(server::run(state, listener))?;
    Ok(())
}
