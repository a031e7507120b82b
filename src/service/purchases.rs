//! Reading purchase invoices (what the clients received through KSeF): lists across the
//! clients the caller may read or for one client, filtered, sorted and paginated by keyset with
//! counts; the increments an ERP pulls in storage order; one invoice with its client's
//! completeness; its exact bytes. People need `read` on the client; API keys the `purchase`
//! scope (`access::require_purchase`).

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;

use crate::db::models::purchase_list::{self, ListedPurchase};
use crate::db::models::{
    Client, ClientScope, PurchaseFilter, PurchaseInvoice, PurchaseKeyset, PurchaseOrder, PurchaseRow,
    PurchaseSort, SortKey,
};
use crate::db::AnyConn;
use crate::domain::{amount_text, Nip};
use crate::error::{AppError, Refusal};
use crate::service::access::{self, Caller};
use crate::service::list_cursor::{self, b64, bad_cursor, from_nanos, nanos, unb64, KeyKind, ListPage};
use crate::service::validate;
use crate::state::AppState;

/// The most invoices one answer holds, and how many when the caller does not say.
pub const MAX_PAGE: i64 = 1000;
pub const DEFAULT_PAGE: i64 = 100;

/// How long after it was stored an invoice joins the ERP's increments: the sync stamps a row
/// when it writes it, inside a transaction that commits a moment later, so a poll in between
/// must not step past it. Rows younger than this wait for the next poll.
pub const SINCE_SETTLE: chrono::Duration = chrono::Duration::seconds(5);

/// What a list or an increment asks for (every field optional; parsed and checked here).
#[derive(Debug, Clone, Default)]
pub struct PurchaseQuery {
    pub nip: Option<String>,
    pub issued_from: Option<NaiveDate>,
    pub issued_to: Option<NaiveDate>,
    pub seller: Option<String>,
    pub text: Option<String>,
    /// Minor units.
    pub min_gross: Option<i64>,
    pub max_gross: Option<i64>,
    /// `issue_date`, `gross` or `seller`, `-` in front for descending.
    pub sort: Option<String>,
    pub cursor: Option<String>,
    /// `0` (from the beginning) or the `next_since` of the previous increment.
    pub since: Option<String>,
    pub limit: Option<i64>,
}

/// A purchase invoice in a list (and the first fields of [`PurchaseView`]).
#[derive(Debug, Clone, Serialize)]
pub struct PurchaseSummary {
    pub ksef_number: String,
    pub client_nip: Nip,
    pub client_name: String,
    pub invoice_number: String,
    pub invoice_type: String,
    pub issue_date: NaiveDate,
    pub seller_nip: String,
    pub seller_name: Option<String>,
    /// Decimal text with two decimals (`2051.00`), in `currency`.
    pub net_amount: String,
    pub vat_amount: String,
    pub gross_amount: String,
    pub currency: String,
    #[serde(serialize_with = "crate::local_time::rfc3339")]
    pub acquisition_date: NaiveDateTime,
    #[serde(serialize_with = "crate::local_time::rfc3339")]
    pub permanent_storage_date: NaiveDateTime,
    /// When the gateway stored it.
    #[serde(serialize_with = "crate::local_time::rfc3339")]
    pub stored_at: NaiveDateTime,
    /// The exact bytes are stored (`…/xml` and `…/pdf` answer).
    pub xml_available: bool,
    /// Gross in minor units, for sums and the panel's formats.
    #[serde(skip)]
    pub gross_minor: i64,
    #[serde(skip)]
    pub net_minor: i64,
    #[serde(skip)]
    pub vat_minor: i64,
}

