//! Reading invoices: lists, one invoice with its timeline, its exact bytes, UPO and QR link.
//! Every read goes through the caller's scope: a foreign invoice is simply not found.

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::auth::Permission;
use crate::db::models::{Client, Invoice, InvoiceFilter, Keyset};
use crate::domain::{Actor, InvoiceState};
use crate::error::AppError;
use crate::service::access::{self, Caller};
use crate::service::findings::{parse_stored, FindingView, Lang};
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

/// An invoice as the API returns it (DESIGN.md fixes the first names).
#[derive(Debug, Clone, Serialize)]
pub struct InvoiceView {
    pub id: String,
    pub nip: String,
    pub number: Option<String>,
    pub sha256: String,
    pub state: InvoiceState,
    pub status_letter: Option<&'static str>,
    pub ksef_number: Option<String>,
    pub session_reference: Option<String>,
    pub invoice_reference: Option<String>,
    pub findings: Vec<FindingView>,
    pub timeline: Vec<TimelineEntry>,
    pub client_id: String,
    pub invoice_type: Option<String>,
    pub issue_date: Option<chrono::NaiveDate>,
    pub seller_nip: Option<String>,
    pub buyer_nip: Option<String>,
    pub buyer_name: Option<String>,
    pub currency: Option<String>,
    pub gross_total: Option<String>,
    pub ksef_status_code: Option<i64>,
    pub ksef_status_description: Option<String>,
    pub offline: bool,
    #[serde(serialize_with = "crate::local_time::rfc3339_opt")]
    pub offline_deadline: Option<NaiveDateTime>,
    pub corrects_invoice_id: Option<String>,
    pub approved_by: Option<String>,
    pub size_bytes: i64,
    pub source: String,
    #[serde(serialize_with = "crate::local_time::rfc3339")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::local_time::rfc3339")]
    pub updated_at: NaiveDateTime,
    /// The collective identifiers (IZ) the invoice is in, newest first.
    pub collective_identifiers: Vec<crate::service::collective::CollectiveRef>,
}

/// What lists show of an invoice (no timeline; findings only counted).
#[derive(Debug, Clone, Serialize)]
pub struct InvoiceSummary {
    pub id: String,
    pub nip: String,
    pub number: Option<String>,
    pub sha256: String,
    pub state: InvoiceState,
    pub status_letter: Option<&'static str>,
    pub ksef_number: Option<String>,
    pub issue_date: Option<chrono::NaiveDate>,
    pub buyer_name: Option<String>,
    pub gross_total: Option<String>,
    pub currency: Option<String>,
    pub errors: usize,
    pub warnings: usize,
    #[serde(serialize_with = "crate::local_time::rfc3339")]
    pub created_at: NaiveDateTime,
}

impl InvoiceSummary {
    pub fn from_row(inv: Invoice, nip: String) -> Self {
        let findings = parse_stored(&inv.findings);
        Self {
            status_letter: inv.state.status_letter(),
            errors: findings.iter().filter(|f| f.severity == "error").count(),
            warnings: findings.iter().filter(|f| f.severity == "warning").count(),
            id: inv.id,
            nip,
            number: inv.number,
            sha256: inv.sha256,
            state: inv.state,
            ksef_number: inv.ksef_number,
            issue_date: inv.issue_date,
            buyer_name: inv.buyer_name,
            gross_total: inv.gross_total,
            currency: inv.currency,
            created_at: inv.created_at,
        }
    }
}

/// Builds the full view of an invoice (timeline included).
pub fn view(inv: Invoice, nip: String, timeline: Vec<TimelineEntry>, lang: Lang) -> InvoiceView {
    InvoiceView {
        status_letter: inv.state.status_letter(),
        findings: parse_stored(&inv.findings).iter().map(|f| f.view(lang)).collect(),
        timeline,
        id: inv.id,
        nip,
        number: inv.number,
        sha256: inv.sha256,
        state: inv.state,
        ksef_number: inv.ksef_number,
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
    }
}

/// Query of the invoice list.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub nip: Option<String>,
    pub state: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    pub limit: Option<i64>,
    /// A page's `next_cursor` or `prev_cursor`, as the previous answer gave it.
    pub cursor: Option<String>,
}

/// The most invoices one list answer holds.
pub const MAX_PAGE: i64 = 1000;

