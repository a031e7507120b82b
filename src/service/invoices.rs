//! Reading invoices: lists, one invoice with its timeline, its exact bytes, UPO and QR link.
//! Every read goes through the caller's scope: a foreign invoice is simply not found.

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;

use crate::auth::Permission;
use crate::db::models::invoice_list::InvoiceListRow;
use crate::db::models::{Client, Invoice, InvoiceFilter, InvoiceOrder, InvoiceSort, RowKeyset};
use crate::db::AnyConn;
use crate::domain::{Actor, ClientId, InvoiceId, InvoiceState, Nip, UserId};
use crate::error::{AppError, Refusal};
use crate::service::access::{self, Caller};
use crate::service::findings::{parse_stored, FindingView, Lang};
use crate::service::list_cursor::{self, KeyKind, ListPage};
use crate::service::validate;
use crate::state::AppState;

/// One timeline entry as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    #[serde(serialize_with = "crate::local_time::rfc3339")]
    pub at: NaiveDateTime,
    pub state: InvoiceState,
    pub actor: Actor,
    pub note: Option<String>,
}

/// What every view of an invoice starts with: the first names of its JSON (DESIGN.md fixes
/// them), shared by the full view and the list's, each flattened in first.
#[derive(Debug, Clone, Serialize)]
pub struct InvoiceHead {
    pub id: InvoiceId,
    pub nip: Nip,
    pub number: Option<String>,
    pub sha256: String,
    pub state: InvoiceState,
    pub status_letter: Option<&'static str>,
    pub ksef_number: Option<String>,
}

impl InvoiceHead {
    /// The head of an invoice of the client with this NIP (the W/O/A letter follows its state).
    fn new(
        id: InvoiceId,
        nip: Nip,
        number: Option<String>,
        sha256: String,
        state: InvoiceState,
        ksef_number: Option<String>,
    ) -> Self {
        Self { id, nip, number, sha256, state, status_letter: state.status_letter(), ksef_number }
    }
}

/// An invoice as the API returns it.
#[derive(Debug, Clone, Serialize)]
pub struct InvoiceView {
    #[serde(flatten)]
    pub head: InvoiceHead,
    pub session_reference: Option<String>,
    pub invoice_reference: Option<String>,
    pub findings: Vec<FindingView>,
    pub timeline: Vec<TimelineEntry>,
    /// The four-eyes approver's return or rejection with its comment, while it is the latest step.
    pub approver_answer: Option<crate::service::approvals::ApproverAnswer>,
    pub client_id: ClientId,
    pub invoice_type: Option<String>,
    pub issue_date: Option<chrono::NaiveDate>,
    pub seller_nip: Option<String>,
    pub buyer_nip: Option<String>,
    pub buyer_name: Option<String>,
    pub currency: Option<String>,
    pub gross_total: Option<String>,
    /// Gross in minor units, for the panel's formats.
    #[serde(skip)]
    pub gross_minor: Option<i64>,
    pub ksef_status_code: Option<i64>,
    pub ksef_status_description: Option<String>,
    pub offline: bool,
    #[serde(serialize_with = "crate::local_time::rfc3339_opt")]
    pub offline_deadline: Option<NaiveDateTime>,
    pub corrects_invoice_id: Option<InvoiceId>,
    pub approved_by: Option<UserId>,
    pub size_bytes: i64,
    pub source: String,
    #[serde(serialize_with = "crate::local_time::rfc3339")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::local_time::rfc3339")]
    pub updated_at: NaiveDateTime,
    /// The collective identifiers (IZ) the invoice is in, newest first.
    pub collective_identifiers: Vec<crate::service::collective::CollectiveRef>,
}

