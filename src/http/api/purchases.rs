//! Purchase invoices (what the clients received through KSeF): the list with filters and
//! keyset pages, the increments an ERP pulls with `since`, one invoice, its XML and its PDF.
//! API keys need the `purchase` scope; people `read` on the client.

use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Deserialize;

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
