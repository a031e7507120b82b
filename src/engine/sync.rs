//! Reconciliation and status polling, one and the same: for every KSeF session with invoices of
//! ours in flight, list the session's invoices (1000 per call, rate-limit friendly) and match
//! them by reference or by `invoiceHash`. An invoice KSeF lists gets its status; an invoice KSeF
//! provably does not have (an online session lists every upload it received; a batch session
//! once it is processed) goes back to the queue. Nothing is ever sent again before this ran.

use std::collections::{BTreeMap, HashMap};

use futures_util::StreamExt;
use ksef_client::models::session::{SessionInvoiceStatus, SessionInvoicesPage, SessionQuery, SessionType};
use ksef_client::status::MAX_SESSION_PAGE;
use ksef_client::upo::Document;
use ksef_client::{ErrorClass, SecretString};
use tracing::Instrument;

use super::batch::{is_refused, requeue_all};
use super::context::{ClientCtx, Engine};
use super::limits::EndpointClass;
use super::record::{self, Acceptance};
use super::TurnError;
use crate::db::models::ksef_session::KsefSession;
use crate::db::models::{ids, Invoice};
use crate::domain::{InvoiceState, SessionKind, SessionState};
use crate::service::reasons;

/// In-flight invoices looked at per turn.
const MAX_IN_FLIGHT: i64 = 20_000;

struct Ctx<'a> {
    engine: &'a Engine,
    client: &'a ClientCtx,
    token: SecretString,
    /// Session invoice lists fetched in this turn (duplicates point at other sessions).
    lists: HashMap<String, Vec<SessionInvoiceStatus>>,
}

/// Returns whether there was anything in flight to ask KSeF about.
#[tracing::instrument(level = "debug", name = "sender.reconcile", skip_all)]
pub async fn reconcile(engine: &Engine, client: &ClientCtx) -> Result<bool, TurnError> {
    let cid = client.client_id.clone();
    let in_flight = engine.st.db.run(move |c| Invoice::in_flight(c, &cid, MAX_IN_FLIGHT)).await?;
    if in_flight.is_empty() {
        return Ok(false);
    }
    let mut by_session: BTreeMap<String, Vec<Invoice>> = BTreeMap::new();
    for inv in in_flight {
        match inv.session_reference.clone() {
            Some(r) => by_session.entry(r).or_default().push(inv),
            // The session is recorded before any upload, so this invoice never left.
            None => {
                record::requeue(&engine.st, &inv, ids::now(), "brak sesji KSeF; wysyłka od nowa", false)
                    .await?
            }
        }
    }
    let token = client.access_token(&engine.limits).await?;
    let mut cx = Ctx { engine, client, token, lists: HashMap::new() };
    for (reference, invoices) in by_session {
        sync_session(&mut cx, &reference, invoices).await?;
    }
    Ok(true)
}

