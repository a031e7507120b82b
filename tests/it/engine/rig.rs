//! Test rig for the sending engine: a database, the embedded simulator over real HTTP, clients
//! with simulator tokens, official sample invoices made unique, and decisions recorded through
//! the decision service.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use ksef_gateway::config::Settings;
use ksef_gateway::db::models::{ids, Client, Invoice};
use ksef_gateway::db::schema::{audit_events, upos};
use ksef_gateway::db::{AnyConn, DbError};
use ksef_gateway::domain::{InvoiceId, KsefTarget, Nip, SendPolicy};
use ksef_gateway::offline::OfflineMode;
use ksef_gateway::service::access::Caller;
use ksef_gateway::service::clients::{add_client, NewClientInput};
use ksef_gateway::service::decisions::{decide_send, SendRequest};
use ksef_gateway::state::AppState;
use ksef_simulator::{RunningSimulator, SimulatorConfig};
use secrecy::SecretString;

use crate::common::{Backend, TestDb};

const SAMPLE: &str = include_str!("../../../crates/ksef-client/tests/fixtures/examples/FA_3_Przyklad_1.xml");

pub struct Rig {
    pub st: AppState,
    pub sim: RunningSimulator,
    pub target: KsefTarget,
    pub db: TestDb,
}

/// Engine settings that make tests quick: short ticks, polls and backoff.
pub fn fast(mut s: Settings) -> Settings {
    s.sender.tick_ms = 30;
    s.sender.status_poll_ms = 100;
    s.sender.backoff_base_ms = 100;
    s.sender.backoff_max_s = 2;
    s.sender.lease_ttl_s = 6;
    s
}

impl Rig {
    pub async fn new(b: Backend, sim: SimulatorConfig) -> Option<Self> {
        Self::with(b, sim, |s| s).await
    }

    pub async fn with(
        b: Backend,
        sim: SimulatorConfig,
        tweak: impl FnOnce(Settings) -> Settings,
    ) -> Option<Self> {
        let db = TestDb::new(b)?;
        let st = db.state_with(tweak(fast(db.settings())));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let sim = ksef_simulator::start(sim, listener).await.unwrap();
        let target = KsefTarget::parse(&sim.base_url()).unwrap();
        Some(Self { st, sim, target, db })
    }

    /// A client whose token the simulator knows (or not, when `known` is false).
    pub async fn client(&self, nip: &str, known: bool) -> Client {
        let token = format!("20261201-EC-{nip}-TESTTOKEN-01|nip-{nip}|0123456789abcdef");
        if known {
            self.sim.add_token(nip, &token, &["InvoiceWrite", "InvoiceRead"]);
        }
        let input = NewClientInput {
            nip: Nip::parse(nip).unwrap(),
            name: format!("Firma {nip}"),
            ksef: self.target.clone(),
            policy: SendPolicy::Manual,
        };
        add_client(&self.st, input, SecretString::from(token), None).await.unwrap()
    }

    /// `clients` clients (NIPs `nip(first)`, `nip(first + 1)`, …) with `each` drafts apiece.
    pub async fn clients_with_invoices(
        &self,
        first: u32,
        clients: u32,
        each: usize,
        tag: &str,
    ) -> Vec<(Client, Vec<InvoiceId>)> {
        let mut all = Vec::new();
        for i in 0..clients {
            let client = self.client(&nip(first + i), true).await;
            let ids = self.invoices(&client, each, tag).await;
            all.push((client, ids));
        }
        all
    }

    /// Stores `n` drafts: the official sample with the client as seller and unique numbers,
    /// 500 to a transaction (benchmarks seed tens of thousands).
    pub async fn invoices(&self, client: &Client, n: usize, tag: &str) -> Vec<InvoiceId> {
        let mut out = Vec::new();
        for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
            let drafts: Vec<(InvoiceId, String, Vec<u8>)> = chunk
                .iter()
                .map(|i| {
                    let number = format!("FV/{tag}/{i}/{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
                    let xml = invoice_xml(&client.nip, &number);
                    (InvoiceId::new(), number, xml)
                })
                .collect();
            out.extend(drafts.iter().map(|(id, _, _)| id.clone()));
            let (cid, nip) = (client.id.clone(), client.nip.clone());
            self.st
                .db
                .tx(move |c| {
                    for (id, number, xml) in &drafts {
                        insert_invoice(c, id, (&cid, &nip), number, xml, None)?;
                    }
                    Ok::<_, DbError>(())
                })
                .await
                .unwrap();
        }
        out
    }

