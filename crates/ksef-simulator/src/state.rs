//! In-memory state of one simulator: credentials, auth operations, sessions, invoices.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};

/// A KSeF token known to the simulator.
#[derive(Clone)]
pub struct KsefTokenRec {
    pub reference: String,
    pub nip: String,
    pub permissions: Vec<String>,
    pub description: String,
    pub created: DateTime<Utc>,
    pub last_use: Option<DateTime<Utc>>,
    /// `Active`, `Revoked`.
    pub status: &'static str,
}

/// A challenge handed out by `POST /auth/challenge`.
pub struct ChallengeRec {
    pub timestamp_ms: i64,
    pub created: DateTime<Utc>,
    pub used: bool,
}

/// What a context's owner (subject NIP = context NIP) may do there.
pub const OWNER_PERMISSIONS: [&str; 7] = [
    "InvoiceWrite",
    "InvoiceRead",
    "CredentialsManage",
    "CredentialsRead",
    "Introspection",
    "SubunitManage",
    "CollectiveIdentifierManage",
];

/// Who signed an XAdES authentication, as KSeF identifies the holder of permissions.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Subject {
    Nip(String),
    Pesel(String),
    /// SHA-256 of the certificate, hex (`certificateFingerprint`).
    Fingerprint(String),
}

impl Subject {
    /// The identifier type as permissions name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Nip(_) => "Nip",
            Self::Pesel(_) => "Pesel",
            Self::Fingerprint(_) => "Fingerprint",
        }
    }

    pub fn value(&self) -> &str {
        match self {
            Self::Nip(v) | Self::Pesel(v) | Self::Fingerprint(v) => v,
        }
    }
}

/// The signer of a XAdES authentication and the subject DN its certificate gives enrollment data.
#[derive(Clone)]
pub struct SignerRec {
    pub subject: Subject,
    pub dn: crate::certificates::EnrollmentDn,
}

/// An authentication operation and its (already decided) outcome.
pub struct AuthOp {
    pub start: DateTime<Utc>,
    /// When the final status becomes visible; until then 100.
    pub ready_at: DateTime<Utc>,
    pub nip: String,
    pub method: crate::routes::auth::AuthMethod,
    pub token_ref: Option<String>,
    /// The signer of a XAdES authentication (`None` for a KSeF token: its owner is the token's NIP).
    pub signer: Option<SignerRec>,
    /// Permissions decided at authentication (signature authentication has no KSeF token to re-read).
    pub permissions: Vec<String>,
    pub code: u16,
    pub description: &'static str,
    pub details: Vec<String>,
    pub redeemed: bool,
    /// Revoked through `DELETE /auth/sessions/...` (status 425, refresh refused).
    pub revoked: bool,
    pub last_refresh: Option<DateTime<Utc>>,
    pub refresh_valid_until: Option<DateTime<Utc>>,
}

/// Online or batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    Online,
    Batch,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "Online",
            Self::Batch => "Batch",
        }
    }
}

/// A declared batch part and what was uploaded for it.
pub struct BatchPart {
    pub ordinal: u32,
    pub size: u64,
    pub hash: String,
    pub data: Option<Vec<u8>>,
}

/// What the batch open request declared.
pub struct BatchInfo {
    pub file_size: u64,
    pub file_hash: String,
    pub parts: Vec<BatchPart>,
    pub upload_deadline: DateTime<Utc>,
    /// Between close and the end of unpacking (session status 150).
    pub processing: bool,
}

/// One page of a session UPO.
#[derive(Clone)]
pub struct UpoPage {
    pub reference: String,
    /// Invoice references on this page, in order.
    pub invoices: Vec<String>,
}

/// An online or batch session.
pub struct Session {
    pub reference: String,
    pub kind: SessionKind,
    pub nip: String,
    pub auth_ref: String,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
    pub closed: Option<DateTime<Utc>>,
    /// `None` when the symmetric key could not be unwrapped (session status 415).
    pub key: Option<([u8; 32], [u8; 16])>,
    pub invoices: Vec<String>,
    /// A session-level failure decided at close (batch: 405, 415, 420, 430, 435, 440, 445).
    pub failure: Option<(u16, String)>,
    pub batch: Option<BatchInfo>,
    pub upo_pages: Vec<UpoPage>,
    pub offline_mode: bool,
}

