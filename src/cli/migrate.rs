//! `ksef-gateway migrate`: apply pending migrations and report what was applied.

use std::time::Duration;

use crate::config::Settings;
use crate::db::{applied_migrations, run_migrations, Db, DbUrl};
use crate::server::StartError;

pub fn run(settings: Settings) -> Result<(), StartError> {
    settings.ensure_data_dir()?;
    let url = DbUrl::parse(&settings.database.url)
        .map_err(|e| crate::config::ConfigError(format!("database.url: {e}")))?;
    let db = Db::connect(&url, 1, Duration::from_millis(settings.database.pool_timeout_ms))?;
    let applied = run_migrations(&db)?;
    let all = applied_migrations(&db)?;
    if applied.is_empty() {
        println!("{}: up to date ({} migrations applied)", db.describe(), all.len());
    } else {
        for v in &applied {
            println!("applied {v}");
        }
        println!("{}: {} migrations applied now, {} in total", db.describe(), applied.len(), all.len());
    }
    Ok(())
}
