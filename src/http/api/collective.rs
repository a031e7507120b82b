//! Collective identifiers (IZ): create one in KSeF for accepted invoices of one client, and list a
//! client's. Creating needs `send` on the client (API keys: the `send` scope); listing needs `read`.

use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::openapi_types::Errors;
use crate::error::AppError;
use crate::service::access::Caller;
use crate::service::collective::{self, CollectiveItem, InvoiceRef};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(create).service(list);
}

/// One invoice with its own payment or description.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ItemBody {
    id: Option<String>,
    ksef_number: Option<String>,
    /// Decimal, e.g. 1230.50; together with currency
    amount: Option<String>,
    /// ISO 4217, e.g. PLN
    currency: Option<String>,
    #[schema(max_length = 512)]
    description: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    /// The client; an API key may leave it out (its own client).
    nip: Option<String>,
    #[serde(default)]
    invoice_ids: Vec<String>,
    #[serde(default)]
    ksef_numbers: Vec<String>,
    #[serde(default)]
    #[schema(inline)]
    invoices: Vec<ItemBody>,
    /// Description of every invoice that has none of its own.
    #[schema(max_length = 512)]
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
            Ok(st.db.tx(move |c| crate::db::models::Client::get(c, &id)).await?.nip.into())
        }
        (None, _) => Err(missing()),
    }
}

/// `POST /api/v1/collective-identifiers`: 201 with the identifier KSeF issued.
#[utoipa::path(
    post,
    path = "/api/v1/collective-identifiers",
    tag = "collective-identifiers",
    operation_id = "collective_create",
    summary = "Create a collective identifier (identyfikator zbiorczy, IZ) in KSeF for accepted invoices of one client",
    description = "One payment reference KSeF issues for 1 to 500 invoices of ONE client (the seller) that KSeF accepted (they have a KSeF number); the buyer pays them in one transfer with it. Give the invoices as `invoice_ids`, `ksef_numbers` or `invoices` (each with `id` or `ksef_number` and an optional `amount` + `currency` and `description`); `description` at the top applies to every invoice without its own. Needs `send` on the client (API keys: the `send` scope; `nip` may be left out). Checked before KSeF is called, nothing stored on refusal: more than 500 invoices 422 collective_too_many_invoices; an invoice of another client or unknown 422 collective_invoice_not_of_client; not accepted yet 422 collective_invoice_not_accepted; no stored credential 422 no_ksef_credential. KSeF's refusals, with a Polish message saying what to do: 71001 422 ksef_collective_not_assignable, 71002 (the invoice is in 132 identifiers already) 422 ksef_collective_limit, a credential without CollectiveIdentifierManage, InvoiceWrite or InvoiceRead in the client's context 422 ksef_collective_permission_missing. The call counts against KSeF's collectiveIdentifier limits (10/s, 60/min, 120/h per client; 429 rate_limited beyond). Audited as collective_identifier.create.",
    request_body(content = inline(CreateBody), content_type = "application/json"),
    responses(
        (status = 201, description = "Created: `number` (NIP-IZYYYYMM-HEX12-CRC8), `nip`, `client_id`, `invoice_count`, `created_by`, `created_at`, `ksef_numbers`", content_type = "application/json"),
        Errors<401, 403, 404, 405, 413, 422, 429, 503>,
    ),
)]
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
#[utoipa::path(
    get,
    path = "/api/v1/collective-identifiers",
    tag = "collective-identifiers",
    operation_id = "collective_list",
    summary = "The collective identifiers created through the gateway for one client, newest first (at most 100)",
    description = "`collective_identifiers`: each with `number`, `invoice_count`, `created_by`, `created_at`, `ksef_numbers`. Needs `read` on the client (API keys: their own client, `nip` may be left out). An invoice's own identifiers are in `collective_identifiers` of GET /api/v1/invoices/{id}.",
    params(
        ("nip" = Option<String>, Query, description = "Client NIP"),
    ),
    responses(
        (status = 200, description = "OK", content_type = "application/json"),
        Errors<400, 401, 403, 404, 405, 429>,
    ),
)]
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