async fn sync_session(cx: &mut Ctx<'_>, reference: &str, invoices: Vec<Invoice>) -> Result<(), TurnError> {
    let (engine, client) = (cx.engine, cx.client);
    let r = reference.to_owned();
    let row = engine.st.db.run(move |c| KsefSession::find_by_reference(c, &r)).await?;
    let online = row.as_ref().is_some_and(|s| s.kind == SessionKind::Online);
    // A batch session: KSeF lists its invoices only once it is processed.
    let mut processed = online;
    if !online {
        engine.limits.acquire(&client.nip, EndpointClass::SessionMisc).await;
        let status = client.ksef.session_status(&cx.token, reference);
        let status = match status.instrument(tracing::debug_span!("sender.session_status")).await {
            Ok(status) => status,
            Err(e) if session_unknown(&e) => return forgotten(cx, reference, row.as_ref(), invoices).await,
            Err(e) => return Err(e.into()),
        };
        let code = i64::from(status.status.code);
        if let Some(row) = row.as_ref().filter(|s| s.state == SessionState::Open) {
            if status.status.code == 100 {
                // Our close never got through: close now, then wait for processing.
                engine.limits.acquire(&client.nip, EndpointClass::BatchSessionClose).await;
                match client.ksef.close_batch_session(&cx.token, reference).await {
                    Ok(()) => {
                        record::session_state(
                            &engine.st.db,
                            &client.client_id,
                            &row.id,
                            SessionState::Closed,
                            None,
                        )
                        .await?
                    }
                    Err(e) if is_refused(&e) => {
                        record::session_state(
                            &engine.st.db,
                            &client.client_id,
                            &row.id,
                            SessionState::Abandoned,
                            Some(code),
                        )
                        .await?;
                        requeue_all(
                            engine,
                            reference,
                            &format!("sesja wsadowa {reference} nie została przetworzona: {e}"),
                        )
                        .await?;
                    }
                    Err(e) => return Err(e.into()),
                }
                return Ok(());
            }
            record::session_state(
                &engine.st.db,
                &client.client_id,
                &row.id,
                SessionState::Closed,
                Some(code),
            )
            .await?;
        }
        processed = !status.is_pending();
        if !processed {
            // KSeF has the closed batch and processes it: its invoices are registered (O) now,
            // their references and KSeF numbers come with the list once processing ends (not
            // listed before: a 10 000-invoice list is ten calls of the 20-a-minute budget).
            let waiting: Vec<Invoice> =
                invoices.into_iter().filter(|i| i.state == InvoiceState::Sending).collect();
            record::registered_in_batch(&engine.st, waiting).await?;
            return Ok(());
        }
    }
    if let Some(list) = cx.lists.get(reference) {
        // Listed already in this turn (a duplicate pointed here): match against what we have.
        let (found, unlisted) = matched(list, invoices, Hash::Always);
        let others = accept_listed(cx, found).await?;
        return finish(cx, reference, processed, others, unlisted).await;
    }
    match paged(cx, reference, processed, invoices).await? {
        Paged::Done => Ok(()),
        Paged::Unknown(invoices) => forgotten(cx, reference, row.as_ref(), invoices).await,
    }
}

enum Paged {
    Done,
    /// KSeF did not know the session when its first page was asked for: the invoices, untouched.
    Unknown(Vec<Invoice>),
}

/// The session's list page by page, each page's acceptances (UPO downloads, writes) running
/// while the next page waits for the per-NIP list limit: a 10 000-invoice batch is ten pages at
/// 10 a second (5 at once), and its acceptances no longer wait for the tenth.
async fn paged(
    cx: &mut Ctx<'_>,
    reference: &str,
    processed: bool,
    invoices: Vec<Invoice>,
) -> Result<Paged, TurnError> {
    let mut page = match fetch_page(cx, reference, None).await {
        Ok(page) => page,
        Err(TurnError::Ksef(e)) if session_unknown(&e) => return Ok(Paged::Unknown(invoices)),
        Err(e) => return Err(e),
    };
    let (mut waiting, mut others, mut all) = (invoices, Vec::new(), Vec::new());
    loop {
        let next = page.continuation_token.take().filter(|t| !t.is_empty());
        let (found, rest) = matched(&page.invoices, waiting, Hash::Unsent);
        waiting = rest;
        all.append(&mut page.invoices);
        let Some(next) = next else {
            others.extend(accept_listed(cx, found).await?);
            break;
        };
        let cx = &*cx;
        let (other, fetched) = tokio::join!(accept_listed(cx, found), fetch_page(cx, reference, Some(&next)));
        others.extend(other?);
        page = fetched?;
    }
    // An invoice with a reference the list never named, found by its bytes' hash after all.
    let (late, unlisted) = matched(&all, waiting, Hash::Always);
    others.extend(accept_listed(cx, late).await?);
    cx.lists.insert(reference.to_owned(), all);
    finish(cx, reference, processed, others, unlisted).await?;
    Ok(Paged::Done)
}

/// Accepts the listed invoices KSeF accepted (UPOs, writes); returns the others with what the
/// list says of them.
async fn accept_listed(
    cx: &Ctx<'_>,
    found: Vec<(Invoice, SessionInvoiceStatus)>,
) -> Result<Vec<(Invoice, SessionInvoiceStatus)>, TurnError> {
    let (accepted, others): (Vec<_>, Vec<_>) =
        found.into_iter().partition(|(_, s)| s.is_success() && s.ksef_number.is_some());
    accept_all(cx, accepted).await?;
    Ok(others)
}

