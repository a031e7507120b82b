//! The states an invoice, its outbox row and a KSeF session can be in, and the one table of the
//! moves an invoice may make (DESIGN.md, "Invoice lifecycle"). Every state change in `db/` asks
//! [`InvoiceState::can_move_to`] before it writes, so a move the table does not list cannot be
//! stored by any caller.

use super::{Actor, SendPolicy};

crate::text_enum! {
    /// Where an invoice is in its life.
    pub enum InvoiceState ("invoice state") {
        /// Stored and checked; waits for a decision (or an approval).
        Draft = "draft",
        /// Failed the pre-flight checks (or an approver rejected it); kept, never sent.
        Invalid = "invalid",
        /// Approved by a second person (four-eyes policy); waits for the decision to send.
        Approved = "approved",
        /// A decision to send is recorded; the sender will pick it up.
        Queued = "queued",
        /// In a KSeF session; the outcome of the upload is not known yet.
        Sending = "sending",
        /// KSeF took the upload (status 100/150); the KSeF number is awaited.
        Registered = "registered",
        /// KSeF accepted it: KSeF number assigned, UPO stored.
        Accepted = "accepted",
        /// KSeF refused it for good (code and reason stored).
        Rejected = "rejected",
        /// Issued in an offline mode with a conscious confirmation; sent when KSeF is back.
        Offline = "offline"
    }
}

crate::text_enum! {
    /// The letter KSeF users know an invoice on its way by.
    pub enum StatusLetter ("status letter") {
        /// Wysyłanie: decided, on its way to KSeF.
        W = "W",
        /// Przyjęta do przetwarzania: KSeF registered it, the KSeF number is awaited.
        O = "O",
        /// Przyjęta: KSeF number assigned.
        A = "A"
    }
}

impl StatusLetter {
    /// How the panel explains the letter.
    pub fn label_pl(self) -> &'static str {
        match self {
            Self::W => "wysyłanie",
            Self::O => "czeka na numer KSeF",
            Self::A => "przyjęte",
        }
    }
}

impl InvoiceState {
    /// The states intake stores a new invoice in.
    pub const INITIAL: [Self; 2] = [Self::Draft, Self::Invalid];

    /// Waiting for a sender (W before a session): a sender may start sending it.
    pub const WAITING: [Self; 2] = [Self::Queued, Self::Offline];

    /// In a KSeF session, outcome or KSeF number awaited: a sender still follows it.
    pub const IN_FLIGHT: [Self; 2] = [Self::Sending, Self::Registered];

    /// Waiting for the sender or for KSeF (W and O): the watchdog's ground.
    pub const WATCHED: [Self; 4] = [Self::Queued, Self::Offline, Self::Sending, Self::Registered];

    /// Stored or sent, not dead (invalid or rejected): what counts for duplicate numbers.
    pub const DEAD: [Self; 2] = [Self::Invalid, Self::Rejected];

    /// The table of allowed moves; nothing else may change an invoice's state.
    pub fn can_move_to(self, to: Self) -> bool {
        use InvoiceState::*;
        matches!(
            (self, to),
            // A second person approves a four-eyes draft, or rejects it.
            (Draft, Approved | Invalid)
                // A person decides to send (online or issued offline).
                | (Draft | Approved, Queued | Offline)
                // A sender opens a session for it.
                | (Queued | Offline, Sending)
                // KSeF registers (O) and accepts (A) it.
                | (Sending, Registered)
                | (Sending | Registered, Accepted)
                // KSeF refuses it for good, whether or not it was uploaded yet.
                | (Queued | Offline | Sending | Registered, Rejected)
                // KSeF provably does not have it: back to waiting.
                | (Sending | Registered, Queued | Offline)
        )
    }

    /// Every allowed move, `(from, to)`, as the table lists them (docs and tests).
    pub fn moves() -> impl Iterator<Item = (Self, Self)> {
        Self::ALL
            .iter()
            .flat_map(|&f| Self::ALL.iter().filter(move |&&t| f.can_move_to(t)).map(move |&t| (f, t)))
    }

    /// The letter KSeF users know: W while it is on its way, O once KSeF registered it, A once
    /// accepted. None before a decision and after a rejection: "sent" is never shown as success.
    pub fn letter(self) -> Option<StatusLetter> {
        match self {
            Self::Queued | Self::Sending | Self::Offline => Some(StatusLetter::W),
            Self::Registered => Some(StatusLetter::O),
            Self::Accepted => Some(StatusLetter::A),
            Self::Draft | Self::Invalid | Self::Approved | Self::Rejected => None,
        }
    }

