//! Storage on both backends: migrations up/down/up, schema drift, repository basics, bad input.

use std::collections::BTreeMap;

use ksef_gateway::db::introspect::{columns, ColumnInfo};
use ksef_gateway::db::models::{ids, Client, ClientScope, NewClient};
use ksef_gateway::db::{revert_all, run_migrations, DbError};

use crate::both_backends;
use crate::common::{settings_at, Backend, TestDb};

both_backends!(
    migrations_go_up_down_and_up_again,
    watchdog_notes_written_before_their_kind_count_as_flags,
    committed_schema_matches_database,
    clients_roundtrip_and_unique_nip,
    a_stored_nip_that_is_no_nip_is_a_read_error,
    a_read_runs_beside_an_open_write,
    the_engine_looks_for_work_through_the_live_row_indexes
);

async fn migrations_go_up_down_and_up_again(b: Backend) {
    let Some(t) = TestDb::new(b) else { return };
    let st = t.state();
    let before = columns(&st.db).unwrap();
    assert!(!before.is_empty());
    let count = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite")).unwrap().count();
    let reverted = revert_all(&st.db).unwrap();
    assert_eq!(reverted.len(), count, "every migration has a working down.sql");
    assert!(columns(&st.db).unwrap().is_empty(), "down leaves no application table behind");
    let applied = run_migrations(&st.db).unwrap();
    assert_eq!(applied.len(), count);
    assert_eq!(columns(&st.db).unwrap(), before, "up after down rebuilds the same schema");
}

/// Timeline entries written before entries had a kind: the migration that adds it makes the
/// watchdog's notes (`watchdog:<state> …`) its flags, so an invoice flagged then is not flagged
/// again, while an entry that merely mentions the watchdog stays an ordinary step.
async fn watchdog_notes_written_before_their_kind_count_as_flags(b: Backend) {
    use ksef_gateway::db::models::{invoice::add_event, Invoice};
    use ksef_gateway::domain::{Actor, InvoiceState};
    use ksef_gateway::service::access::Caller;
    use ksef_gateway::service::intake::{self, Source};

    let Some((_db, o)) = crate::office::office(b).await else { return };
    let mut drafts = Vec::new();
    for number in ["FV/W/1", "FV/W/2"] {
        let body = crate::office::invoice(crate::office::NIP_A, number);
        let stored = intake::submit(&o.st, &Caller::Operator, &o.a.id, body, Source::Api).await.unwrap();
        assert_eq!(stored[0].invoice.state, InvoiceState::Draft);
        drafts.push(stored[0].invoice.id.clone());
    }
    let unflagged = |st: &ksef_gateway::state::AppState| {
        let later = ids::now() + chrono::Duration::hours(1);
        let mut found: Vec<ksef_gateway::domain::InvoiceId> = st
            .db
            .blocking(|c| Invoice::stuck_unflagged(c, InvoiceState::Draft, later, 100))
            .unwrap()
            .into_iter()
            .map(|i| i.id)
            .collect();
        found.sort();
        found
    };
    let mut both = drafts.clone();
    both.sort();
    assert_eq!(unflagged(&o.st), both, "nothing flagged yet");

    let reverted = ksef_gateway::db::revert_to(&o.st.db, "2026-12-07-000013").unwrap();
    assert!(reverted.last().is_some_and(|v| v.contains("000013")), "{reverted:?}");
    let (client_id, flagged, mentioned) = (o.a.id.clone(), drafts[0].clone(), drafts[1].clone());
    o.st.db
        .blocking(|c| {
            let (at, draft) = (ids::now(), InvoiceState::Draft);
            let flag = "watchdog:draft faktura czeka od 90 min";
            add_event(c, &flagged, &client_id, at, draft, &Actor::Sender, Some(flag))?;
            let mention = "sprawdzone, watchdog: bez uwag";
            add_event(c, &mentioned, &client_id, at, draft, &Actor::Operator, Some(mention))
        })
        .unwrap();
    run_migrations(&o.st.db).unwrap();
    assert_eq!(unflagged(&o.st), vec![mentioned.clone()], "the old watchdog note is a flag now");

    // A flag written now counts the same way.
    let inv = o.st.db.blocking(|c| Invoice::get(c, &ClientScope::All, &mentioned)).unwrap();
    o.st.db
        .blocking(|c| Invoice::flag_stuck(c, &inv, ids::now(), &Actor::Sender, "watchdog:draft …"))
        .unwrap();
    assert!(unflagged(&o.st).is_empty());
}