/// What the list says of invoices it did not accept: registered, duplicate, rejected, retried;
/// and for an invoice the whole list does not name, once the session is processed, back to the
/// queue.
async fn finish(
    cx: &mut Ctx<'_>,
    reference: &str,
    processed: bool,
    others: Vec<(Invoice, SessionInvoiceStatus)>,
    unlisted: Vec<Invoice>,
) -> Result<(), TurnError> {
    for (inv, status) in others {
        apply(cx, &inv, &status).await?;
    }
    for inv in unlisted.into_iter().filter(|i| i.state == InvoiceState::Sending && processed) {
        let why = format!("KSeF nie ma tej faktury w sesji {reference}; zostanie wysłana ponownie");
        record::requeue(&cx.engine.st, &inv, ids::now(), &why, true).await?;
    }
    Ok(())
}

/// When an invoice is looked up by the hash of its bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hash {
    /// When its reference is not listed: the whole list is at hand.
    Always,
    /// Only when it has no reference yet (a batch's invoices): one page of several is at hand,
    /// and an invoice's own entry, named by its reference, may be on a later page than another
    /// entry with the same bytes (a resend KSeF refused as a duplicate).
    Unsent,
}

/// The invoices `page` names (by our reference, else by the hash of their bytes) with what it
/// says of them, and the invoices it does not name.
fn matched(
    page: &[SessionInvoiceStatus],
    invoices: Vec<Invoice>,
    hash: Hash,
) -> (Vec<(Invoice, SessionInvoiceStatus)>, Vec<Invoice>) {
    if invoices.is_empty() {
        // Nothing left to find (the usual end of a paged list): no maps of the whole list.
        return (Vec::new(), invoices);
    }
    let by_reference: HashMap<&str, &SessionInvoiceStatus> =
        page.iter().map(|s| (s.reference_number.as_str(), s)).collect();
    let by_hash: HashMap<&str, &SessionInvoiceStatus> =
        page.iter().map(|s| (s.invoice_hash.as_str(), s)).collect();
    let mut found = Vec::new();
    let mut rest = Vec::new();
    for inv in invoices {
        let status = inv
            .invoice_reference
            .as_deref()
            .and_then(|r| by_reference.get(r))
            .or_else(|| {
                let by_bytes = hash == Hash::Always || inv.invoice_reference.is_none();
                by_bytes.then(|| by_hash.get(inv.sha256.as_str())).flatten()
            })
            .copied();
        match status {
            Some(status) => found.push((inv, status.clone())),
            None => rest.push(inv),
        }
    }
    (found, rest)
}

/// KSeF's 21173: it has no session with this reference.
fn session_unknown(e: &ksef_client::KsefError) -> bool {
    e.api().is_some_and(|api| api.has_code(21173))
}

/// KSeF answered 21173 for a session we recorded (it restarted and lost it, or never committed
/// its opening). Asked once more through its session list: a session KSeF does not list holds
/// nothing KSeF has, so its invoices go back to the queue and are sent once more, through a new
/// session (should KSeF still have one of them after all, it answers the resend with a duplicate
/// naming the original, which counts as delivered). A session KSeF still lists stays in flight
/// for the next turn; the watchdog raises it if that lasts.
async fn forgotten(
    cx: &mut Ctx<'_>,
    reference: &str,
    row: Option<&KsefSession>,
    invoices: Vec<Invoice>,
) -> Result<(), TurnError> {
    let (engine, client) = (cx.engine, cx.client);
    let kind = if row.is_some_and(|s| s.kind == SessionKind::Online) {
        SessionType::Online
    } else {
        SessionType::Batch
    };
    let mut query = SessionQuery::of(kind);
    query.reference_number = Some(reference.to_owned());
    engine.limits.acquire(&client.nip, EndpointClass::SessionMisc).await;
    let listed = client.ksef.list_sessions(&cx.token, &query, 10, None).await?;
    if listed.sessions.iter().any(|s| s.reference_number == reference) {
        tracing::warn!(ksef.session = %reference, "KSeF answers 21173 for a session it still lists; asking again next turn");
        return Ok(());
    }
    tracing::warn!(ksef.session = %reference, invoices = invoices.len(), "KSeF does not know this session; its invoices are sent again");
    {
        let mut slot = client.online.lock().await;
        if slot.as_ref().is_some_and(|o| o.session.reference_number == reference) {
            *slot = None;
        }
    }
    if let Some(row) = row.filter(|s| s.state != SessionState::Abandoned) {
        record::session_state(&engine.st.db, &client.client_id, &row.id, SessionState::Abandoned, None)
            .await?;
    }
    let why = format!(
        "KSeF nie zna sesji {reference} (kod 21173, brak jej na liście sesji); faktura zostanie wysłana ponownie"
    );
    for inv in invoices {
        record::requeue(&engine.st, &inv, ids::now(), &why, false).await?;
    }
    Ok(())
}