impl InvoiceView {
    /// The view of a stored invoice of the client with this NIP, without its timeline and
    /// collective identifiers (what a bulk confirmation page shows; [`get`] adds them). Not a
    /// `From`: the findings are worded in the caller's language, which the row does not hold.
    pub fn from_row(inv: Invoice, nip: Nip, lang: Lang) -> Self {
        Self {
            findings: parse_stored(&inv.findings).iter().map(|f| f.view(lang)).collect(),
            timeline: Vec::new(),
            approver_answer: None,
            session_reference: inv.session_reference,
            invoice_reference: inv.invoice_reference,
            client_id: inv.client_id,
            invoice_type: inv.invoice_type,
            issue_date: inv.issue_date,
            seller_nip: inv.seller_nip,
            buyer_nip: inv.buyer_nip,
            buyer_name: inv.buyer_name,
            currency: inv.currency,
            gross_total: inv.gross_total,
            gross_minor: inv.gross_minor,
            ksef_status_code: inv.ksef_status_code,
            ksef_status_description: inv.ksef_status_description,
            offline: inv.offline_mode,
            offline_deadline: inv.offline_deadline,
            corrects_invoice_id: inv.corrects_invoice_id,
            approved_by: inv.approved_by,
            size_bytes: inv.size_bytes,
            source: inv.source,
            created_at: inv.created_at,
            updated_at: inv.updated_at,
            collective_identifiers: Vec::new(),
            head: InvoiceHead::new(inv.id, nip, inv.number, inv.sha256, inv.state, inv.ksef_number),
        }
    }

    /// The view with its timeline (oldest first), the approver's answer in it, and the
    /// collective identifiers it is in.
    fn with_history(
        self,
        timeline: Vec<TimelineEntry>,
        collective_identifiers: Vec<crate::service::collective::CollectiveRef>,
    ) -> Self {
        let approver_answer = timeline
            .last()
            .and_then(|e| crate::service::approvals::latest_answer(e.note.as_deref(), &e.actor, e.at));
        Self { timeline, approver_answer, collective_identifiers, ..self }
    }
}

/// What lists show of an invoice (no timeline; findings only counted).
#[derive(Debug, Clone, Serialize)]
pub struct InvoiceSummary {
    #[serde(flatten)]
    pub head: InvoiceHead,
    pub issue_date: Option<chrono::NaiveDate>,
    pub buyer_name: Option<String>,
    pub gross_total: Option<String>,
    pub currency: Option<String>,
    /// Gross in minor units, for the panel's formats.
    #[serde(skip)]
    pub gross_minor: Option<i64>,
    pub errors: usize,
    pub warnings: usize,
    #[serde(serialize_with = "crate::local_time::rfc3339")]
    pub created_at: NaiveDateTime,
}

/// A list row: what the list reads of the invoice, with its client's NIP.
impl From<(InvoiceListRow, Nip)> for InvoiceSummary {
    fn from((row, nip): (InvoiceListRow, Nip)) -> Self {
        let findings = parse_stored(&row.findings);
        Self {
            errors: findings.iter().filter(|f| f.severity == "error").count(),
            warnings: findings.iter().filter(|f| f.severity == "warning").count(),
            issue_date: row.issue_date,
            buyer_name: row.buyer_name,
            gross_total: row.gross_total,
            gross_minor: row.gross_minor,
            currency: row.currency,
            created_at: row.created_at,
            head: InvoiceHead::new(row.id, nip, row.number, row.sha256, row.state, row.ksef_number),
        }
    }
}

/// Query of the invoice list (every field optional; parsed and checked here).
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub nip: Option<String>,
    /// State spellings; any of them matches (none: every state). Read by [`parse_states`].
    pub states: Vec<String>,
    /// When the gateway received it.
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    /// Issue date (P_1), both ends inclusive.
    pub issued_from: Option<NaiveDate>,
    pub issued_to: Option<NaiveDate>,
    /// Gross amount in minor units, both ends inclusive.
    pub min_gross: Option<i64>,
    pub max_gross: Option<i64>,
    /// Searched in the number, the buyer's name and the buyer's NIP.
    pub text: Option<String>,
    /// `received`, `issue_date`, `number`, `buyer`, `gross` or `state`, `-` in front for
    /// descending; `-received` when left out.
    pub sort: Option<String>,
    pub limit: Option<i64>,
    /// A page's `next_cursor` or `prev_cursor`, as the previous answer gave it.
    pub cursor: Option<String>,
}

