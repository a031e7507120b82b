//! The connection type, the pool, and the one door through which queries run.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::{Connection, PgConnection, SqliteConnection};

use super::{Backend, DbError, DbUrl};

/// One connection to whichever backend the URL chose. Queries written once against it run on
/// both; backend-specific SQL (upserts, `SKIP LOCKED`) matches on the variant inside `db/`.
#[derive(diesel::MultiConnection)]
pub enum AnyConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

// An `Actor` is stored as the text it displays (`user:<id>`, …), which it makes rather than
// holds, so it cannot lend a `&str` as the generic `str` path needs: each backend takes the
// made text by value, and the connection of either hands it the actor itself.
impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for crate::domain::Actor {
    fn to_sql<'b>(
        &'b self,
        out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
    ) -> diesel::serialize::Result {
        use std::io::Write;
        out.write_all(self.to_string().as_bytes())?;
        Ok(diesel::serialize::IsNull::No)
    }
}

impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::sqlite::Sqlite> for crate::domain::Actor {
    fn to_sql<'b>(
        &'b self,
        out: &mut diesel::serialize::Output<'b, '_, diesel::sqlite::Sqlite>,
    ) -> diesel::serialize::Result {
        out.set_value(self.to_string());
        Ok(diesel::serialize::IsNull::No)
    }
}

impl diesel::serialize::ToSql<diesel::sql_types::Text, MultiBackend> for crate::domain::Actor {
    fn to_sql<'b>(
        &'b self,
        out: &mut diesel::serialize::Output<'b, '_, MultiBackend>,
    ) -> diesel::serialize::Result {
        out.set_value((diesel::sql_types::Text, self));
        Ok(diesel::serialize::IsNull::No)
    }
}

/// SQLite leaves foreign keys off unless every connection turns them on; WAL lets readers work
/// while the sender writes; the busy timeout turns writer contention into a short wait.
const SQLITE_PRAGMAS: &str = "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
     PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;";

/// Opens connections of exactly the backend the URL names. diesel's derived `establish` tries
/// every backend in turn and would, for an unreachable PostgreSQL, fall through to SQLite and
/// create a file named after the URL; this manager never guesses.
#[derive(Debug, Clone)]
struct Manager {
    url: DbUrl,
    /// Why the last attempt to open a connection failed, cleared by the next one that works:
    /// tells a database that is away (restarting, refusing connections) from a pool that is
    /// merely full when no connection can be had.
    last_failure: Arc<Mutex<Option<String>>>,
}

impl Manager {
    fn open(&self) -> Result<AnyConn, DbError> {
        match &self.url {
            DbUrl::Postgres(url) => PgConnection::establish(url).map(AnyConn::Pg).map_err(|e| {
                DbError::Unavailable(format!(
                    "cannot connect to PostgreSQL at {}: {}",
                    self.url.redacted(),
                    e.to_string().trim()
                ))
            }),
            DbUrl::Sqlite(path) => {
                let path_str = path.to_str().ok_or_else(|| {
                    DbError::Unavailable(format!("SQLite path {} is not valid UTF-8", path.display()))
                })?;
                let mut conn = SqliteConnection::establish(path_str).map_err(|e| {
                    DbError::Unavailable(format!("cannot open SQLite database {}: {e}", path.display()))
                })?;
                conn.batch_execute(SQLITE_PRAGMAS).map_err(|e| {
                    DbError::Unavailable(format!("cannot use SQLite database {}: {e}", path.display()))
                })?;
                // SQLite's own LOWER folds ASCII letters only, so a search for "Łódź" would never
                // find "ŁÓDŹ Sp. z o.o."; this one folds like PostgreSQL's (Unicode).
                crate::db::models::list_sql::lower_utils::register_impl(&mut conn, |text: String| {
                    text.to_lowercase()
                })
                .map_err(|e| {
                    DbError::Unavailable(format!("cannot use SQLite database {}: {e}", path.display()))
                })?;
                Ok(AnyConn::Sqlite(conn))
            }
        }
    }
}