/// A third party of an invoice (`Podmiot3`) as metadata shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThirdSubject {
    /// `Nip`, `InternalId`, `VatUe`, `Other` or `None`.
    pub id_type: &'static str,
    pub id_value: Option<String>,
    pub name: Option<String>,
    /// `Rola` (0 "other" for `RolaInna`).
    pub role: i32,
}

/// Facts of an accepted invoice that metadata queries and UPOs need.
#[derive(Clone)]
pub struct Accepted {
    pub ksef_number: String,
    pub seller_nip: String,
    pub seller_name: Option<String>,
    pub buyer_nip: Option<String>,
    pub buyer_name: Option<String>,
    pub invoice_type: String,
    pub issue_date: chrono::NaiveDate,
    pub currency: String,
    pub net: Option<String>,
    pub vat: Option<String>,
    pub gross: Option<String>,
    pub has_attachment: bool,
    pub third_subjects: Vec<ThirdSubject>,
}

/// The decided outcome of an invoice, shown once it is ready.
#[derive(Clone)]
pub enum Outcome {
    Accepted(Box<Accepted>),
    Rejected { code: u16, description: String, details: Vec<String>, extensions: Option<serde_json::Value> },
}

/// An invoice received in a session.
pub struct Invoice {
    pub reference: String,
    pub session_ref: String,
    pub ordinal: u32,
    pub xml: Arc<Vec<u8>>,
    pub hash: String,
    pub file_name: Option<String>,
    pub invoice_number: Option<String>,
    pub received: DateTime<Utc>,
    /// `invoicingDate`: time of sending (online) or of opening the session (batch).
    pub invoicing: DateTime<Utc>,
    /// Accepted with a KSeF number (`acquisitionDate`).
    pub ready_at: DateTime<Utc>,
    /// In permanent storage (`permanentStorageDate`): `ready_at` plus the storage lag.
    pub stored_at: DateTime<Utc>,
    /// Held in 150 by fault injection until released.
    pub stuck: bool,
    pub offline: bool,
    pub outcome: Outcome,
}

impl Invoice {
    /// (code, description) as visible at `now`.
    pub fn visible_status(&self, now: DateTime<Utc>, delay: chrono::Duration) -> (u16, &str) {
        if self.stuck || now < self.ready_at {
            if now < self.received + delay / 2 {
                return (100, "Faktura przyjęta do dalszego przetwarzania");
            }
            return (150, "Trwa przetwarzanie");
        }
        match &self.outcome {
            Outcome::Accepted(_) => (200, "Sukces"),
            Outcome::Rejected { code, description, .. } => (*code, description),
        }
    }

    /// The accepted facts once the invoice is in permanent storage (what queries and exports see).
    pub fn stored_at(&self, now: DateTime<Utc>) -> Option<&Accepted> {
        self.accepted_at(now).filter(|_| now >= self.stored_at)
    }

    /// The accepted facts once the invoice is visibly accepted.
    pub fn accepted_at(&self, now: DateTime<Utc>) -> Option<&Accepted> {
        match &self.outcome {
            Outcome::Accepted(a) if !self.stuck && now >= self.ready_at => Some(a),
            _ => None,
        }
    }
}

/// Everything mutable, behind one mutex (requests are short; no I/O happens while it is held).
#[derive(Default)]
pub struct Db {
    /// Token secret → record.
    pub tokens: HashMap<String, KsefTokenRec>,
    pub challenges: HashMap<String, ChallengeRec>,
    pub auth_ops: HashMap<String, AuthOp>,
    pub sessions: HashMap<String, Session>,
    /// Session references in creation order (listing).
    pub session_order: Vec<String>,
    pub invoices: HashMap<String, Invoice>,
    /// KSeF number → invoice reference.
    pub by_ksef: HashMap<String, String>,
    /// (seller NIP, RodzajFaktury, P_2) → (KSeF number, session reference).
    pub duplicates: HashMap<(String, String, String), (String, String)>,
    /// Accepted invoice references in acceptance order (metadata queries).
    pub accepted_order: Vec<String>,
    pub blocked_contexts: HashSet<String>,
    /// Permissions granted through `/testdata/permissions`: (context NIP, authorized NIP) → permissions.
    /// A token of the authorized NIP then authenticates in the context (the accounting-office case).
    pub granted: HashMap<(String, String), HashSet<String>>,
    /// Contexts allowed to send invoices with attachments (`/testdata/attachment`).
    pub attachments_allowed: HashSet<String>,
    /// Test subjects and persons created through `/testdata/subject` and `/testdata/person`.
    pub test_subjects: HashSet<String>,
    /// Invoice exports by reference number.
    pub exports: HashMap<String, crate::export::Export>,
    /// KSeF certificates issued by the simulator CA, by serial number (hex).
    pub certificates: HashMap<String, crate::certificates::IssuedCert>,
    pub enrollments: HashMap<String, crate::certificates::Enrollment>,
    /// SHA-256 of each certified public key → the subject it was certified for.
    pub certified_keys: HashMap<String, Subject>,
    /// Online sessions paused by fault injection: sends answer 21184.
    pub paused_sessions: HashSet<String>,
    /// `/testdata/limits/subject/certificate` overrides: (max enrollments, max active certificates).
    pub certificate_limits: HashMap<Subject, (Option<u32>, Option<u32>)>,
    /// Collective identifiers (IZ).
    pub collective: crate::collective::Store,
}