impl PurchaseSummary {
    fn from_row((r, client_nip, client_name): ListedPurchase) -> Self {
        let api = |minor: i64| amount_text(minor, '.', None);
        Self {
            net_amount: api(r.net_amount),
            vat_amount: api(r.vat_amount),
            gross_amount: api(r.gross_amount),
            gross_minor: r.gross_amount,
            net_minor: r.net_amount,
            vat_minor: r.vat_amount,
            xml_available: r.xml_fetched_at.is_some(),
            ksef_number: r.ksef_number,
            client_nip,
            client_name,
            invoice_number: r.invoice_number,
            invoice_type: r.invoice_type,
            issue_date: r.issue_date,
            seller_nip: r.seller_nip,
            seller_name: r.seller_name,
            currency: r.currency,
            acquisition_date: r.acquisition_date,
            permanent_storage_date: r.permanent_storage_date,
            stored_at: r.synced_at,
        }
    }
}

/// One page of a list.
pub type PurchasePage = ListPage<PurchaseSummary>;

/// What an ERP gets for `since`: the invoices stored after its cursor, oldest first, and the
/// cursor to pass next time (the same one when nothing new arrived).
#[derive(Debug, Clone, Serialize)]
pub struct PurchaseIncrement {
    pub invoices: Vec<PurchaseSummary>,
    pub next_since: String,
    /// More invoices are waiting beyond this answer's limit: ask again at once.
    pub more: bool,
}

/// One purchase invoice in full (its bytes aside).
#[derive(Debug, Clone, Serialize)]
pub struct PurchaseView {
    #[serde(flatten)]
    pub summary: PurchaseSummary,
    pub client_role: String,
    pub buyer_nip: Option<String>,
    pub buyer_name: Option<String>,
    /// Base64 SHA-256 of the invoice file, as KSeF reports it.
    pub invoice_hash: String,
    #[serde(serialize_with = "crate::local_time::rfc3339_opt")]
    pub xml_fetched_at: Option<NaiveDateTime>,
    /// Every invoice of the client stored in KSeF up to here is stored in the gateway (None
    /// while its first sync has not finished).
    #[serde(serialize_with = "crate::local_time::rfc3339_opt")]
    pub complete_up_to: Option<NaiveDateTime>,
}

/// `issue_date`, `-gross`, … as an order; None for anything else.
pub fn parse_sort(raw: &str) -> Option<PurchaseOrder> {
    let (desc, name) = list_cursor::split_sort(raw);
    let by = PurchaseSort::parse(name).ok().filter(|s| *s != PurchaseSort::Stored)?;
    Some(PurchaseOrder { by, desc })
}

/// How an order is spelled in `sort`.
pub fn sort_text(order: PurchaseOrder) -> String {
    format!("{}{}", if order.desc { "-" } else { "" }, order.by.as_str())
}

/// The default order: newest issue date first.
pub const DEFAULT_ORDER: PurchaseOrder = PurchaseOrder { by: PurchaseSort::IssueDate, desc: true };

/// An opaque page cursor: the order it belongs to, its side and the row's key and id.
fn encode_cursor(order: PurchaseOrder, keyset: &PurchaseKeyset) -> String {
    list_cursor::encode(&sort_text(order), keyset)
}

fn decode_cursor(raw: &str) -> Result<(PurchaseOrder, PurchaseKeyset), AppError> {
    list_cursor::decode(raw, parse_sort, |o: PurchaseOrder| match o.by {
        PurchaseSort::IssueDate => Some(KeyKind::Date),
        PurchaseSort::Gross => Some(KeyKind::Amount),
        PurchaseSort::Seller => Some(KeyKind::Text),
        PurchaseSort::Stored => None,
    })
}

/// The ERP's increment cursor: the last invoice it received, in storage order.
fn encode_since(at: NaiveDateTime, id: &str) -> String {
    b64(&format!("s|{}|{id}", nanos(at)))
}

fn decode_since(raw: &str) -> Result<Option<PurchaseKeyset>, AppError> {
    if raw.trim() == "0" {
        return Ok(None);
    }
    let bad =
        || AppError::invalid_field("since", "bad_cursor", "since: 0 or the next_since of an earlier answer");
    let text = unb64(raw).ok_or_else(bad)?;
    let mut parts = text.splitn(3, '|');
    match (parts.next(), parts.next().and_then(from_nanos), parts.next()) {
        (Some("s"), Some(at), Some(id)) if !id.is_empty() => {
            Ok(Some(PurchaseKeyset { key: SortKey::Time(at), id: id.to_owned(), before: false }))
        }
        _ => Err(bad()),
    }
}

