//! Layered configuration: compiled defaults, then a TOML file, then `KSEF_GW__SECTION__KEY`
//! environment variables, then command-line flags. Validated once at start and passed in as
//! state; nothing reads configuration from a global.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

pub mod purchase;
pub mod sender;

pub use purchase::PurchaseSettings;
pub use sender::SenderSettings;

/// Prefix of environment overrides; `__` separates nesting levels (`KSEF_GW__DATABASE__URL`).
pub const ENV_PREFIX: &str = "KSEF_GW__";

/// The whole configuration of one gateway process.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Directory for the SQLite database, the generated master key and other local state.
    pub data_dir: PathBuf,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub vault: VaultSettings,
    pub auth: AuthSettings,
    pub intake: IntakeSettings,
    pub log: LogSettings,
    /// Where `/metrics` is served and whether it needs a token.
    #[serde(default)]
    pub metrics: MetricsSettings,
    /// The sending engine (`src/engine`).
    #[serde(default)]
    pub sender: SenderSettings,
    /// Purchase invoices fetched from KSeF by the senders (`src/engine/purchase`).
    #[serde(default)]
    pub purchase: PurchaseSettings,
    /// The office itself, as reports name it.
    #[serde(default)]
    pub office: OfficeSettings,
    /// Webhook deliveries to clients' systems.
    #[serde(default)]
    pub webhooks: WebhookSettings,
}

/// Where webhooks may go and how hard the gateway tries to deliver them.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookSettings {
    /// Run the delivery worker in this process (several replicas may all run it).
    pub enabled: bool,
    /// Hosts (names or IP literals) an endpoint may reach over plain `http://`; everything else
    /// must be `https://`.
    pub allow_http_hosts: Vec<String>,
    /// Networks (CIDR) an endpoint's host may resolve into although they are loopback,
    /// private or link-local, e.g. `10.20.0.0/16` for an ERP inside the office's network.
    pub allow_private: Vec<String>,
    /// Whole-request timeout of one attempt, in milliseconds.
    pub timeout_ms: u64,
    /// Attempts before a delivery is given up (`failed`, visible in the delivery log).
    pub max_attempts: u32,
    /// First retry delay in milliseconds; doubles per attempt, with jitter, up to `backoff_max_s`.
    pub backoff_base_ms: u64,
    pub backoff_max_s: u64,
    /// How often the worker looks for due deliveries, in milliseconds.
    pub tick_ms: u64,
    /// Deliveries attempted at once by one worker.
    pub concurrency: usize,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            allow_http_hosts: Vec::new(),
            allow_private: Vec::new(),
            timeout_ms: 10_000,
            max_attempts: 10,
            backoff_base_ms: 30_000,
            backoff_max_s: 6 * 3600,
            tick_ms: 1_000,
            concurrency: 8,
        }
    }
}

