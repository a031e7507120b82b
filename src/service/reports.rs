//! Audit reports: the events a caller may read (permission `audit`), filtered by client,
//! person and period, as CSV, JSON or PDF, with the chain's verdict and head hash. Each export
//! is itself audited.
//!
//! A report is planned in one transaction (access, the export's own event, the chain head and
//! verdict) and then streamed: events are read in keyset pages up to that head and written out
//! as they come, so memory stays flat however long the period, and events recorded while the
//! report is being written do not shift it.

use std::collections::HashMap;
use std::io::{self, Write};

use chrono::NaiveDateTime;
use serde_json::{json, Value};

use crate::auth::Permission;
use crate::db::models::audit::{AuditEvent, AuditFilter};
use crate::db::models::{Client, ClientScope, User};
use crate::db::Db;
use crate::domain::{ActorKind, Nip};
use crate::error::AppError;
use crate::pdf::{Column, Flow, Lang};
use crate::service::access::{self, Caller};
use crate::service::audit::{self, AuditEntry, ChainVerdict};
use crate::service::byte_stream;
use crate::state::AppState;

/// Events read from the database per page.
const PAGE: i64 = 1_000;

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Csv,
    Json,
    Pdf,
    /// CSV for Polish Excel (the panel's download): UTF-8 BOM, `;`, Polish headers, Warsaw time,
    /// e-mails and NIPs instead of internal ids. Not offered by the API, whose CSV stays as it is.
    ExcelCsv,
}

impl ReportFormat {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "csv" => Ok(Self::Csv),
            "json" => Ok(Self::Json),
            "pdf" => Ok(Self::Pdf),
            other => Err(format!("unknown report format {other:?} (csv, json, pdf)")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Json => "json",
            Self::Pdf => "pdf",
            Self::ExcelCsv => "csv-excel",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv | Self::ExcelCsv => "text/csv; charset=utf-8",
            Self::Json => "application/json",
            Self::Pdf => "application/pdf",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::ExcelCsv => "csv",
            other => other.as_str(),
        }
    }
}

/// What the report covers.
#[derive(Debug, Clone, Default)]
pub struct ReportQuery {
    pub nip: Option<String>,
    /// A person, by user id or e-mail address.
    pub user_id: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
}

/// Everything fixed before the first event is written.
pub struct ReportPlan {
    filter: AuditFilter,
    /// The chain head when the report was planned (the export's own event): the report covers
    /// the trail up to here.
    upto: i64,
    pub head_hash: String,
    pub verdict: ChainVerdict,
    pub generated_at: NaiveDateTime,
    pub generated_by: String,
    /// Clients covered (NIP, name); `None` means every client of the office.
    pub scope: Option<Vec<(Nip, String)>>,
    pub person: Option<String>,
    pub query: ReportQuery,
    pub lang: Lang,
    /// The office's name from the configuration (`office.name`).
    pub office: String,
    users: HashMap<String, String>,
    clients: HashMap<crate::domain::ClientId, Nip>,
}

/// The clients (None: every client of the office) and the person a query covers, after
/// checking the caller's `audit` permission on them.
pub(crate) fn resolve(
    conn: &mut crate::db::AnyConn,
    caller: &Caller,
    q: &ReportQuery,
) -> Result<(Option<Vec<crate::domain::ClientId>>, Option<User>), AppError> {
    let scope = access::scope(conn, caller, Permission::Audit)?;
    let client_ids = match (&q.nip, scope) {
        (Some(nip), _) => {
            let client = access::client_named(conn, nip)?;
            access::require(conn, caller, &client.id, Permission::Audit)?;
            Some(vec![client.id])
        }
        (None, ClientScope::All) => None,
        (None, ClientScope::Only(ids)) if ids.is_empty() => return Err(AppError::Forbidden),
        (None, ClientScope::Only(ids)) => Some(ids),
    };
    let person = match &q.user_id {
        None => None,
        Some(who) => {
            // A user id or an e-mail address: text that is no user id is looked up as an e-mail.
            let by_id = match crate::domain::UserId::parse(who) {
                Ok(id) => User::find(conn, &id)?,
                Err(_) => None,
            };
            Some(match by_id {
                Some(u) => u,
                None => User::find_by_email(conn, who)?.ok_or(AppError::NotFound)?,
            })
        }
    };
    Ok((client_ids, person))
}

