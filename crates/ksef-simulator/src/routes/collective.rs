//! `/collective-identifiers*` (KSeF 2.7.1+): create, query, by KSeF number, and the invoices of up
//! to 10 collective identifiers (`POST /collective-identifiers/invoices`, which replaced
//! `GET /collective-identifiers/{n}/invoices` in 2.7.1).

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::{parse_json, AppState};
use crate::collective::{self, is_party, Collective, Member, Payment};
use crate::errors::{ApiError, ApiResult};
use crate::routes::status::{continuation, next_token};
use crate::time;

/// Any one of these (the spec's `x-required-permissions`).
const PERMISSIONS: &[&str] = &["InvoiceRead", "InvoiceWrite", "CollectiveIdentifierManage"];
/// Most collective identifiers per `POST /collective-identifiers/invoices`.
const MAX_PER_INVOICE_QUERY: usize = 10;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/collective-identifiers", web::post().to(create))
        .route("/collective-identifiers/query", web::post().to(query))
        .route("/collective-identifiers/invoices", web::post().to(invoices))
        .route("/collective-identifiers/ksef/{ksef}", web::get().to(by_ksef));
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PaymentBody {
    amount: f64,
    currency: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InvoiceBody {
    ksef_number: String,
    payment: Option<PaymentBody>,
    description: Option<String>,
}

#[derive(Deserialize)]
struct CreateBody {
    invoices: Vec<InvoiceBody>,
}

async fn create(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> ApiResult<HttpResponse> {
    let claims = state.access(&req, PERMISSIONS)?;
    let body: CreateBody = parse_json(&body)?;
    let members = body
        .invoices
        .into_iter()
        .map(|i| Member {
            ksef_number: i.ksef_number,
            payment: i.payment.map(|p| Payment { amount: p.amount, currency: p.currency }),
            description: i.description,
        })
        .collect();
    let number = collective::create(&mut state.db.lock(), &claims.context_value, Utc::now(), members)?;
    Ok(HttpResponse::Created().json(json!({"collectiveIdentifierNumber": number})))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageQuery {
    page_size: Option<usize>,
}

impl PageQuery {
    fn size(&self, max: usize) -> ApiResult<usize> {
        let size = self.page_size.unwrap_or(10);
        if (10..=max).contains(&size) {
            Ok(size)
        } else {
            Err(ApiError::validation(format!("pageSize musi być w zakresie 10..{max}.")))
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryBody {
    collective_identifier_number: Option<String>,
    date_created_from: DateTime<Utc>,
    date_created_to: DateTime<Utc>,
    invoice_count_from: Option<usize>,
    invoice_count_to: Option<usize>,
    created_in_current_context: Option<bool>,
}

/// Newest first, then by number descending (the spec's `x-sort`).
fn newest_first(a: &&Collective, b: &&Collective) -> std::cmp::Ordering {
    b.created.cmp(&a.created).then_with(|| b.number.cmp(&a.number))
}

/// Whether the context sees the collective identifier: it created it, or is a party to one of
/// its invoices (the buyer pays with it).
fn visible(db: &crate::state::Db, c: &Collective, context: &str, now: DateTime<Utc>) -> bool {
    c.context == context || c.invoices.iter().any(|m| is_party(db, &m.ksef_number, context, now))
}

async fn query(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<PageQuery>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let claims = state.access(&req, PERMISSIONS)?;
    let body: QueryBody = parse_json(&body)?;
    let size = q.size(200)?;
    if body.date_created_to < body.date_created_from
        || body.date_created_to - body.date_created_from > Duration::days(100)
    {
        return Err(ApiError::validation(
            "Zakres dateCreatedFrom..dateCreatedTo: najwyżej 100 dni, od ≤ do.",
        ));
    }
    let offset = continuation(&req)?;
    let ctx = claims.context_value.as_str();
    let now = Utc::now();
    let db = state.db.lock();
    let mut found: Vec<&Collective> = db
        .collective
        .all
        .iter()
        .filter(|c| c.created >= body.date_created_from && c.created <= body.date_created_to)
        .filter(|c| body.collective_identifier_number.as_ref().is_none_or(|n| *n == c.number))
        .filter(|c| body.invoice_count_from.is_none_or(|n| c.invoices.len() >= n))
        .filter(|c| body.invoice_count_to.is_none_or(|n| c.invoices.len() <= n))
        .filter(|c| body.created_in_current_context.is_none_or(|own| (c.context == ctx) == own))
        .filter(|c| visible(&db, c, ctx, now))
        .collect();
    found.sort_by(newest_first);
    let page: Vec<Value> = found
        .iter()
        .skip(offset)
        .take(size)
        .map(|c| {
            json!({
                "collectiveIdentifierNumber": c.number,
                "dateCreated": time::fmt(c.created),
                "invoiceCount": c.invoices.len(),
                "createdInCurrentContext": c.context == ctx,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "continuationToken": next_token(offset, page.len(), found.len()),
        "collectiveIdentifiers": page,
    })))
}

async fn by_ksef(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let claims = state.access(&req, PERMISSIONS)?;
    let size = q.size(200)?;
    let ksef = path.into_inner();
    if !crate::ids::ksef_number_is_valid(&ksef) {
        return Err(ApiError::validation(format!("Nieprawidłowy numer KSeF: {ksef}")));
    }
    let offset = continuation(&req)?;
    let ctx = claims.context_value.as_str();
    let now = Utc::now();
    let db = state.db.lock();
    // Only a party to the invoice learns which collective identifiers it is in.
    let party = is_party(&db, &ksef, ctx, now);
    let mut found: Vec<&Collective> = db
        .collective
        .all
        .iter()
        .filter(|c| party && c.invoices.iter().any(|m| m.ksef_number == ksef))
        .collect();
    found.sort_by(newest_first);
    let page: Vec<Value> = found
        .iter()
        .skip(offset)
        .take(size)
        .map(|c| {
            json!({
                "collectiveIdentifierNumber": c.number,
                "createdInCurrentContext": c.context == ctx,
                "dateCreated": time::fmt(c.created),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "continuationToken": next_token(offset, page.len(), found.len()),
        "collectiveIdentifiers": page,
    })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InvoicesBody {
    collective_identifier_numbers: Vec<String>,
}

async fn invoices(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<PageQuery>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let claims = state.access(&req, PERMISSIONS)?;
    let body: InvoicesBody = parse_json(&body)?;
    let size = q.size(500)?;
    let numbers = &body.collective_identifier_numbers;
    if numbers.is_empty() || numbers.len() > MAX_PER_INVOICE_QUERY {
        return Err(ApiError::validation(format!(
            "collectiveIdentifierNumbers: od 1 do {MAX_PER_INVOICE_QUERY} identyfikatorów."
        )));
    }
    let offset = continuation(&req)?;
    let ctx = claims.context_value.as_str();
    let now = Utc::now();
    let db = state.db.lock();
    let mut rows: Vec<(&str, &Member, bool)> = Vec::new();
    for number in numbers {
        let c = db.collective.find(number).filter(|c| visible(&db, c, ctx, now)).ok_or_else(|| {
            ApiError::validation(format!("Nie znaleziono identyfikatora zbiorczego {number}."))
        })?;
        for m in &c.invoices {
            // Payment details only for the creator and the invoice's own parties.
            let shown = c.context == ctx || is_party(&db, &m.ksef_number, ctx, now);
            rows.push((c.number.as_str(), m, shown));
        }
    }
    rows.sort_by(|a, b| b.1.ksef_number.cmp(&a.1.ksef_number).then_with(|| a.0.cmp(b.0)));
    let page: Vec<Value> = rows
        .iter()
        .skip(offset)
        .take(size)
        .map(|(number, m, shown)| {
            let (payment, description) = if *shown {
                (
                    m.payment.as_ref().map(|p| json!({"amount": p.amount, "currency": p.currency})),
                    m.description.clone(),
                )
            } else {
                (None, None)
            };
            json!({
                // Not in the 2.7.0 item: with up to 10 identifiers per call, which one it is in.
                "collectiveIdentifierNumber": number,
                "ksefNumber": m.ksef_number,
                "payment": payment,
                "description": description,
                "detailsHidden": !shown && (m.payment.is_some() || m.description.is_some()),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "continuationToken": next_token(offset, page.len(), rows.len()),
        "invoices": page,
    })))
}
