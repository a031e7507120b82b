//! The four-eyes inbox and the approver's other answers. Approving moves a draft to
//! `approved` (`decisions::approve`). Returning it leaves it a draft with the approver's comment
//! on its timeline: the preparer sees why, and it leaves the approvers' inbox until someone acts
//! on it again. Rejecting it moves the draft to `invalid` (never sent; fixed by uploading a
//! corrected file as a new draft, as DESIGN.md's lifecycle says) with the comment: this is the
//! office's refusal, not KSeF's `rejected`, which only KSeF gives to an invoice it was sent.

use serde_json::json;

use crate::auth::Permission;
use crate::db::models::approval;
use crate::db::models::{ids, Client, Invoice, InvoiceEvent};
use crate::db::AnyConn;
use crate::domain::{Actor, InvoiceId, InvoiceState, Nip, SendPolicy};
use crate::error::{AppError, Refusal};
use crate::service::access::{self, Caller};
use crate::service::audit::{self, AuditEntry};
use crate::state::AppState;

/// How the timeline marks a draft returned to its preparer (the comment follows).
const RETURNED: &str = "Zwrócona do poprawy: ";
/// How the timeline marks a draft the approver rejected (the comment follows).
const REJECTED: &str = "Odrzucona przy zatwierdzaniu (decyzja biura, nie KSeF): ";
/// The inbox reads at most this many drafts (oldest first); the dashboard says when there are more.
pub const INBOX_LIMIT: i64 = 1000;
/// Longest comment kept.
const COMMENT_MAX: usize = 1000;

/// Refuses unless `caller` may give the second pair of eyes on `inv`: a person with `approve`
/// on a four-eyes client who did not prepare it, on a draft.
pub(crate) fn check_approver(conn: &mut AnyConn, caller: &Caller, inv: &Invoice) -> Result<Client, AppError> {
    let refuse = |refusal, message: String| AppError::refused(refusal, message);
    if caller.user().is_none() {
        return Err(refuse(Refusal::ApprovalByPerson, "only a person can approve".into()));
    }
    let client = Client::get(conn, &inv.client_id)?;
    if client.send_policy != SendPolicy::FourEyes {
        return Err(refuse(
            Refusal::ApprovalNotNeeded,
            format!("client {} does not use four-eyes approval", client.nip),
        ));
    }
    if inv.created_by.as_ref() == Some(&caller.actor()) {
        return Err(refuse(
            Refusal::ApproverIsPreparer,
            "the person who prepared an invoice cannot approve it".into(),
        ));
    }
    if !inv.state.awaits_approval(client.send_policy) {
        return Err(refuse(
            Refusal::InvoiceNotDraft,
            format!("invoice is {} and cannot be approved", inv.state),
        ));
    }
    Ok(client)
}

/// A draft waiting for the caller's approval.
pub struct InboxItem {
    pub invoice: Invoice,
    pub nip: Nip,
}

/// What waits for the caller: the drafts (oldest first) and how many per client.
pub struct Inbox {
    pub items: Vec<InboxItem>,
    /// (NIP, count), by NIP.
    pub per_client: Vec<(Nip, usize)>,
    /// True when the inbox holds [`INBOX_LIMIT`] drafts and there may be more.
    pub more: bool,
}

/// The caller's four-eyes inbox: drafts of clients where they hold `approve`, that they did
/// not prepare and that were not returned to their preparer.
pub async fn inbox(st: &AppState, caller: &Caller) -> Result<Inbox, AppError> {
    let caller = caller.clone();
    st.db
        .tx(move |conn| {
            if caller.user().is_none() {
                return Ok(Inbox { items: Vec::new(), per_client: Vec::new(), more: false });
            }
            let scope = access::scope(conn, &caller, Permission::Approve)?;
            let rows = approval::awaiting_approval(conn, &scope, &caller.actor(), INBOX_LIMIT)?;
            let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= INBOX_LIMIT;
            let ids: Vec<InvoiceId> = rows.iter().map(|(i, _)| i.id.clone()).collect();
            let returned: std::collections::HashSet<InvoiceId> = approval::last_events(conn, &ids)?
                .into_iter()
                .filter(|e| returned_comment(e).is_some())
                .map(|e| e.invoice_id)
                .collect();
            let items: Vec<InboxItem> = rows
                .into_iter()
                .filter(|(i, _)| !returned.contains(&i.id))
                .map(|(invoice, nip)| InboxItem { invoice, nip })
                .collect();
            let mut per_client = std::collections::BTreeMap::new();
            for i in &items {
                *per_client.entry(i.nip.clone()).or_insert(0) += 1;
            }
            Ok(Inbox { items, per_client: per_client.into_iter().collect(), more })
        })
        .await
}

/// The approver's comment when this timeline step returned the draft to its preparer.
pub fn returned_comment(e: &InvoiceEvent) -> Option<&str> {
    e.note.as_deref().and_then(returned_note)
}

/// The approver's comment when a timeline note is a return to the preparer.
pub fn returned_note(note: &str) -> Option<&str> {
    answer_note(note).filter(|(a, _)| *a == Answer::Return).map(|(_, c)| c)
}