    /// [`InvoiceState::letter`] as text (API and webhook bodies).
    pub fn status_letter(self) -> Option<&'static str> {
        self.letter().map(StatusLetter::as_str)
    }

    /// Decided and not final yet: on its way to KSeF (W or O), so a page showing it follows it.
    pub fn is_on_its_way(self) -> bool {
        Self::WATCHED.contains(&self)
    }

    /// States from which a decision to send may be taken (the policy decides which of them).
    pub fn is_decidable(self) -> bool {
        matches!(self, Self::Draft | Self::Approved)
    }

    /// Nobody decided on it yet: it may still be deleted.
    pub fn is_undecided(self) -> bool {
        matches!(self, Self::Draft | Self::Invalid)
    }

    /// A four-eyes draft: someone other than its preparer must approve it first.
    pub fn awaits_approval(self, policy: SendPolicy) -> bool {
        policy == SendPolicy::FourEyes && self == Self::Draft
    }

    /// `approver` may approve it: a four-eyes draft that someone else prepared.
    pub fn may_be_approved_by(self, policy: SendPolicy, preparer: Option<&Actor>, approver: &Actor) -> bool {
        self.awaits_approval(policy) && preparer != Some(approver)
    }

    /// A person may decide to send it now under the client's policy.
    pub fn can_decide(self, policy: SendPolicy) -> bool {
        self.is_decidable() && !self.awaits_approval(policy)
    }

    /// Polish label for the panel.
    pub fn label_pl(self) -> &'static str {
        match self {
            Self::Draft => "szkic",
            Self::Invalid => "błędna",
            Self::Approved => "zatwierdzona",
            Self::Queued => "w kolejce",
            Self::Sending => "wysyłanie",
            Self::Registered => "przyjęta do przetwarzania",
            Self::Accepted => "przyjęta w KSeF",
            Self::Rejected => "odrzucona",
            Self::Offline => "wystawiona offline",
        }
    }
}

/// A state change the table does not allow; the database is left as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForbiddenMove {
    pub from: InvoiceState,
    pub to: InvoiceState,
}

impl std::error::Error for ForbiddenMove {}

impl std::fmt::Display for ForbiddenMove {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "an invoice may not move from {} to {}", self.from, self.to)
    }
}

/// Checks that every one of `from` may move to `to`. A forbidden move is a programming error:
/// it fails debug builds and tests at once, and is refused at run time in release builds.
pub fn check_moves(from: &[InvoiceState], to: InvoiceState) -> Result<(), ForbiddenMove> {
    match from.iter().find(|f| !f.can_move_to(to)) {
        None => Ok(()),
        Some(&f) => {
            debug_assert!(false, "{}", ForbiddenMove { from: f, to });
            Err(ForbiddenMove { from: f, to })
        }
    }
}

crate::text_enum! {
    /// Where an invoice's outbox row is: what the senders still have to do with it.
    pub enum OutboxState ("outbox state") {
        /// Waiting for its (next) attempt.
        Pending = "pending",
        /// Handed to KSeF; the sender or the reconciliation decides what happens next.
        Sending = "sending",
        /// KSeF accepted the invoice.
        Done = "done",
        /// KSeF refused it for good; never retried.
        Failed = "failed"
    }
}

crate::text_enum! {
    /// How a KSeF session takes invoices.
    pub enum SessionKind ("KSeF session kind") {
        /// One invoice per request.
        Online = "online",
        /// A zip of many invoices in encrypted parts.
        Batch = "batch"
    }
}

crate::text_enum! {
    /// Where a KSeF session the senders opened is.
    pub enum SessionState ("KSeF session state") {
        /// Opened; invoices may still be uploaded (batch: close not confirmed).
        Open = "open",
        /// Closed; KSeF processes or has processed it.
        Closed = "closed",
        /// Never completed (a batch whose parts did not all arrive); KSeF will cancel it.
        Abandoned = "abandoned"
    }
}

#[cfg(test)]
mod tests {
    use super::InvoiceState::*;
    use super::*;
    use crate::domain::UserId;