/// Parses `src/db/schema.rs` (diesel's `table!` format) into the same shape the database reports.
fn committed_schema() -> Vec<ColumnInfo> {
    let text = include_str!("../../src/db/schema.rs");
    let mut out = Vec::new();
    let mut table: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_suffix('{').map(str::trim) {
            if let Some((name, _pk)) = rest.split_once(' ') {
                if !name.contains('!') {
                    table = Some(name.to_owned());
                }
            }
            continue;
        }
        if line == "}" {
            table = None;
            continue;
        }
        if let (Some(t), Some((col, ty))) = (&table, line.trim_end_matches(',').split_once(" -> ")) {
            let (ty, nullable) = match ty.strip_prefix("Nullable<").and_then(|x| x.strip_suffix('>')) {
                Some(inner) => (inner, true),
                None => (ty, false),
            };
            out.push(ColumnInfo {
                table: t.clone(),
                column: col.to_owned(),
                sql_type: ty.to_owned(),
                nullable,
            });
        }
    }
    out.sort();
    out
}

async fn committed_schema_matches_database(b: Backend) {
    let Some(t) = TestDb::new(b) else { return };
    let st = t.state();
    let committed = committed_schema();
    assert!(committed.len() > 50, "parsed {} columns from schema.rs", committed.len());
    let live = columns(&st.db).unwrap();
    let diff: Vec<_> = committed
        .iter()
        .filter(|c| !live.contains(c))
        .map(|c| format!("schema.rs has {c:?}"))
        .chain(live.iter().filter(|c| !committed.contains(c)).map(|c| format!("{b:?} database has {c:?}")))
        .collect();
    assert!(diff.is_empty(), "schema drift on {b:?}:\n{}", diff.join("\n"));
}

async fn clients_roundtrip_and_unique_nip(b: Backend) {
    let Some(t) = TestDb::new(b) else { return };
    let st = t.state();
    let now = ids::now();
    let id = ksef_gateway::domain::ClientId::new();
    let nip = ksef_gateway::domain::Nip::parse("5260250274").unwrap();
    let row = NewClient {
        id: &id,
        nip: &nip,
        name: "Przykładowa Sp. z o.o.",
        ksef_environment: "test",
        send_policy: ksef_gateway::domain::SendPolicy::Manual,
        credential_mode: ksef_gateway::domain::CredentialMode::Office,
        created_at: now,
        updated_at: now,
    };
    st.db.blocking_tx(|c| Client::insert(c, &row)).unwrap();
    let found = crate::common::client_by_nip(&st, "5260250274").await;
    assert_eq!(found.id, id);
    assert_eq!(found.name, "Przykładowa Sp. z o.o.");
    assert_eq!(found.credential_mode, ksef_gateway::domain::CredentialMode::Office);
    assert!(st
        .db
        .tx(|c| Client::find_by_nip(c, &crate::common::typed_nip("1111111111")))
        .await
        .unwrap()
        .is_none());
    let other_id = ksef_gateway::domain::ClientId::new();
    let dup = NewClient { id: &other_id, ..row };
    let err = st.db.blocking_tx(|c| Client::insert(c, &dup)).unwrap_err();
    assert!(matches!(err, DbError::Conflict(_)), "{err:?}");
    // The failed insert rolled back and damaged nothing.
    let all = st.db.tx(Client::list_all).await.unwrap();
    assert_eq!(all.len(), 1);
}

