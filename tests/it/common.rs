//! Test support: a fresh database per test on either backend, and the app built on it.
//!
//! PostgreSQL tests use the server named by `KSEF_GW_TEST_PG` (default
//! `postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable`: on loopback TLS protects nothing
//! and cost the API benchmark a third of its reads); each test creates its own database and drops
//! it afterwards. `KSEF_GW_TEST_PG=off` skips them (the SQLite half still runs).

use diesel::{Connection, PgConnection, RunQueryDsl};
use ksef_gateway::config::Settings;
use ksef_gateway::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Pg,
}

/// The admin URL of the PostgreSQL server for tests, or None when PG tests are switched off.
pub fn pg_admin_url() -> Option<String> {
    match std::env::var("KSEF_GW_TEST_PG") {
        Ok(v) if v == "off" => None,
        Ok(v) if !v.is_empty() => Some(v),
        _ => Some("postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable".to_owned()),
    }
}

/// A database that lives as long as the test: a temp SQLite file or a fresh PG database.
pub struct TestDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    pg: Option<(String, String)>, // (admin url, database name)
}

impl TestDb {
    /// None when the backend is switched off for this run.
    pub fn new(backend: Backend) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                Some(Self { url, dir, pg: None })
            }
            Backend::Pg => {
                let admin = pg_admin_url()?;
                let name = format!("gw_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = PgConnection::establish(&admin).unwrap_or_else(|e| {
                    panic!("PostgreSQL for tests is not reachable at {admin} ({e}); start it or set KSEF_GW_TEST_PG=off")
                });
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
                let url = with_database(&admin, &name);
                Some(Self { url, dir, pg: Some((admin, name)) })
            }
        }
    }

    /// The PostgreSQL database's name (None on SQLite).
    pub fn pg_name(&self) -> Option<&str> {
        self.pg.as_ref().map(|(_, name)| name.as_str())
    }

    /// Settings pointing at this database, with the data dir in the test's temp dir.
    pub fn settings(&self) -> Settings {
        let mut s = settings_at(self.dir.path(), &self.url);
        s.database.pool_size = 4;
        s.database.pool_timeout_ms = 2_000;
        s
    }

    /// The application state on this database, migrated.
    pub fn state(&self) -> AppState {
        self.state_with(self.settings())
    }

    pub fn state_with(&self, settings: Settings) -> AppState {
        ksef_gateway::server::bootstrap(settings).unwrap_or_else(|e| panic!("bootstrap: {e}"))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.pg {
            if let Ok(mut conn) = PgConnection::establish(admin) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn);
            }
        }
    }
}

/// Settings with this data directory and database URL, the rest default.
pub fn settings_at(dir: &std::path::Path, url: &str) -> Settings {
    let mut s = Settings { data_dir: dir.to_path_buf(), ..Settings::default() };
    s.database.url = url.to_owned();
    s.vault.master_key_file = dir.join("master.key");
    s
}

fn with_database(admin: &str, name: &str) -> String {
    let mut url = url::Url::parse(admin).unwrap_or_else(|e| panic!("KSEF_GW_TEST_PG: {e}"));
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// Emits one test per backend from an async fn taking a `Backend`; a switched-off backend's
/// test returns early and says so.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[actix_web::test]
            async fn sqlite() { super::$name($crate::common::Backend::Sqlite).await }
            #[actix_web::test]
            async fn postgres() {
                if $crate::common::pg_admin_url().is_none() {
                    eprintln!("skipped: KSEF_GW_TEST_PG=off");
                    return;
                }
                super::$name($crate::common::Backend::Pg).await
            }
        }
    )*};
}

/// The whole database as bytes: the SQLite file with its WAL, or a pg_dump of the test database.
pub fn dump(t: &TestDb, b: Backend) -> Vec<u8> {
    match b {
        Backend::Sqlite => {
            let mut bytes = Vec::new();
            for entry in std::fs::read_dir(t.dir.path()).unwrap() {
                let p = entry.unwrap().path();
                if p.file_name().unwrap().to_string_lossy().starts_with("test.db") {
                    bytes.extend(std::fs::read(p).unwrap());
                }
            }
            bytes
        }
        Backend::Pg => {
            let out = std::process::Command::new("pg_dump").arg("--dbname").arg(&t.url).output().unwrap();
            assert!(out.status.success(), "pg_dump: {}", String::from_utf8_lossy(&out.stderr));
            out.stdout
        }
    }
}

/// True when `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// A KSeF client of another program (an outside seller, the client's own ERP): it is not the
/// gateway, so it keeps none of the gateway's per-IP pacing.
pub fn outside_ksef(environment: &str) -> ksef_client::KsefClient {
    let env = ksef_client::Environment::parse(environment).unwrap();
    ksef_client::KsefClient::new(env, ksef_client::ClientOptions::default()).unwrap()
}

/// A fixture's NIP as the typed value services and queries take (fixtures use valid NIPs).
pub fn typed_nip(raw: &str) -> ksef_gateway::domain::Nip {
    ksef_gateway::domain::Nip::exact(raw).unwrap()
}

/// The fixture client with this NIP (the test stored it).
pub async fn client_by_nip(st: &AppState, nip: &str) -> ksef_gateway::db::models::Client {
    let nip = typed_nip(nip);
    st.db.tx(move |c| ksef_gateway::db::models::Client::find_by_nip(c, &nip)).await.unwrap().unwrap()
}

/// The plaintext of a fresh API key named "ERP" of the fixture client with this NIP, with these
/// scopes.
pub async fn erp_key(st: &AppState, nip: &str, scopes: &str) -> String {
    use ksef_gateway::auth::ScopeSet;
    use secrecy::ExposeSecret;
    let scopes = ScopeSet::parse(scopes).unwrap();
    let key = ksef_gateway::service::apikeys::create(
        st,
        &ksef_gateway::service::access::Caller::Operator,
        &typed_nip(nip),
        "ERP",
        scopes,
        None,
    )
    .await
    .unwrap();
    key.plaintext.expose_secret().to_owned()
}