/// The filter of a query, checked (ranges the right way round).
fn filter_of(q: &PurchaseQuery) -> Result<PurchaseFilter, AppError> {
    let ranges = validate::issue_and_gross_ranges((q.issued_from, q.issued_to), (q.min_gross, q.max_gross))?;
    let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    Ok(PurchaseFilter {
        client_id: None,
        ranges,
        seller: text(&q.seller),
        text: text(&q.text),
        stored_until: None,
    })
}

/// The clients a list covers: the one named by `nip` (404 outside what the caller sees, 403
/// without the right to read its purchases) or every one it may read.
fn list_scope(conn: &mut AnyConn, caller: &Caller, nip: Option<&str>) -> Result<ClientScope, AppError> {
    if let Caller::ApiKey(k) = caller {
        // A key without the scope learns nothing, not even an empty list.
        access::require_purchase(conn, caller, &k.client_id)?;
    }
    match nip {
        Some(nip) => {
            let client = access::client_named(conn, nip)?;
            access::require_purchase(conn, caller, &client.id)?;
            Ok(ClientScope::Only(vec![client.id]))
        }
        None => Ok(access::purchase_scope(conn, caller)?),
    }
}

/// One page of the list (`since` belongs to [`increment`]).
pub async fn list(st: &AppState, caller: &Caller, q: PurchaseQuery) -> Result<PurchasePage, AppError> {
    let limit = validate::bounded("limit", q.limit, 1, MAX_PAGE)?.unwrap_or(DEFAULT_PAGE);
    let filter = filter_of(&q)?;
    if q.since.is_some() {
        return Err(AppError::bad_query("since: an increment, not a page"));
    }
    let requested = match q.sort.as_deref() {
        Some(raw) => Some(parse_sort(raw).ok_or_else(|| {
            AppError::bad_query(format!(
                "sort: expected issue_date, gross or seller, optionally with - in front, got {raw:?}"
            ))
        })?),
        None => None,
    };
    let cursor = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let order = match (&cursor, requested) {
        (Some((o, _)), Some(r)) if *o != r => return Err(bad_cursor()),
        (Some((o, _)), _) => *o,
        (None, r) => r.unwrap_or(DEFAULT_ORDER),
    };
    let keyset = cursor.map(|(_, k)| k);
    let caller = caller.clone();
    st.db
        .read(move |conn| {
            let scope = list_scope(conn, &caller, q.nip.as_deref())?;
            page(conn, &scope, &filter, order, keyset.as_ref(), limit)
        })
        .await
}

/// One page of the list in `order`, with its total, offset and cursors.
fn page(
    conn: &mut AnyConn,
    scope: &ClientScope,
    filter: &PurchaseFilter,
    order: PurchaseOrder,
    keyset: Option<&PurchaseKeyset>,
    limit: i64,
) -> Result<PurchasePage, AppError> {
    let rows = PurchaseRow::list(conn, scope, filter, order, keyset, limit)?;
    let total = PurchaseRow::count(conn, scope, filter)?;
    let offset = match rows.first() {
        Some((first, _, _)) if keyset.is_some() => {
            PurchaseRow::count_before(conn, scope, filter, order, first)?
        }
        _ => 0,
    };
    let cursor_at = |(row, ..): &ListedPurchase, before: bool| {
        encode_cursor(order, &PurchaseKeyset { key: order.key_of(row), id: row.id.to_string(), before })
    };
    Ok(ListPage::of(rows, (total, offset), sort_text(order), cursor_at, PurchaseSummary::from_row))
}

