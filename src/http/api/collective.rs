//! Collective identifiers (IZ): create one in KSeF for accepted invoices of one client, and list a
//! client's. Creating needs `send` on the client (API keys: the `send` scope); listing needs `read`.

use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::error::AppError;
use crate::service::access::Caller;
use crate::service::collective::{self, CollectiveItem, InvoiceRef};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(create).service(list);
}

/// One invoice with its own payment or description.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemBody {
    id: Option<String>,
    ksef_number: Option<String>,
    amount: Option<String>,
    currency: Option<String>,
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    /// The client; an API key may leave it out (its own client).
    nip: Option<String>,
    #[serde(default)]
    invoice_ids: Vec<String>,
    #[serde(default)]
    ksef_numbers: Vec<String>,
    #[serde(default)]
    invoices: Vec<ItemBody>,
    /// Description of every invoice that has none of its own.
    description: Option<String>,
}

impl CreateBody {
    fn items(self) -> Result<Vec<CollectiveItem>, AppError> {
        let shared = self.description;
        let plain =
            |invoice| CollectiveItem { invoice, amount: None, currency: None, description: shared.clone() };
        let mut items: Vec<CollectiveItem> =
            self.invoice_ids.into_iter().map(|i| plain(InvoiceRef::Id(i))).collect();
        items.extend(self.ksef_numbers.into_iter().map(|n| plain(InvoiceRef::KsefNumber(n))));
        for i in self.invoices {
            let invoice = match (i.id, i.ksef_number) {
                (Some(id), None) => InvoiceRef::Id(id),
                (None, Some(n)) => InvoiceRef::KsefNumber(n),
                _ => return Err(AppError::invalid("invoices[]: give either id or ksef_number")),
            };
            items.push(CollectiveItem {
                invoice,
                amount: i.amount,
                currency: i.currency,
                description: i.description.or_else(|| shared.clone()),
            });
        }
        Ok(items)
    }
}

/// The client a call is about: the `nip` given, or the API key's own client; `missing` is the
/// error when a person names none (a body field is 422, a query parameter 400, as elsewhere).
async fn nip_of(
    st: &AppState,
    caller: &Caller,
    nip: Option<String>,
    missing: fn() -> AppError,
) -> Result<String, AppError> {
    match (nip, caller) {
        (Some(nip), _) => Ok(nip),
        (None, Caller::ApiKey(k)) => {
            let id = k.client_id.clone();
            Ok(st.db.tx(move |c| crate::db::models::Client::get(c, &id)).await?.nip)
        }
        (None, _) => Err(missing()),
    }
}

/// `POST /api/v1/collective-identifiers`: 201 with the identifier KSeF issued.
#[post("/collective-identifiers")]
async fn create(
    st: web::Data<AppState>,
    caller: Caller,
    body: web::Json<CreateBody>,
) -> Result<HttpResponse, AppError> {
    let mut body = body.into_inner();
    let missing = || AppError::invalid("nip: say which client (\"nip\": \"…\")");
    let nip = nip_of(&st, &caller, body.nip.take(), missing).await?;
    let view = collective::create(&st, &caller, &nip, body.items()?).await?;
    Ok(HttpResponse::Created().json(view))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    #[serde(default, deserialize_with = "super::blank_as_none")]
    nip: Option<String>,
}

/// `GET /api/v1/collective-identifiers?nip=`: the client's identifiers, newest first (100 at most).
#[get("/collective-identifiers")]
async fn list(
    st: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, AppError> {
    let missing = || AppError::bad_query("nip: say which client (?nip=…)");
    let nip = nip_of(&st, &caller, q.into_inner().nip, missing).await?;
    let items = collective::list(&st, &caller, &nip).await?;
    Ok(HttpResponse::Ok().json(json!({"collective_identifiers": items})))
}
