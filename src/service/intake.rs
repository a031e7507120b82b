//! Invoice intake: one FA(3) XML or a zip of many, checked the way KSeF will check them, and
//! stored with their exact bytes, the facts people search by, and their findings. Invoices
//! that fail stay stored as `invalid`; nothing in the bytes is ever changed.

mod results;
mod store;
mod upload;

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

pub use self::results::{Results, ResultsIter};
use self::upload::Files;
pub use self::upload::{Upload, UploadWriter};
use crate::auth::Permission;
use crate::db::models::{Client, Invoice};
use crate::domain::{ClientId, InvoiceId, InvoiceState};
use crate::error::{AppError, Refusal};
use crate::service::access::{self, Caller};
use crate::service::discard;
use crate::service::findings::StoredFinding;
use crate::state::AppState;

/// Where an upload came from (kept on the invoice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Panel,
    Api,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Panel => "panel",
            Self::Api => "api",
        }
    }
}

/// One file of an upload and what became of it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct IntakeResult {
    /// The name inside the zip (None for a single XML).
    pub file: Option<String>,
    pub invoice: Stored,
    pub findings: Vec<StoredFinding>,
}

/// What the answer to an upload says of each stored invoice: a 50 000-file upload keeps this
/// much per file (in its results' spool), not the whole row (which is in the database).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Stored {
    pub id: InvoiceId,
    pub client_id: ClientId,
    pub state: InvoiceState,
    pub sha256: String,
    pub number: Option<String>,
    pub created_at: chrono::NaiveDateTime,
    /// The invoice this one corrects, found by the KSeF number it names.
    pub corrects_invoice_id: Option<InvoiceId>,
}

impl From<&Invoice> for Stored {
    fn from(i: &Invoice) -> Self {
        Self {
            id: i.id.clone(),
            client_id: i.client_id.clone(),
            state: i.state,
            sha256: i.sha256.clone(),
            number: i.number.clone(),
            created_at: i.created_at,
            corrects_invoice_id: i.corrects_invoice_id.clone(),
        }
    }
}

/// Today in Poland: KSeF compares P_1 with the Warsaw calendar day.
pub fn today_in_poland() -> NaiveDate {
    crate::local_time::today()
}

/// Stores the invoices of one upload for the client. The whole upload is one transaction:
/// either every file is stored (valid ones as drafts, the rest as invalid) or none is. Every
/// result at once: for uploads known to be small (the demo, tests).
pub async fn submit(
    st: &AppState,
    caller: &Caller,
    client_id: &ClientId,
    body: Vec<u8>,
    source: Source,
) -> Result<Vec<IntakeResult>, AppError> {
    submit_upload(st, caller, client_id, Upload::from_bytes(body), source).await?.into_vec()
}

/// [`submit`] for a body received chunk by chunk (see [`UploadWriter`]): a zip is read one
/// entry at a time from its temporary file and its results are spooled the same way, so
/// neither its size nor its number of files shows in memory.
pub async fn submit_upload(
    st: &AppState,
    caller: &Caller,
    client_id: &ClientId,
    body: Upload,
    source: Source,
) -> Result<Results, AppError> {
    let (c, cid) = (caller.clone(), client_id.clone());
    let client = st
        .db
        .tx(move |conn| {
            access::require(conn, &c, &cid, Permission::Upload)?;
            Ok::<_, AppError>(Client::get(conn, &cid)?)
        })
        .await?;
    if body.is_empty() {
        return Err(AppError::Refused {
            refusal: Refusal::EmptyBody,
            message: "the request has no invoice in it".into(),
        });
    }
    let files = open_files(st, body).await?;
    store::check_and_store(st, caller, &client, files, source, None).await
}

/// A corrected upload in place of an invoice nobody decided on yet (a duplicate, an invalid
/// one, a draft with a mistake): one XML, stored as any upload is, while the old one goes in the
/// same transaction (so it does not count as a duplicate of its own correction). The new
/// invoice's timeline and the audit trail (`invoice.replaced`) name the one it replaced.
pub async fn replace(
    st: &AppState,
    caller: &Caller,
    old_id: &crate::domain::InvoiceId,
    mut body: Upload,
    source: Source,
) -> Result<IntakeResult, AppError> {
    let (c, id) = (caller.clone(), old_id.clone());
    let (old, client) = st
        .db
        .tx(move |conn| {
            let old = discard::removable(conn, &c, &id)?;
            let client = Client::get(conn, &old.client_id)?;
            Ok::<_, AppError>((old, client))
        })
        .await?;
    if body.is_empty() || body.is_zip()? {
        return Err(AppError::Refused {
            refusal: Refusal::ReplacementOneXml,
            message: "an invoice is replaced by exactly one FA(3) XML file".into(),
        });
    }
    let files = open_files(st, body).await?;
    let stored = store::check_and_store(st, caller, &client, files, source, Some(old)).await?;
    stored
        .into_vec()?
        .pop()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a replacement stored nothing")))
}

/// The files of an upload: the body itself, or a zip with its directory checked (reading it
/// blocks, so on the blocking pool).
async fn open_files(st: &AppState, body: Upload) -> Result<Files, AppError> {
    let max_entries = st.settings.intake.max_files_per_upload;
    tokio::task::spawn_blocking(move || Files::open(body, max_entries))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
}

/// Base64 SHA-256, the form KSeF uses for invoice hashes (so ours match KSeF's answers).
pub fn invoice_hash(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}
