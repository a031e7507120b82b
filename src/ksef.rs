//! The gateway's side of talking to KSeF: clients per stored environment, built the same way
//! everywhere.

use std::time::Duration;

use ksef_client::{ClientOptions, Environment, KsefClient, KsefError};

/// A KSeF client for a stored environment (`test`, `demo`, `prod` or an API base URL).
pub fn client_for(environment: &str) -> Result<KsefClient, KsefError> {
    let options = ClientOptions {
        timeout: Duration::from_secs(30),
        user_agent: format!("ksef-gateway/{}", env!("CARGO_PKG_VERSION")),
        ..ClientOptions::default()
    };
    KsefClient::new(Environment::parse(environment)?, options)
}