/// A pooled connection, and when it last finished a piece of work without an error.
struct Pooled {
    conn: AnyConn,
    worked_at: Option<Instant>,
}

/// How long a connection that just worked is believed alive without asking. The pool checked
/// every connection it handed out with a `SELECT 1`: on PostgreSQL one round trip more for every
/// request and every engine step (a quarter of an API read by id, #18). A connection that
/// finished its work without an error within this time is handed out as it is; one that failed,
/// or sat idle longer, is asked first, and replaced when it does not answer. A server restart
/// within the window costs the requests that meet a dead connection an error (503, the engine
/// retries its turn), as a restart during a request always did; those connections failed, so
/// they are asked at their next checkout and replaced.
const BELIEVED_ALIVE: Duration = Duration::from_secs(1);

impl Pooled {
    /// Runs `f` on the connection; success vouches for the connection for [`BELIEVED_ALIVE`].
    fn work<T, E>(&mut self, f: impl FnOnce(&mut AnyConn) -> Result<T, E>) -> Result<T, E> {
        self.worked_at = None;
        let out = f(&mut self.conn);
        if out.is_ok() {
            self.worked_at = Some(Instant::now());
        }
        out
    }
}

impl ManageConnection for Manager {
    type Connection = Pooled;
    type Error = DbError;

    fn connect(&self) -> Result<Pooled, DbError> {
        let opened = self.open();
        let failure = opened.as_ref().err().map(ToString::to_string);
        *crate::locks::lock(&self.last_failure) = failure;
        opened.map(|conn| Pooled { conn, worked_at: None })
    }

    fn is_valid(&self, conn: &mut Pooled) -> Result<(), DbError> {
        if conn.worked_at.is_some_and(|at| at.elapsed() < BELIEVED_ALIVE) {
            return Ok(());
        }
        conn.conn.ping().map_err(DbError::from_diesel)
    }

    fn has_broken(&self, conn: &mut Pooled) -> bool {
        conn.conn.is_broken()
    }
}

/// The database handle held in application state: a pool plus the URL it was built from.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<Manager>,
    url: DbUrl,
    /// SQLite admits one writer at a time. Writers in this process wait for each other here,
    /// woken as soon as the lock is free instead of by SQLite's busy handler's sleeps; writers of other
    /// processes (the CLI beside the server) are kept apart by `BEGIN IMMEDIATE`, see
    /// [`write_transaction`]. PostgreSQL needs no such gate.
    sqlite_writer: Option<Arc<Mutex<()>>>,
    last_failure: Arc<Mutex<Option<String>>>,
}

/// How long `/readyz` waits for a connection: orchestrators' probes time out after a second
/// (Kubernetes' default), so a database that is away must be reported well before that.
const PING_WAIT: Duration = Duration::from_millis(500);

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("url", &self.url.redacted()).finish()
    }
}