/// Checks access, records the export, fixes the report's scope and chain head, and checks
/// the chain.
pub async fn plan(
    st: &AppState,
    caller: &Caller,
    q: ReportQuery,
    format: ReportFormat,
    lang: Lang,
) -> Result<ReportPlan, AppError> {
    crate::service::validate::range(q.from, q.to)?;
    let caller = caller.clone();
    let office = st.settings.office.name.trim().to_owned();
    let mut plan = st
        .db
        .tx(move |conn| {
            let (client_ids, person) = resolve(conn, &caller, &q)?;
            let users: HashMap<String, String> =
                User::list(conn)?.into_iter().map(|u| (u.id.into(), u.email)).collect();
            let all_clients = Client::list_all(conn)?;
            let scope_rows = client_ids.as_ref().map(|ids| {
                all_clients
                    .iter()
                    .filter(|c| ids.contains(&c.id))
                    .map(|c| (c.nip.clone(), c.name.clone()))
                    .collect::<Vec<_>>()
            });
            let clients = all_clients.into_iter().map(|c| (c.id, c.nip)).collect();
            let filter = AuditFilter {
                client_ids: client_ids.clone(),
                actor_id: person.as_ref().map(|p| p.id.to_string()),
                from: q.from,
                to: q.to,
            };
            audit::record(
                conn,
                AuditEntry {
                    actor: &caller.audit_actor(),
                    client_id: client_ids.as_ref().and_then(|ids| (ids.len() == 1).then(|| &ids[0])),
                    action: "audit.exported",
                    subject: None,
                    payload: json!({"nip": q.nip, "user": person.as_ref().map(|p| &p.id), "from": q.from,
                                    "to": q.to, "format": format.as_str()}),
                },
            )?;
            let (upto, head_hash) =
                crate::db::models::audit::AuditEvent::head(conn)?.unwrap_or((0, audit::GENESIS.to_owned()));
            let generated_by = match &caller {
                Caller::User(u) => u.email.clone(),
                Caller::ApiKey(k) => format!("{} {}", lang.t("klucz API", "API key"), k.id),
                Caller::Operator => lang.t("operator (wiersz poleceń)", "operator (command line)").to_owned(),
            };
            Ok::<_, AppError>(ReportPlan {
                filter,
                upto,
                head_hash,
                // Set below, once the chain has been walked outside this transaction.
                verdict: ChainVerdict::Intact { events: 0 },
                generated_at: crate::db::models::ids::now(),
                generated_by,
                scope: scope_rows,
                person: person.map(|p| p.email),
                query: q,
                lang,
                office: if office.is_empty() { "ksef-gateway".to_owned() } else { office },
                users,
                clients,
            })
        })
        .await?;
    // The whole chain is walked outside that transaction: on PostgreSQL it holds the chain's
    // lock, and a long walk there would hold up every other event being recorded.
    plan.verdict = st.db.run(audit::verify).await?;
    Ok(plan)
}

/// Writes the planned report to `out`, reading events page by page; `progress` hears the
/// running count after each page. Returns the number of events written.
pub fn write<W: Write>(
    db: &Db,
    plan: &ReportPlan,
    format: ReportFormat,
    out: W,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, AppError> {
    let io_err = |e: io::Error| AppError::Internal(anyhow::anyhow!("writing the report: {e}"));
    let mut sink: Box<dyn EventSink + '_> = match format {
        ReportFormat::Csv => Box::new(CsvSink::plain(out).map_err(io_err)?),
        ReportFormat::Json => Box::new(JsonSink::new(out, plan).map_err(io_err)?),
        ReportFormat::Pdf => Box::new(PdfSink::new(out, plan).map_err(io_err)?),
        ReportFormat::ExcelCsv => Box::new(CsvSink::excel(out).map_err(io_err)?),
    };
    let mut count = 0u64;
    let mut after = 0;
    loop {
        let filter = plan.filter.clone();
        let page = db.blocking(|c| audit::page(c, &filter, after, plan.upto, PAGE))?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for e in &page {
            sink.event(plan, e).map_err(io_err)?;
        }
        count += page.len() as u64;
        progress(count);
    }
    sink.finish(plan, count).map_err(io_err)?;
    Ok(count)
}