/// The `clients.nip` column reads as a `Nip`: text there that is no NIP (written around the
/// gateway) fails the read, it is never taken for some client's NIP.
async fn a_stored_nip_that_is_no_nip_is_a_read_error(b: Backend) {
    use diesel::prelude::*;
    use ksef_gateway::db::schema::clients;
    let Some(t) = TestDb::new(b) else { return };
    let st = t.state();
    st.db.blocking_tx(|c| new_client(c, "5260250274")).unwrap();
    assert_eq!(st.db.tx(Client::list_all).await.unwrap()[0].nip, "5260250274");
    for bad in ["526-025-02-74", "5260250275", ""] {
        st.db
            .blocking_tx(move |c| {
                diesel::update(clients::table).set(clients::nip.eq(bad)).execute(c).map_err(DbError::from)
            })
            .unwrap();
        assert!(st.db.tx(Client::list_all).await.is_err(), "{bad:?} was read as a NIP");
    }
}

fn new_client(c: &mut ksef_gateway::db::AnyConn, nip: &str) -> Result<(), DbError> {
    let (now, id) = (ids::now(), ksef_gateway::domain::ClientId::new());
    let nip = ksef_gateway::domain::Nip::parse(nip).map_err(DbError::Task)?;
    let row = NewClient {
        id: &id,
        nip: &nip,
        name: "Przykładowa Sp. z o.o.",
        ksef_environment: "test",
        send_policy: ksef_gateway::domain::SendPolicy::Manual,
        credential_mode: ksef_gateway::domain::CredentialMode::Own,
        created_at: now,
        updated_at: now,
    };
    Client::insert(c, &row)
}

/// `Db::read` does not wait for the writer's turn (SQLite's one writer at a time): a read
/// runs, and ends, while a write transaction is open, and sees what was committed before it.
async fn a_read_runs_beside_an_open_write(b: Backend) {
    let Some(t) = TestDb::new(b) else { return };
    let st = t.state();
    st.db.blocking_tx(|c| new_client(c, "5260250274")).unwrap();
    let (opened, is_open) = tokio::sync::oneshot::channel();
    let (read_done, reads) = std::sync::mpsc::channel::<usize>();
    let db = st.db.clone();
    let writer = tokio::spawn(async move {
        db.tx(move |c| {
            new_client(c, "1111111111")?;
            opened.send(()).ok();
            // The transaction stays open until the read has ended (or the wait gives up).
            Ok::<_, DbError>(reads.recv_timeout(std::time::Duration::from_secs(10)).ok())
        })
        .await
    });
    is_open.await.unwrap();
    let seen = st.db.read(|c| Client::list_all(c).map(|all| all.len())).await.unwrap();
    assert_eq!(seen, 1, "the read sees the committed client, not the open write's");
    read_done.send(seen).unwrap();
    assert_eq!(writer.await.unwrap().unwrap(), Some(1), "the read ended while the write was open");
    assert_eq!(st.db.read(Client::list_all).await.unwrap().len(), 2);
}

/// Two writers on one SQLite file from two processes (here two pools, each with its own
/// in-process gate, as the server and a CLI command have): the one that read first and writes
/// last must not fail with "database is locked" because the other committed in between; the
/// second waits for the first instead.
#[tokio::test]
async fn sqlite_writers_of_two_processes_wait_for_each_other() {
    let Some(t) = TestDb::new(Backend::Sqlite) else { return };
    let st = t.state();
    let url = ksef_gateway::db::DbUrl::parse(&t.url).unwrap();
    let other = ksef_gateway::db::Db::connect(&url, 2, std::time::Duration::from_secs(5)).unwrap();
    let (began, has_begun) = tokio::sync::oneshot::channel();
    let first = st.db.tx(move |c| {
        let before = Client::list_all(c)?.len();
        began.send(()).ok();
        // Time for the other process's write to try its luck while this one has read.
        std::thread::sleep(std::time::Duration::from_millis(300));
        new_client(c, "5260250274")?;
        Ok::<_, DbError>(before)
    });
    let second = async move {
        has_begun.await.unwrap();
        other.tx(|c| new_client(c, "1111111111")).await
    };
    let (first, second) = tokio::join!(first, second);
    assert_eq!(first.unwrap_or_else(|e| panic!("the writer that read first failed: {e}")), 0);
    second.unwrap_or_else(|e| panic!("the other process's writer failed: {e}"));
    assert_eq!(st.db.read(Client::list_all).await.unwrap().len(), 2);
}