/// The most invoices one list answer holds, and how many when the caller does not say.
pub const MAX_PAGE: i64 = 1000;
pub const DEFAULT_PAGE: i64 = 100;

/// One page of the invoice list.
pub type InvoicePage = ListPage<InvoiceSummary>;

/// The default order: the newest received first.
pub const DEFAULT_ORDER: InvoiceOrder = InvoiceOrder { by: InvoiceSort::Received, desc: true };

/// `received`, `-gross`, … as an order; None for anything else.
pub fn parse_sort(raw: &str) -> Option<InvoiceOrder> {
    let (desc, name) = list_cursor::split_sort(raw);
    Some(InvoiceOrder { by: InvoiceSort::parse(name).ok()?, desc })
}

/// How an order is spelled in `sort`.
pub fn sort_text(order: InvoiceOrder) -> String {
    format!("{}{}", if order.desc { "-" } else { "" }, order.by.as_str())
}

fn key_kind(order: InvoiceOrder) -> Option<KeyKind> {
    Some(match order.by {
        InvoiceSort::IssueDate => KeyKind::Date,
        InvoiceSort::Gross => KeyKind::Amount,
        InvoiceSort::Number | InvoiceSort::Buyer | InvoiceSort::State => KeyKind::Text,
        InvoiceSort::Received => KeyKind::Time,
    })
}

/// The states a list filter names, each spelled as stored: the one place a state filter is read
/// (API, panel, bulk actions). An unknown one is a 400 `invalid_query` naming the known ones.
pub fn parse_states(raw: &[String]) -> Result<Vec<InvoiceState>, AppError> {
    raw.iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| InvoiceState::parse(s).map_err(|e| AppError::bad_query(format!("state: {e}"))))
        .collect()
}

/// The query's order and position, checked: a cursor belongs to the order it was given in.
fn order_of(q: &ListQuery) -> Result<(InvoiceOrder, Option<RowKeyset>), AppError> {
    let requested = match q.sort.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(raw) => Some(parse_sort(raw).ok_or_else(|| {
            AppError::bad_query(format!(
                "sort: expected received, issue_date, number, buyer, gross or state, optionally with - in front, got {raw:?}"
            ))
        })?),
        None => None,
    };
    let cursor = q
        .cursor
        .as_deref()
        .filter(|c| !c.trim().is_empty())
        .map(|c| list_cursor::decode(c, parse_sort, key_kind))
        .transpose()?;
    Ok(match (cursor, requested) {
        (Some((o, _)), Some(r)) if o != r => return Err(list_cursor::bad_cursor()),
        (Some((o, k)), _) => (o, Some(k)),
        (None, r) => (r.unwrap_or(DEFAULT_ORDER), None),
    })
}

/// The filter of a query, checked (ranges the right way round, states known), without its
/// client: [`resolve_client`] adds that inside the transaction.
fn filter_of(q: &ListQuery) -> Result<InvoiceFilter, AppError> {
    let states = parse_states(&q.states)?;
    validate::range(q.from, q.to)?;
    let ranges = validate::issue_and_gross_ranges((q.issued_from, q.issued_to), (q.min_gross, q.max_gross))?;
    Ok(InvoiceFilter {
        client_id: None,
        states,
        from: q.from,
        to: q.to,
        ranges,
        text: q.text.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned),
    })
}

