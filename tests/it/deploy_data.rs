//! Moving and safeguarding a gateway's data: `migrate-data` from SQLite into PostgreSQL, and
//! the copy's column lists against the migrated schema.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl};
use ksef_gateway::db::transfer::{self, row_counts};
use ksef_gateway::db::{introspect, Db, DbUrl};
use ksef_gateway::service::audit::{self, ChainVerdict};

use crate::common::{pg_admin_url, Backend, TestDb};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ksef-gateway"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn open(url: &str) -> Db {
    Db::connect(&DbUrl::parse(url).unwrap(), 2, Duration::from_secs(5)).unwrap()
}

/// Runs the demo in `dir` until its senders have fetched UPOs, so every kind of row exists:
/// office, people, grants, keys, sealed credentials, invoices with bytes, outbox, sessions,
/// UPOs and a long audit chain. Returns the SQLite URL.
pub fn populated_demo(dir: &std::path::Path) -> String {
    let (mut child, url) = running_demo(dir);
    let db = open(&url);
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        let counts = row_counts(&db).unwrap();
        let has = |table: &str| counts.iter().any(|(t, n)| *t == table && *n > 0);
        // Sent invoices got their UPOs, purchase invoices arrived with their bytes, the shop's
        // accepted invoices got their collective identifier.
        if has("upos") && has("purchase_invoices") && has("purchase_sync") && has("collective_identifiers") {
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let _ = child.kill();
    let _ = child.wait();
    url
}

/// The demo started and seeded, its senders still at work. Returns it and its SQLite URL.
fn running_demo(dir: &std::path::Path) -> (std::process::Child, String) {
    let mut child = bin()
        .args(["demo", "--listen", &format!("127.0.0.1:{}", free_port()), "--data-dir"])
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    for line in BufReader::new(out).lines() {
        if line.unwrap().starts_with("Press Ctrl-C") {
            break;
        }
    }
    (child, format!("sqlite://{}", dir.join("gateway.db").display()))
}

/// Copying from a live database: while the demo's senders write, the copy still satisfies
/// every foreign key on PostgreSQL, matches its own counts and carries an intact audit chain.
/// (The demo writes in short bursts, so this run does not by itself prove the snapshot
/// isolation; that rests on the single read transaction in `db::transfer::copy_all`.)
#[test]
fn migrate_data_from_a_database_being_written_succeeds_and_verifies() {
    if pg_admin_url().is_none() {
        eprintln!("skipped: KSEF_GW_TEST_PG=off");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (mut demo, source_url) = running_demo(dir.path());
    let target = TestDb::new(Backend::Pg).unwrap();
    let out = bin().args(["migrate-data", "--from", &source_url, "--to", &target.url]).output().unwrap();
    let _ = demo.kill();
    let _ = demo.wait();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    let dst = open(&target.url);
    assert!(matches!(dst.blocking(audit::verify).unwrap(), ChainVerdict::Intact { events } if events > 0));
    let counts = row_counts(&dst).unwrap();
    let n = |t: &str| counts.iter().find(|(x, _)| *x == t).unwrap().1;
    assert_eq!(n("invoices"), n("invoice_documents"), "every invoice came with its document: {counts:?}");
}

#[test]
fn migrate_data_copies_a_demo_office_into_postgres_and_refuses_a_non_empty_target() {
    if pg_admin_url().is_none() {
        eprintln!("skipped: KSEF_GW_TEST_PG=off");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let source_url = populated_demo(dir.path());
    // Someone opened a list in the panel (the demo itself opens none).
    open(&source_url)
        .blocking_tx(|c| {
            use diesel::QueryDsl;
            let user: ksef_gateway::domain::UserId = ksef_gateway::db::schema::users::table
                .select(ksef_gateway::db::schema::users::id)
                .order(ksef_gateway::db::schema::users::id)
                .first(c)?;
            ksef_gateway::db::models::list_visit::visit(c, &user, "purchases", chrono::Utc::now().naive_utc())
        })
        .unwrap();
    let target = TestDb::new(Backend::Pg).unwrap();

    // A plain path is accepted for the source, as an operator would type it.
    let out = bin()
        .args(["migrate-data", "--from"])
        .arg(dir.path().join("gateway.db"))
        .args(["--to", &target.url])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("audit trail intact on the target"), "{stdout}");

    let src = open(&source_url);
    let dst = open(&target.url);
    let (before, after) = (row_counts(&src).unwrap(), row_counts(&dst).unwrap());
    assert_eq!(before, after);
    for table in transfer::TABLES {
        let n = before.iter().find(|(t, _)| t == table).unwrap().1;
        // Leases and sessions of a stopped demo may legitimately be gone; everything else is there.
        if !["sender_leases", "user_sessions"].contains(table) {
            assert!(n > 0, "the demo left {table} empty, so the copy of it is untested: {before:?}");
        }
    }
    let ChainVerdict::Intact { events } = dst.blocking(audit::verify).unwrap() else {
        panic!("chain broken on the target")
    };
    assert_eq!(events, before.iter().find(|(t, _)| *t == "audit_events").unwrap().1);
    // Sealed credentials arrive byte for byte (never opened on the way), and so do documents.
    let mut pg = PgConnection::establish(&target.url).unwrap();
    let pg_creds: Vec<Row> = diesel::sql_query(
        "SELECT id AS a, encode(ciphertext, 'hex') || encode(nonce, 'hex') AS b FROM credentials ORDER BY id",
    )
    .load(&mut pg)
    .unwrap();
    let mut lite =
        diesel::SqliteConnection::establish(dir.path().join("gateway.db").to_str().unwrap()).unwrap();
    let lite_creds: Vec<Row> = diesel::sql_query(
        "SELECT id AS a, lower(hex(ciphertext)) || lower(hex(nonce)) AS b FROM credentials ORDER BY id",
    )
    .load(&mut lite)
    .unwrap();
    assert!(!pg_creds.is_empty());
    assert_eq!(pg_creds, lite_creds);

    // A second run meets a full target: refused at once, exit 2, nothing added.
    let out = bin().args(["migrate-data", "--from", &source_url, "--to", &target.url]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is not empty") && stderr.contains("clients ("), "{stderr}");
    assert_eq!(row_counts(&dst).unwrap(), before);

    // A source that does not exist is refused rather than created empty.
    let out = bin()
        .args(["migrate-data", "--from", "/nonexistent/gateway.db", "--to", &target.url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

#[derive(Debug, PartialEq, Eq, diesel::QueryableByName)]
struct Row {
    #[diesel(sql_type = diesel::sql_types::Text)]
    a: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    b: String,
}

/// The copy lists its columns by hand (diesel needs them named); a column added by a future
/// migration but missing from the list would be silently dropped, so compare with the schema.
#[test]
fn the_copy_covers_every_column_of_the_schema() {
    let t = TestDb::new(Backend::Sqlite).unwrap();
    let st = t.state();
    let mut live: Vec<(String, String)> = introspect::columns(&st.db)
        .unwrap()
        .into_iter()
        .filter(|c| !transfer::DERIVED.contains(&c.table.as_str()))
        .map(|c| (c.table, c.column))
        .collect();
    live.sort();
    let mut listed: Vec<(String, String)> = transfer::copied_columns()
        .into_iter()
        .flat_map(|(t, cols)| cols.into_iter().map(move |c| (t.to_owned(), c.to_owned())))
        .collect();
    listed.sort();
    assert_eq!(listed, live);
}

fn run_in(dir: &std::path::Path, args: &[&str], envs: &[(&str, &str)]) -> (Option<i32>, String) {
    let out = bin().arg("--data-dir").arg(dir).args(args).envs(envs.iter().copied()).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code(), text)
}

/// The drill an office should rehearse: back up a live database, lose it, restore it, verify.
#[test]
fn backup_wipe_restore_and_the_audit_trail_verifies() {
    let dir = tempfile::tempdir().unwrap();
    populated_demo(dir.path());
    let vault = tempfile::tempdir().unwrap();
    let copy = vault.path().join("gateway-backup.db");
    let copy_arg = copy.to_str().unwrap();
    let (code, out) = run_in(dir.path(), &["backup", "--out", copy_arg], &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("master key file"), "the backup reminds of the key: {out}");
    let before = row_counts(&open(&format!("sqlite://{}", copy.display()))).unwrap();

    // A second backup to the same file is refused rather than overwriting it.
    let (code, out) = run_in(dir.path(), &["backup", "--out", copy_arg], &[]);
    assert_eq!(code, Some(2), "{out}");

    // The live database holds data: a restore without --force is refused and changes nothing.
    let (code, out) = run_in(dir.path(), &["restore", "--from", copy_arg], &[]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("not empty") && out.contains("--force"), "{out}");

    // Wipe.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let p = entry.unwrap().path();
        if p.file_name().unwrap().to_string_lossy().starts_with("gateway.db") {
            std::fs::remove_file(p).unwrap();
        }
    }

    // The wrong master key is caught before anything is put in place, naming the key file.
    let wrong = vault.path().join("other.key");
    std::fs::write(&wrong, format!("1:{}\n", "ab".repeat(32))).unwrap();
    let wrong_env = ("KSEF_GW__VAULT__MASTER_KEY_FILE", wrong.to_str().unwrap());
    let (code, out) = run_in(dir.path(), &["restore", "--from", copy_arg], &[wrong_env]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains(wrong.to_str().unwrap()) && out.contains("does not open"), "{out}");
    assert!(!dir.path().join("gateway.db").exists(), "nothing restored with the wrong key");

    let (code, out) = run_in(dir.path(), &["restore", "--from", copy_arg], &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("the master key opens its credentials"), "{out}");
    let (code, out) = run_in(dir.path(), &["audit", "verify"], &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("audit trail intact"), "{out}");
    let after = row_counts(&open(&format!("sqlite://{}", dir.path().join("gateway.db").display()))).unwrap();
    assert_eq!(before, after);

    // On a new machine the database's directory may not exist yet.
    let fresh = vault.path().join("new-host").join("db").join("gateway.db");
    let fresh_url = format!("sqlite://{}", fresh.display());
    let (code, out) =
        run_in(dir.path(), &["restore", "--from", copy_arg], &[("KSEF_GW__DATABASE__URL", &fresh_url)]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(row_counts(&open(&fresh_url)).unwrap(), before);
}

#[test]
fn backup_of_a_postgres_installation_points_to_pg_dump() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.db");
    let (code, text) = run_in(
        dir.path(),
        &["backup", "--out", out.to_str().unwrap()],
        &[("KSEF_GW__DATABASE__URL", "postgres://postgres@127.0.0.1:5432/none")],
    );
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("pg_dump") && text.contains("OPERATIONS.md"), "{text}");
    assert!(!out.exists());
}

/// An orchestrator stops a replica with SIGTERM and waits `terminationGracePeriodSeconds`:
/// the server must drain and exit 0 within its configured bound, not be killed half-way.
#[test]
fn serve_drains_and_exits_zero_on_sigterm_within_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = bin()
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("KSEF_GW__SERVER__SHUTDOWN_TIMEOUT_S", "3")
        .env("KSEF_GW__LOG__FORMAT", "text")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "serve did not start");
        assert!(child.try_wait().unwrap().is_none(), "serve exited at start");
        std::thread::sleep(Duration::from_millis(100));
    }
    // An idle keep-alive connection must not hold the shutdown up to the bound and beyond.
    let _idle = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let started = Instant::now();
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(8) {
            let _ = child.kill();
            panic!("serve still running {:?} after SIGTERM (bound 3 s)", started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let took = started.elapsed();
    let mut log = String::new();
    for mut pipe in [
        child.stdout.take().map(|p| Box::new(p) as Box<dyn std::io::Read>),
        child.stderr.take().map(|p| Box::new(p) as Box<dyn std::io::Read>),
    ]
    .into_iter()
    .flatten()
    {
        pipe.read_to_string(&mut log).unwrap();
    }
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(log.contains("Shutting down") && log.contains("SIGTERM"), "{log}");
    assert!(log.contains("Sending engine stopped"), "the senders were drained: {log}");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "no longer accepting");
}
