//! What happens to an invoice once its bytes are decrypted: the gate, duplicate detection, numbering.
//! The outcome is decided on receipt and becomes visible after the processing delay.

use std::sync::Arc;

use chrono::Utc;
use serde_json::json;

use crate::app::AppState;
use crate::ids::{ksef_number, reference_number};
use crate::state::{Accepted, Db, Invoice, Outcome, SessionKind};
use crate::time;
use crate::validate::{Facts, Rejection};

/// Hard size limits (API_BRIEF §10).
const MAX_INVOICE: usize = 1_000_000;
const MAX_INVOICE_WITH_ATTACHMENT: usize = 3_000_000;

/// An invoice to register in a session.
pub struct Received {
    /// Decrypted bytes, or `None` when decryption failed (status 435).
    pub xml: Option<Vec<u8>>,
    /// SHA-256 Base64 (declared by the client when decryption failed).
    pub hash: String,
    pub file_name: Option<String>,
    pub offline: bool,
    /// The gate's verdict on `xml` (`None` when decryption failed).
    verdict: Option<Result<Facts, Rejection>>,
}

impl Received {
    /// Runs the FA(3) gate on the bytes; called before taking the state lock, since XSD
    /// validation is the expensive part of receiving an invoice.
    pub fn checked(
        state: &AppState,
        xml: Option<Vec<u8>>,
        hash: String,
        file_name: Option<String>,
        offline: bool,
    ) -> Self {
        let verdict = xml.as_deref().map(|x| state.validator.check(x));
        Self { xml, hash, file_name, offline, verdict }
    }
}

/// Registers an invoice in `session_ref`; returns its invoice reference number.
pub fn register(state: &AppState, db: &mut Db, session_ref: &str, received: Received) -> String {
    let now = Utc::now();
    let Some(session) = db.sessions.get(session_ref) else { return String::new() };
    let context_nip = session.nip.clone();
    let ordinal = session.invoices.len() as u32 + 1;
    let reference = reference_number("EE", now);
    state.counters.received(&context_nip);
    let ready_at = now + state.delay();
    // Invoicing date: time of sending (online) or of opening the session (batch).
    let batch = session.kind == SessionKind::Batch;
    let invoicing = if batch { session.created } else { now };
    let size = received.xml.as_ref().map_or(0, Vec::len);
    let (outcome, invoice_number) = match received.verdict {
        None => (rejected(435, "Błąd odszyfrowania pliku", "Nie udało się odszyfrować faktury."), None),
        Some(verdict) => decide(db, (&context_nip, session_ref, batch), size, verdict, ready_at),
    };
    // Automatic offline marking: P_1 on an earlier Warsaw day than the invoicing date.
    let offline = received.offline
        || matches!(&outcome, Outcome::Accepted(a) if a.issue_date < time::warsaw_date(invoicing));
    match &outcome {
        Outcome::Accepted(acc) => {
            state.counters.accepted(&context_nip);
            db.by_ksef.insert(acc.ksef_number.clone(), reference.clone());
            db.accepted_order.push(reference.clone());
        }
        Outcome::Rejected { code, .. } => state.counters.rejected(&context_nip, *code),
    }
    let invoice = Invoice {
        reference: reference.clone(),
        session_ref: session_ref.to_owned(),
        ordinal,
        hash: received.hash,
        xml: Arc::new(received.xml.unwrap_or_default()),
        file_name: received.file_name,
        invoice_number,
        received: now,
        invoicing,
        ready_at,
        stored_at: ready_at + state.storage_lag(),
        stuck: state.faults.read().hold_invoices,
        offline,
        outcome,
    };
    db.invoices.insert(reference.clone(), invoice);
    if let Some(s) = db.sessions.get_mut(session_ref) {
        s.invoices.push(reference.clone());
        s.updated = now;
    }
    reference
}

fn rejected(code: u16, description: &str, detail: &str) -> Outcome {
    Outcome::Rejected {
        code,
        description: description.to_owned(),
        details: vec![detail.to_owned()],
        extensions: None,
    }
}

fn decide(
    db: &mut Db,
    (context_nip, session_ref, batch): (&str, &str, bool),
    size: usize,
    verdict: Result<Facts, Rejection>,
    ready_at: chrono::DateTime<Utc>,
) -> (Outcome, Option<String>) {
    let facts = match verdict {
        Ok(f) => f,
        Err(r) => {
            let outcome = Outcome::Rejected {
                code: r.code,
                description: r.description.to_owned(),
                details: r.details,
                extensions: None,
            };
            return (outcome, None);
        }
    };
    let number = Some(facts.invoice_number.clone());
    let limit = if facts.has_attachment { MAX_INVOICE_WITH_ATTACHMENT } else { MAX_INVOICE };
    if size > limit {
        let detail = format!("Rozmiar faktury {size} B przekracza limit {limit} B.");
        return (rejected(430, "Błąd weryfikacji pliku faktury", &detail), number);
    }
    // Attachments: batch only, and only after the context's consent (API_BRIEF §7).
    if facts.has_attachment && (!batch || !db.attachments_allowed.contains(context_nip)) {
        let detail = "Faktury z załącznikiem można wysyłać tylko w sesji wsadowej, po zgłoszeniu zgody.";
        return (rejected(415, "Brak możliwości wysyłania faktury z załącznikiem", detail), number);
    }
    if facts.seller_nip != context_nip {
        let detail = format!("NIP sprzedawcy {} różni się od NIP kontekstu {context_nip}.", facts.seller_nip);
        return (rejected(410, "Nieprawidłowy zakres uprawnień", &detail), number);
    }
    if facts.issue_date > time::warsaw_date(Utc::now()) {
        let detail =
            format!("Data wystawienia (P_1) {} jest późniejsza niż data przyjęcia.", facts.issue_date);
        return (rejected(450, "Błąd weryfikacji semantyki dokumentu faktury", &detail), number);
    }
    let key = (facts.seller_nip.clone(), facts.invoice_type.clone(), facts.invoice_number.clone());
    if let Some((orig_ksef, orig_session)) = db.duplicates.get(&key) {
        let outcome = Outcome::Rejected {
            code: 440,
            description: "Duplikat faktury".to_owned(),
            details: vec![format!(
                "Duplikat faktury. Faktura o numerze KSeF: {orig_ksef} została już prawidłowo przesłana do systemu w sesji: {orig_session}"
            )],
            extensions: Some(json!({"originalSessionReferenceNumber": orig_session, "originalKsefNumber": orig_ksef})),
        };
        return (outcome, number);
    }
    let number_ksef = ksef_number(&facts.seller_nip, ready_at.date_naive());
    db.duplicates.insert(key, (number_ksef.clone(), session_ref.to_owned()));
    let accepted = Accepted {
        ksef_number: number_ksef,
        seller_nip: facts.seller_nip,
        seller_name: facts.seller_name,
        buyer_nip: facts.buyer_nip,
        buyer_name: facts.buyer_name,
        invoice_type: facts.invoice_type,
        issue_date: facts.issue_date,
        currency: facts.currency,
        net: facts.net,
        vat: facts.vat,
        gross: facts.gross,
        has_attachment: facts.has_attachment,
        third_subjects: facts.third_subjects,
    };
    (Outcome::Accepted(Box::new(accepted)), number)
}