impl WebhookSettings {
    fn validate(&self) -> Result<(), String> {
        for net in &self.allow_private {
            net.trim()
                .parse::<ipnet::IpNet>()
                .map_err(|e| format!("webhooks.allow_private: {net:?} is not a network (CIDR): {e}"))?;
        }
        for (key, v) in [
            ("webhooks.timeout_ms", self.timeout_ms),
            ("webhooks.max_attempts", u64::from(self.max_attempts)),
            ("webhooks.backoff_base_ms", self.backoff_base_ms),
            ("webhooks.backoff_max_s", self.backoff_max_s),
            ("webhooks.tick_ms", self.tick_ms),
            ("webhooks.concurrency", self.concurrency as u64),
        ] {
            if v == 0 {
                return Err(format!("{key}: must be at least 1"));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OfficeSettings {
    /// The accounting office's name, printed on the title page of audit reports.
    pub name: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Lifetime of the panel's session token (a JWT in the cookie), in seconds; it slides
    /// forward while the user is active.
    pub token_ttl_s: u32,
    /// A panel session ends this many hours after login, active or not.
    pub session_max_age_h: u32,
    /// Send the session cookie only over HTTPS. Off only for plain-HTTP local use (the demo).
    pub cookie_secure: bool,
    /// Reverse proxies (IPs or CIDRs) whose `X-Forwarded-For` is believed; from anyone else the
    /// peer address is the client's.
    pub trusted_proxies: Vec<String>,
    /// Login attempts allowed per account from one source IP per minute (burst), before 429.
    pub login_per_account_per_min: u32,
    /// Login attempts allowed per client IP per minute (burst), before 429.
    pub login_per_ip_per_min: u32,
    /// Requests per second allowed per API key (burst of the same size).
    pub api_key_per_s: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeSettings {
    /// Largest request body of an upload (one XML or a zip of many), in bytes.
    pub max_upload_bytes: usize,
    /// Most invoices in one zip upload.
    pub max_files_per_upload: usize,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Address the HTTP server binds to.
    pub listen: SocketAddr,
    /// How long in-flight requests may finish after SIGTERM, in seconds.
    pub shutdown_timeout_s: u64,
    /// Worker threads for HTTP; 0 means one per core.
    pub workers: usize,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://PATH` or `postgres://…`; empty means `sqlite://<data_dir>/gateway.db`.
    pub url: String,
    /// Upper bound of pooled connections.
    pub pool_size: u32,
    /// How long a request waits for a free connection before it is answered 503, in milliseconds.
    pub pool_timeout_ms: u64,
    /// Apply pending migrations when the server starts (the `migrate` command always does).
    pub migrate_on_start: bool,
}

#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VaultSettings {
    /// File holding the hex-encoded 256-bit master key; empty means `<data_dir>/master.key`.
    pub master_key_file: PathBuf,
    /// The master key itself, hex-encoded; wins over the file. Prefer the file or a secret store.
    #[serde(skip_serializing)]
    pub master_key: Option<SecretString>,
}

impl std::fmt::Debug for VaultSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultSettings")
            .field("master_key_file", &self.master_key_file)
            .field("master_key", &self.master_key.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// `/metrics` is unauthenticated by default, like most Prometheus targets; these settings move
/// it off the public listener or put a bearer token in front of it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// Serve `/metrics` only on this separate address (the main listener then answers 404);
    /// unset means on the main listener.
    #[serde(default)]
    pub listen: Option<SocketAddr>,
    /// Hex SHA-256 of the bearer token `/metrics` requires (`printf %s "$TOKEN" | sha256sum`);
    /// empty means no token. Only the hash is configured, so the file holds no usable secret.
    #[serde(default)]
    pub token_sha256: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `text` for people, `json` for log collectors.
    pub format: LogFormat,
    /// A tracing filter such as `info` or `info,ksef_gateway=debug`; `RUST_LOG` wins when set.
    pub level: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            server: ServerSettings {
                listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
                shutdown_timeout_s: 10,
                workers: 0,
            },
            database: DatabaseSettings {
                url: String::new(),
                pool_size: 8,
                pool_timeout_ms: 5_000,
                migrate_on_start: true,
            },
            vault: VaultSettings { master_key_file: PathBuf::new(), master_key: None },
            auth: AuthSettings {
                token_ttl_s: 900,
                session_max_age_h: 12,
                cookie_secure: true,
                trusted_proxies: Vec::new(),
                login_per_account_per_min: 5,
                login_per_ip_per_min: 30,
                api_key_per_s: 50,
            },
            intake: IntakeSettings { max_upload_bytes: 64 * 1024 * 1024, max_files_per_upload: 10_000 },
            log: LogSettings { format: LogFormat::Text, level: "info".to_owned() },
            metrics: MetricsSettings::default(),
            sender: SenderSettings::default(),
            purchase: PurchaseSettings::default(),
            office: OfficeSettings::default(),
            webhooks: WebhookSettings::default(),
        }
    }
}

/// Where configuration comes from besides the compiled defaults.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    pub config_file: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
}

/// A configuration problem, always naming the key at fault.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

impl Settings {
    /// Loads and validates the configuration from all layers.
    pub fn load(sources: &Sources) -> Result<Self, ConfigError> {
        Self::load_with_env(sources, Env::prefixed(ENV_PREFIX).split("__"))
    }