/// One page of a session's list: one call against the per-NIP list limit.
#[tracing::instrument(level = "debug", name = "sender.session_list", skip_all)]
async fn fetch_page(
    cx: &Ctx<'_>,
    reference: &str,
    continuation: Option<&str>,
) -> Result<SessionInvoicesPage, TurnError> {
    cx.engine.limits.acquire(&cx.client.nip, EndpointClass::SessionInvoiceList).await;
    Ok(cx.client.ksef.session_invoices(&cx.token, reference, MAX_SESSION_PAGE, continuation).await?)
}

/// UPOs fetched side by side, acceptances written a few hundred per transaction. An invoice
/// whose UPO cannot be fetched stays in flight for the next turn without holding back the
/// others; a 429 or a refused credential stops the downloads (what was fetched is still written).
#[tracing::instrument(level = "debug", name = "sender.accept_all", skip_all, fields(invoices = accepted.len()))]
async fn accept_all(cx: &Ctx<'_>, accepted: Vec<(Invoice, SessionInvoiceStatus)>) -> Result<(), TurnError> {
    const UPO_DOWNLOADS_AT_ONCE: usize = 16;
    const PER_TRANSACTION: usize = 250;
    let mut downloads = futures_util::stream::iter(accepted)
        .map(|(inv, s)| async move {
            let session = inv.session_reference.clone().unwrap_or_default();
            let upo = cx.upo(&session, &s).await?;
            let number = s.ksef_number.as_deref().unwrap_or_default();
            Ok::<_, TurnError>((
                inv,
                acceptance(number, &s.reference_number, &s.status.description, upo, None),
            ))
        })
        .buffer_unordered(UPO_DOWNLOADS_AT_ONCE);
    let mut chunk = Vec::with_capacity(PER_TRANSACTION);
    let mut failed: Option<TurnError> = None;
    // The previous chunk's transaction runs while the next UPOs download (the stream is not
    // polled while a write is awaited inline); at most one write at a time, in order.
    let mut writing: Option<tokio::task::JoinHandle<Result<(), crate::db::DbError>>> = None;
    while let Some(done) = downloads.next().await {
        match done {
            Ok(accepted) => {
                chunk.push(accepted);
                if chunk.len() == PER_TRANSACTION {
                    written(writing.take()).await?;
                    let (st, rows) = (cx.engine.st.clone(), std::mem::take(&mut chunk));
                    writing = Some(tokio::spawn(async move { record::accepted_many(&st, rows).await }));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "A UPO could not be fetched; the invoice stays in flight for the next turn");
                let stop = matches!(&e, TurnError::Ksef(k)
                    if matches!(k.class(), ErrorClass::RateLimited { .. } | ErrorClass::Credential));
                failed.get_or_insert(e);
                if stop {
                    break;
                }
            }
        }
    }
    drop(downloads);
    written(writing).await?;
    record::accepted_many(&cx.engine.st, chunk).await?;
    failed.map_or(Ok(()), Err)
}

/// Waits for a write of acceptances started in the background, if any.
async fn written(
    writing: Option<tokio::task::JoinHandle<Result<(), crate::db::DbError>>>,
) -> Result<(), TurnError> {
    match writing {
        Some(task) => task
            .await
            .map_err(|e| TurnError::Setup(format!("writing acceptances failed: {e}")))?
            .map_err(Into::into),
        None => Ok(()),
    }
}

impl Ctx<'_> {
    /// The whole list of a session, fetched once per turn.
    async fn list(&mut self, reference: &str) -> Result<&[SessionInvoiceStatus], TurnError> {
        if !self.lists.contains_key(reference) {
            let mut all = Vec::new();
            let mut continuation: Option<String> = None;
            loop {
                let page = fetch_page(self, reference, continuation.as_deref()).await?;
                all.extend(page.invoices);
                match page.continuation_token.filter(|t| !t.is_empty()) {
                    Some(next) => continuation = Some(next),
                    None => break,
                }
            }
            self.lists.insert(reference.to_owned(), all);
        }
        Ok(self.lists.get(reference).map(Vec::as_slice).unwrap_or_default())
    }

    /// The invoice UPO: the pre-signed link first (not rate-limited), the API as a fallback.
    async fn upo(&self, session: &str, s: &SessionInvoiceStatus) -> Result<Document, TurnError> {
        if let Some(url) = &s.upo_download_url {
            match self.client.ksef.download_presigned(url).await {
                Ok(doc) => return Ok(doc),
                Err(e) => tracing::info!(error = %e, "Pre-signed UPO download failed; asking the API"),
            }
        }
        self.engine.limits.acquire(&self.client.nip, EndpointClass::SessionMisc).await;
        Ok(self.client.ksef.invoice_upo(&self.token, session, &s.reference_number).await?)
    }
}

