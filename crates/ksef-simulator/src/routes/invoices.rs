//! Reading invoices: download by KSeF number and the metadata query (seller and buyer views).

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::{parse_json, AppState};
use crate::errors::{ApiError, ApiResult};
use crate::routes::status::xml_response;
use crate::state::{Accepted, Invoice};
use crate::time;

const READ: &[&str] = &["InvoiceRead"];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/invoices/ksef/{ksef}", web::get().to(download))
        .route("/invoices/query/metadata", web::post().to(query));
}

async fn download(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let claims = state.access(&req, READ)?;
    let ksef = path.into_inner();
    let not_found = || ApiError::exception(21164, "Faktura o podanym numerze KSeF nie została odnaleziona.");
    let db = state.db.lock();
    let inv = db.by_ksef.get(&ksef).and_then(|r| db.invoices.get(r)).ok_or_else(not_found)?;
    let Some(acc) = inv.accepted_at(Utc::now()) else {
        return Err(ApiError::exception(
            21165,
            "Faktura została przetworzona, ale nie jest jeszcze dostępna. Spróbuj później.",
        ));
    };
    let ctx = claims.context_value.as_str();
    if acc.seller_nip != ctx && acc.buyer_nip.as_deref() != Some(ctx) {
        return Err(not_found());
    }
    Ok(xml_response(inv.xml.as_slice().to_vec()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageQuery {
    sort_order: Option<String>,
    page_offset: Option<usize>,
    page_size: Option<usize>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DateRange {
    date_type: String,
    from: String,
    to: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Amount {
    #[serde(rename = "type")]
    kind: String,
    from: Option<f64>,
    to: Option<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BuyerIdentifier {
    #[serde(rename = "type")]
    kind: String,
    value: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Filters {
    subject_type: String,
    date_range: DateRange,
    ksef_number: Option<String>,
    invoice_number: Option<String>,
    amount: Option<Amount>,
    seller_nip: Option<String>,
    buyer_identifier: Option<BuyerIdentifier>,
    currency_codes: Option<Vec<String>>,
    invoice_types: Option<Vec<String>>,
    has_attachment: Option<bool>,
    invoicing_mode: Option<String>,
}

/// ISO-8601 date-time; without an offset it is Warsaw time (API_BRIEF §2).
fn parse_time(text: &str) -> ApiResult<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .map(|n| {
            let as_utc = n.and_utc();
            as_utc - time::warsaw_offset(as_utc)
        })
        .map_err(|_| ApiError::validation(format!("Nieprawidłowa data: {text}")))
}

/// `InvoiceType` name of an FA(3) RodzajFaktury.
fn invoice_type(rodzaj: &str) -> &'static str {
    match rodzaj {
        "KOR" => "Kor",
        "ZAL" => "Zal",
        "ROZ" => "Roz",
        "UPR" => "Upr",
        "KOR_ZAL" => "KorZal",
        "KOR_ROZ" => "KorRoz",
        _ => "Vat",
    }
}

fn amount(v: &Option<String>) -> f64 {
    v.as_deref().and_then(|s| s.parse().ok()).unwrap_or(0.0)
}

fn matches(
    f: &Filters,
    ctx: &str,
    inv: &Invoice,
    a: &Accepted,
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
) -> bool {
    let subject_ok = match f.subject_type.as_str() {
        "Subject1" => a.seller_nip == ctx,
        "Subject2" => a.buyer_nip.as_deref() == Some(ctx),
        _ => false,
    };
    let at = match f.date_range.date_type.as_str() {
        "Issue" => a.issue_date.and_hms_opt(12, 0, 0).map_or(inv.received, |d| d.and_utc()),
        "Invoicing" => inv.invoicing,
        _ => inv.ready_at,
    };
    let in_range = if f.date_range.date_type == "Issue" {
        a.issue_date >= from.date_naive() && to.is_none_or(|t| a.issue_date <= t.date_naive())
    } else {
        at >= from && to.is_none_or(|t| at <= t)
    };
    let amount_ok = f.amount.as_ref().is_none_or(|am| {
        let v = match am.kind.as_str() {
            "Netto" => amount(&a.net),
            "Vat" => amount(&a.vat),
            _ => amount(&a.gross),
        };
        am.from.is_none_or(|x| v >= x) && am.to.is_none_or(|x| v <= x)
    });
    let buyer_ok = f.buyer_identifier.as_ref().is_none_or(|b| match b.kind.as_str() {
        "Nip" => a.buyer_nip.is_some() && a.buyer_nip == b.value,
        "None" => a.buyer_nip.is_none(),
        _ => false,
    });
    subject_ok
        && in_range
        && amount_ok
        && buyer_ok
        && f.ksef_number.as_ref().is_none_or(|k| *k == a.ksef_number)
        && f.invoice_number.as_ref().is_none_or(|n| inv.invoice_number.as_ref() == Some(n))
        && f.seller_nip.as_ref().is_none_or(|n| *n == a.seller_nip)
        && f.currency_codes.as_ref().is_none_or(|c| c.is_empty() || c.contains(&a.currency))
        && f.invoice_types
            .as_ref()
            .is_none_or(|t| t.is_empty() || t.iter().any(|t| t == invoice_type(&a.invoice_type)))
        && f.has_attachment.is_none_or(|h| h == a.has_attachment)
        && f.invoicing_mode.as_ref().is_none_or(|m| m == if inv.offline { "Offline" } else { "Online" })
}

fn metadata(inv: &Invoice, a: &Accepted) -> Value {
    let buyer_id = match &a.buyer_nip {
        Some(nip) => json!({"type": "Nip", "value": nip}),
        None => json!({"type": "None"}),
    };
    json!({
        "ksefNumber": a.ksef_number,
        "invoiceNumber": inv.invoice_number.clone().unwrap_or_default(),
        "issueDate": a.issue_date.format("%Y-%m-%d").to_string(),
        "invoicingDate": time::fmt(inv.invoicing),
        "acquisitionDate": time::fmt(inv.ready_at),
        "permanentStorageDate": time::fmt(inv.ready_at),
        "seller": {"nip": a.seller_nip, "name": a.seller_name},
        "buyer": {"identifier": buyer_id, "name": a.buyer_name},
        "netAmount": amount(&a.net),
        "grossAmount": amount(&a.gross),
        "vatAmount": amount(&a.vat),
        "currency": a.currency,
        "invoicingMode": if inv.offline { "Offline" } else { "Online" },
        "invoiceType": invoice_type(&a.invoice_type),
        "formCode": {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"},
        "isSelfInvoicing": false,
        "hasAttachment": a.has_attachment,
        "invoiceHash": inv.hash,
    })
}

async fn query(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<PageQuery>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let claims = state.access(&req, READ)?;
    let body: Filters = parse_json(&body)?;
    let size = q.page_size.unwrap_or(10);
    if !(10..=250).contains(&size) {
        return Err(ApiError::validation("pageSize musi być w zakresie 10..250."));
    }
    let offset = q.page_offset.unwrap_or(0);
    let from = parse_time(&body.date_range.from)?;
    let to = body.date_range.to.as_deref().map(parse_time).transpose()?;
    if to.unwrap_or_else(Utc::now) - from > chrono::Duration::days(92) {
        return Err(ApiError::validation("Zakres dat nie może przekraczać 3 miesięcy."));
    }
    let now = Utc::now();
    let db = state.db.lock();
    let mut found: Vec<(&Invoice, &Accepted)> = db
        .accepted_order
        .iter()
        .filter_map(|r| db.invoices.get(r))
        .filter_map(|i| i.accepted_at(now).map(|a| (i, a)))
        .filter(|(i, a)| matches(&body, &claims.context_value, i, a, from, to))
        .collect();
    found.sort_by_key(|(i, _)| i.ready_at);
    if q.sort_order.as_deref() == Some("Desc") {
        found.reverse();
    }
    let page: Vec<Value> = found.iter().skip(offset * size).take(size).map(|(i, a)| metadata(i, a)).collect();
    let has_more = (offset + 1) * size < found.len();
    Ok(HttpResponse::Ok().json(json!({
        "hasMore": has_more,
        "isTruncated": false,
        "permanentStorageHwmDate": time::fmt(now),
        "invoices": page,
    })))
}
