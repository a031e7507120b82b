//! Reading invoices: download by KSeF number and the metadata query (seller, buyer and third-party
//! views, the HWM rule and the 10 000-record cap).

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::{parse_json, AppState};
use crate::errors::{ApiError, ApiResult};
use crate::query::{metadata, Filters, MAX_RESULTS};
use crate::routes::status::xml_response;
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
    let Some(acc) = inv.stored_at(Utc::now()) else {
        return Err(ApiError::exception(
            21165,
            "Faktura została przetworzona, ale nie jest jeszcze dostępna. Spróbuj później.",
        ));
    };
    let ctx = claims.context_value.as_str();
    let third = acc.third_subjects.iter().any(|t| t.id_value.as_deref() == Some(ctx));
    if acc.seller_nip != ctx && acc.buyer_nip.as_deref() != Some(ctx) && !third {
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

async fn query(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<PageQuery>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let claims = state.access(&req, READ)?;
    let filters: Filters = parse_json(&body)?;
    let size = q.page_size.unwrap_or(10);
    if !(10..=250).contains(&size) {
        return Err(ApiError::validation("pageSize musi być w zakresie 10..250."));
    }
    let offset = q.page_offset.unwrap_or(0);
    let now = Utc::now();
    let window = filters.window(now, state.hwm(now))?;
    if window.beyond_hwm {
        return Err(ApiError::exception_with(
            21183,
            "Zakres filtrowania wykracza poza dostępny zakres danych.",
            vec!["Parametr dateRange.from jest późniejszy niż PermanentStorageHwmDate przy włączonym restrictToPermanentStorageHwmDate.".to_owned()],
        ));
    }
    let db = state.db.lock();
    let mut found = filters.select(&db, &claims.context_value, &window, now);
    if q.sort_order.as_deref() == Some("Desc") {
        found.reverse();
    }
    // The cap: at most 10 000 records per filter set. The page that reaches it says isTruncated
    // with hasMore, and the client narrows dateRange from the last record (OA, query/metadata).
    let truncated = found.len() > MAX_RESULTS;
    found.truncate(MAX_RESULTS);
    let page_end = (offset + 1) * size;
    let page: Vec<Value> = found.iter().skip(offset * size).take(size).map(|(i, a)| metadata(i, a)).collect();
    let reaches_cap = truncated && !page.is_empty() && page_end >= found.len();
    Ok(HttpResponse::Ok().json(json!({
        "hasMore": page_end < found.len() || reaches_cap,
        "isTruncated": reaches_cap,
        "permanentStorageHwmDate": window.hwm.map(time::fmt),
        "invoices": page,
    })))
}