/// The client named by `nip` (404 outside what the caller sees, 403 without `p` on it).
fn resolve_client(
    conn: &mut AnyConn,
    caller: &Caller,
    nip: Option<&str>,
    p: Permission,
) -> Result<Option<ClientId>, AppError> {
    let Some(nip) = nip else { return Ok(None) };
    let client = access::client_named(conn, nip)?;
    access::require(conn, caller, &client.id, p)?;
    Ok(Some(client.id))
}

/// The caller's invoices matching the query, one page at a time (keyset pagination in the
/// chosen order), with the total count.
pub async fn list(st: &AppState, caller: &Caller, q: ListQuery) -> Result<InvoicePage, AppError> {
    let mut filter = filter_of(&q)?;
    let (order, keyset) = order_of(&q)?;
    let limit = validate::bounded("limit", q.limit, 1, MAX_PAGE)?.unwrap_or(DEFAULT_PAGE);
    let caller = caller.clone();
    st.db
        .read(move |conn| {
            let scope = access::scope(conn, &caller, Permission::Read)?;
            filter.client_id = resolve_client(conn, &caller, q.nip.as_deref(), Permission::Read)?;
            let rows = Invoice::list(conn, &scope, &filter, order, keyset.as_ref(), limit)?;
            let total = Invoice::count(conn, &scope, &filter)?;
            let offset = match rows.first() {
                Some((first, _)) if keyset.is_some() => {
                    Invoice::count_before(conn, &scope, &filter, order, first)?
                }
                _ => 0,
            };
            let sort = sort_text(order);
            let cursor_at = |(inv, _): &(InvoiceListRow, Nip), before: bool| {
                list_cursor::encode(
                    &sort,
                    &RowKeyset { key: order.key_of(inv), id: inv.id.to_string(), before },
                )
            };
            Ok(ListPage::of(rows, (total, offset), sort.clone(), cursor_at, InvoiceSummary::from))
        })
        .await
}

/// What a bulk action on "every invoice matching the filter" acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkAction {
    /// A decision to send: only invoices that may be sent (draft or approved), where the
    /// caller holds `send`.
    Send,
    /// The PDF zip: every matching invoice the caller may read.
    Pdf,
}

/// The ids of every invoice of the client named in the query that matches its filter and that
/// the caller may act on with `action` (never more than that): at most `cap`, else
/// `too_many_invoices`, nothing chosen. Oldest received first.
pub async fn matching_ids(
    st: &AppState,
    caller: &Caller,
    q: ListQuery,
    action: BulkAction,
    cap: i64,
) -> Result<Vec<InvoiceId>, AppError> {
    let mut filter = filter_of(&q)?;
    let nip = q.nip.clone().ok_or_else(|| AppError::bad_query("nip: a bulk action is for one client"))?;
    let permission = match action {
        BulkAction::Send => {
            // The decidable states within what the filter asks for.
            let decidable = InvoiceState::ALL.iter().copied().filter(|s| s.is_decidable());
            filter.states = if filter.states.is_empty() {
                decidable.collect()
            } else {
                decidable.filter(|s| filter.states.contains(s)).collect()
            };
            Permission::Send
        }
        BulkAction::Pdf => Permission::Read,
    };
    let caller = caller.clone();
    st.db
        .tx(move |conn| {
            let scope = access::scope(conn, &caller, permission)?;
            filter.client_id = resolve_client(conn, &caller, Some(&nip), permission)?;
            if action == BulkAction::Send {
                let client = Client::get(conn, filter.client_id.as_ref().ok_or(AppError::NotFound)?)?;
                // Under four-eyes a draft waits for its approval: only approved ones may go.
                if client.send_policy == crate::domain::SendPolicy::FourEyes {
                    filter.states.retain(|s| *s != InvoiceState::Draft);
                }
            }
            if filter.states.is_empty() && action == BulkAction::Send {
                return Ok(Vec::new());
            }
            let total = Invoice::count(conn, &scope, &filter)?;
            if total > cap {
                return Err(AppError::Refused {
                    refusal: Refusal::TooManyInvoices,
                    message: format!(
                        "{total} invoices match; at most {cap} in one action: narrow the filter"
                    ),
                });
            }
            Ok(Invoice::matching_ids(conn, &scope, &filter, cap)?)
        })
        .await
}

