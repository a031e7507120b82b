//! The gateway's side of talking to KSeF: clients per stored environment, built the same way
//! everywhere.

use std::sync::Arc;
use std::time::Duration;

use ksef_client::{ClientOptions, Environment, KsefClient, KsefError, PublicPacer};
use url::Url;

/// A KSeF client for a stored environment (`test`, `demo`, `prod` or an API base URL) whose
/// calls to KSeF's public endpoints (`/auth/*`, `/security/*`…) wait their turn in `pacer`, the
/// process's [`crate::engine::Limits`]: KSeF limits those per IP, so a credential check in the
/// panel counts in the same window as the senders' logins and never draws a 429 for them.
pub fn client_for(environment: &str, pacer: Arc<dyn PublicPacer>) -> Result<KsefClient, KsefError> {
    let options = ClientOptions {
        timeout: Duration::from_secs(30),
        user_agent: format!("ksef-gateway/{}", env!("CARGO_PKG_VERSION")),
        ..ClientOptions::default()
    };
    Ok(KsefClient::new(Environment::parse(environment)?, options)?.with_public_pacer(pacer))
}

/// Where the verification links (QR codes) of a stored environment point; no call is made.
pub fn qr_base(environment: &str) -> Result<Url, KsefError> {
    Ok(Environment::parse(environment)?.qr_base())
}
