//! Invoices: upload (one FA(3) XML or a zip), list, read, decide to send, approve, return or
//! reject (four-eyes), replace or delete an upload that went wrong, and the invoice's XML, UPO
//! and QR code.

use actix_web::http::header;
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::db::models::Client;
use crate::domain::InvoiceState;
use crate::error::AppError;
use crate::http::auth::client_ip_text;
use crate::offline::{OfflineIssue, OfflineMode};
use crate::service::access::Caller;
use crate::service::approvals::{self, Answer};
use crate::service::decisions::{self, SendRequest};
use crate::service::intake::{self, IntakeResult, Source};
use crate::service::invoices::{self, ListQuery};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    // `send` and `pdf` are registered before `{id}` so they are never taken for an id.
    cfg.service(send)
        .service(pdf_zip)
        .service(upload)
        .service(list)
        .service(get_one)
        .service(delete_one)
        .service(approve)
        .service(answer)
        .service(replace)
        .service(xml)
        .service(upo)
        .service(qr)
        .service(pdf);
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadQuery {
    #[serde(default, deserialize_with = "super::blank_as_none")]
    nip: Option<String>,
}

/// The client an upload is for: the API key's own, or the `nip` a person names.
async fn upload_client(st: &AppState, caller: &Caller, nip: Option<String>) -> Result<String, AppError> {
    match (caller, nip) {
        (Caller::ApiKey(k), None) => Ok(k.client_id.clone()),
        (_, Some(nip)) => {
            let client = st.db.tx(move |c| Client::find_by_nip(c, &nip)).await?.ok_or(AppError::NotFound)?;
            Ok(client.id)
        }
        (_, None) => Err(AppError::invalid("nip: say which client the invoices are for (?nip=…)")),
    }
}

/// `POST /api/v1/invoices[?nip=]`: body is one FA(3) XML or a zip of many. 201 with one result
/// per file: its id, state (`draft` or `invalid`) and findings.
#[post("/invoices")]
async fn upload(
    st: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    q: web::Query<UploadQuery>,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let client_id = upload_client(&st, &caller, q.into_inner().nip).await?;
    let body = crate::http::spool::upload(&st, body).await?;
    let results = intake::submit_upload(&st, &caller, &client_id, body, source_of(&caller)).await?;
    let lang = super::lang(&req);
    let items: Vec<_> = results.iter().map(|r| stored_json(r, lang)).collect();
    let valid = results.iter().filter(|r| r.invoice.state == InvoiceState::Draft).count();
    Ok(HttpResponse::Created().json(json!({
        "invoices": items, "accepted": valid, "invalid": results.len() - valid,
    })))
}

/// Where an upload through the API came from: a person's (their session) or a client system's.
fn source_of(caller: &Caller) -> Source {
    if matches!(caller, Caller::User(_)) {
        Source::Panel
    } else {
        Source::Api
    }
}

/// One stored file of an upload as the API answers it.
fn stored_json(r: &IntakeResult, lang: crate::domain::Lang) -> serde_json::Value {
    json!({
        "file": r.file, "id": r.invoice.id, "state": r.invoice.state, "sha256": r.invoice.sha256,
        "number": r.invoice.number,
        "findings": r.findings.iter().map(|f| f.view(lang)).collect::<Vec<_>>(),
    })
}