/// One invoice in full.
pub async fn get(
    st: &AppState,
    caller: &Caller,
    id: &InvoiceId,
    lang: Lang,
) -> Result<InvoiceView, AppError> {
    let (caller, id) = (caller.clone(), id.clone());
    st.db
        .read(move |conn| {
            let (inv, nip) = access::invoice_with_nip(conn, &caller, &id, Permission::Read)?;
            let timeline = Invoice::events(conn, &inv.id)?
                .into_iter()
                .map(|e| TimelineEntry { at: e.at, state: e.state, actor: e.actor, note: e.note })
                .collect();
            let collective = crate::service::collective::of_invoice(conn, &inv.id)?;
            Ok(InvoiceView::from_row(inv, nip, lang).with_history(timeline, collective))
        })
        .await
}

/// Many invoices at once, in the order of `ids`, without their timelines (a confirmation page
/// of a bulk decision); any id the caller may not read makes the whole answer `NotFound`.
pub async fn get_many(
    st: &AppState,
    caller: &Caller,
    ids: &[InvoiceId],
    lang: Lang,
) -> Result<Vec<InvoiceView>, AppError> {
    let (caller, ids) = (caller.clone(), ids.to_vec());
    st.db
        .read(move |conn| {
            let scope = access::scope(conn, &caller, Permission::Read)?;
            let found: std::collections::HashMap<InvoiceId, Invoice> =
                Invoice::find_many(conn, &scope, &ids)?.into_iter().map(|i| (i.id.clone(), i)).collect();
            let mut nips: std::collections::HashMap<ClientId, Nip> = std::collections::HashMap::new();
            let mut out = Vec::with_capacity(ids.len());
            for id in &ids {
                let inv = found.get(id).cloned().ok_or(AppError::NotFound)?;
                let nip = match nips.get(&inv.client_id) {
                    Some(n) => n.clone(),
                    None => {
                        let n = Client::get(conn, &inv.client_id)?.nip;
                        nips.insert(inv.client_id.clone(), n.clone());
                        n
                    }
                };
                out.push(InvoiceView::from_row(inv, nip, lang));
            }
            Ok(out)
        })
        .await
}

/// The exact bytes as uploaded (and as sent).
pub async fn xml(st: &AppState, caller: &Caller, id: &InvoiceId) -> Result<(Invoice, Vec<u8>), AppError> {
    let (caller, id) = (caller.clone(), id.clone());
    st.db
        .read(move |conn| {
            let inv = access::invoice(conn, &caller, &id, Permission::Read)?;
            let bytes = Invoice::document(conn, &inv.id)?;
            Ok((inv, bytes))
        })
        .await
}

/// The invoice's UPO, once KSeF issued it.
pub async fn upo(st: &AppState, caller: &Caller, id: &InvoiceId) -> Result<Vec<u8>, AppError> {
    let (caller, id) = (caller.clone(), id.clone());
    st.db
        .read(move |conn| {
            let inv = access::invoice(conn, &caller, &id, Permission::Read)?;
            Invoice::upo(conn, &inv.id)?.ok_or_else(|| AppError::Refused {
                refusal: Refusal::UpoNotReady,
                message: format!("KSeF has not issued a UPO for this invoice yet (state {})", inv.state),
            })
        })
        .await
}

/// The KOD I verification link (QR code content) of an invoice, as KSeF specifies it: from
/// the seller's NIP, the issue date and the hash of the exact bytes; valid before the KSeF
/// number is known (offline invoices carry it too).
pub async fn qr_link(st: &AppState, caller: &Caller, id: &InvoiceId) -> Result<(Invoice, String), AppError> {
    let (inv, bytes) = xml(st, caller, id).await?;
    let link = kod1(st, &inv, &bytes).await?;
    Ok((inv, link))
}

