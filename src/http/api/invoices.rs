//! Invoices: upload (one FA(3) XML or a zip), list, read, decide to send, approve, return or
//! reject (four-eyes), replace or delete an upload that went wrong, and the invoice's XML, UPO
//! and QR code.

use std::io::Write;

use actix_web::http::header;
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use futures_util::StreamExt as _;
use serde::Deserialize;
use serde_json::json;

use super::openapi_types::Errors;
use crate::domain::{ClientId, InvoiceId, Lang};
use crate::error::AppError;
use crate::http::auth::client_ip_text;
use crate::http::{id_in_path, ids_in_body};
use crate::offline::{OfflineIssue, OfflineMode};
use crate::service::access::Caller;
use crate::service::approvals::{self, Answer, ApproverComment};
use crate::service::byte_stream;
use crate::service::decisions::{self, SendRequest};
use crate::service::intake::{self, IntakeResult, Results, Source};
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
async fn upload_client(st: &AppState, caller: &Caller, nip: Option<String>) -> Result<ClientId, AppError> {
    match (caller, nip) {
        (Caller::ApiKey(k), None) => Ok(k.client_id.clone()),
        (_, Some(nip)) => {
            let client = st.db.tx(move |c| crate::service::access::client_named(c, &nip)).await?;
            Ok(client.id)
        }
        (_, None) => Err(AppError::invalid("nip: say which client the invoices are for (?nip=…)")),
    }
}

/// `POST /api/v1/invoices[?nip=]`: body is one FA(3) XML or a zip of many. 201 with one result
/// per file: its id, state (`draft` or `invalid`) and findings.
#[utoipa::path(
    post,
    path = "/api/v1/invoices",
    tag = "invoices",
    operation_id = "invoices_upload",
    summary = "Upload one FA(3) XML or a zip of many; each file is checked and stored as draft or invalid",
    params(
        ("nip" = Option<String>, Query, description = "Client NIP (people must name it; an API key uses its own client)"),
    ),
    request_body(content((String = "application/xml"), (super::openapi_types::Binary = "application/zip"))),
    responses(
        (status = 201, description = "One result per file", content_type = "application/json"),
        Errors<400, 401, 403, 404, 405, 413, 422, 429>,
    ),
)]
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
    let written = byte_stream::written("upload answer", move |out| write_upload_answer(results, lang, out))
        .map(|chunk| chunk.map(web::Bytes::from));
    Ok(HttpResponse::Created().content_type(header::ContentType::json()).streaming(written))
}