#[derive(diesel::QueryableByName)]
struct BackendPid {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
}

#[derive(diesel::QueryableByName)]
struct LastQuery {
    #[diesel(sql_type = diesel::sql_types::Text)]
    query: String,
}

/// The pool hands out a connection that worked within the last second without asking it first
/// (a `SELECT 1` was one round trip more for every request); one idle longer is asked, and one
/// that does not answer is replaced. The server's own view of the connection tells which (its
/// last statement); then the server ends the pool's only connection behind its back, as a
/// restart does: once it has been idle, no query meets it; right after its last work, at most
/// the next query does, and the one after runs on a new connection.
#[tokio::test]
async fn a_connection_is_asked_after_idling_and_replaced_when_the_server_ended_it() {
    use diesel::{Connection, RunQueryDsl};

    let Some(t) = TestDb::new(Backend::Pg) else { return };
    let url = ksef_gateway::db::DbUrl::parse(&t.url).unwrap();
    let db = ksef_gateway::db::Db::connect(&url, 1, std::time::Duration::from_secs(5)).unwrap();
    let pid = || {
        db.run(|c| {
            let row: BackendPid = diesel::sql_query("SELECT pg_backend_pid() AS pid").get_result(c)?;
            Ok::<_, DbError>(row.pid)
        })
    };
    let checkout = || db.run(|_| Ok::<_, DbError>(()));
    let admin = || diesel::PgConnection::establish(&crate::common::pg_admin_url().unwrap()).unwrap();
    let last_query = |pid: i32| {
        let row: LastQuery = diesel::sql_query("SELECT query FROM pg_stat_activity WHERE pid = $1")
            .bind::<diesel::sql_types::Integer, _>(pid)
            .get_result(&mut admin())
            .unwrap();
        row.query
    };
    let end = |pid: i32| {
        // With a timeout the call returns once the backend is gone, not when it was signalled.
        diesel::sql_query("SELECT pg_terminate_backend($1, 5000)")
            .bind::<diesel::sql_types::Integer, _>(pid)
            .execute(&mut admin())
            .unwrap();
    };
    let first = pid().await.unwrap();
    checkout().await.unwrap();
    assert_eq!(last_query(first), "SELECT pg_backend_pid() AS pid", "handed out again without a ping");
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    checkout().await.unwrap();
    assert_eq!(last_query(first), "SELECT 1", "asked after idling for over a second");
    assert_eq!(pid().await.unwrap(), first, "one connection, reused");
    end(first);
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let second = pid()
        .await
        .unwrap_or_else(|e| panic!("a connection idle for over a second is asked, and replaced: {e}"));
    assert_ne!(second, first);
    end(second);
    let right_after = pid().await;
    let third =
        pid().await.unwrap_or_else(|e| panic!("a connection that failed is asked at its next checkout: {e}"));
    assert_ne!(third, second);
    if let Ok(p) = right_after {
        assert_eq!(p, third, "a query that did not fail ran on the new connection");
    }
    assert!(db.ping().await.is_ok(), "the database answers");
}

#[derive(diesel::QueryableByName)]
struct PgPlanLine {
    #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
    line: String,
}

#[derive(diesel::QueryableByName)]
struct SqlitePlanLine {
    #[diesel(sql_type = diesel::sql_types::Text)]
    detail: String,
}