/// KOD I of an invoice already read (with its exact bytes).
pub(crate) async fn kod1(st: &AppState, inv: &Invoice, bytes: &[u8]) -> Result<String, AppError> {
    let (Some(nip), Some(date)) = (inv.seller_nip.clone(), inv.issue_date) else {
        return Err(AppError::Refused {
            refusal: Refusal::QrNeedsValidInvoice,
            message: "the invoice has no readable seller NIP and issue date".into(),
        });
    };
    let env = {
        let cid = inv.client_id.clone();
        st.db.tx(move |c| Client::get(c, &cid)).await?.ksef_environment
    };
    kod1_link(&env, &nip, date, bytes)
}

/// KOD I from its facts: the KSeF environment the invoice is in, the seller's NIP, the issue
/// date and the exact bytes (for sales and purchase invoices alike).
pub(crate) fn kod1_link(
    environment: &str,
    seller_nip: &str,
    issue_date: chrono::NaiveDate,
    bytes: &[u8],
) -> Result<String, AppError> {
    let base = crate::ksef::qr_base(environment).map_err(|e| AppError::Internal(e.into()))?;
    Ok(ksef_client::qr::invoice_link(&base, seller_nip, issue_date, bytes))
}

/// Who received an invoice's UPO and when, and the receipt's hash.
#[derive(Debug, Clone, Serialize)]
pub struct UpoSummary {
    /// The receiving body named in the UPO (`NazwaPodmiotuPrzyjmujacego`).
    pub received_by: Option<String>,
    pub fetched_at: NaiveDateTime,
    pub sha256: String,
}

/// The UPO summary of an invoice, once KSeF issued one.
pub async fn upo_summary(
    st: &AppState,
    caller: &Caller,
    id: &InvoiceId,
) -> Result<Option<UpoSummary>, AppError> {
    let (caller, id) = (caller.clone(), id.clone());
    st.db
        .tx(move |conn| {
            let scope = access::scope(conn, &caller, Permission::Read)?;
            let inv = Invoice::get(conn, &scope, &id)?;
            let upo = crate::db::models::upo::Upo::for_invoice(conn, &inv.id)?;
            Ok::<_, AppError>(upo.map(|u| UpoSummary {
                received_by: element_text(&u.xml, "NazwaPodmiotuPrzyjmujacego"),
                fetched_at: u.fetched_at,
                sha256: u.sha256,
            }))
        })
        .await
}

