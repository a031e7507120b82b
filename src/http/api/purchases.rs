//! Purchase invoices (what the clients received through KSeF): the list with filters and
//! keyset pages, the increments an ERP pulls with `since`, one invoice, its XML and its PDF.
//! API keys need the `purchase` scope; people `read` on the client.

use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::openapi_types::Errors;
use crate::error::AppError;
use crate::http::{file, Disposition};
use crate::service::access::Caller;
use crate::service::purchases::{self, PurchaseQuery};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list).service(get_one).service(xml).service(pdf);
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    #[serde(default, deserialize_with = "super::blank_as_none")]
    nip: Option<String>,
    #[serde(default, deserialize_with = "super::blank_as_none")]
    from: Option<chrono::NaiveDate>,
    #[serde(default, deserialize_with = "super::blank_as_none")]
    to: Option<chrono::NaiveDate>,
    #[serde(default, deserialize_with = "super::blank_as_none")]
    seller: Option<String>,
    #[serde(default, deserialize_with = "super::blank_as_none")]
    q: Option<String>,
    #[serde(default, deserialize_with = "super::blank_as_none")]
    min_gross: Option<String>,
    #[serde(default, deserialize_with = "super::blank_as_none")]
    max_gross: Option<String>,
    #[serde(default, deserialize_with = "super::blank_as_none")]
    sort: Option<String>,
    #[serde(default, deserialize_with = "super::blank_as_none")]
    cursor: Option<String>,
    #[serde(default, deserialize_with = "super::blank_as_none")]
    since: Option<String>,
    #[serde(default, deserialize_with = "super::blank_as_none")]
    limit: Option<i64>,
}

/// `GET /api/v1/purchase-invoices?nip=&from=&to=&seller=&q=&min_gross=&max_gross=&sort=&cursor=&limit=`
/// (a page with `total`, `offset`, `next_cursor`, `prev_cursor`) or `…?since=0|<next_since>`
/// (an increment in storage order with `next_since` and `more`).
#[utoipa::path(
    get,
    path = "/api/v1/purchase-invoices",
    tag = "purchase-invoices",
    operation_id = "purchases_list",
    summary = "List purchase invoices (received by the clients), or pull increments with since",
    description = "Across every client the caller may read, or one (`nip`). Pages: `invoices`, `total` (all matching), `offset` (how many come before this page), `next_cursor` / `prev_cursor` (null at either end) to pass as `cursor`, `sort`. With `since` (0 the first time, then the previous answer's `next_since`): the invoices stored after that cursor in storage order, oldest first, with `next_since` and `more` (true: ask again at once); polling with it yields every invoice exactly once (an invoice joins the increments 5 s after it was stored). Amounts are decimal strings in `currency`. Scope `purchase` for API keys (a key without it gets 403 forbidden); people need `read` on the client. An invoice of a client you cannot see is 404 not_found. Unknown or malformed parameters are 400 invalid_query; from after to or min_gross above max_gross 400 invalid_range; a cursor this list did not give out 422 invalid_input (reason bad_cursor).",
    params(
        ("nip" = Option<String>, Query, description = "Client NIP (default: every client you may read)"),
        ("from" = Option<String>, Query, description = "Issue date (P_1) from, YYYY-MM-DD, inclusive"),
        ("to" = Option<String>, Query, description = "Issue date (P_1) to, YYYY-MM-DD, inclusive"),
        ("seller" = Option<String>, Query, description = "Digits: the seller's NIP starts with them; otherwise the seller's name contains it (case aside)"),
        ("q" = Option<String>, Query, description = "Text contained in the invoice number, the seller's name or the KSeF number (case aside)"),
        ("min_gross" = Option<String>, Query, description = "Gross amount at least, e.g. 2051 or 2051.50"),
        ("max_gross" = Option<String>, Query, description = "Gross amount at most, e.g. 2051 or 2051.50"),
        ("sort" = Option<String>, Query, description = "issue_date, gross or seller, with - in front for descending (default -issue_date); ties by id"),
        ("cursor" = Option<String>, Query, description = "next_cursor or prev_cursor of a previous page (keyset pagination)"),
        ("since" = Option<String>, Query, description = "0 or next_since of the previous increment: storage order, not with sort or cursor"),
        ("limit" = Option<String>, Query, description = "1..=1000 (default 100); anything else is 400 invalid_query"),
    ),
    responses(
        (status = 200, description = "OK", content_type = "application/json"),
        Errors<400, 401, 403, 404, 405, 422, 429>,
    ),
)]
#[get("/purchase-invoices")]
async fn list(
    st: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, AppError> {
    let q = q.into_inner();
    let query = PurchaseQuery {
        min_gross: super::amount("min_gross", q.min_gross)?,
        max_gross: super::amount("max_gross", q.max_gross)?,
        nip: q.nip,
        issued_from: q.from,
        issued_to: q.to,
        seller: q.seller,
        text: q.q,
        sort: q.sort,
        cursor: q.cursor,
        since: q.since,
        limit: q.limit,
    };
    Ok(match query.since {
        Some(_) => HttpResponse::Ok().json(purchases::increment(&st, &caller, query).await?),
        None => HttpResponse::Ok().json(purchases::list(&st, &caller, query).await?),
    })
}

/// Which client, when one invoice concerns several of the caller's clients.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OneParams {
    #[serde(default, deserialize_with = "super::blank_as_none")]
    nip: Option<String>,
}

