//! Command-line arguments of `ksef-gateway simulator`.

use std::net::SocketAddr;
use std::time::Duration;

use crate::config::{SeededToken, SimulatorConfig};

/// `ksef-gateway simulator ...`: a KSeF 2.0 API simulator (in-memory).
#[derive(clap::Args, Clone, Debug)]
pub struct SimulatorArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8090", env = "KSEF_SIM_LISTEN")]
    pub listen: SocketAddr,
    /// A KSeF token: NIP:TOKEN[:PERM,...] (repeatable; default permissions InvoiceWrite,InvoiceRead).
    #[arg(long = "token", value_parser = SeededToken::parse)]
    pub tokens: Vec<SeededToken>,
    /// Latency added to every API request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Share of API requests (0..1) answered with a random 5xx.
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate: f64,
    /// Serve HTTPS with a self-signed certificate for localhost.
    #[arg(long)]
    pub tls: bool,
    /// With --tls: write the self-signed certificate (DER) to this file for clients to trust.
    #[arg(long)]
    pub cert_out: Option<std::path::PathBuf>,
    /// Public base URL for pre-signed links (default: the listen address).
    #[arg(long)]
    pub public_url: Option<String>,
    /// Time an invoice stays in 100/150 before its final status, in milliseconds.
    #[arg(long, default_value_t = 500)]
    pub processing_delay_ms: u64,
    /// Multiplier for KSeF's published rate limits (benchmarks set it high).
    #[arg(long, default_value_t = 1.0)]
    pub rate_limit_scale: f64,
    /// HTTP worker threads.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Time from acceptance to permanent storage (and the lag of the high-water mark), in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub storage_lag_ms: u64,
}

impl SimulatorArgs {
    /// The configuration these arguments describe.
    pub fn to_config(&self) -> SimulatorConfig {
        SimulatorConfig {
            tokens: self.tokens.clone(),
            latency: Duration::from_millis(self.latency_ms),
            fault_rate: self.fault_rate,
            processing_delay: Duration::from_millis(self.processing_delay_ms),
            tls: self.tls,
            public_base_url: self.public_url.clone(),
            rate_limit_scale: self.rate_limit_scale,
            workers: self.workers,
            permanent_storage_lag: Duration::from_millis(self.storage_lag_ms),
            ..SimulatorConfig::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::SimulatorArgs;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: SimulatorArgs,
    }

    #[test]
    fn parses_the_documented_flags() {
        let cli = Cli::try_parse_from([
            "simulator",
            "--listen",
            "127.0.0.1:9000",
            "--token",
            "9999999999:secret:InvoiceWrite",
            "--token",
            "1111111111:other",
            "--latency-ms",
            "5",
            "--fault-rate",
            "0.1",
            "--tls",
            "--processing-delay-ms",
            "0",
            "--rate-limit-scale",
            "100",
        ]);
        let config = cli.map(|c| c.args.to_config()).ok();
        let config = config.as_ref();
        assert_eq!(config.map(|c| c.tokens.len()), Some(2));
        assert_eq!(config.map(|c| c.tls), Some(true));
        assert_eq!(config.map(|c| c.latency.as_millis()), Some(5));
        assert_eq!(config.map(|c| c.effective_rate_limit_scale()), Some(100.0));
        assert!(Cli::try_parse_from(["simulator", "--token", "bad"]).is_err());
    }
}
