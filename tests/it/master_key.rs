//! Master key mistakes and file modes (#20): a lost or wrong key file stops the start with exit
//! code 2 naming the file, a key is generated only for a database holding nothing sealed, a
//! readable key file is warned about, `/readyz` fails when the vault stops opening, and the
//! data directory, database and key file are private whatever the umask.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use actix_web::test::{call_service, init_service, read_body_json, TestRequest};
use actix_web::App;
use secrecy::SecretString;

use ksef_gateway::config::Settings;
use ksef_gateway::db::models::VaultCanary;
use ksef_gateway::domain::{KsefTarget, Nip, SendPolicy};
use ksef_gateway::service::clients::{add_client, NewClientInput};

use crate::both_backends;
use crate::common::{settings_at, Backend, TestDb};

both_backends!(readyz_fails_when_the_vault_cannot_open, pre_canary_database_checks_a_credential);

const TOKEN: &str = "20261121-EC-1A2B3C4D5E-6F7A8B9C0D-11|nip-5260250274|c0ffee5ecretA";

/// A gateway data directory (SQLite) whose database holds one sealed credential.
async fn with_a_credential(settings: Settings) {
    let st = ksef_gateway::server::bootstrap(settings).unwrap();
    let input = NewClientInput {
        nip: Nip::parse("5260250274").unwrap(),
        name: "Alfa".into(),
        ksef: KsefTarget::Test,
        policy: SendPolicy::Manual,
    };
    add_client(&st, input, SecretString::from(TOKEN), None).await.unwrap();
}

/// The config file `serve` is started with: this data directory, a free port, no senders.
fn config_file(dir: &Path) -> PathBuf {
    let mut s = settings_at(&dir.join("data"), "");
    s.database.url = format!("sqlite://{}", dir.join("data/gateway.db").display());
    s.server.listen = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    s.sender.enabled = false;
    let path = dir.join("gateway.toml");
    std::fs::write(&path, toml::to_string(&s).unwrap()).unwrap();
    path
}

fn settings_of(config: &Path) -> Settings {
    Settings::from_toml_str(&std::fs::read_to_string(config).unwrap()).unwrap()
}

/// `serve` under umask 022 (the usual default, which made files 0644 before).
fn serve(config: &Path) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("umask 022 && exec \"$0\" --config \"$1\" serve")
        .arg(env!("CARGO_BIN_EXE_ksef-gateway"))
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    cmd
}

/// Runs `serve`, which must refuse to start: its output.
fn refused(config: &Path) -> Output {
    let mut child = serve(config).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            panic!("serve started although it should have refused");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// Runs `serve` until it answers `/healthz`; the caller kills it. Output goes to `log`.
fn started(config: &Path, log: &Path) -> Child {
    let out = std::fs::File::create(log).unwrap();
    let mut child = serve(config).stdout(out.try_clone().unwrap()).stderr(out).spawn().unwrap();
    let addr = settings_of(config).server.listen;
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(addr).is_err() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("serve exited with {status}: {}", std::fs::read_to_string(log).unwrap_or_default());
        }
        assert!(Instant::now() < deadline, "serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn other_key() -> String {
    format!("1:{}\n", "ab".repeat(32))
}

#[actix_web::test]
async fn missing_key_file_with_sealed_credentials_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path());
    with_a_credential(settings_of(&config)).await;
    let key = dir.path().join("data/master.key");
    std::fs::remove_file(&key).unwrap();

    let out = refused(&config);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&key.display().to_string()) && stderr.contains("missing"), "{stderr}");
    assert!(!key.exists(), "no new key may be generated over sealed data");
}

#[actix_web::test]
async fn wrong_key_file_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path());
    with_a_credential(settings_of(&config)).await;
    let key = dir.path().join("data/master.key");
    std::fs::write(&key, other_key()).unwrap();

    let out = refused(&config);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&key.display().to_string()), "{stderr}");
    assert!(stderr.contains("not the key this database was sealed with"), "{stderr}");
}

/// Even with no credential stored yet, the canary written at the first start tells the keys apart.
#[test]
fn wrong_key_is_refused_by_the_canary_alone() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path());
    drop(ksef_gateway::server::bootstrap(settings_of(&config)).unwrap());
    std::fs::write(dir.path().join("data/master.key"), other_key()).unwrap();
    let err = ksef_gateway::server::bootstrap(settings_of(&config)).map(|_| ()).unwrap_err();
    assert_eq!(err.exit_code(), 2, "{err}");
    // Nothing sealed anywhere and no key file: a new key is fine.
    let fresh = tempfile::tempdir().unwrap();
    let config = config_file(fresh.path());
    drop(ksef_gateway::server::bootstrap(settings_of(&config)).unwrap());
    assert!(fresh.path().join("data/master.key").is_file());
}

/// A database from before the canary: the key must open a stored credential, then the canary
/// is written.
async fn pre_canary_database_checks_a_credential(b: Backend) {
    let Some(t) = TestDb::new(b) else { return };
    with_a_credential(t.settings()).await;
    t.state().db.blocking(VaultCanary::delete).unwrap();
    std::fs::copy(t.dir.path().join("master.key"), t.dir.path().join("right.key")).unwrap();
    std::fs::write(t.dir.path().join("master.key"), other_key()).unwrap();
    let err = ksef_gateway::server::bootstrap(t.settings()).map(|_| ()).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("stored credentials"), "{err}");
    std::fs::copy(t.dir.path().join("right.key"), t.dir.path().join("master.key")).unwrap();
    let st = t.state();
    assert!(st.db.blocking(VaultCanary::find).unwrap().is_some(), "the canary is written");
}

async fn readyz_fails_when_the_vault_cannot_open(b: Backend) {
    let Some(t) = TestDb::new(b) else { return };
    let st = t.state();
    let app = init_service(App::new().configure(ksef_gateway::configure(st.clone()))).await;
    let resp = call_service(&app, TestRequest::get().uri("/readyz").to_request()).await;
    assert_eq!(resp.status(), 200);
    // What a server sees when its key no longer opens the vault (key replaced, data altered).
    let now = chrono::Utc::now().naive_utc();
    st.db.blocking_tx(move |c| VaultCanary::store(c, 1, &[0; 12], &[1, 2, 3], now)).unwrap();
    let resp = call_service(&app, TestRequest::get().uri("/readyz").to_request()).await;
    assert_eq!(resp.status(), 503);
    let body: serde_json::Value = read_body_json(resp).await;
    assert_eq!(body["error"]["code"], "unavailable");
}

#[cfg(unix)]
#[test]
fn data_files_are_private_and_a_readable_key_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path());
    let log = dir.path().join("serve.log");
    let data = dir.path().join("data");

    let mut child = started(&config, &log);
    let files = ["gateway.db", "gateway.db-wal", "gateway.db-shm", "master.key"];
    let modes: Vec<(&str, u32)> = files.iter().map(|f| (*f, mode(&data.join(f)))).collect();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(mode(&data), 0o700, "data directory");
    assert_eq!(modes, files.iter().map(|f| (*f, 0o600)).collect::<Vec<_>>());
    let first = std::fs::read_to_string(&log).unwrap();
    assert!(!first.contains("readable by group or others"), "{first}");

    std::fs::set_permissions(data.join("master.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut child = started(&config, &log);
    child.kill().unwrap();
    child.wait().unwrap();
    let second = std::fs::read_to_string(&log).unwrap();
    assert!(second.contains("readable by group or others"), "{second}");
    assert!(second.contains(&data.join("master.key").display().to_string()), "{second}");
}