/// The engine's looks for work (up to a hundred a second) go through the partial indexes of live
/// rows, whose predicates their SQL repeats word for word: they name the states the domain calls
/// in flight and pending, and each planner takes the index for them.
async fn the_engine_looks_for_work_through_the_live_row_indexes(b: Backend) {
    use ksef_gateway::db::models::{IN_FLIGHT_SQL, PENDING_SQL};
    use ksef_gateway::domain::{InvoiceState, OutboxState};
    let quoted: Vec<String> = InvoiceState::IN_FLIGHT.iter().map(|s| format!("'{}'", s.as_str())).collect();
    assert_eq!(IN_FLIGHT_SQL, format!("invoices.state IN ({})", quoted.join(", ")));
    assert_eq!(PENDING_SQL, format!("outbox.status = '{}'", OutboxState::Pending.as_str()));
    let Some(t) = TestDb::new(b) else { return };
    let st = t.state();
    let looks = [
        (
            format!(
                "SELECT DISTINCT invoices.client_id FROM invoices INNER JOIN clients ON invoices.client_id = clients.id \
                 WHERE {IN_FLIGHT_SQL} AND clients.paused_reason IS NULL"
            ),
            "invoices_in_flight",
        ),
        (
            format!(
                "SELECT outbox.client_id, min(outbox.next_attempt_at) FROM outbox INNER JOIN clients ON outbox.client_id = clients.id \
                 WHERE {PENDING_SQL} AND outbox.next_attempt_at <= '2026-12-07 12:00:00' AND clients.paused_reason IS NULL \
                 GROUP BY outbox.client_id"
            ),
            "outbox_pending",
        ),
    ];
    for (sql, index) in looks {
        let shown = sql.clone();
        let plan = st
            .db
            .run(move |c| {
                use diesel::RunQueryDsl;
                Ok::<_, DbError>(match c {
                    ksef_gateway::db::AnyConn::Pg(pg) => {
                        // Empty tables cost nothing to scan: ask which index serves the query.
                        diesel::sql_query("SET enable_seqscan = off").execute(pg)?;
                        let lines: Vec<PgPlanLine> = diesel::sql_query(format!("EXPLAIN {sql}")).load(pg)?;
                        diesel::sql_query("RESET enable_seqscan").execute(pg)?;
                        lines.into_iter().map(|l| l.line).collect::<Vec<_>>().join("\n")
                    }
                    ksef_gateway::db::AnyConn::Sqlite(lite) => {
                        let lines: Vec<SqlitePlanLine> =
                            diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}")).load(lite)?;
                        lines.into_iter().map(|l| l.detail).collect::<Vec<_>>().join("\n")
                    }
                })
            })
            .await
            .unwrap();
        assert!(plan.contains(index), "{index} not used by {shown}:\n{plan}");
    }
}

#[test]
fn both_migration_trees_have_the_same_names() {
    let names = |dir: &str| -> BTreeMap<String, (bool, bool)> {
        std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .map(|e| {
                let p = e.unwrap().path();
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                (name, (p.join("up.sql").is_file(), p.join("down.sql").is_file()))
            })
            .collect()
    };
    let sqlite = names("sqlite");
    assert_eq!(sqlite, names("postgres"));
    assert!(sqlite.values().all(|&(up, down)| up && down));
}

#[test]
fn corrupt_sqlite_file_is_reported_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.db");
    std::fs::write(&path, b"this is not a database, and must survive").unwrap();
    let s = settings_at(dir.path(), &format!("sqlite://{}", path.display()));
    let err = ksef_gateway::server::bootstrap(s).err().unwrap();
    let msg = err.to_string();
    assert!(msg.contains("gateway.db") && msg.contains("not a database"), "{msg}");
    assert_eq!(std::fs::read(&path).unwrap(), b"this is not a database, and must survive");
}

#[test]
fn unreachable_postgres_is_a_clear_error_and_creates_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let s = settings_at(dir.path(), "postgres://postgres@127.0.0.1:1/nothing");
    let err = ksef_gateway::server::bootstrap(s).err().unwrap();
    assert!(err.to_string().contains("cannot connect to PostgreSQL"), "{err}");
    assert_eq!(err.exit_code(), 1);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no stray SQLite file");
}

#[test]
fn read_only_sqlite_directory_is_a_clear_error() {
    // Root ignores file modes, so make the database unreachable for writing another way: its
    // directory path runs through a regular file.
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"keep me").unwrap();
    let s = settings_at(dir.path(), &format!("sqlite://{}/sub/gateway.db", blocker.display()));
    let err = ksef_gateway::server::bootstrap(s).err().unwrap();
    assert!(err.to_string().contains("cannot create directory"), "{err}");
    assert_eq!(std::fs::read(&blocker).unwrap(), b"keep me");
}