    /// Records a decision to send through the decision service, as the office's operator
    /// (offline: the offline24 mode).
    pub async fn decide(&self, _client: &Client, invoice_ids: &[InvoiceId], offline: bool) {
        let req = SendRequest {
            invoice_ids: invoice_ids.to_vec(),
            offline: offline.then_some(OfflineMode::Offline24.into()),
            failure_confirmed: false,
            source_ip: None,
        };
        decide_send(&self.st, &Caller::Operator, req).await.unwrap();
    }

    pub async fn invoice(&self, id: &InvoiceId) -> Invoice {
        let id = id.clone();
        self.st
            .db
            .run(move |c| Invoice::get(c, &ksef_gateway::db::models::ClientScope::All, &id))
            .await
            .unwrap()
    }

    /// Waits until every invoice is in `state`; panics with the states seen after `limit`.
    pub async fn wait_for(&self, invoice_ids: &[InvoiceId], state: &str, limit: Duration) {
        let start = Instant::now();
        loop {
            let mut states = Vec::new();
            for id in invoice_ids {
                states.push(self.invoice(id).await.state);
            }
            if states.iter().all(|s| s.as_str() == state) {
                return;
            }
            assert!(start.elapsed() < limit, "not all {state} after {limit:?}: {states:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// How many of all invoices are in `state`.
    pub async fn count_state(&self, state: &str) -> i64 {
        use ksef_gateway::db::schema::invoices;
        let state = state.to_owned();
        self.st
            .db
            .run(move |c| {
                invoices::table
                    .filter(invoices::state.eq(state))
                    .count()
                    .get_result::<i64>(c)
                    .map_err(DbError::from)
            })
            .await
            .unwrap()
    }

    /// How many different KSeF numbers the invoices carry.
    pub async fn distinct_ksef_numbers(&self) -> usize {
        use ksef_gateway::db::schema::invoices;
        let numbers: Vec<Option<String>> = self
            .st
            .db
            .run(|c| invoices::table.select(invoices::ksef_number).load(c).map_err(DbError::from))
            .await
            .unwrap();
        numbers.into_iter().flatten().collect::<std::collections::HashSet<_>>().len()
    }

    /// Runs the `ksef-gateway` binary on this rig's database with `stdin`: (exit code, output).
    pub fn cli(
        &self,
        args: Vec<String>,
        stdin: &'static str,
    ) -> tokio::task::JoinHandle<(Option<i32>, String)> {
        let (dir, url) = (self.db.dir.path().to_owned(), self.db.url.clone());
        tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ksef-gateway"))
                .args(&args)
                .arg("--data-dir")
                .arg(dir)
                .env("KSEF_GW__DATABASE__URL", url)
                .env("RUST_LOG", "off")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
            let out = child.wait_with_output().unwrap();
            let text =
                format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            (out.status.code(), text)
        })
    }

    pub async fn count_audit(&self, action: &str) -> i64 {
        let action = action.to_owned();
        self.st
            .db
            .run(move |c| {
                audit_events::table
                    .filter(audit_events::action.eq(action))
                    .count()
                    .get_result::<i64>(c)
                    .map_err(DbError::from)
            })
            .await
            .unwrap()
    }

    /// Accepted with a KSeF number of the client's NIP and a stored UPO with its hash.
    pub async fn assert_accepted(&self, invoice_ids: &[InvoiceId]) {
        for id in invoice_ids {
            let inv = self.invoice(id).await;
            assert_eq!(inv.state, ksef_gateway::domain::InvoiceState::Accepted);
            let n = inv.ksef_number.clone().unwrap();
            assert!(ksef_simulator::ksef_number_is_valid(&n), "{n}");
            assert!(n.starts_with(inv.seller_nip.as_deref().unwrap()), "{n}");
            let id2 = id.clone();
            let upo: Vec<(String, Vec<u8>)> = self
                .st
                .db
                .run(move |c| {
                    upos::table
                        .filter(upos::invoice_id.eq(id2))
                        .select((upos::sha256, upos::xml))
                        .load(c)
                        .map_err(DbError::from)
                })
                .await
                .unwrap();
            assert_eq!(upo.len(), 1, "one UPO for {id}");
            assert_eq!(upo[0].0, ksef_client::crypto::sha256_b64(&upo[0].1));
            assert!(String::from_utf8_lossy(&upo[0].1).contains(&n), "the UPO names the KSeF number");
        }
    }
}

/// The official sample with `nip` as the seller (Podmiot1) and `number` as P_2.
pub fn invoice_xml(nip: &str, number: &str) -> Vec<u8> {
    let seller = SAMPLE.replacen("<NIP>9999999999</NIP>", &format!("<NIP>{nip}</NIP>"), 1);
    seller.replacen("<P_2>FV2026/02/150</P_2>", &format!("<P_2>{number}</P_2>"), 1).into_bytes()
}

/// The `i`-th NIP with a valid checksum (different ones per test keep logs readable).
pub fn nip(i: u32) -> String {
    const WEIGHTS: [u32; 9] = [6, 5, 7, 2, 3, 4, 5, 6, 7];
    let mut base = 526_000_000 + i * 7;
    loop {
        let digits: Vec<u32> = format!("{base:09}").bytes().map(|b| u32::from(b - b'0')).collect();
        let check = WEIGHTS.iter().zip(&digits).map(|(w, d)| w * d).sum::<u32>() % 11;
        if check < 10 {
            return format!("{base:09}{check}");
        }
        base += 1;
    }
}

/// Stores one invoice of `client` with `number` and `xml`: a draft, or accepted with the KSeF
/// number when `accepted_as` gives one. Returns its id.
pub async fn store_invoice(
    st: &AppState,
    client: &Client,
    number: &str,
    xml: Vec<u8>,
    accepted_as: Option<&str>,
) -> InvoiceId {
    let (id, cid, nip) = (InvoiceId::new(), client.id.clone(), client.nip.clone());
    let (number, ksef) = (number.to_owned(), accepted_as.map(str::to_owned));
    let out = id.clone();
    st.db.tx(move |c| insert_invoice(c, &id, (&cid, &nip), &number, &xml, ksef.as_deref())).await.unwrap();
    out
}

/// Inserts one invoice of the client `(id, nip)` as a draft, or as accepted under `accepted_as`
/// (a KSeF number), past the intake (tests seed what they need directly).
fn insert_invoice(
    c: &mut AnyConn,
    id: &InvoiceId,
    (cid, nip): (&ksef_gateway::domain::ClientId, &str),
    number: &str,
    xml: &[u8],
    accepted_as: Option<&str>,
) -> Result<(), DbError> {
    use ksef_gateway::domain::InvoiceState;
    let sha = ksef_client::crypto::sha256_b64(xml);
    let now = ids::now();
    // A made-up person prepared it (an id of no stored user, as before the actor was typed).
    let preparer = ksef_gateway::domain::Actor::User(ksef_gateway::domain::UserId::new());
    let row = Invoice {
        id: id.clone(),
        number: Some(number.to_owned()),
        invoice_type: Some("VAT".to_owned()),
        seller_nip: Some(nip.to_owned()),
        currency: Some("PLN".to_owned()),
        created_by: Some(preparer.clone()),
        ..Invoice::new(
            cid.clone(),
            sha,
            xml.len() as i64,
            if accepted_as.is_some() { InvoiceState::Accepted } else { InvoiceState::Draft },
            "api",
            now,
        )
    };
    Invoice::insert(c, &row, xml, &preparer)?;
    if let Some(ksef) = accepted_as {
        use ksef_gateway::db::schema::invoices;
        diesel::update(invoices::table.filter(invoices::id.eq(&row.id)))
            .set(invoices::ksef_number.eq(ksef))
            .execute(c)
            .map_err(DbError::from)?;
    }
    Ok(())
}
