//! PostgreSQL goes away under load and comes back: the fault suite's "database restarted".
//!
//! The shared PostgreSQL server is never restarted (other tests use it in parallel); the
//! outage is made per test database, twice during one send of 300 invoices over three clients:
//!
//! 1. the server side: `ALLOW_CONNECTIONS false` and every backend of the test database
//!    terminated (what a restart does to the gateway's connections), allowed again after 1.5 s;
//! 2. the network side: the pool reaches PostgreSQL through a small TCP proxy in the test, which
//!    is stopped (open connections cut, new ones refused) and started again after 1.5 s.
//!
//! Every invoice must end accepted once (the simulator counts), no client paused, `/healthz`
//! answering throughout and `/readyz` answering 503 while the database is away, 200 after.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl};
use ksef_gateway::domain::InvoiceId;
use ksef_gateway::engine;
use ksef_simulator::SimulatorConfig;
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use super::restart::assert_accepted_once_by_ksef;
use super::rig::{nip, Rig};
use crate::common::{pg_admin_url, Backend};

const ROUNDS: usize = 15;
const PER_ROUND: usize = 20;
const OUTAGE: Duration = Duration::from_millis(1_500);

pub async fn engine_postgres_outage_under_load(b: Backend) {
    if b == Backend::Sqlite {
        eprintln!("skipped: the outage is of a PostgreSQL server");
        return;
    }
    let Some(admin) = pg_admin_url() else { return };
    let upstream = {
        let u = url::Url::parse(&admin).unwrap();
        let (host, port) = (u.host_str().unwrap().to_owned(), u.port().unwrap_or(5432));
        tokio::net::lookup_host((host, port)).await.unwrap().next().unwrap()
    };
    let mut proxy = Proxy::start(upstream);
    let sim = SimulatorConfig {
        processing_delay: Duration::from_millis(200),
        rate_limit_scale: 10.0,
        ..SimulatorConfig::default()
    };
    let proxied = proxy.addr;
    let Some(rig) = Rig::with(b, sim, move |mut s| {
        let mut url = url::Url::parse(&s.database.url).unwrap();
        url.set_port(Some(proxied.port())).unwrap();
        s.database.url = url.to_string();
        s.sender.rate_limit_scale = 10.0;
        s.sender.online_max = 10;
        s
    })
    .await
    else {
        return;
    };
    let name = rig.db.pg_name().unwrap().to_owned();
    let http = Http::start(&rig).await;
    let clients = [
        rig.client(&nip(80), true).await,
        rig.client(&nip(81), true).await,
        rig.client(&nip(82), true).await,
    ];
    let engine = engine::start(rig.st.clone());
    let started = Instant::now();
    let mut all: Vec<Vec<InvoiceId>> = vec![Vec::new(); clients.len()];
    let mut seen = Vec::new();
    for round in 0..ROUNDS {
        let c = round % clients.len();
        let ids = rig.invoices(&clients[c], PER_ROUND, &format!("pg{round}")).await;
        rig.decide(&clients[c], &ids, false).await;
        all[c].extend(ids);
        if round == ROUNDS / 3 {
            let accepted = rig.count_state("accepted").await;
            eprintln!(
                "pg outage: database closed at {:?}, {accepted} of {} decided accepted",
                started.elapsed(),
                (round + 1) * PER_ROUND
            );
            let mut admin_conn = PgConnection::establish(&admin).unwrap();
            sql(&mut admin_conn, &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"));
            sql(
                &mut admin_conn,
                &format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                ),
            );
            // pg_terminate_backend only signals: the outage starts when the backends are gone.
            let gone = Instant::now();
            while backends(&mut admin_conn, &name) > 0 {
                assert!(gone.elapsed() < Duration::from_secs(5), "the test database's backends stay");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            seen.push(http.watch(OUTAGE).await);
            sql(&mut admin_conn, &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"));
            seen.push(http.recovers().await);
        }
        if round == 2 * ROUNDS / 3 {
            let accepted = rig.count_state("accepted").await;
            eprintln!(
                "pg outage: proxy stopped at {:?}, {accepted} of {} decided accepted",
                started.elapsed(),
                (round + 1) * PER_ROUND
            );
            proxy.stop();
            // The abort lands on the proxy's own runtime: the outage starts when it refuses.
            let gone = Instant::now();
            while TcpStream::connect(proxy.addr).await.is_ok() {
                assert!(gone.elapsed() < Duration::from_secs(5), "the proxy still accepts connections");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            seen.push(http.watch(OUTAGE).await);
            proxy.resume();
            seen.push(http.recovers().await);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    for ids in &all {
        rig.wait_for(ids, "accepted", Duration::from_secs(180)).await;
    }
    let elapsed = started.elapsed();
    engine.stop().await;
    eprintln!("pg outage: {} invoices accepted in {elapsed:?}; /readyz seen: {seen:?}", ROUNDS * PER_ROUND);
    for (outage, after) in seen.chunks(2).map(|p| (&p[0], &p[1])) {
        assert!(outage.healthz_failures == 0, "/healthz kept answering 200: {outage:?}");
        assert!(outage.readyz_503 > 0 && outage.readyz_200 == 0, "/readyz reports the outage: {outage:?}");
        assert_eq!(outage.api, Some(503), "the API says unavailable, neither 500 nor 401: {outage:?}");
        assert!(after.readyz_200 > 0, "/readyz reports the recovery: {after:?}");
    }
    let counters = rig.sim.counters();
    for (client, ids) in clients.iter().zip(&all) {
        rig.assert_accepted(ids).await;
        assert_accepted_once_by_ksef(&rig, client, ids).await;
        let c = counters.per_nip[client.nip.as_str()].clone();
        let n = ids.len() as u64;
        assert_eq!((c.received, c.accepted, c.duplicates), (n, n, 0), "{}: {c:?}", client.nip);
    }
    assert_eq!(rig.distinct_ksef_numbers().await, ROUNDS * PER_ROUND, "one KSeF number per invoice");
    assert_eq!(rig.count_audit("send.client_paused").await, 0, "no client was paused");
    http.stop().await;
    rig.sim.stop().await;
}

/// How many server processes serve database `name`.
fn backends(conn: &mut PgConnection, name: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let q = format!("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = '{name}'");
    diesel::sql_query(&q).get_result::<Count>(conn).unwrap_or_else(|e| panic!("{q}: {e}")).n
}

fn sql(conn: &mut PgConnection, q: &str) {
    diesel::sql_query(q).execute(conn).unwrap_or_else(|e| panic!("{q}: {e}"));
}

/// What the probes answered during one period.
#[derive(Debug, Default)]
struct Seen {
    healthz_failures: u32,
    readyz_200: u32,
    readyz_503: u32,
    readyz_slowest: Duration,
    /// What an API call with a well-formed (unknown) key answered: its lookup needs the database.
    api: Option<u16>,
}

/// The gateway's HTTP server on a port of its own, probed as an orchestrator would.
struct Http {
    base: String,
    client: reqwest::Client,
    server: actix_web::dev::ServerHandle,
}

impl Http {
    async fn start(rig: &Rig) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let st = rig.st.clone();
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new().configure(ksef_gateway::configure(st.clone()))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        // Kubernetes' default probe timeout is 1 s: an answer that takes longer is a failure.
        let client = reqwest::Client::builder().timeout(Duration::from_secs(1)).build().unwrap();
        Self { base, client, server: handle }
    }

    async fn status(&self, path: &str) -> Option<u16> {
        let resp = self.client.get(format!("{}{path}", self.base)).send().await.ok()?;
        Some(resp.status().as_u16())
    }

    async fn probe(&self, seen: &mut Seen) {
        if self.status("/healthz").await != Some(200) {
            seen.healthz_failures += 1;
        }
        let asked = Instant::now();
        match self.status("/readyz").await {
            Some(200) => seen.readyz_200 += 1,
            Some(503) => seen.readyz_503 += 1,
            _ => {}
        }
        seen.readyz_slowest = seen.readyz_slowest.max(asked.elapsed());
    }

    /// Probes every 100 ms for `period`, and makes one API call meanwhile.
    async fn watch(&self, period: Duration) -> Seen {
        let mut seen = Seen::default();
        let probes = async {
            let start = Instant::now();
            while start.elapsed() < period {
                self.probe(&mut seen).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        let key = format!("kgw_{}_{}", "a".repeat(12), "b".repeat(64));
        let api = reqwest::Client::new()
            .get(format!("{}/api/v1/clients", self.base))
            .bearer_auth(key)
            .timeout(Duration::from_secs(10))
            .send();
        let ((), api) = tokio::join!(probes, api);
        seen.api = api.ok().map(|r| r.status().as_u16());
        seen
    }

    /// Probes until `/readyz` answers 200 (at most 10 s).
    async fn recovers(&self) -> Seen {
        let mut seen = Seen::default();
        let start = Instant::now();
        while seen.readyz_200 == 0 && start.elapsed() < Duration::from_secs(10) {
            self.probe(&mut seen).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        seen
    }

    async fn stop(self) {
        self.server.stop(false).await;
    }
}

/// A TCP proxy to PostgreSQL that can be stopped (every connection through it cut, new ones
/// refused) and started again on the same port. It runs on a runtime of its own: the gateway
/// opens its first connections from blocking code on the test's (single-threaded) runtime.
struct Proxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    rt: Option<tokio::runtime::Runtime>,
    running: Option<JoinHandle<()>>,
}

impl Proxy {
    fn start(upstream: SocketAddr) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let mut proxy = Self { addr: "127.0.0.1:0".parse().unwrap(), upstream, rt: Some(rt), running: None };
        proxy.resume();
        proxy
    }

    fn resume(&mut self) {
        let Some(rt) = &self.rt else { return };
        let _entered = rt.enter();
        let socket = TcpSocket::new_v4().unwrap();
        // The port is taken again while the cut connections linger in TIME_WAIT.
        socket.set_reuseaddr(true).unwrap();
        socket.bind(self.addr).unwrap();
        let listener = socket.listen(128).unwrap();
        self.addr = listener.local_addr().unwrap();
        let upstream = self.upstream;
        self.running = Some(rt.spawn(async move {
            // Dropped with the task when the proxy stops: every open connection is cut.
            let mut connections = JoinSet::new();
            while let Ok((mut down, _)) = listener.accept().await {
                connections.spawn(async move {
                    if let Ok(mut up) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                    }
                });
            }
        }));
    }

    fn stop(&mut self) {
        if let Some(task) = self.running.take() {
            task.abort();
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop();
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}