/// `POST /api/v1/invoices/{id}/replace`: one corrected FA(3) XML (the body, as for an upload)
/// in place of an invoice nobody decided on yet (a draft, a duplicate, an invalid one); the old
/// one goes in the same transaction. 201 with the new invoice's result and the id it replaced.
#[post("/invoices/{id}/replace")]
async fn replace(
    st: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let body = intake::Upload::from_bytes(body.to_vec());
    let stored = intake::replace(&st, &caller, &id, body, source_of(&caller)).await?;
    Ok(HttpResponse::Created()
        .json(json!({"replaced": id.as_str(), "invoice": stored_json(&stored, super::lang(&req))})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    #[serde(default, deserialize_with = "super::blank_as_none")]
    nip: Option<String>,
    /// One state or several, comma-separated.
    #[serde(default, deserialize_with = "super::blank_as_none")]
    state: Option<String>,
    #[serde(default, deserialize_with = "super::blank_as_none")]
    from: Option<String>,
    #[serde(default, deserialize_with = "super::blank_as_none")]
    to: Option<String>,
    #[serde(default, deserialize_with = "super::blank_as_none")]
    issued_from: Option<chrono::NaiveDate>,
    #[serde(default, deserialize_with = "super::blank_as_none")]
    issued_to: Option<chrono::NaiveDate>,
    #[serde(default, deserialize_with = "super::blank_as_none")]
    min_gross: Option<String>,
    #[serde(default, deserialize_with = "super::blank_as_none")]
    max_gross: Option<String>,
    #[serde(default, deserialize_with = "super::blank_as_none")]
    q: Option<String>,
    #[serde(default, deserialize_with = "super::blank_as_none")]
    sort: Option<String>,
    #[serde(default, deserialize_with = "super::blank_as_none")]
    limit: Option<i64>,
    #[serde(default, deserialize_with = "super::blank_as_none")]
    cursor: Option<String>,
}

/// `GET /api/v1/invoices?nip=&state=&from=&to=&issued_from=&issued_to=&min_gross=&max_gross=&q=&sort=&limit=&cursor=`:
/// one page in the chosen order (newest received first by default), with `total` (all
/// matching), `offset` (how many come before this page) and `next_cursor` / `prev_cursor`
/// (null at either end) to pass back as `cursor`.
#[get("/invoices")]
async fn list(
    st: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, AppError> {
    let q = q.into_inner();
    let query = ListQuery {
        nip: q.nip,
        states: q.state.map(|s| s.split(',').map(str::to_owned).collect()).unwrap_or_default(),
        from: q.from.as_deref().map(|v| super::parse_time("from", v)).transpose()?,
        to: q.to.as_deref().map(|v| super::parse_time("to", v)).transpose()?,
        issued_from: q.issued_from,
        issued_to: q.issued_to,
        min_gross: super::amount("min_gross", q.min_gross)?,
        max_gross: super::amount("max_gross", q.max_gross)?,
        text: q.q,
        sort: q.sort,
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(HttpResponse::Ok().json(invoices::list(&st, &caller, query).await?))
}

/// `GET /api/v1/invoices/{id}`.
#[get("/invoices/{id}")]
async fn get_one(
    st: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(invoices::get(&st, &caller, &id, super::lang(&req)).await?))
}

#[derive(Deserialize)]
struct SendBody {
    ids: Vec<String>,
    #[serde(default)]
    offline: bool,
    /// offline24 (default when offline), unavailability, emergency.
    offline_mode: Option<String>,
    /// unavailability / emergency: the day (YYYY-MM-DD, Warsaw) the announced period ended;
    /// taken from Latarnia's announcement when left out.
    offline_period_end: Option<chrono::NaiveDate>,
    /// emergency without a failure announced in Latarnia: the caller confirms the Ministry
    /// declared one.
    #[serde(default)]
    failure_confirmed: bool,
}

/// `POST /api/v1/invoices/send`: records the decision; 202, the senders do the rest.
#[post("/invoices/send")]
async fn send(
    st: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    body: web::Json<SendBody>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    let offline = match (body.offline, body.offline_mode.as_deref()) {
        (false, None) => None,
        (false, Some(_)) => return Err(AppError::invalid("offline_mode needs \"offline\": true")),
        (true, mode) => Some(OfflineIssue {
            mode: mode
                .map_or(Ok(OfflineMode::Offline24), OfflineMode::from_input)
                .map_err(AppError::invalid)?,
            period_end: body.offline_period_end,
        }),
    };
    let request = SendRequest {
        invoice_ids: body.ids,
        offline,
        failure_confirmed: body.failure_confirmed,
        source_ip: client_ip_text(&req, &st),
    };
    let decisions = decisions::decide_send(&st, &caller, request).await?;
    Ok(HttpResponse::Accepted().json(json!({"decisions": decisions})))
}

#[derive(Deserialize, Default)]
struct ApproveBody {
    sha256: Option<String>,
}

/// `DELETE /api/v1/invoices/{id}`: an invoice nobody decided on yet (draft or invalid) goes;
/// past a decision it is 409 `invoice_decided`.
#[delete("/invoices/{id}")]
async fn delete_one(
    st: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    crate::service::discard::delete(&st, &caller, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/invoices/{id}/approve`: the second person's approval (four-eyes).
#[post("/invoices/{id}/approve")]
async fn approve(
    st: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    id: web::Path<String>,
    body: Option<web::Json<ApproveBody>>,
) -> Result<HttpResponse, AppError> {
    let seen = body.and_then(|b| b.into_inner().sha256);
    let inv = decisions::approve(&st, &caller, &id, seen).await?;
    Ok(HttpResponse::Ok().json(invoices::get(&st, &caller, &inv.id, super::lang(&req)).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerBody {
    /// For the preparer: why (required; checked by the service like the panel's comment).
    #[serde(default)]
    comment: String,
}

/// `POST /api/v1/invoices/{id}/return` or `…/reject` with `{"comment": "…"}`: the approver's
/// answer other than approving, through the same service as the panel's form. `return` leaves
/// a draft with its preparer; `reject` (the office's refusal) makes it `invalid`, never sent.
/// 200 with the invoice, its `approver_answer` carrying the comment.
#[post("/invoices/{id}/{answer:return|reject}")]
async fn answer(
    st: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: web::Json<AnswerBody>,
) -> Result<HttpResponse, AppError> {
    let (id, answer) = path.into_inner();
    // The route admits only the spellings `Answer` reads.
    let answer = Answer::parse(&answer).map_err(|_| AppError::NotFound)?;
    let inv = approvals::answer(&st, &caller, &id, answer, &body.comment).await?;
    Ok(HttpResponse::Ok().json(invoices::get(&st, &caller, &inv.id, super::lang(&req)).await?))
}

/// `GET /api/v1/invoices/{id}/xml`: the exact bytes.
#[get("/invoices/{id}/xml")]
async fn xml(
    st: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (inv, bytes) = invoices::xml(&st, &caller, &id).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/xml")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{}.xml\"", inv.id)))
        .body(bytes))
}

/// `GET /api/v1/invoices/{id}/upo`: KSeF's official receipt.
#[get("/invoices/{id}/upo")]
async fn upo(
    st: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let bytes = invoices::upo(&st, &caller, &id).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/xml")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"UPO-{}.xml\"", id.as_str())))
        .body(bytes))
}

/// `GET /api/v1/invoices/{id}/qr`: the KOD I verification link (and KOD II, the signed
/// certificate link, for an invoice issued offline by a client with an offline certificate), as
/// JSON, or KOD I as an SVG image when asked with `Accept: image/svg+xml`.
#[get("/invoices/{id}/qr")]
async fn qr(
    st: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (inv, link) = invoices::qr_link(&st, &caller, &id).await?;
    let wants_svg = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("image/svg+xml"));
    if wants_svg {
        return Ok(HttpResponse::Ok()
            .content_type("image/svg+xml")
            .body(crate::http::qr_svg::render(&link)?));
    }
    let kod2 = invoices::certificate_link(&st, &caller, &id).await?;
    Ok(HttpResponse::Ok().json(json!({
        "kod1": link, "label": crate::service::invoices::qr_label(&inv), "ksef_number": inv.ksef_number,
        "kod2": kod2, "kod2_label": kod2.as_ref().map(|_| "CERTYFIKAT"),
    })))
}

/// `GET /api/v1/invoices/{id}/pdf`: the invoice's visualisation (parties, lines, VAT, totals,
/// payment, KSeF number or OFFLINE, KOD I/KOD II with captions, UPO summary), in Polish or,
/// with `Accept-Language: en`, English.
#[get("/invoices/{id}/pdf")]
async fn pdf(
    st: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (inv, bytes) = crate::service::invoice_pdf::render(&st, &caller, &id, super::lang(&req)).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header(("Content-Disposition", format!("inline; filename=\"{}.pdf\"", inv.id)))
        .body(bytes))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PdfZipRequest {
    invoice_ids: Vec<String>,
}

/// `POST /api/v1/invoices/pdf` with `{"invoice_ids": [...]}` (1 to 500): the visualisations of
/// those invoices as one zip, one `<number>.pdf` each. Any invoice the caller may not read makes
/// the whole answer 404.
#[post("/invoices/pdf")]
async fn pdf_zip(
    st: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    body: web::Json<PdfZipRequest>,
) -> Result<HttpResponse, AppError> {
    let zip =
        crate::service::invoice_pdf::render_zip(&st, &caller, &body.invoice_ids, None, super::lang(&req))
            .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header(("Content-Disposition", "attachment; filename=\"faktury-pdf.zip\""))
        .body(zip))
}
