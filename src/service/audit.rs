//! The tamper-evident audit trail: every event carries the hash of the one before it, so a
//! changed, removed or reordered event breaks the chain, and `audit verify` says where.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::db::models::audit::{AuditEvent, AuditFilter};
use crate::db::models::ids;
use crate::db::{AnyConn, DbError};
use crate::domain::{ActorKind, ApiKeyId, AuditEventId, ClientId, UserId};

/// The hash the first event links to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who did something: a person, an API key, or the gateway itself (senders, watchdogs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditActor {
    User(UserId),
    ApiKey(ApiKeyId),
    System,
}

impl AuditActor {
    fn kind(&self) -> ActorKind {
        match self {
            Self::User(_) => ActorKind::User,
            Self::ApiKey(_) => ActorKind::ApiKey,
            Self::System => ActorKind::System,
        }
    }

    fn id(&self) -> Option<&str> {
        match self {
            Self::User(id) => Some(id),
            Self::ApiKey(id) => Some(id),
            Self::System => None,
        }
    }
}

/// One event to record.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    pub actor: &'a AuditActor,
    pub client_id: Option<&'a ClientId>,
    /// Stable dotted name, e.g. `invoice.uploaded`, `send.decided`, `grant.revoked`.
    pub action: &'a str,
    /// What it is about, e.g. an invoice or grant id.
    pub subject: Option<&'a str>,
    /// Details (hashes, KSeF references, codes). Never a secret.
    pub payload: Value,
}

impl<'a> AuditEntry<'a> {
    /// The usual event: `actor` took a step (`action`) on something (`subject`, an id) of one
    /// client.
    pub fn on(
        actor: &'a AuditActor,
        client_id: &'a ClientId,
        action: &'a str,
        subject: &'a str,
        payload: Value,
    ) -> Self {
        Self { actor, client_id: Some(client_id), action, subject: Some(subject), payload }
    }
}

/// Appends one event inside the caller's transaction, so the event exists exactly when the
/// change it describes does.
pub fn record(conn: &mut AnyConn, entry: AuditEntry<'_>) -> Result<(), DbError> {
    record_many(conn, std::iter::once(entry))
}

/// Appends several events in order, reading the chain head once (bulk uploads and sends).
pub fn record_many<'a>(
    conn: &mut AnyConn,
    entries: impl IntoIterator<Item = AuditEntry<'a>>,
) -> Result<(), DbError> {
    AuditEvent::lock_chain(conn)?;
    let (mut seq, mut prev_hash) = match AuditEvent::head(conn)? {
        Some((seq, hash)) => (seq, hash),
        None => (0, GENESIS.to_owned()),
    };
    // Written a chunk at a time as they are chained: a 50 000-file upload's events are never
    // all in memory at once (the transaction makes the chunks one write all the same).
    const CHUNK: usize = 500;
    let mut events = Vec::with_capacity(CHUNK);
    for entry in entries {
        seq += 1;
        let event = chained(seq, prev_hash, entry);
        prev_hash = event.hash.clone();
        events.push(event);
        if events.len() == CHUNK {
            AuditEvent::insert_many(conn, &events)?;
            events.clear();
        }
    }
    AuditEvent::insert_many(conn, &events)
}

fn chained(seq: i64, prev_hash: String, entry: AuditEntry<'_>) -> AuditEvent {
    let mut event = AuditEvent {
        seq,
        id: AuditEventId::new(),
        // Microseconds: what both backends store exactly, so the hash survives a round trip.
        at: truncate_to_micros(ids::now()),
        actor_kind: entry.actor.kind(),
        actor_id: entry.actor.id().map(str::to_owned),
        client_id: entry.client_id.map(ClientId::to_string),
        action: entry.action.to_owned(),
        subject: entry.subject.map(str::to_owned),
        payload: entry.payload.to_string(),
        prev_hash,
        hash: String::new(),
    };
    event.hash = event_hash(&event);
    event
}

fn truncate_to_micros(t: chrono::NaiveDateTime) -> chrono::NaiveDateTime {
    use chrono::Timelike;
    let micros = t.nanosecond() / 1_000 * 1_000;
    t.with_nanosecond(micros).unwrap_or(t)
}

/// SHA-256 (hex) over every field but the hash itself, each length-prefixed so no two
/// different events can serialise alike.
pub fn event_hash(e: &AuditEvent) -> String {
    let at = e.at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
    let seq = e.seq.to_string();
    let fields: [&str; 10] = [
        &seq,
        &e.id,
        &at,
        e.actor_kind.as_str(),
        e.actor_id.as_deref().unwrap_or("\u{0}"),
        e.client_id.as_deref().unwrap_or("\u{0}"),
        &e.action,
        e.subject.as_deref().unwrap_or("\u{0}"),
        &e.payload,
        &e.prev_hash,
    ];
    let mut h = Sha256::new();
    for f in fields {
        h.update((f.len() as u64).to_be_bytes());
        h.update(f.as_bytes());
    }
    hex::encode(h.finalize())
}

/// What `audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainVerdict {
    /// Every event is intact and in order.
    Intact { events: u64 },
    /// The first place where the chain breaks, in words.
    Broken { seq: i64, reason: String },
}

/// Walks the whole chain in pages and reports the first break.
pub fn verify(conn: &mut AnyConn) -> Result<ChainVerdict, DbError> {
    const PAGE: i64 = 5_000;
    let mut expected_seq = 1;
    let mut prev = GENESIS.to_owned();
    let mut after = 0;
    loop {
        let page = AuditEvent::page(conn, after, PAGE)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for e in &page {
            if e.seq != expected_seq {
                return Ok(ChainVerdict::Broken {
                    seq: e.seq,
                    reason: format!("event {} is missing (next present is {})", expected_seq, e.seq),
                });
            }
            if e.prev_hash != prev {
                return Ok(ChainVerdict::Broken {
                    seq: e.seq,
                    reason: "does not link to the event before it (removed or reordered)".into(),
                });
            }
            if event_hash(e) != e.hash {
                return Ok(ChainVerdict::Broken {
                    seq: e.seq,
                    reason: "its content was changed after it was recorded".into(),
                });
            }
            prev.clone_from(&e.hash);
            expected_seq += 1;
        }
    }
    Ok(ChainVerdict::Intact { events: u64::try_from(expected_seq - 1).unwrap_or(0) })
}

/// One keyset page of a report's events (`after < seq <= upto`).
pub fn page(
    conn: &mut AnyConn,
    filter: &AuditFilter,
    after: i64,
    upto: i64,
    limit: i64,
) -> Result<Vec<AuditEvent>, DbError> {
    AuditEvent::page_filtered(conn, filter, after, upto, limit)
}