    #[test]
    fn every_listed_move_is_allowed_and_nothing_else() {
        let listed = [
            (Draft, Approved),
            (Draft, Invalid),
            (Draft, Queued),
            (Draft, Offline),
            (Approved, Queued),
            (Approved, Offline),
            (Queued, Sending),
            (Offline, Sending),
            (Sending, Registered),
            (Sending, Accepted),
            (Registered, Accepted),
            (Queued, Rejected),
            (Offline, Rejected),
            (Sending, Rejected),
            (Registered, Rejected),
            (Sending, Queued),
            (Sending, Offline),
            (Registered, Queued),
            (Registered, Offline),
        ];
        for (from, to) in listed {
            assert!(from.can_move_to(to), "{from} -> {to}");
            assert_eq!(check_moves(&[from], to), Ok(()));
        }
        assert_eq!(InvoiceState::moves().count(), listed.len());
    }

    #[test]
    fn the_architecture_page_lists_exactly_the_allowed_moves() {
        let doc = include_str!("../../docs/ARCHITECTURE.md");
        let rows = doc.lines().skip_while(|l| !l.starts_with("| from | to |")).skip(2);
        let mut documented = Vec::new();
        for row in rows.take_while(|l| l.starts_with('|')) {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let states = |cell: &str| -> Result<Vec<InvoiceState>, String> {
                cell.split(", ").map(InvoiceState::parse).collect()
            };
            for from in states(cells[1]).unwrap_or_default() {
                documented.extend(states(cells[2]).unwrap_or_default().into_iter().map(|to| (from, to)));
            }
        }
        documented.sort();
        let mut allowed: Vec<_> = InvoiceState::moves().collect();
        allowed.sort();
        assert_eq!(documented, allowed, "docs/ARCHITECTURE.md and can_move_to disagree");
    }

    #[test]
    fn final_states_never_move_and_nothing_skips_the_decision() {
        for to in InvoiceState::ALL {
            for from in [Accepted, Rejected, Invalid] {
                assert!(!from.can_move_to(*to), "{from} -> {to}");
            }
            assert!(!to.can_move_to(*to), "{to} -> {to}");
        }
        assert!(!Draft.can_move_to(Sending));
        assert!(!Approved.can_move_to(Draft));
        assert!(!Queued.can_move_to(Accepted));
        assert!(!Registered.can_move_to(Sending));
    }

    #[test]
    #[cfg_attr(debug_assertions, should_panic(expected = "may not move from accepted to queued"))]
    fn a_forbidden_move_fails_loudly() {
        assert_eq!(
            check_moves(&[Sending, Accepted], Queued),
            Err(ForbiddenMove { from: Accepted, to: Queued })
        );
    }

    #[test]
    fn states_read_back_as_stored_and_unknown_text_is_an_error() {
        for s in InvoiceState::ALL {
            assert_eq!(InvoiceState::try_from(s.as_str().to_owned()), Ok(*s));
        }
        assert!(InvoiceState::parse("sent").is_err());
        assert!(InvoiceState::parse("Draft").is_err());
        assert!(InvoiceState::parse("").is_err());
        assert!(OutboxState::parse("retry").is_err());
        assert!(SessionKind::parse("offline").is_err());
        assert!(SessionState::parse("opened").is_err());
        assert_eq!(SessionState::parse("abandoned"), Ok(SessionState::Abandoned));
    }

    #[test]
    fn letters_follow_the_way_to_ksef() {
        assert_eq!(Queued.letter(), Some(StatusLetter::W));
        assert_eq!(Offline.status_letter(), Some("W"));
        assert_eq!(Registered.letter(), Some(StatusLetter::O));
        assert_eq!(Accepted.letter(), Some(StatusLetter::A));
        assert_eq!(Rejected.letter(), None);
        assert!(InvoiceState::ALL
            .iter()
            .all(|s| s.letter().is_some() == (s.is_on_its_way() || *s == Accepted)));
    }

    #[test]
    fn four_eyes_drafts_wait_for_approval() {
        assert!(Draft.awaits_approval(SendPolicy::FourEyes));
        assert!(!Draft.can_decide(SendPolicy::FourEyes));
        assert!(Approved.can_decide(SendPolicy::FourEyes));
        assert!(Draft.can_decide(SendPolicy::Manual));
        assert!(!Queued.can_decide(SendPolicy::Manual));
        let (anna, bob) = (Actor::User(UserId::new()), Actor::User(UserId::new()));
        assert!(Draft.may_be_approved_by(SendPolicy::FourEyes, Some(&anna), &bob));
        assert!(!Draft.may_be_approved_by(SendPolicy::FourEyes, Some(&anna), &anna), "not the preparer");
        assert!(!Approved.may_be_approved_by(SendPolicy::FourEyes, Some(&anna), &bob), "only once");
        assert!(!Draft.may_be_approved_by(SendPolicy::Manual, Some(&anna), &bob), "only under four eyes");
    }
}