crate::text_enum! {
    /// What the approver answers instead of approving.
    pub enum Answer ("answer") {
        /// Back to the preparer, still a draft.
        Return = "return",
        /// Never to be sent (`invalid`).
        Reject = "reject",
    }
}

impl Answer {
    /// The answer chosen on the panel's form.
    pub fn from_input(s: &str) -> Result<Self, AppError> {
        Self::parse(s).map_err(|e| AppError::invalid_field("odpowiedz", "unknown_answer", e))
    }

    /// How the timeline note of this answer begins (the comment follows).
    fn note_prefix(self) -> &'static str {
        match self {
            Self::Return => RETURNED,
            Self::Reject => REJECTED,
        }
    }
}

/// The approver's answer an invoice's timeline ends with, as the API shows it: the preparer
/// (or their system) reads why without parsing the Polish timeline note.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ApproverAnswer {
    pub answer: Answer,
    pub comment: String,
    pub by: Actor,
    #[serde(serialize_with = "crate::local_time::rfc3339")]
    pub at: chrono::NaiveDateTime,
}

/// The answer and comment a timeline note records, when it records one.
fn answer_note(note: &str) -> Option<(Answer, &str)> {
    Answer::ALL.iter().find_map(|a| note.strip_prefix(a.note_prefix()).map(|c| (*a, c)))
}

/// The approver's answer when the invoice's latest step (its `note`, `by` whom, `at` when)
/// records one; a later step, such as an upload in its place or an approval, makes it history,
/// kept on the timeline.
pub fn latest_answer(note: Option<&str>, by: &Actor, at: chrono::NaiveDateTime) -> Option<ApproverAnswer> {
    let (answer, comment) = answer_note(note?)?;
    Some(ApproverAnswer { answer, comment: comment.to_owned(), by: by.clone(), at })
}

/// An approver's comment on a return or a rejection, checked: 1 to 1000 characters once
/// trimmed, no control characters except line breaks.
#[derive(Debug, Clone)]
pub struct ApproverComment(String);

impl ApproverComment {
    /// The comment as typed, or why it cannot be one. Handlers read it before the invoice's id,
    /// so a bad comment is answered as such whatever the id.
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let comment = raw.trim().to_owned();
        if comment.is_empty() || comment.chars().count() > COMMENT_MAX {
            return Err(AppError::invalid_field(
                "komentarz",
                "comment_required",
                "comment: say why, for the person who prepared the invoice (1 to 1000 characters)",
            ));
        }
        // The comment is shown on pages, in the API and in audit exports: nothing that hides or
        // reorders what the preparer reads (line breaks from a text area are fine).
        if let Some(c) = crate::service::validate::forbidden_char(&comment, true) {
            return Err(AppError::invalid_field(
                "komentarz",
                "comment_control_character",
                format!("comment: contains the control character U+{:04X}; write it without", u32::from(c)),
            ));
        }
        Ok(Self(comment))
    }
}

/// The approver returns or rejects a draft, with a comment the preparer reads on the invoice's
/// page; audited as `invoice.returned` or `invoice.rejected_by_approver`.
pub async fn answer(
    st: &AppState,
    caller: &Caller,
    invoice_id: &InvoiceId,
    answer: Answer,
    comment: ApproverComment,
) -> Result<Invoice, AppError> {
    let ApproverComment(comment) = comment;
    let (caller, invoice_id) = (caller.clone(), invoice_id.clone());
    st.db
        .tx(move |conn| {
            let inv = access::invoice(conn, &caller, &invoice_id, Permission::Approve)?;
            check_approver(conn, &caller, &inv)?;
            let actor = caller.actor();
            let (action, moved) = match answer {
                Answer::Return => {
                    let note = format!("{}{comment}", answer.note_prefix());
                    let at = ids::now();
                    // Still a draft now (row locked): a concurrent approval or decision wins.
                    let still = Invoice::touch_in_state(conn, &inv.id, InvoiceState::Draft, at)?;
                    if still {
                        crate::db::models::invoice::add_event(
                            conn, &inv.id, &inv.client_id, at, inv.state, &actor, Some(&note),
                        )?;
                    }
                    ("invoice.returned", still)
                }
                Answer::Reject => {
                    let note = format!("{}{comment}", answer.note_prefix());
                    let (from, to) = ([InvoiceState::Draft], InvoiceState::Invalid);
                    ("invoice.rejected_by_approver", Invoice::transition(conn, &inv.id, &from, to, &actor, Some(&note))?)
                }
            };
            if !moved {
                return Err(AppError::Conflict("invoice changed meanwhile; try again".into()));
            }
            audit::record(
                conn,
                AuditEntry {
                    actor: &caller.audit_actor(),
                    client_id: Some(&inv.client_id),
                    action,
                    subject: Some(&inv.id),
                    payload: json!({"sha256": inv.sha256, "number": inv.number, "preparer": inv.created_by, "comment": comment}),
                },
            )?;
            Ok(Invoice::get(conn, &crate::db::models::ClientScope::All, &inv.id)?)
        })
        .await
}