/// The text of the first `<name>` in a small document KSeF produced (the UPO); None when absent.
fn element_text(xml: &[u8], name: &str) -> Option<String> {
    let text = std::str::from_utf8(xml).ok()?;
    let open = format!("<{name}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find('<')? + start;
    Some(text[start..end].trim().to_owned()).filter(|t| !t.is_empty())
}

/// The invoice (seen through the caller's scope), its client and the offline certificate that
/// signs its KOD II; None for an invoice not issued offline, without a seller NIP, or of a client
/// without an unexpired certificate of type Offline. The database only: nothing opened or signed.
async fn kod2_signer(
    st: &AppState,
    caller: &Caller,
    id: &InvoiceId,
) -> Result<Option<(Invoice, Client, crate::db::models::Credential)>, AppError> {
    use crate::db::models::Credential;
    use crate::service::certificates::KSEF_OFFLINE_CERTIFICATE;
    let (caller, id) = (caller.clone(), id.clone());
    st.db
        .tx(move |conn| {
            let inv = access::invoice(conn, &caller, &id, Permission::Read)?;
            if !inv.offline_mode || inv.seller_nip.is_none() {
                return Ok::<_, AppError>(None);
            }
            let client = Client::get(conn, &inv.client_id)?;
            // An expired certificate signs nothing: the page then says KOD II is missing.
            let cred = Credential::find_active(conn, &client.id, KSEF_OFFLINE_CERTIFICATE)?
                .filter(|c| c.valid_until.is_none_or(|until| until > crate::db::models::ids::now()));
            Ok(cred.map(|c| (inv, client, c)))
        })
        .await
}

/// Whether the invoice carries KOD II (see [`certificate_link`]), without signing anything.
pub async fn has_certificate_link(st: &AppState, caller: &Caller, id: &InvoiceId) -> Result<bool, AppError> {
    Ok(kod2_signer(st, caller, id).await?.is_some())
}

/// KOD II of an invoice issued offline, when the client has a KSeF certificate of type Offline:
/// the certificate verification link signed with its key, as KSeF specifies (caption
/// `CERTYFIKAT`). None for an invoice not issued offline or a client without such a certificate.
pub async fn certificate_link(
    st: &AppState,
    caller: &Caller,
    id: &InvoiceId,
) -> Result<Option<String>, AppError> {
    let Some((inv, client, cred)) = kod2_signer(st, caller, id).await? else { return Ok(None) };
    let seller_nip = inv.seller_nip.as_deref().unwrap_or_default();
    let opened = crate::service::credentials::open_sealed(st, &client, &cred)?;
    let (serial, key) = crate::service::certificates::to_offline_signer(&opened)?;
    let base = crate::ksef::qr_base(&client.ksef_environment).map_err(|e| AppError::Internal(e.into()))?;
    let context = ksef_client::ContextIdentifier::nip(client.nip.as_str());
    let link = ksef_client::qr::CertificateLink {
        context: &context,
        seller_nip,
        certificate_serial: &serial,
        invoice_hash: &inv.sha256,
    };
    Ok(Some(link.sign(&base, &key)))
}

/// The caption KSeF prescribes under KOD I: the KSeF number once assigned, `OFFLINE` for an
/// invoice issued in an offline mode; None while the invoice is neither (not yet printable).
pub fn qr_label(inv: &Invoice) -> Option<String> {
    kod1_caption(inv.ksef_number.as_deref(), inv.offline_mode)
}

/// [`qr_label`] from the two facts it depends on. A draft, an invalid or a rejected invoice
/// that was never issued offline has no KOD I at all: nothing to show or print.
pub fn kod1_caption(ksef_number: Option<&str>, offline: bool) -> Option<String> {
    match (ksef_number, offline) {
        (Some(n), _) => Some(n.to_owned()),
        (None, true) => Some("OFFLINE".to_owned()),
        (None, false) => None,
    }
}

/// What a "Statusy w KSeF" request set in motion.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct StatusRefresh {
    /// The client's invoices waiting for KSeF's word (W sent, O registered).
    pub in_flight: i64,
    /// A sender in this process takes the request at once; false when the senders run
    /// elsewhere (they poll on their own schedule).
    pub immediate: bool,
}

/// "Statusy w KSeF": asks the senders to poll KSeF for the client's in-flight invoices now.
pub async fn refresh_statuses(
    st: &AppState,
    caller: &Caller,
    client_id: &ClientId,
) -> Result<StatusRefresh, AppError> {
    let (caller, cid) = (caller.clone(), client_id.clone());
    let in_flight = st
        .db
        .run(move |conn| {
            // Asking KSeF now is part of sending, not of reading: a read-only key may not.
            access::require_any(conn, &caller, &cid, &[Permission::Upload, Permission::Send])?;
            let by_state = Invoice::count_by_state(conn, &cid)?;
            Ok::<_, AppError>(
                by_state.iter().filter(|(s, _)| InvoiceState::IN_FLIGHT.contains(s)).map(|(_, n)| n).sum(),
            )
        })
        .await?;
    let immediate = in_flight > 0 && st.status_requests.request(client_id);
    Ok(StatusRefresh { in_flight, immediate })
}