impl Db {
    /// Permissions a token of `token_nip` holds in `context`: its own inside its own context,
    /// otherwise the granted ones it also carries.
    pub fn permissions_in(&self, context: &str, token_nip: &str, token_perms: &[String]) -> Vec<String> {
        if context == token_nip {
            return token_perms.to_vec();
        }
        let granted = self.granted.get(&(context.to_owned(), token_nip.to_owned()));
        token_perms.iter().filter(|p| granted.is_some_and(|g| g.contains(*p))).cloned().collect()
    }

    /// Permissions a certificate's subject holds in `context`: all of the owner's in its own NIP's
    /// context, elsewhere what that context granted it (a certificate itself carries none).
    pub fn signer_permissions(&self, context: &str, subject: &Subject) -> Vec<String> {
        if matches!(subject, Subject::Nip(nip) if nip == context) {
            return OWNER_PERMISSIONS.iter().map(|p| (*p).to_owned()).collect();
        }
        let granted = self.granted.get(&(context.to_owned(), subject.value().to_owned()));
        let mut permissions: Vec<String> = granted.into_iter().flatten().cloned().collect();
        permissions.sort();
        permissions
    }

    /// The authenticated identity behind an access token: the XAdES signer, or the KSeF token's NIP.
    pub fn identity(&self, auth_ref: &str) -> Option<Subject> {
        let op = self.auth_ops.get(auth_ref)?;
        if let Some(signer) = &op.signer {
            return Some(signer.subject.clone());
        }
        let token = op.token_ref.as_deref().and_then(|r| self.token_by_ref(r))?;
        Some(Subject::Nip(token.1.nip.clone()))
    }

    /// Stores a new session (listing keeps creation order).
    pub fn add_session(&mut self, session: Session) {
        self.session_order.push(session.reference.clone());
        self.sessions.insert(session.reference.clone(), session);
    }

    /// Forgets the sessions `which` picks and every invoice received in them, with their KSeF
    /// numbers and duplicate keys, as a KSeF that lost its memory would. Returns the context NIP
    /// of every invoice forgotten.
    pub fn forget_sessions(&mut self, which: impl Fn(&Session) -> bool) -> Vec<String> {
        let gone: Vec<String> =
            self.sessions.values().filter(|s| which(s)).map(|s| s.reference.clone()).collect();
        let mut nips = Vec::new();
        for reference in &gone {
            let Some(session) = self.sessions.remove(reference) else { continue };
            for inv in session.invoices.iter().filter_map(|r| self.invoices.remove(r)) {
                if let Outcome::Accepted(a) = &inv.outcome {
                    self.by_ksef.remove(&a.ksef_number);
                }
                nips.push(session.nip.clone());
            }
        }
        self.session_order.retain(|r| self.sessions.contains_key(r));
        self.accepted_order.retain(|r| self.invoices.contains_key(r));
        self.duplicates.retain(|_, (_, session)| !gone.contains(session));
        nips
    }

    /// Hashes of the invoices of `nip` accepted and still known, in acceptance order.
    pub fn accepted_hashes(&self, nip: &str) -> Vec<String> {
        self.accepted_order
            .iter()
            .filter_map(|r| self.invoices.get(r))
            .filter(|i| self.sessions.get(&i.session_ref).is_some_and(|s| s.nip == nip))
            .map(|i| i.hash.clone())
            .collect()
    }

    /// The token record with this reference number.
    pub fn token_by_ref(&self, reference: &str) -> Option<(&String, &KsefTokenRec)> {
        self.tokens.iter().find(|(_, t)| t.reference == reference)
    }
}
