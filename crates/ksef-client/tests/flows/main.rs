//! End-to-end flows over real HTTP against the in-process KSeF simulator.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod auth;
mod certificates;
mod collective;
mod currency;
mod listing;
mod purchase;
mod reading;
mod sessions;
mod xades;

use std::time::Duration;

use ksef_client::batch::{BatchInvoice, BatchOptions};
use ksef_client::ksef_number::KsefNumber;
use ksef_client::models::query::{DateRange, DateType, InvoiceQueryFilters, SubjectType};
use ksef_client::online::SendOptions;
use ksef_client::query::SortOrder;
use ksef_client::{
    ClientOptions, ContextIdentifier, Environment, ErrorClass, FormCode, KsefClient, KsefError, PollOptions,
    SecretString, TokenManager, TokenRenewal,
};
use ksef_simulator::{RunningSimulator, SimulatorConfig};

pub const SELLER: &str = "9999999999";
pub const TOKEN: &str = "20251010-EC-1DCE3E3000-12ECB5B36E-45|nip-9999999999|919f704466624ce29cd5ac7b65ded5e7cccc112eee314f2aaa76e02cd16df7b9";

pub const BUYER: &str = "1111111111";
pub const BUYER_TOKEN: &str = "20251010-EC-2DCE3E3000-12ECB5B36E-45|nip-1111111111|aa9f704466624ce29cd5ac7b65ded5e7cccc112eee314f2aaa76e02cd16df7b9";

pub fn sample(n: u32) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/examples/FA_3_Przyklad_{n}.xml", env!("CARGO_MANIFEST_DIR")))
        .unwrap()
}

pub struct Setup {
    pub sim: RunningSimulator,
    pub client: KsefClient,
}

pub async fn setup(config: SimulatorConfig) -> Setup {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let sim = ksef_simulator::start(config, listener).await.unwrap();
    sim.add_token(SELLER, TOKEN, &["InvoiceWrite", "InvoiceRead", "CredentialsManage"]);
    let lighthouse = sim.base_url().trim_end_matches("/v2").to_owned() + "/latarnia";
    let options = ClientOptions {
        lighthouse_base: Some(lighthouse),
        extra_root_certs_der: sim.root_cert_der().into_iter().collect(),
        only_extra_roots: sim.root_cert_der().is_some(),
        timeout: Duration::from_secs(20),
        poll: PollOptions {
            initial_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
            budget: Duration::from_secs(20),
        },
        ..ClientOptions::default()
    };
    let env = Environment::parse(&sim.base_url()).unwrap();
    let client = KsefClient::new(env, options).unwrap();
    Setup { sim, client }
}

pub fn fast_limits() -> SimulatorConfig {
    SimulatorConfig { rate_limit_scale: 1000.0, ..SimulatorConfig::default() }
}

pub fn token() -> SecretString {
    SecretString::from(TOKEN)
}

pub async fn login(s: &Setup) -> SecretString {
    let tokens =
        s.client.authenticate_with_ksef_token(&ContextIdentifier::nip(SELLER), &token()).await.unwrap();
    assert!(tokens.access_token.valid_until > chrono::Utc::now());
    tokens.access_token.token
}
