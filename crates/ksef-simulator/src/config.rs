//! Configuration of an embedded or stand-alone simulator.

use std::fmt;
use std::time::Duration;

/// Everything a simulator instance needs to know at start.
#[derive(Clone, Debug, Default)]
pub struct SimulatorConfig {
    /// KSeF tokens known from the start (more can be added at run time).
    pub tokens: Vec<SeededToken>,
    /// Latency added to every request (fault injection).
    pub latency: Duration,
    /// Share of requests (0.0..=1.0) answered with a random 5xx.
    pub fault_rate: f64,
    /// How long an invoice (and an auth operation) stays in 100/150 before its final status shows.
    pub processing_delay: Duration,
    /// Serve HTTPS with a self-signed certificate for `localhost`.
    pub tls: bool,
    /// Base URL used in pre-signed links (UPO download, batch upload), e.g. `http://sim.local:8080`.
    /// Defaults to the address the listener is bound to.
    pub public_base_url: Option<String>,
    /// Multiplier applied to KSeF's published rate limits; 0 means the default 1.0.
    pub rate_limit_scale: f64,
    /// HTTP worker threads; 0 means 2.
    pub workers: usize,
    /// How long after acceptance an invoice reaches permanent storage (`permanentStorageDate`);
    /// the high-water mark trails now by the same margin. Default 0.
    pub permanent_storage_lag: Duration,
    /// Largest export package part before encryption; 0 means KSeF's 50 MB.
    pub export_part_size: usize,
    /// How long an export's status is kept (then 410); 0 means KSeF's 7 days.
    pub export_retention: Duration,
}

impl SimulatorConfig {
    /// The effective rate-limit multiplier.
    pub fn effective_rate_limit_scale(&self) -> f64 {
        if self.rate_limit_scale > 0.0 {
            self.rate_limit_scale
        } else {
            1.0
        }
    }
}

impl SimulatorConfig {
    /// Export part size in force.
    pub fn effective_export_part_size(&self) -> usize {
        if self.export_part_size > 0 {
            self.export_part_size
        } else {
            50 * 1024 * 1024
        }
    }

    /// Export status retention in force.
    pub fn effective_export_retention(&self) -> Duration {
        if self.export_retention.is_zero() {
            Duration::from_secs(7 * 24 * 3600)
        } else {
            self.export_retention
        }
    }
}

/// A KSeF token that authenticates in the context of `nip` with `permissions`.
#[derive(Clone, PartialEq, Eq)]
pub struct SeededToken {
    /// Context NIP the token belongs to.
    pub nip: String,
    /// The secret token value as a client would send it (before encryption).
    pub token: String,
    /// Permission names: `InvoiceWrite`, `InvoiceRead`, `CredentialsManage`, `CredentialsRead`, `Introspection`, ...
    pub permissions: Vec<String>,
}

impl SeededToken {
    /// Parses `NIP:TOKEN[:PERM,PERM...]`; without permissions the token gets `InvoiceWrite,InvoiceRead`.
    /// The token itself may contain `|` but not `:`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut parts = spec.splitn(3, ':');
        let nip = parts.next().unwrap_or_default().trim().to_owned();
        let token = parts.next().unwrap_or_default().trim().to_owned();
        if nip.len() != 10 || !nip.bytes().all(|b| b.is_ascii_digit()) {
            return Err("expected NIP:TOKEN[:PERM,...] with a 10-digit NIP".to_owned());
        }
        if token.is_empty() {
            return Err("empty token in NIP:TOKEN[:PERM,...]".to_owned());
        }
        let permissions = match parts.next() {
            Some(list) => list.split(',').map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect(),
            None => vec!["InvoiceWrite".to_owned(), "InvoiceRead".to_owned()],
        };
        Ok(Self { nip, token, permissions })
    }
}

/// Redacts the token: it is a credential.
impl fmt::Debug for SeededToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeededToken")
            .field("nip", &self.nip)
            .field("token", &"<redacted>")
            .field("permissions", &self.permissions)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::SeededToken;

    #[test]
    fn parses_token_specs() {
        let t = SeededToken::parse("5265877635:abc|def:InvoiceWrite,CredentialsManage").ok();
        let t = t.as_ref();
        assert_eq!(t.map(|t| t.token.as_str()), Some("abc|def"));
        assert_eq!(t.map(|t| t.permissions.len()), Some(2));
        let d = SeededToken::parse("5265877635:x").ok();
        assert_eq!(d.map(|t| t.permissions), Some(vec!["InvoiceWrite".to_owned(), "InvoiceRead".to_owned()]));
        assert!(SeededToken::parse("123:x").is_err());
        assert!(SeededToken::parse("5265877635:").is_err());
        assert!(!format!("{:?}", SeededToken::parse("5265877635:secret").ok()).contains("secret"));
    }
}