impl Db {
    /// Connects once, eagerly, so a wrong URL, an unreachable server or a corrupt file is
    /// reported at start in plain words; then builds the pool. A SQLite file's directory is
    /// created (0700) and a new file is created 0600 before SQLite opens it (SQLite gives its
    /// `-wal` and `-shm` files the database file's mode); an existing file is never replaced.
    pub fn connect(url: &DbUrl, pool_size: u32, pool_timeout: Duration) -> Result<Self, DbError> {
        if let DbUrl::Sqlite(path) = url {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                crate::private_fs::create_dir(dir).map_err(|e| {
                    DbError::Unavailable(format!("cannot create directory {}: {e}", dir.display()))
                })?;
            }
            crate::private_fs::create_file(path).map_err(|e| {
                DbError::Unavailable(format!("cannot create SQLite database {}: {e}", path.display()))
            })?;
        }
        let last_failure = Arc::new(Mutex::new(None));
        let manager = Manager { url: url.clone(), last_failure: last_failure.clone() };
        let mut probe = manager.open()?;
        check_readable(&mut probe, url)?;
        let pool = r2d2::Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(0))
            .connection_timeout(pool_timeout)
            .error_handler(Box::new(r2d2::LoggingErrorHandler))
            .build_unchecked(manager);
        let sqlite_writer = (url.backend() == Backend::Sqlite).then(|| Arc::new(Mutex::new(())));
        Ok(Self { pool, url: url.clone(), sqlite_writer, last_failure })
    }

    /// Which backend this database is.
    pub fn backend(&self) -> Backend {
        self.url.backend()
    }

    /// The URL with its password hidden.
    pub fn describe(&self) -> String {
        self.url.redacted()
    }

    /// Runs `f` in one transaction on a blocking thread, so the async workers never wait on
    /// I/O. When no connection frees up within the pool timeout the answer is `Busy` (→ 503).
    /// The closure may fail with any error that a storage error converts into (`DbError`,
    /// `AppError`), so service rules can refuse inside the transaction and roll it back.
    pub async fn tx<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + Send + 'static,
        F: FnOnce(&mut AnyConn) -> Result<T, E> + Send + 'static,
    {
        self.transaction(self.sqlite_writer.clone(), f).await
    }

    /// Like [`Db::tx`] for a closure that only reads, without waiting for SQLite's writer turn
    /// (in WAL mode readers never block the writer nor each other). Pages and API reads take
    /// this; a write inside `f` would go around the writer turn, which is why only readers may.
    ///
    /// On SQLite the closure runs in one transaction, so every query sees the same state. On
    /// PostgreSQL it runs without one: under READ COMMITTED each statement takes its own
    /// snapshot inside a transaction as well, so a BEGIN and a COMMIT around reads bought
    /// nothing but two more round trips (of five for an API read by id, #18). A read that
    /// needs one state across tables asks for it in one statement.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + Send + 'static,
        F: FnOnce(&mut AnyConn) -> Result<T, E> + Send + 'static,
    {
        match self.backend() {
            Backend::Sqlite => self.transaction(None, f).await,
            Backend::Postgres => self.run(f).await,
        }
    }

    async fn transaction<T, E, F>(&self, gate: Option<Arc<Mutex<()>>>, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + Send + 'static,
        F: FnOnce(&mut AnyConn) -> Result<T, E> + Send + 'static,
    {
        let (pool, failure) = (self.pool.clone(), self.last_failure.clone());
        tokio::task::spawn_blocking(move || {
            // A poisoned gate only means another writer panicked; the database itself is fine.
            let _turn = gate.as_ref().map(|g| crate::locks::lock(g));
            let mut conn = checkout(&pool, &failure, None).map_err(E::from)?;
            // Only writers pass the gate (on SQLite); readers keep the deferred kind, which
            // never waits for the write lock.
            if gate.is_some() {
                conn.work(|c| write_transaction(c, f))
            } else {
                conn.work(|c| c.transaction(f))
            }
        })
        .await
        .map_err(|e| E::from(DbError::Task(e.to_string())))?
    }

    /// Like [`Db::tx`] but without a transaction, for statements that must run alone.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: FnOnce(&mut AnyConn) -> Result<T, E> + Send + 'static,
    {
        let (pool, failure) = (self.pool.clone(), self.last_failure.clone());
        tokio::task::spawn_blocking(move || {
            let mut conn = checkout(&pool, &failure, None).map_err(E::from)?;
            conn.work(f)
        })
        .await
        .map_err(|e| E::from(DbError::Task(e.to_string())))?
    }

    /// Checks that the database answers a trivial query, waiting at most [`PING_WAIT`] for a
    /// connection (less when the pool timeout is shorter).
    pub async fn ping(&self) -> Result<(), DbError> {
        let (pool, failure) = (self.pool.clone(), self.last_failure.clone());
        let wait = PING_WAIT.min(self.pool.connection_timeout());
        tokio::task::spawn_blocking(move || {
            // Asked for real even when the pool believes the connection alive: this is the
            // check `/readyz` reports.
            let mut conn = checkout(&pool, &failure, Some(wait))?;
            conn.work(|c| c.batch_execute("SELECT 1").map_err(DbError::from_diesel))
        })
        .await
        .map_err(|e| DbError::Task(e.to_string()))?
    }

    /// One transaction for synchronous callers (CLI commands, migrations, tests' setup).
    pub fn blocking_tx<T>(&self, f: impl FnOnce(&mut AnyConn) -> Result<T, DbError>) -> Result<T, DbError> {
        let _turn = self.sqlite_writer.as_ref().map(|g| crate::locks::lock(g));
        let mut conn = checkout(&self.pool, &self.last_failure, None)?;
        conn.work(|c| write_transaction(c, f))
    }

    /// A plain connection for synchronous callers that manage their own statements.
    pub fn blocking<T>(&self, f: impl FnOnce(&mut AnyConn) -> Result<T, DbError>) -> Result<T, DbError> {
        let _turn = self.sqlite_writer.as_ref().map(|g| crate::locks::lock(g));
        let mut conn = checkout(&self.pool, &self.last_failure, None)?;
        conn.work(f)
    }
}