/// Streams the planned report as chunks of bytes for an HTTP body (see [`byte_stream::written`]).
pub fn stream(
    db: Db,
    plan: ReportPlan,
    format: ReportFormat,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, io::Error>> {
    byte_stream::written("audit report", move |out| write(&db, &plan, format, out, &mut |_| {}).map(drop))
}

/// One output format, fed event by event.
trait EventSink {
    fn event(&mut self, plan: &ReportPlan, e: &AuditEvent) -> io::Result<()>;
    fn finish(self: Box<Self>, plan: &ReportPlan, count: u64) -> io::Result<()>;
}

fn utc(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn warsaw(t: NaiveDateTime) -> String {
    t.and_utc().with_timezone(&chrono_tz::Europe::Warsaw).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// A CSV export: its header, then one record per event in the format's words.
struct CsvSink<W: Write> {
    w: csv::Writer<W>,
    record: fn(&mut csv::Writer<W>, &ReportPlan, &AuditEvent) -> csv::Result<()>,
}

impl<W: Write> CsvSink<W> {
    /// For programs: `,` between fields, English headers, UTC, ids as stored.
    fn plain(out: W) -> io::Result<Self> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record([
            "seq",
            "at_utc",
            "actor_kind",
            "actor_id",
            "client_id",
            "action",
            "subject",
            "payload",
            "prev_hash",
            "hash",
        ])?;
        Ok(Self { w, record: plain_record })
    }

    /// The CSV Polish Excel opens by double-click: a UTF-8 byte order mark (else Excel reads
    /// the file as Windows-1250), `;` between fields (the list separator of the Polish locale,
    /// where `,` is the decimal comma), Polish headers, Warsaw time, and people and clients by
    /// e-mail and NIP.
    fn excel(mut out: W) -> io::Result<Self> {
        out.write_all("\u{feff}".as_bytes())?;
        let mut w = csv::WriterBuilder::new().delimiter(b';').from_writer(out);
        w.write_record([
            "Nr",
            "Czas (Warszawa)",
            "Kto",
            "Klient (NIP)",
            "Zdarzenie",
            "Szczegóły",
            "Skrót poprzedniego zdarzenia",
            "Skrót zdarzenia",
        ])?;
        Ok(Self { w, record: excel_record })
    }
}

fn plain_record<W: Write>(w: &mut csv::Writer<W>, _: &ReportPlan, e: &AuditEvent) -> csv::Result<()> {
    w.write_record([
        e.seq.to_string().as_str(),
        &utc(e.at),
        e.actor_kind.as_str(),
        e.actor_id.as_deref().unwrap_or(""),
        e.client_id.as_deref().unwrap_or(""),
        &e.action,
        e.subject.as_deref().unwrap_or(""),
        &e.payload,
        &e.prev_hash,
        &e.hash,
    ])
}

fn excel_record<W: Write>(w: &mut csv::Writer<W>, plan: &ReportPlan, e: &AuditEvent) -> csv::Result<()> {
    w.write_record([
        e.seq.to_string().as_str(),
        &warsaw(e.at),
        &who(&plan.users, Lang::Pl, e),
        &client_nip(&plan.clients, e),
        action_label(&e.action, Lang::Pl),
        &details(&e.payload, Lang::Pl),
        &e.prev_hash,
        &e.hash,
    ])
}

impl<W: Write> EventSink for CsvSink<W> {
    fn event(&mut self, plan: &ReportPlan, e: &AuditEvent) -> io::Result<()> {
        Ok((self.record)(&mut self.w, plan, e)?)
    }

    fn finish(mut self: Box<Self>, _: &ReportPlan, _: u64) -> io::Result<()> {
        self.w.flush()
    }
}

/// Who did it, as people read it: a person's e-mail (from `users`, id to e-mail), an API key,
/// or the gateway itself.
pub(crate) fn who(users: &HashMap<String, String>, l: Lang, e: &AuditEvent) -> String {
    match (e.actor_kind, e.actor_id.as_deref()) {
        (ActorKind::User, Some(id)) => users.get(id).cloned().unwrap_or_else(|| id.to_owned()),
        (ActorKind::ApiKey, Some(id)) => format!("{} {id}", l.t("klucz API", "API key")),
        _ => l.t("system (bramka)", "system (gateway)").to_owned(),
    }
}

/// The event's client by NIP (from `clients`, id to NIP; empty for office-wide events).
pub(crate) fn client_nip(clients: &HashMap<crate::domain::ClientId, Nip>, e: &AuditEvent) -> String {
    e.client_id
        .as_ref()
        .map(|id| clients.get(id.as_str()).map_or_else(|| id.clone(), Nip::to_string))
        .unwrap_or_default()
}

fn verdict_json(plan: &ReportPlan) -> Value {
    match &plan.verdict {
        ChainVerdict::Intact { events } => {
            json!({"intact": true, "events": events, "head_seq": plan.upto, "head_hash": plan.head_hash})
        }
        ChainVerdict::Broken { seq, reason } => json!({"intact": false, "seq": seq, "reason": reason,
            "head_seq": plan.upto, "head_hash": plan.head_hash}),
    }
}

/// `{"chain": {...}, "events": [...]}`, the array written element by element.
struct JsonSink<W: Write> {
    out: W,
    first: bool,
}

impl<W: Write> JsonSink<W> {
    fn new(mut out: W, plan: &ReportPlan) -> io::Result<Self> {
        write!(out, "{{\"chain\": {},\n\"events\": [", verdict_json(plan))?;
        Ok(Self { out, first: true })
    }
}

impl<W: Write> EventSink for JsonSink<W> {
    fn event(&mut self, _: &ReportPlan, e: &AuditEvent) -> io::Result<()> {
        if !self.first {
            self.out.write_all(b",")?;
        }
        self.first = false;
        self.out.write_all(b"\n")?;
        serde_json::to_writer(&mut self.out, e)?;
        Ok(())
    }

    fn finish(mut self: Box<Self>, _: &ReportPlan, _: u64) -> io::Result<()> {
        self.out.write_all(b"\n]}\n")?;
        self.out.flush()
    }
}

const BODY: f32 = 9.0;
const TABLE: f32 = 7.0;

struct PdfSink<W: Write> {
    flow: Flow<W>,
}

pub(crate) fn action_label(action: &str, lang: Lang) -> &str {
    let (pl, en) = match action {
        "login.succeeded" => ("Logowanie", "Login"),
        "login.failed" => ("Nieudane logowanie", "Failed login"),
        "logout" => ("Wylogowanie", "Logout"),
        "user.created" => ("Utworzenie użytkownika", "User created"),
        "grant.created" => ("Nadanie uprawnień", "Permissions granted"),
        "grant.revoked" => ("Odebranie uprawnień", "Permissions revoked"),
        "apikey.created" => ("Utworzenie klucza API", "API key created"),
        "apikey.revoked" => ("Unieważnienie klucza API", "API key revoked"),
        "credential.replaced" => ("Zmiana poświadczenia KSeF", "KSeF credential replaced"),
        "client.policy_changed" => ("Zmiana polityki wysyłki", "Send policy changed"),
        "invoice.uploaded" => ("Przyjęcie faktury", "Invoice uploaded"),
        "invoice.approved" => ("Zatwierdzenie faktury", "Invoice approved"),
        "send.decided" => ("Decyzja o wysyłce do KSeF", "Decision to send to KSeF"),
        "send.decided_offline" => ("Decyzja o wystawieniu w trybie offline", "Decision to issue offline"),
        "send.session_opened" => ("Otwarcie sesji KSeF", "KSeF session opened"),
        "send.invoice_registered" => ("KSeF przyjął fakturę (O)", "KSeF registered the invoice (O)"),
        "send.invoice_accepted" => ("KSeF nadał numer (A)", "KSeF assigned a number (A)"),
        "send.invoice_rejected" => ("KSeF odrzucił fakturę", "KSeF rejected the invoice"),
        "send.invoice_requeued" => ("Ponowna wysyłka", "Sent again"),
        "send.client_paused" => ("Wstrzymanie wysyłki klienta", "Client's sending paused"),
        "send.invoice_stuck" => ("Faktura długo w stanie O", "Invoice long in state O"),
        "audit.exported" => ("Eksport raportu audytu", "Audit report exported"),
        "webhook.created" => ("Utworzenie webhooka", "Webhook endpoint created"),
        "webhook.activated" => ("Włączenie webhooka", "Webhook endpoint activated"),
        "webhook.deactivated" => ("Wyłączenie webhooka", "Webhook endpoint deactivated"),
        "webhook.secret_rotated" => ("Nowy sekret webhooka", "Webhook secret rotated"),
        "webhook.deleted" => ("Usunięcie webhooka", "Webhook endpoint deleted"),
        "webhook.redelivery_requested" => ("Ponowne wysłanie zdarzenia webhooka", "Webhook event sent again"),
        "collective_identifier.create" => {
            ("Utworzenie identyfikatora zbiorczego (IZ)", "Collective identifier created")
        }
        other if other.starts_with("send.session_") => ("Sesja KSeF", "KSeF session"),
        other => (other, other),
    };
    lang.t(pl, en)
}

fn key_label(key: &str, lang: Lang) -> &str {
    let (pl, en) = match key {
        "sha256" => ("SHA-256", "SHA-256"),
        "number" => ("Numer faktury", "Invoice number"),
        "policy" => ("Polityka", "Policy"),
        "ip" => ("Z adresu", "From address"),
        "ksef_number" => ("Numer KSeF", "KSeF number"),
        "upo_sha256" => ("Skrót UPO", "UPO hash"),
        "session_reference" => ("Sesja KSeF", "KSeF session"),
        "invoice_reference" => ("Nr ref. w sesji", "Reference in session"),
        "invoices" => ("Faktury", "Invoices"),
        "status_code" => ("Kod KSeF", "KSeF code"),
        "reason" => ("Powód", "Reason"),
        "approved_by" => ("Zatwierdzili", "Approved by"),
        "offline_mode" => ("Tryb offline", "Offline mode"),
        "note" => ("Uwagi", "Note"),
        "format" => ("Format", "Format"),
        "from" => ("Od", "From"),
        "to" => ("Do", "To"),
        "user" => ("Osoba", "Person"),
        "collective_identifier" => ("Identyfikator zbiorczy", "Collective identifier"),
        "invoice_count" => ("Liczba faktur", "Invoice count"),
        "ksef_numbers" => ("Numery KSeF", "KSeF numbers"),
        other => (other, other),
    };
    lang.t(pl, en)
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Array(a) if a.is_empty() => None,
        other => Some(other.to_string()),
    }
}

/// The event's payload as lines "label: value"; lists of objects (a decision's invoices) one
/// item per line.
pub(crate) fn details(payload: &str, lang: Lang) -> String {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(payload) else { return payload.to_owned() };
    let mut lines = Vec::new();
    for (k, v) in &map {
        match v {
            Value::Array(items) if items.iter().any(Value::is_object) => {
                lines.push(format!("{}:", key_label(k, lang)));
                for item in items {
                    let Value::Object(fields) = item else { continue };
                    let parts: Vec<String> = fields
                        .iter()
                        .filter(|(fk, _)| fk.as_str() != "id")
                        .filter_map(|(fk, fv)| scalar(fv).map(|s| format!("{}: {s}", key_label(fk, lang))))
                        .collect();
                    lines.push(format!("• {}", parts.join(", ")));
                }
            }
            other => {
                if let Some(s) = scalar(other) {
                    lines.push(format!("{}: {s}", key_label(k, lang)));
                }
            }
        }
    }
    lines.join("\n")
}

impl<W: Write> PdfSink<W> {
    fn new(out: W, plan: &ReportPlan) -> io::Result<Self> {
        let l = plan.lang;
        let title = l.t("Raport audytu", "Audit report");
        let footer = format!("{title} · {} {}", l.t("wygenerowano", "generated"), warsaw(plan.generated_at));
        let mut flow = Flow::new(out, title, footer, l)?;
        flow.space(40.0);
        flow.para(22.0, title)?;
        flow.para(11.0, l.t("Dziennik zdarzeń bramki KSeF", "KSeF gateway event trail"))?;
        flow.space(20.0);
        let scope = match &plan.scope {
            None => l.t("wszyscy klienci biura", "all clients of the office").to_owned(),
            Some(rows) => {
                rows.iter().map(|(nip, name)| format!("{name} (NIP {nip})")).collect::<Vec<_>>().join("; ")
            }
        };
        let day = |t: Option<NaiveDateTime>| t.map(warsaw);
        let period = match (day(plan.query.from), day(plan.query.to)) {
            (None, None) => l.t("cały dziennik", "the whole trail").to_owned(),
            (from, to) => format!(
                "{} {} {} {}",
                l.t("od", "from"),
                from.unwrap_or_else(|| l.t("początku", "the start").to_owned()),
                l.t("do (bez)", "until (excluding)"),
                to.unwrap_or_else(|| l.t("teraz", "now").to_owned())
            ),
        };
        flow.field(BODY, l.t("Biuro:", "Office:"), &plan.office)?;
        flow.field(BODY, l.t("Zakres:", "Scope:"), &scope)?;
        if let Some(p) = &plan.person {
            flow.field(BODY, l.t("Osoba:", "Person:"), p)?;
        }
        flow.field(BODY, l.t("Okres:", "Period:"), &period)?;
        flow.field(
            BODY,
            l.t("Wygenerowano:", "Generated:"),
            &format!("{} (Europe/Warsaw)", warsaw(plan.generated_at)),
        )?;
        flow.field(BODY, l.t("Wygenerował:", "Generated by:"), &plan.generated_by)?;
        flow.field(BODY, l.t("Stan łańcucha:", "Chain state:"), &verdict_text(plan))?;
        flow.field(BODY, l.t("Ostatnie zdarzenie:", "Last event:"), &format!("nr {}", plan.upto))?;
        flow.space(6.0);
        flow.para(BODY, l.t("Skrót głowy łańcucha (SHA-256):", "Chain head hash (SHA-256):"))?;
        flow.para(BODY, &plan.head_hash)?;
        flow.new_page()?;
        flow.heading(13.0, l.t("Zdarzenia", "Events"))?;
        let columns = vec![
            Column { title: l.t("Nr", "No.").into(), width: 32.0 },
            Column { title: l.t("Czas (Warszawa)", "Time (Warsaw)").into(), width: 62.0 },
            Column { title: l.t("Kto", "Who").into(), width: 95.0 },
            Column { title: l.t("Klient (NIP)", "Client (NIP)").into(), width: 56.0 },
            Column {
                title: l.t("Zdarzenie i szczegóły", "Event and details").into(),
                width: Flow::<W>::width() - 245.0,
            },
        ];
        flow.table_start(columns, TABLE)?;
        Ok(Self { flow })
    }
}

fn verdict_text(plan: &ReportPlan) -> String {
    let l = plan.lang;
    match &plan.verdict {
        ChainVerdict::Intact { events } => {
            format!("{} ({events} {})", l.t("nienaruszony", "intact"), l.t("zdarzeń", "events"))
        }
        ChainVerdict::Broken { seq, reason } => {
            format!("{} {seq}: {reason}", l.t("NARUSZONY przy zdarzeniu", "BROKEN at event"))
        }
    }
}

impl<W: Write> EventSink for PdfSink<W> {
    fn event(&mut self, plan: &ReportPlan, e: &AuditEvent) -> io::Result<()> {
        let l = plan.lang;
        let what = format!("{}\n{}", action_label(&e.action, l), details(&e.payload, l));
        self.flow.row(&[
            e.seq.to_string(),
            warsaw(e.at),
            who(&plan.users, l, e),
            client_nip(&plan.clients, e),
            what,
        ])
    }

    fn finish(self: Box<Self>, plan: &ReportPlan, count: u64) -> io::Result<()> {
        let l = plan.lang;
        let mut flow = self.flow;
        flow.table_end();
        if count == 0 {
            flow.para(
                BODY,
                l.t(
                    "Brak zdarzeń w wybranym zakresie i okresie.",
                    "No events in the chosen scope and period.",
                ),
            )?;
        } else {
            flow.para(BODY, &format!("{}: {count}", l.t("Zdarzeń w raporcie", "Events in this report")))?;
        }
        flow.heading(13.0, l.t("Jak sprawdzić ten raport", "How to verify this report"))?;
        flow.para(
            BODY,
            l.t(
                "Każde zdarzenie dziennika zawiera skrót SHA-256 poprzedniego, więc zmiana, usunięcie lub \
                 przestawienie któregokolwiek zdarzenia przerywa łańcuch. Aby sprawdzić raport z dziennikiem:",
                "Every event of the trail carries the SHA-256 hash of the one before it, so changing, removing \
                 or reordering any event breaks the chain. To check this report against the trail:",
            ),
        )?;
        flow.para(
            BODY,
            l.t(
                "1. Na serwerze bramki uruchom: ksef-gateway audit verify (wynik: „audit trail intact”).",
                "1. On the gateway's server run: ksef-gateway audit verify (it answers \"audit trail intact\").",
            ),
        )?;
        flow.para(
            BODY,
            l.t(
                "2. Wyeksportuj dziennik w formacie CSV lub JSON (ksef-gateway audit export --format json) \
                 i sprawdź, że zdarzenie o numerze podanym niżej ma ten sam skrót; zdarzenia tego raportu \
                 mają w eksporcie te same numery.",
                "2. Export the trail as CSV or JSON (ksef-gateway audit export --format json) and check that \
                 the event with the number below has the same hash; this report's events carry the same \
                 numbers there.",
            ),
        )?;
        flow.space(4.0);
        flow.para(
            BODY,
            &format!("{} {}:", l.t("Głowa łańcucha, zdarzenie nr", "Chain head, event no."), plan.upto),
        )?;
        flow.para(BODY, &plan.head_hash)?;
        flow.finish()?;
        Ok(())
    }
}