/// An ERP's increment (`since`): the invoices stored after its cursor, oldest first (storage
/// order), leaving out the last [`SINCE_SETTLE`] so that nothing still committing is stepped
/// over. The list's filters apply; its sort and cursor do not.
pub async fn increment(
    st: &AppState,
    caller: &Caller,
    q: PurchaseQuery,
) -> Result<PurchaseIncrement, AppError> {
    let limit = validate::bounded("limit", q.limit, 1, MAX_PAGE)?.unwrap_or(DEFAULT_PAGE);
    let mut filter = filter_of(&q)?;
    if q.sort.is_some() || q.cursor.is_some() {
        return Err(AppError::bad_query(
            "since: increments come in storage order; leave out sort and cursor",
        ));
    }
    let raw = q.since.clone().unwrap_or_else(|| "0".to_owned());
    let keyset = decode_since(&raw)?;
    filter.stored_until = Some(crate::db::models::ids::now() - SINCE_SETTLE);
    let caller = caller.clone();
    st.db
        .tx(move |conn| {
            let scope = list_scope(conn, &caller, q.nip.as_deref())?;
            let order = PurchaseOrder { by: PurchaseSort::Stored, desc: false };
            // One more than asked tells whether more are waiting.
            let mut rows = PurchaseRow::list(conn, &scope, &filter, order, keyset.as_ref(), limit + 1)?;
            let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > limit;
            rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            let next_since = rows.last().map_or(raw, |(r, _, _)| encode_since(r.synced_at, &r.id));
            Ok(PurchaseIncrement {
                invoices: rows.into_iter().map(PurchaseSummary::from_row).collect(),
                next_since,
                more,
            })
        })
        .await
}

/// Every invoice of a filtered list in its order, read page by page (for the CSV export);
/// `export_too_large` when more than `cap` match, nothing read then.
pub async fn all_matching(
    st: &AppState,
    caller: &Caller,
    q: PurchaseQuery,
    cap: i64,
) -> Result<Vec<PurchaseSummary>, AppError> {
    let filter = filter_of(&q)?;
    let order = match q.sort.as_deref() {
        Some(raw) => parse_sort(raw).ok_or_else(|| AppError::bad_query(format!("sort: {raw:?}")))?,
        None => DEFAULT_ORDER,
    };
    let caller = caller.clone();
    st.db
        .tx(move |conn| {
            let scope = list_scope(conn, &caller, q.nip.as_deref())?;
            let total = PurchaseRow::count(conn, &scope, &filter)?;
            if total > cap {
                return Err(AppError::Refused {
                    refusal: Refusal::ExportTooLarge,
                    message: format!(
                        "{total} invoices match, at most {cap} go into one file; narrow the filter"
                    ),
                });
            }
            let mut out: Vec<PurchaseSummary> = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
            let mut keyset: Option<PurchaseKeyset> = None;
            loop {
                let rows = PurchaseRow::list(conn, &scope, &filter, order, keyset.as_ref(), MAX_PAGE)?;
                let full = i64::try_from(rows.len()).unwrap_or(0) == MAX_PAGE;
                keyset = rows.last().map(|(r, _, _)| PurchaseKeyset {
                    key: order.key_of(r),
                    id: r.id.to_string(),
                    before: false,
                });
                out.extend(rows.into_iter().map(PurchaseSummary::from_row));
                if !full {
                    return Ok(out);
                }
            }
        })
        .await
}

/// The stored invoice with this KSeF number that the caller may read, and its client's NIP.
/// `nip` picks the client when the invoice concerns several of the caller's clients.
fn find(
    conn: &mut AnyConn,
    caller: &Caller,
    ksef_number: &str,
    nip: Option<&str>,
) -> Result<(PurchaseInvoice, Client), AppError> {
    let visible = access::visible(conn, caller)?;
    let mut holders = PurchaseRow::by_ksef_number(conn, &visible, ksef_number)?;
    if let Some(nip) = nip {
        holders.retain(|(_, n)| n == nip);
    }
    let client_id = match holders.as_slice() {
        [] => return Err(AppError::NotFound),
        [(id, _)] => id.clone(),
        _ => {
            return Err(AppError::Refused {
                refusal: Refusal::AmbiguousKsefNumber,
                message: "the invoice concerns several of your clients; say which with ?nip=".into(),
            })
        }
    };
    access::require_purchase(conn, caller, &client_id)?;
    let inv = PurchaseInvoice::find(conn, &client_id, ksef_number)?.ok_or(AppError::NotFound)?;
    Ok((inv, Client::get(conn, &client_id)?))
}