/// Runs `f` in a transaction that may write. On SQLite it begins `IMMEDIATE`, taking the write
/// lock at once and waiting for it within the busy timeout. A deferred transaction takes the
/// lock at its first write instead, and if another process committed since its first read,
/// SQLite cannot let it write on that older snapshot: it fails at once with "database is
/// locked" (SQLITE_BUSY_SNAPSHOT), whatever the busy timeout. The server and a CLI command on
/// the same file are two such processes.
fn write_transaction<T, E, F>(conn: &mut AnyConn, f: F) -> Result<T, E>
where
    E: From<diesel::result::Error>,
    F: FnOnce(&mut AnyConn) -> Result<T, E>,
{
    type Txm = <AnyConn as Connection>::TransactionManager;
    let AnyConn::Sqlite(sqlite) = conn else { return conn.transaction(f) };
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    // The rest is diesel's own `transaction`: the AnyConn manager hands every step to the
    // SQLite connection's, so transactions nested inside `f` become savepoints as usual.
    match f(conn) {
        Ok(value) => {
            Txm::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => match Txm::rollback_transaction(conn) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(error),
            Err(rollback) => Err(rollback.into()),
        },
    }
}

/// A pooled connection within `wait` (the pool timeout by default). None to be had means the
/// pool stayed full (`Busy`) or, when opening a connection failed meanwhile, that the database
/// is away (`Unavailable`, with the reason). Both are transient: a request answers 503, the
/// sender retries its turn.
fn checkout(
    pool: &r2d2::Pool<Manager>,
    last_failure: &Mutex<Option<String>>,
    wait: Option<Duration>,
) -> Result<r2d2::PooledConnection<Manager>, DbError> {
    let got = match wait {
        Some(wait) => pool.get_timeout(wait),
        None => pool.get(),
    };
    got.map_err(|_| match crate::locks::lock(last_failure).clone() {
        Some(why) => DbError::Unavailable(why),
        None => DbError::Busy,
    })
}

impl From<diesel::result::Error> for DbError {
    fn from(e: diesel::result::Error) -> Self {
        Self::from_diesel(e)
    }
}

/// A corrupt SQLite file opens fine and fails on the first read; read now so the error comes
/// at start with the file's name instead of as a 500 later.
fn check_readable(conn: &mut AnyConn, url: &DbUrl) -> Result<(), DbError> {
    let probe = match url {
        DbUrl::Sqlite(_) => "SELECT count(*) FROM sqlite_master",
        DbUrl::Postgres(_) => "SELECT 1",
    };
    conn.batch_execute(probe).map_err(|e| match url {
        DbUrl::Sqlite(p) => DbError::Unavailable(format!(
            "SQLite database {} is unreadable ({e}); it was left untouched",
            p.display()
        )),
        DbUrl::Postgres(_) => {
            DbError::Unavailable(format!("PostgreSQL at {} is not usable: {e}", url.redacted()))
        }
    })
}