/// The upload's answer, `{"accepted":…,"invalid":…,"invoices":[…]}` (keys in the order `json!`
/// gives them, sorted, so it reads as it always has), each file turned into JSON as it is read
/// back from the results' spool: a 50 000-file answer is never in memory, as values or as text.
fn write_upload_answer(results: Results, lang: Lang, out: &mut dyn Write) -> Result<(), AppError> {
    let io = |e: std::io::Error| AppError::Internal(anyhow::anyhow!("upload answer: {e}"));
    let json = |e: serde_json::Error| AppError::Internal(e.into());
    write!(out, r#"{{"accepted":{},"invalid":{},"invoices":["#, results.valid(), results.invalid())
        .map_err(io)?;
    for (n, result) in results.into_reader()?.enumerate() {
        if n > 0 {
            out.write_all(b",").map_err(io)?;
        }
        serde_json::to_writer(&mut *out, &stored_json(&result?, lang)).map_err(json)?;
    }
    out.write_all(b"]}").map_err(io)
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
fn stored_json(r: &IntakeResult, lang: Lang) -> serde_json::Value {
    json!({
        "file": r.file, "id": r.invoice.id, "state": r.invoice.state, "sha256": r.invoice.sha256,
        "number": r.invoice.number,
        "findings": r.findings.iter().map(|f| f.view(lang)).collect::<Vec<_>>(),
    })
}

/// `POST /api/v1/invoices/{id}/replace`: one corrected FA(3) XML (the body, as for an upload)
/// in place of an invoice nobody decided on yet (a draft, a duplicate, an invalid one); the old
/// one goes in the same transaction. 201 with the new invoice's result and the id it replaced.
#[utoipa::path(
    post,
    path = "/api/v1/invoices/{id}/replace",
    tag = "invoices",
    operation_id = "invoices_replace",
    summary = "Replace an invoice nobody decided on yet (draft, duplicate, invalid) with one corrected FA(3) XML, as the panel's Zastąp: the new file is checked and stored like an upload (draft or invalid) while the old one goes in the same transaction, so it is not a duplicate of its own correction. The new invoice's timeline names the one it replaces; audited as invoice.uploaded and invoice.replaced. Needs the upload permission (API key scope submit). Past a decision: 409 invoice_decided (nothing changes); a zip or an empty body: 422 replacement_one_xml; a foreign client's invoice: 404",
    params(
        ("id" = String, Path, description = "Invoice id"),
    ),
    request_body(content((String = "application/xml"))),
    responses(
        (status = 201, description = "{\"replaced\": old id, \"invoice\": {file, id, state, sha256, number, findings}}", content_type = "application/json"),
        Errors<401, 403, 404, 405, 409, 413, 422, 429>,
    ),
)]
#[post("/invoices/{id}/replace")]
async fn replace(
    st: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let id: InvoiceId = id_in_path(&id)?;
    let body = intake::Upload::from_bytes(body.to_vec());
    let stored = intake::replace(&st, &caller, &id, body, source_of(&caller)).await?;
    Ok(HttpResponse::Created()
        .json(json!({"replaced": id, "invoice": stored_json(&stored, super::lang(&req))})))
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
#[utoipa::path(
    get,
    path = "/api/v1/invoices",
    tag = "invoices",
    operation_id = "invoices_list",
    summary = "List invoices",
    description = "One page of the invoices matching every given filter, in the chosen order, with total (all matching) and offset (rows before this page). Unknown parameters are 400 invalid_query.",
    params(
        ("nip" = Option<String>, Query, description = "Client NIP"),
        ("q" = Option<String>, Query, description = "Text contained in the invoice number (P_2) or the buyer's name (case aside); digits (dashes and spaces aside) also match the buyer's NIP"),
        ("state" = Option<String>, Query, description = "One state or several, comma-separated (draft,approved): draft, invalid, approved, queued, sending, registered, accepted, rejected, offline; an unknown one is 400 invalid_query"),
        ("issued_from" = Option<String>, Query, description = "Issue date (P_1) from, YYYY-MM-DD, inclusive; issued_from after issued_to is 400 invalid_range"),
        ("issued_to" = Option<String>, Query, description = "Issue date (P_1) to, YYYY-MM-DD, inclusive"),
        ("min_gross" = Option<String>, Query, description = "Gross amount at least, e.g. 2051 or 2051.50; anything else is 400 invalid_query"),
        ("max_gross" = Option<String>, Query, description = "Gross amount at most; min_gross above max_gross is 400 invalid_range"),
        ("from" = Option<String>, Query, description = "Received by the gateway from, YYYY-MM-DD or RFC 3339; from after to is 400 invalid_range"),
        ("to" = Option<String>, Query, description = "Received by the gateway before, YYYY-MM-DD or RFC 3339; from after to is 400 invalid_range"),
        ("sort" = Option<String>, Query, description = "received, issue_date, number, buyer, gross or state, with - in front for descending (default -received); ties by id; anything else is 400 invalid_query"),
        ("limit" = Option<String>, Query, description = "1..=1000 (default 100); anything else is 400 invalid_query"),
        ("cursor" = Option<String>, Query, description = "next_cursor or prev_cursor of a previous page (keyset pagination in the page's sort; a cursor of another sort is 422 invalid_input with details reason bad_cursor); the answer carries invoices, total, offset, next_cursor, prev_cursor, sort"),
    ),
    responses(
        (status = 200, description = "OK", content_type = "application/json"),
        Errors<400, 401, 403, 404, 405, 422, 429>,
    ),
)]
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
#[utoipa::path(
    get,
    path = "/api/v1/invoices/{id}",
    tag = "invoices",
    operation_id = "invoices_get_one",
    summary = "One invoice: state, W/O/A letter, timeline, identifiers, findings, KSeF errors; approver_answer ({answer: return|reject, comment, by, at}, else null) while a four-eyes return or rejection is its latest step",
    description = "`collective_identifiers`: the collective identifiers (IZ) the invoice is in, newest first (`number`, `created_at`).",
    params(
        ("id" = String, Path, description = "Invoice id"),
    ),
    responses(
        (status = 200, description = "OK", content_type = "application/json"),
        Errors<401, 403, 404, 405, 422, 429>,
    ),
)]
#[get("/invoices/{id}")]
async fn get_one(
    st: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id_in_path(&id)?;
    Ok(HttpResponse::Ok().json(invoices::get(&st, &caller, &id, super::lang(&req)).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct SendBody {
    ids: Vec<String>,
    #[serde(default)]
    offline: bool,
    /// offline24 (default when offline), unavailability, emergency.
    #[schema(schema_with = super::openapi_types::offline_mode)]
    offline_mode: Option<String>,
    /// unavailability/emergency: the day the announced period ended (Warsaw); from Latarnia
    /// when left out.
    offline_period_end: Option<chrono::NaiveDate>,
    /// emergency without a failure announced in Latarnia: the caller confirms the Ministry
    /// declared one.
    #[serde(default)]
    failure_confirmed: bool,
}

/// `POST /api/v1/invoices/send`: records the decision; 202, the senders do the rest.
#[utoipa::path(
    post,
    path = "/api/v1/invoices/send",
    tag = "invoices",
    operation_id = "invoices_send",
    summary = "Decide to send (recorded with who, when, from where, the exact hashes and the policy)",
    request_body(content = inline(SendBody), content_type = "application/json"),
    responses(
        (status = 202, description = "Decision recorded; the senders deliver", content_type = "application/json"),
        Errors<401, 403, 404, 405, 413, 422, 429>,
    ),
)]
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
        invoice_ids: ids_in_body(&body.ids)?,
        offline,
        failure_confirmed: body.failure_confirmed,
        source_ip: client_ip_text(&req, &st),
    };
    let decisions = decisions::decide_send(&st, &caller, request).await?;
    Ok(HttpResponse::Accepted().json(json!({"decisions": decisions})))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