/// One invoice in full, with its client's completeness.
pub async fn get(
    st: &AppState,
    caller: &Caller,
    ksef_number: &str,
    nip: Option<String>,
) -> Result<PurchaseView, AppError> {
    let (caller, ksef_number) = (caller.clone(), ksef_number.to_owned());
    st.db
        .read(move |conn| {
            let (inv, client) = find(conn, &caller, &ksef_number, nip.as_deref())?;
            let complete_up_to = purchase_list::complete_up_to(conn, &client.id)?;
            Ok(view(inv, client, complete_up_to))
        })
        .await
}

fn view(inv: PurchaseInvoice, client: Client, complete_up_to: Option<NaiveDateTime>) -> PurchaseView {
    let row = PurchaseRow {
        id: inv.id,
        client_id: inv.client_id,
        ksef_number: inv.ksef_number,
        invoice_number: inv.invoice_number,
        invoice_type: inv.invoice_type,
        issue_date: inv.issue_date,
        seller_nip: inv.seller_nip,
        seller_name: inv.seller_name,
        net_amount: inv.net_amount,
        vat_amount: inv.vat_amount,
        gross_amount: inv.gross_amount,
        currency: inv.currency,
        acquisition_date: inv.acquisition_date,
        permanent_storage_date: inv.permanent_storage_date,
        synced_at: inv.synced_at,
        xml_fetched_at: inv.xml_fetched_at,
    };
    PurchaseView {
        summary: PurchaseSummary::from_row((row, client.nip, client.name)),
        client_role: inv.subject_type.as_str().to_owned(),
        buyer_nip: inv.buyer_nip,
        buyer_name: inv.buyer_name,
        invoice_hash: inv.invoice_hash,
        xml_fetched_at: inv.xml_fetched_at,
        complete_up_to,
    }
}

/// The invoice's exact bytes as KSeF holds them; `xml_not_downloaded` (404) while only its
/// metadata is stored.
pub async fn xml(
    st: &AppState,
    caller: &Caller,
    ksef_number: &str,
    nip: Option<String>,
) -> Result<(PurchaseInvoice, Client, Vec<u8>), AppError> {
    let (caller, ksef_number) = (caller.clone(), ksef_number.to_owned());
    st.db
        .tx(move |conn| {
            let (mut inv, client) = find(conn, &caller, &ksef_number, nip.as_deref())?;
            let bytes = inv.xml.take().ok_or_else(|| AppError::Refused {
                refusal: Refusal::XmlNotDownloaded,
                message: "the invoice is known from KSeF's metadata; its file has not been downloaded yet"
                    .into(),
            })?;
            Ok((inv, client, bytes))
        })
        .await
}

/// A download's file name from a KSeF number (letters, digits and `-` only, so it is safe in a
/// header and on every file system).
pub fn download_name(ksef_number: &str, ext: &str) -> String {
    let clean: String =
        ksef_number.chars().take(64).filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    format!("{clean}.{ext}")
}

/// "Complete up to" of each client in the caller's purchase scope that has a sync, by client id.
pub async fn completeness(
    st: &AppState,
    caller: &Caller,
) -> Result<Vec<(crate::domain::ClientId, Option<NaiveDateTime>)>, AppError> {
    let caller = caller.clone();
    st.db
        .tx(move |conn| {
            let scope = access::purchase_scope(conn, &caller)?;
            Ok(purchase_list::complete_up_to_all(conn, &scope)?)
        })
        .await
}