/// Everything but a plain acceptance (see [`accept_all`]): registered, duplicate, rejected, retried.
async fn apply(cx: &mut Ctx<'_>, inv: &Invoice, s: &SessionInvoiceStatus) -> Result<(), TurnError> {
    let db = &cx.engine.st.db;
    if s.is_pending() || (s.is_success() && s.ksef_number.is_none()) {
        if inv.state == InvoiceState::Sending {
            record::registered(db, inv, &s.reference_number).await?;
        }
        return Ok(());
    }
    let code = i64::from(s.status.code);
    if code == 440 {
        if let Some((orig_session, orig_number)) = original_of_duplicate(s) {
            if cx.is_ours(&orig_session, &orig_number, &inv.sha256).await? {
                cx.engine.limits.acquire(&cx.client.nip, EndpointClass::SessionMisc).await;
                let upo =
                    cx.client.ksef.invoice_upo_by_ksef_number(&cx.token, &orig_session, &orig_number).await?;
                let note = format!(
                    "KSeF ma już tę fakturę (te same bajty) jako {orig_number} z sesji {orig_session}"
                );
                let a = acceptance(&orig_number, &s.reference_number, &s.status.description, upo, Some(note));
                record::accepted(&cx.engine.st, inv, a).await?;
                return Ok(());
            }
        }
    }
    let description = describe(s);
    match s.failure_class() {
        Some(ErrorClass::Transient) => {
            let why = format!("KSeF: {code} {description}; {}", reasons::rejection(code));
            record::requeue(&cx.engine.st, inv, cx.engine.retry_at(0, None), &why, true).await?;
        }
        Some(ErrorClass::Credential) => {
            let why = format!("KSeF: {code} {description}");
            record::requeue(&cx.engine.st, inv, ids::now(), &why, false).await?;
            let refusal =
                crate::service::ksef_login::Refusal { message: why, refused: true, auth_code: None };
            record::pause_client(db, &inv.client_id, &reasons::pause_for(&cx.client.login, &refusal)).await?;
            return Err(TurnError::Setup("client paused: KSeF refused its permissions".into()));
        }
        _ => record::rejected(&cx.engine.st, inv, code, &description).await?,
    }
    Ok(())
}

impl Ctx<'_> {
    /// True when KSeF's original of a duplicate is our very bytes (same hash), so the duplicate
    /// answer means "already delivered", not "rejected".
    async fn is_ours(&mut self, session: &str, ksef_number: &str, sha256: &str) -> Result<bool, TurnError> {
        let list = self.list(session).await?;
        Ok(list.iter().any(|s| s.ksef_number.as_deref() == Some(ksef_number) && s.invoice_hash == sha256))
    }
}

fn original_of_duplicate(s: &SessionInvoiceStatus) -> Option<(String, String)> {
    let ext = s.status.extensions.as_ref()?;
    let session = ext.get("originalSessionReferenceNumber")?.as_str()?.to_owned();
    let number = ext.get("originalKsefNumber")?.as_str()?.to_owned();
    Some((session, number))
}

fn describe(s: &SessionInvoiceStatus) -> String {
    match s.status.details.as_deref() {
        Some(details) if !details.is_empty() => format!("{} ({})", s.status.description, details.join("; ")),
        _ => s.status.description.clone(),
    }
}

fn acceptance(
    number: &str,
    reference: &str,
    description: &str,
    upo: Document,
    note: Option<String>,
) -> Acceptance {
    Acceptance {
        ksef_number: number.to_owned(),
        invoice_reference: reference.to_owned(),
        description: description.to_owned(),
        upo_sha256: upo.sha256,
        upo_xml: upo.bytes,
        note,
    }
}