struct ApproveBody {
    sha256: Option<String>,
}

/// `DELETE /api/v1/invoices/{id}`: an invoice nobody decided on yet (draft or invalid) goes;
/// past a decision it is 409 `invoice_decided`.
#[utoipa::path(
    delete,
    path = "/api/v1/invoices/{id}",
    tag = "invoices",
    operation_id = "invoices_delete_one",
    summary = "Delete an invoice nobody decided on yet (draft or invalid, e.g. a duplicate or a failed upload): its bytes and timeline go, the audit trail keeps an invoice.deleted event with its SHA-256 and who deleted it. Needs the upload permission (API key scope submit). Past a decision: 409 invoice_decided; an invoice a correction refers to: 409 invoice_corrected",
    params(
        ("id" = String, Path, description = "Invoice id"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        Errors<401, 403, 404, 405, 409, 429>,
    ),
)]
#[delete("/invoices/{id}")]
async fn delete_one(
    st: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    crate::service::discard::delete(&st, &caller, &id_in_path(&id)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/invoices/{id}/approve`: the second person's approval (four-eyes).
#[utoipa::path(
    post,
    path = "/api/v1/invoices/{id}/approve",
    tag = "invoices",
    operation_id = "invoices_approve",
    summary = "Second person's approval of the exact bytes (four-eyes policy)",
    params(
        ("id" = String, Path, description = "Invoice id"),
    ),
    request_body(content = inline(Option<ApproveBody>), content_type = "application/json"),
    responses(
        (status = 200, description = "OK", content_type = "application/json"),
        Errors<401, 403, 404, 405, 409, 413, 422, 429>,
    ),
)]
#[post("/invoices/{id}/approve")]
async fn approve(
    st: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    id: web::Path<String>,
    body: Option<web::Json<ApproveBody>>,
) -> Result<HttpResponse, AppError> {
    let seen = body.and_then(|b| b.into_inner().sha256);
    let inv = decisions::approve(&st, &caller, &id_in_path(&id)?, seen).await?;
    Ok(HttpResponse::Ok().json(invoices::get(&st, &caller, &inv.id, super::lang(&req)).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct AnswerBody {
    /// Why, for the person who prepared the invoice: 1 to 1000 characters, no control
    /// characters except line breaks; blank or missing is 422 invalid_input with details reason
    /// comment_required, a control character reason comment_control_character (checked by the
    /// service like the panel's comment).
    #[serde(default)]
    #[schema(required = true, max_length = 1000)]
    comment: String,
}

/// `POST /api/v1/invoices/{id}/return` or `…/reject` with `{"comment": "…"}`: the approver's
/// answer other than approving, through the same service as the panel's form. `return` leaves
/// a draft with its preparer; `reject` (the office's refusal) makes it `invalid`, never sent.
/// 200 with the invoice, its `approver_answer` carrying the comment.
#[utoipa::path(
    post,
    path = "/api/v1/invoices/{id}/return",
    tag = "invoices",
    operation_id = "invoices_return",
    summary = "Four-eyes: the approver returns a draft to its preparer with a comment; it stays a draft, leaves the approvers' inbox and shows approver_answer until someone acts on it again. Only a person (session) holding approve on a four-eyes client, never the invoice's preparer (422 approver_is_preparer); an API key is 403 without the scope, else 422 approval_by_person; a client without four-eyes is 422 approval_not_needed; an invoice that is not a draft 422 invoice_not_draft; a foreign client's invoice 404. Audited as invoice.returned with the comment and the preparer.",
    params(
        ("id" = String, Path, description = "Invoice id"),
    ),
    request_body(content = inline(AnswerBody), content_type = "application/json"),
    responses(
        (status = 200, description = "The invoice as GET /api/v1/invoices/{id} shows it, with approver_answer", content_type = "application/json"),
        Errors<401, 403, 404, 405, 409, 413, 422, 429>,
    ),
)]
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
    let comment = ApproverComment::parse(&body.comment)?;
    let inv = approvals::answer(&st, &caller, &id_in_path(&id)?, answer, comment).await?;
    Ok(HttpResponse::Ok().json(invoices::get(&st, &caller, &inv.id, super::lang(&req)).await?))
}

/// `GET /api/v1/invoices/{id}/xml`: the exact bytes.
#[utoipa::path(
    get,
    path = "/api/v1/invoices/{id}/xml",
    tag = "invoices",
    operation_id = "invoices_xml",
    summary = "The exact bytes",
    params(
        ("id" = String, Path, description = "Invoice id"),
    ),
    responses(
        (status = 200, description = "OK", content_type = "application/xml"),
        Errors<401, 403, 404, 405, 422, 429>,
    ),
)]
#[get("/invoices/{id}/xml")]
async fn xml(
    st: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (inv, bytes) = invoices::xml(&st, &caller, &id_in_path(&id)?).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/xml")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{}.xml\"", inv.id)))
        .body(bytes))
}

/// `GET /api/v1/invoices/{id}/upo`: KSeF's official receipt.
#[utoipa::path(
    get,
    path = "/api/v1/invoices/{id}/upo",
    tag = "invoices",
    operation_id = "invoices_upo",
    summary = "KSeF's official receipt (UPO)",
    params(
        ("id" = String, Path, description = "Invoice id"),
    ),
    responses(
        (status = 200, description = "OK", content_type = "application/xml"),
        Errors<401, 403, 404, 405, 422, 429>,
    ),
)]
#[get("/invoices/{id}/upo")]
async fn upo(
    st: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id: InvoiceId = id_in_path(&id)?;
    let bytes = invoices::upo(&st, &caller, &id).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/xml")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"UPO-{id}.xml\"")))
        .body(bytes))
}

/// `GET /api/v1/invoices/{id}/qr`: the KOD I verification link (and KOD II, the signed
/// certificate link, for an invoice issued offline by a client with an offline certificate), as
/// JSON, or KOD I as an SVG image when asked with `Accept: image/svg+xml`.
#[utoipa::path(
    get,
    path = "/api/v1/invoices/{id}/qr",
    tag = "invoices",
    operation_id = "invoices_qr",
    summary = "KOD I verification link (JSON) or QR image (Accept: image/svg+xml)",
    params(
        ("id" = String, Path, description = "Invoice id"),
    ),
    responses(
        (status = 200, description = "OK", content_type = "application/json"),
        Errors<401, 403, 404, 405, 422, 429>,
    ),
)]
#[get("/invoices/{id}/qr")]
async fn qr(
    st: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id_in_path(&id)?;
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
#[utoipa::path(
    get,
    path = "/api/v1/invoices/{id}/pdf",
    tag = "invoices",
    operation_id = "invoices_pdf",
    summary = "The invoice's visualisation as PDF",
    description = "Seller, buyer, dates, lines, VAT summary, totals and payment as the FA(3) file states them; the KSeF number, or OFFLINE with the legal deadline; KOD I and (for an offline invoice of a client with an offline certificate) KOD II as QR codes with their captions and links; what a correction corrects; the UPO summary. Polish, or English with Accept-Language: en. A foreign invoice is 404.",
    params(
        ("id" = String, Path, description = "Invoice id"),
        ("Accept-Language" = Option<String>, Header, description = "en for English texts"),
    ),
    responses(
        (status = 200, description = "OK", content_type = "application/pdf"),
        Errors<401, 403, 404, 405, 422, 429>,
    ),
)]
#[get("/invoices/{id}/pdf")]
async fn pdf(
    st: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id_in_path(&id)?;
    let (inv, bytes) = crate::service::invoice_pdf::render(&st, &caller, &id, super::lang(&req)).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header(("Content-Disposition", format!("inline; filename=\"{}.pdf\"", inv.id)))
        .body(bytes))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PdfZipRequest {
    #[schema(min_items = 1, max_items = 500)]
    invoice_ids: Vec<String>,
}

/// `POST /api/v1/invoices/pdf` with `{"invoice_ids": [...]}` (1 to 500): the visualisations of
/// those invoices as one zip, one `<number>.pdf` each. Any invoice the caller may not read makes
/// the whole answer 404.
#[utoipa::path(
    post,
    path = "/api/v1/invoices/pdf",
    tag = "invoices",
    operation_id = "invoices_pdf_zip",
    summary = "The visualisations of chosen invoices as one zip, one <number>.pdf each (1 to 500 ids; any id the caller cannot read: 404 and no zip)",
    request_body(content = inline(PdfZipRequest), content_type = "application/json"),
    responses(
        (status = 200, description = "OK", content_type = "application/zip"),
        Errors<401, 403, 404, 405, 422, 429>,
    ),
)]
#[post("/invoices/pdf")]
async fn pdf_zip(
    st: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    body: web::Json<PdfZipRequest>,
) -> Result<HttpResponse, AppError> {
    let ids = crate::service::invoice_pdf::chosen(&body.invoice_ids)?;
    let zip = crate::service::invoice_pdf::render_zip(&st, &caller, &ids, None, super::lang(&req)).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header(("Content-Disposition", "attachment; filename=\"faktury-pdf.zip\""))
        .body(zip))
}

/// The `reject` spelling of [`answer`]'s route, listed in the document as an operation of
/// its own (the handler above answers both).
#[utoipa::path(
    post,
    path = "/api/v1/invoices/{id}/reject",
    tag = "invoices",
    operation_id = "invoices_reject",
    summary = "Four-eyes: the approver rejects a draft with a comment; it becomes invalid and is never sent (the office's refusal, not KSeF's rejected). Only a person (session) holding approve on a four-eyes client, never the invoice's preparer (422 approver_is_preparer); an API key is 403 without the scope, else 422 approval_by_person; a client without four-eyes is 422 approval_not_needed; an invoice that is not a draft 422 invoice_not_draft; a foreign client's invoice 404. Audited as invoice.rejected_by_approver with the comment and the preparer.",
    params(
        ("id" = String, Path, description = "Invoice id"),
    ),
    request_body(content = inline(AnswerBody), content_type = "application/json"),
    responses(
        (status = 200, description = "The invoice as GET /api/v1/invoices/{id} shows it, with approver_answer", content_type = "application/json"),
        Errors<401, 403, 404, 405, 409, 413, 422, 429>,
    ),
)]
#[expect(dead_code, reason = "only describes the `reject` spelling of `answer`'s route")]
fn answer_reject() {}