/// `GET /api/v1/purchase-invoices/{ksefNumber}[?nip=]`.
#[utoipa::path(
    get,
    path = "/api/v1/purchase-invoices/{ksefNumber}",
    tag = "purchase-invoices",
    operation_id = "purchases_get_one",
    summary = "One purchase invoice",
    description = "Its fields (seller, buyer, amounts, dates, KSeF hash, client_role: buyer, third_party or authorized), xml_available, and complete_up_to: every invoice of its client stored in KSeF up to then is stored here (null before the first complete sync). Scope `purchase` for API keys (a key without it gets 403 forbidden); people need `read` on the client. An invoice of a client you cannot see is 404 not_found.",
    params(
        ("ksefNumber" = String, Path, description = "KSeF number of the purchase invoice"),
        ("nip" = Option<String>, Query, description = "Client NIP: only needed when the invoice concerns several of your clients (else 400 ambiguous_ksef_number)"),
    ),
    responses(
        (status = 200, description = "OK", content_type = "application/json"),
        Errors<400, 401, 403, 404, 405, 429>,
    ),
)]
#[get("/purchase-invoices/{ksef_number}")]
async fn get_one(
    st: web::Data<AppState>,
    caller: Caller,
    ksef_number: web::Path<String>,
    q: web::Query<OneParams>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(purchases::get(&st, &caller, &ksef_number, q.into_inner().nip).await?))
}

/// `GET /api/v1/purchase-invoices/{ksefNumber}/xml[?nip=]`: the exact bytes;
/// 404 `xml_not_downloaded` while only the metadata is stored.
#[utoipa::path(
    get,
    path = "/api/v1/purchase-invoices/{ksefNumber}/xml",
    tag = "purchase-invoices",
    operation_id = "purchases_xml",
    summary = "The purchase invoice's exact bytes",
    description = "As KSeF holds them (their SHA-256 is the invoice_hash). 404 xml_not_downloaded while only KSeF's metadata is stored. Scope `purchase` for API keys (a key without it gets 403 forbidden); people need `read` on the client. An invoice of a client you cannot see is 404 not_found.",
    params(
        ("ksefNumber" = String, Path, description = "KSeF number of the purchase invoice"),
        ("nip" = Option<String>, Query, description = "Client NIP: only needed when the invoice concerns several of your clients (else 400 ambiguous_ksef_number)"),
    ),
    responses(
        (status = 200, description = "OK", content_type = "application/xml"),
        Errors<400, 401, 403, 404, 405, 429>,
    ),
)]
#[get("/purchase-invoices/{ksef_number}/xml")]
async fn xml(
    st: web::Data<AppState>,
    caller: Caller,
    ksef_number: web::Path<String>,
    q: web::Query<OneParams>,
) -> Result<HttpResponse, AppError> {
    let (inv, _, bytes) = purchases::xml(&st, &caller, &ksef_number, q.into_inner().nip).await?;
    let name = purchases::download_name(&inv.ksef_number, "xml");
    Ok(file("application/xml", Disposition::Attachment, &name, bytes))
}

/// `GET /api/v1/purchase-invoices/{ksefNumber}/pdf[?nip=]`: the visualisation (Polish, or
/// English with `Accept-Language: en`).
#[utoipa::path(
    get,
    path = "/api/v1/purchase-invoices/{ksefNumber}/pdf",
    tag = "purchase-invoices",
    operation_id = "purchases_pdf",
    summary = "The purchase invoice's visualisation (PDF)",
    description = "The same visualisation as for sales invoices, with the KSeF number and KOD I; Polish, or English with Accept-Language: en. 404 xml_not_downloaded while the file is not downloaded; 422 invoice_not_printable when it cannot be read. Scope `purchase` for API keys (a key without it gets 403 forbidden); people need `read` on the client. An invoice of a client you cannot see is 404 not_found.",
    params(
        ("ksefNumber" = String, Path, description = "KSeF number of the purchase invoice"),
        ("nip" = Option<String>, Query, description = "Client NIP: only needed when the invoice concerns several of your clients (else 400 ambiguous_ksef_number)"),
    ),
    responses(
        (status = 200, description = "OK", content_type = "application/pdf"),
        Errors<400, 401, 403, 404, 405, 422, 429>,
    ),
)]
#[get("/purchase-invoices/{ksef_number}/pdf")]
async fn pdf(
    st: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    ksef_number: web::Path<String>,
    q: web::Query<OneParams>,
) -> Result<HttpResponse, AppError> {
    let nip = q.into_inner().nip;
    let (inv, bytes) =
        crate::service::invoice_pdf::render_purchase(&st, &caller, &ksef_number, nip, super::lang(&req))
            .await?;
    let name = purchases::download_name(&inv.ksef_number, "pdf");
    Ok(file("application/pdf", Disposition::Inline, &name, bytes))
}