/// One page of the invoice list, with what it takes to show "201–400 of 2000" and go on.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InvoicePage {
    pub invoices: Vec<InvoiceSummary>,
    /// Every invoice matching the filter, on all pages.
    pub total: i64,
    /// How many matching invoices come before this page (0 on the first).
    pub offset: i64,
    /// The next (older) page, None on the last.
    pub next_cursor: Option<String>,
    /// The previous (newer) page, None on the first.
    pub prev_cursor: Option<String>,
}

/// An opaque cursor: which side of which invoice, `a`fter or `b`efore, with its (created_at,
/// id) key, in URL-safe Base64 so it travels in a query string unchanged.
fn encode_cursor(keyset: &Keyset) -> String {
    use base64::Engine;
    let (side, at, id) = match keyset {
        Keyset::After(at, id) => ('a', at, id),
        Keyset::Before(at, id) => ('b', at, id),
    };
    // Nanoseconds: SQLite keeps the stored time to the nanosecond, and the key must match exactly.
    let raw = format!("{side}{}.{id}", at.and_utc().timestamp_nanos_opt().unwrap_or_default());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn decode_cursor(raw: &str) -> Result<Keyset, AppError> {
    use base64::Engine;
    let bad = || AppError::invalid_field("cursor", "bad_cursor", "cursor: not one this list gave out");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let mut chars = text.chars();
    let side = chars.next().ok_or_else(bad)?;
    let (nanos, id) = chars.as_str().split_once('.').ok_or_else(bad)?;
    let at = chrono::DateTime::from_timestamp_nanos(nanos.parse::<i64>().map_err(|_| bad())?).naive_utc();
    match side {
        'a' => Ok(Keyset::After(at, id.to_owned())),
        'b' => Ok(Keyset::Before(at, id.to_owned())),
        _ => Err(bad()),
    }
}

/// The caller's invoices, newest first, one page at a time (keyset pagination on
/// (created_at, id)), with the total count.
pub async fn list(st: &AppState, caller: &Caller, q: ListQuery) -> Result<InvoicePage, AppError> {
    if let Some(s) = &q.state {
        InvoiceState::parse(s).map_err(AppError::invalid)?;
    }
    validate::range(q.from, q.to)?;
    let limit = validate::bounded("limit", q.limit, 1, MAX_PAGE)?.unwrap_or(100);
    let keyset = q.cursor.as_deref().filter(|c| !c.is_empty()).map(decode_cursor).transpose()?;
    let caller = caller.clone();
    st.db
        .tx(move |conn| {
            let scope = access::scope(conn, &caller, Permission::Read)?;
            let client_id = match &q.nip {
                Some(nip) => {
                    let client = Client::find_by_nip(conn, nip)?.ok_or(AppError::NotFound)?;
                    access::require(conn, &caller, &client.id, Permission::Read)?;
                    Some(client.id)
                }
                None => None,
            };
            let filter = InvoiceFilter { client_id, state: q.state, from: q.from, to: q.to, limit, keyset };
            let rows = Invoice::list(conn, &scope, &filter)?;
            let total = Invoice::count(conn, &scope, &filter)?;
            let offset = match rows.first() {
                Some((first, _)) if filter.keyset.is_some() => {
                    Invoice::count_newer(conn, &scope, &filter, first.created_at, &first.id)?
                }
                _ => 0,
            };
            let shown = i64::try_from(rows.len()).unwrap_or(i64::MAX);
            let next_cursor = rows
                .last()
                .filter(|_| offset + shown < total)
                .map(|(last, _)| encode_cursor(&Keyset::After(last.created_at, last.id.clone())));
            let prev_cursor = rows
                .first()
                .filter(|_| offset > 0)
                .map(|(first, _)| encode_cursor(&Keyset::Before(first.created_at, first.id.clone())));
            Ok(InvoicePage {
                invoices: rows.into_iter().map(|(inv, nip)| InvoiceSummary::from_row(inv, nip)).collect(),
                total,
                offset,
                next_cursor,
                prev_cursor,
            })
        })
        .await
}

/// One invoice in full.
pub async fn get(st: &AppState, caller: &Caller, id: &str, lang: Lang) -> Result<InvoiceView, AppError> {
    let (caller, id) = (caller.clone(), id.to_owned());
    st.db
        .tx(move |conn| {
            let inv = access::invoice(conn, &caller, &id, Permission::Read)?;
            let nip = Client::get(conn, &inv.client_id)?.nip;
            let timeline = Invoice::events(conn, &inv.id)?
                .into_iter()
                .map(|e| TimelineEntry { at: e.at, state: e.state, actor: e.actor, note: e.note })
                .collect();
            let collective = crate::service::collective::of_invoice(conn, &inv.id)?;
            Ok(InvoiceView { collective_identifiers: collective, ..view(inv, nip, timeline, lang) })
        })
        .await
}

/// The exact bytes as uploaded (and as sent).
pub async fn xml(st: &AppState, caller: &Caller, id: &str) -> Result<(Invoice, Vec<u8>), AppError> {
    let (caller, id) = (caller.clone(), id.to_owned());
    st.db
        .tx(move |conn| {
            let inv = access::invoice(conn, &caller, &id, Permission::Read)?;
            let bytes = Invoice::document(conn, &inv.id)?;
            Ok((inv, bytes))
        })
        .await
}

/// The invoice's UPO, once KSeF issued it.
pub async fn upo(st: &AppState, caller: &Caller, id: &str) -> Result<Vec<u8>, AppError> {
    let (caller, id) = (caller.clone(), id.to_owned());
    st.db
        .tx(move |conn| {
            let inv = access::invoice(conn, &caller, &id, Permission::Read)?;
            Invoice::upo(conn, &inv.id)?.ok_or_else(|| AppError::Refused {
                code: "upo_not_ready",
                message: format!("KSeF has not issued a UPO for this invoice yet (state {})", inv.state),
            })
        })
        .await
}

/// The KOD I verification link (QR code content) of an invoice, as KSeF specifies it: from
/// the seller's NIP, the issue date and the hash of the exact bytes; valid before the KSeF
/// number is known (offline invoices carry it too).
pub async fn qr_link(st: &AppState, caller: &Caller, id: &str) -> Result<(Invoice, String), AppError> {
    let (inv, bytes) = xml(st, caller, id).await?;
    let link = kod1(st, &inv, &bytes).await?;
    Ok((inv, link))
}

/// KOD I of an invoice already read (with its exact bytes).
pub(crate) async fn kod1(st: &AppState, inv: &Invoice, bytes: &[u8]) -> Result<String, AppError> {
    let (Some(nip), Some(date)) = (inv.seller_nip.clone(), inv.issue_date) else {
        return Err(AppError::Refused {
            code: "qr_needs_valid_invoice",
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
    let client = crate::ksef::client_for(environment).map_err(|e| AppError::Internal(e.into()))?;
    Ok(ksef_client::qr::invoice_link(&client.qr_base(), seller_nip, issue_date, bytes))
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
pub async fn upo_summary(st: &AppState, caller: &Caller, id: &str) -> Result<Option<UpoSummary>, AppError> {
    let (caller, id) = (caller.clone(), id.to_owned());
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
    id: &str,
) -> Result<Option<(Invoice, Client, crate::db::models::Credential)>, AppError> {
    use crate::db::models::Credential;
    use crate::service::certificates::KSEF_OFFLINE_CERTIFICATE;
    let (caller, id) = (caller.clone(), id.to_owned());
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
pub async fn has_certificate_link(st: &AppState, caller: &Caller, id: &str) -> Result<bool, AppError> {
    Ok(kod2_signer(st, caller, id).await?.is_some())
}

/// KOD II of an invoice issued offline, when the client has a KSeF certificate of type Offline:
/// the certificate verification link signed with its key, as KSeF specifies (caption
/// `CERTYFIKAT`). None for an invoice not issued offline or a client without such a certificate.
pub async fn certificate_link(st: &AppState, caller: &Caller, id: &str) -> Result<Option<String>, AppError> {
    let Some((inv, client, cred)) = kod2_signer(st, caller, id).await? else { return Ok(None) };
    let seller_nip = inv.seller_nip.as_deref().unwrap_or_default();
    let opened = crate::service::credentials::open_sealed(st, &client, &cred)?;
    let (serial, key) = crate::service::certificates::to_offline_signer(&opened)?;
    let ksef = crate::ksef::client_for(&client.ksef_environment).map_err(|e| AppError::Internal(e.into()))?;
    let context = ksef_client::ContextIdentifier::nip(&client.nip);
    let link = ksef_client::qr::CertificateLink {
        context: &context,
        seller_nip,
        certificate_serial: &serial,
        invoice_hash: &inv.sha256,
    };
    Ok(Some(link.sign(&ksef.qr_base(), &key)))
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
#[derive(Debug, Clone, Copy, Serialize)]
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
    client_id: &str,
) -> Result<StatusRefresh, AppError> {
    let (caller, cid) = (caller.clone(), client_id.to_owned());
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