    fn load_with_env(sources: &Sources, env: Env) -> Result<Self, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = &sources.config_file {
            if !file.is_file() {
                return Err(ConfigError(format!("config file {} does not exist", file.display())));
            }
            fig = fig.merge(Toml::file_exact(file));
        }
        fig = fig.merge(env);
        if let Some(dir) = &sources.data_dir {
            fig = fig.merge(Serialized::default("data_dir", dir));
        }
        if let Some(listen) = sources.listen {
            fig = fig.merge(Serialized::default("server.listen", listen));
        }
        let mut settings: Settings = fig.extract().map_err(describe_figment_error)?;
        settings.fill_derived();
        settings.validate()?;
        Ok(settings)
    }

    /// Parses a TOML document alone (no environment), as the example-config test does.
    pub fn from_toml_str(toml: &str) -> Result<Self, ConfigError> {
        let fig = Figment::from(Serialized::defaults(Settings::default())).merge(Toml::string(toml));
        let mut settings: Settings = fig.extract().map_err(describe_figment_error)?;
        settings.fill_derived();
        settings.validate()?;
        Ok(settings)
    }

    fn fill_derived(&mut self) {
        if self.database.url.trim().is_empty() {
            self.database.url = format!("sqlite://{}", self.data_dir.join("gateway.db").display());
        }
        if self.vault.master_key_file.as_os_str().is_empty() {
            self.vault.master_key_file = self.data_dir.join("master.key");
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        crate::db::DbUrl::parse(&self.database.url).map_err(|e| ConfigError(format!("database.url: {e}")))?;
        if self.database.pool_size == 0 {
            return Err(ConfigError("database.pool_size: must be at least 1".into()));
        }
        if self.database.pool_timeout_ms == 0 {
            return Err(ConfigError("database.pool_timeout_ms: must be at least 1".into()));
        }
        for proxy in &self.auth.trusted_proxies {
            crate::auth::client_ip::parse_net(proxy)
                .map_err(|e| ConfigError(format!("auth.trusted_proxies: {e}")))?;
        }
        if self.auth.token_ttl_s < 60 {
            return Err(ConfigError("auth.token_ttl_s: must be at least 60".into()));
        }
        for (key, v) in [
            ("auth.login_per_account_per_min", self.auth.login_per_account_per_min),
            ("auth.login_per_ip_per_min", self.auth.login_per_ip_per_min),
            ("auth.api_key_per_s", self.auth.api_key_per_s),
        ] {
            if v == 0 {
                return Err(ConfigError(format!("{key}: must be at least 1")));
            }
        }
        let token = self.metrics.token_sha256.trim();
        if !token.is_empty() && hex::decode(token).map_or(true, |h| h.len() != 32) {
            return Err(ConfigError(
                "metrics.token_sha256: must be the 64 hex digits of a SHA-256 (printf %s \"$TOKEN\" | sha256sum)"
                    .into(),
            ));
        }
        if self.metrics.listen.is_some_and(|m| m == self.server.listen) {
            return Err(ConfigError("metrics.listen: must differ from server.listen".into()));
        }
        tracing_subscriber::EnvFilter::try_new(&self.log.level)
            .map_err(|e| ConfigError(format!("log.level: {e}")))?;
        self.sender.validate().map_err(ConfigError)?;
        self.purchase.validate().map_err(ConfigError)?;
        self.webhooks.validate().map_err(ConfigError)?;
        Ok(())
    }

    /// The data directory, created (mode 0700) if missing.
    pub fn ensure_data_dir(&self) -> std::io::Result<&Path> {
        crate::private_fs::create_dir(&self.data_dir)?;
        Ok(&self.data_dir)
    }
}

/// figment's messages name the key path already ("for key `default.server.listen`"); strip the
/// profile noise so users see `server.listen`.
fn describe_figment_error(err: figment::Error) -> ConfigError {
    let mut parts = Vec::new();
    for e in err {
        let key = e.path.join(".");
        let msg = e.kind.to_string();
        let origin = e.metadata.as_ref().map(|m| m.name.to_string()).unwrap_or_default();
        if key.is_empty() {
            parts.push(format!("{msg} ({origin})"));
        } else {
            parts.push(format!("{key}: {msg} ({origin})"));
        }
    }
    ConfigError(parts.join("; "))
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn defaults_derive_sqlite_under_data_dir() {
        let s = Settings::load_with_env(
            &Sources { data_dir: Some("/tmp/x".into()), ..Default::default() },
            Env::prefixed("KSEF_GW_TEST_NEVER_SET__").split("__"),
        )
        .unwrap();
        assert_eq!(s.database.url, "sqlite:///tmp/x/gateway.db");
        assert_eq!(s.vault.master_key_file, PathBuf::from("/tmp/x/master.key"));
    }

    #[test]
    fn unknown_key_names_the_key() {
        let err = Settings::from_toml_str("[server]\nlisten = \"127.0.0.1:1\"\nlistne = 3\n").unwrap_err();
        assert!(err.0.contains("listne"), "{}", err.0);
    }

    #[test]
    fn bad_value_names_the_key() {
        let err = Settings::from_toml_str("[server]\nlisten = \"not-an-address\"\n").unwrap_err();
        assert!(err.0.contains("server.listen"), "{}", err.0);
    }

    #[test]
    #[expect(clippy::result_large_err, reason = "figment's Jail closure returns figment::Error")]
    fn environment_overrides_file_and_names_bad_keys() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("gw.toml", "[database]\npool_size = 3\n")?;
            jail.set_env("KSEF_GW__DATABASE__POOL_SIZE", "5");
            let sources = Sources { config_file: Some("gw.toml".into()), ..Default::default() };
            let s = Settings::load(&sources).map_err(|e| e.0)?;
            assert_eq!(s.database.pool_size, 5);
            jail.set_env("KSEF_GW__DATABASE__POOL_SIZ", "5");
            let err = Settings::load(&sources).unwrap_err();
            assert!(err.0.contains("pool_siz"), "{}", err.0);
            Ok(())
        });
    }

    #[test]
    fn malformed_database_url_is_refused() {
        let err = Settings::from_toml_str("[database]\nurl = \"mysql://x\"\n").unwrap_err();
        assert!(err.0.starts_with("database.url"), "{}", err.0);
        let err = Settings::from_toml_str("[database]\nurl = \"/bare/path.db\"\n").unwrap_err();
        assert!(err.0.starts_with("database.url"), "{}", err.0);
    }

    #[test]
    fn metrics_token_must_be_a_sha256() {
        let err = Settings::from_toml_str("[metrics]\ntoken_sha256 = \"secret\"\n").unwrap_err();
        assert!(err.0.starts_with("metrics.token_sha256"), "{}", err.0);
        let ok = format!("[metrics]\ntoken_sha256 = \"{}\"\nlisten = \"127.0.0.1:9100\"\n", "ab".repeat(32));
        let s = Settings::from_toml_str(&ok).unwrap();
        assert_eq!(s.metrics.listen.map(|a| a.port()), Some(9100));
    }

    #[test]
    fn webhook_networks_must_parse() {
        let err = Settings::from_toml_str("[webhooks]\nallow_private = [\"10.0.0.0/33\"]\n").unwrap_err();
        assert!(err.0.starts_with("webhooks.allow_private"), "{}", err.0);
        let err = Settings::from_toml_str("[webhooks]\nmax_attempts = 0\n").unwrap_err();
        assert!(err.0.starts_with("webhooks.max_attempts"), "{}", err.0);
        let ok = Settings::from_toml_str("[webhooks]\nallow_private = [\"10.20.0.0/16\", \"fd00::/8\"]\n")
            .unwrap();
        assert_eq!(ok.webhooks.allow_private.len(), 2);
    }

    #[test]
    fn master_key_is_never_debug_printed() {
        let s = Settings::from_toml_str("[vault]\nmaster_key = \"00112233\"\n").unwrap();
        assert!(!format!("{s:?}").contains("00112233"));
    }
}
