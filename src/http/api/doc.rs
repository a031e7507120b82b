//! The API's OpenAPI document, generated from the handlers' `#[utoipa::path]` attributes and the
//! request and response types they name. `/api/v1/openapi.json` serves it and
//! `ksef-gateway openapi` prints it; `docs/openapi.json` is that output, kept equal by a test.

use std::collections::BTreeMap;

use utoipa::openapi::schema::{Array, ArrayBuilder, Object, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Ref, RefOr, Response, Schema};
use utoipa::{Modify, OpenApi};

use crate::auth::{ApiScope, Permission, Role};
use crate::domain::{
    CertificatePurpose, CredentialMode, KeyChoice, OfflineMode, RevokeReason, SendPolicy, WebhookEvent,
};
use crate::error::AppError;

/// What the document says before its operations: the contract every route shares.
const DESCRIPTION: &str = "KSeF 2.0 gateway of an accounting office. Errors: {\"error\": {\"code\", \"message\", \"details\"}} with stable codes. Authenticate with `Authorization: Bearer kgw_…` (per-client API key) or the panel session cookie plus `X-CSRF-Token` on state-changing calls. Findings are in Polish, or English with `Accept-Language: en`. A client the caller holds nothing on answers 404 as if it did not exist; one it sees but may not act on this way answers 403 (`forbidden`, `scope_not_held`, `csrf_failed`, or `origin_mismatch` for a cookie-authenticated change from another site). Query strings are strict: unknown parameters and malformed values are 400 `invalid_query`, empty optional parameters count as absent. A known route asked with another method is 405 `method_not_allowed`. The auth scheme is case-insensitive. Webhooks: Each event is POSTed as JSON `{\"id\", \"type\", \"created_at\" (RFC 3339 with offset), \"client\": {\"nip\"}, \"data\"}` with headers `X-KSeF-Gateway-Event` (the type), `X-KSeF-Gateway-Delivery` (the delivery id) and `X-KSeF-Gateway-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` computed over the bytes `<t>.<raw body>` with the endpoint's secret (the whole `whsec_…` text as the key). A receiver recomputes it, compares in constant time, and refuses a `t` more than 5 minutes away from its clock (the replay window). Any 2xx is success; anything else, a timeout or a refused connection is retried with capped exponential backoff and jitter up to `webhooks.max_attempts` times, then the delivery is `failed` (redeliverable). Delivery is at least once: deduplicate by the event `id`. Redirects are never followed. `invoice.state_changed` data: invoice_id, number, old_state, new_state, old_status_letter, status_letter (W/O/A or null), ksef_number. `purchase_invoice.received` data: purchase_invoice_id, ksef_number, number, issue_date, seller {nip, name}, gross_amount_minor, currency.";

/// The document. `paths` lists every handler in the order the document shows them.
#[derive(OpenApi)]
#[openapi(
    info(title = "ksef-gateway API", version = "1", description = DESCRIPTION),
    servers((url = "/")),
    security(("apiKey" = []), ("session" = [])),
    components(responses(AppError)),
    modifiers(&SecuritySchemes),
    paths(
        super::session::login,
        super::session::logout,
        super::session::me,
        super::invoices::upload,
        super::invoices::list,
        super::invoices::send,
        super::invoices::get_one,
        super::invoices::delete_one,
        super::invoices::approve,
        super::invoices::answer_reject,
        super::invoices::replace,
        super::invoices::answer,
        super::invoices::xml,
        super::invoices::upo,
        super::invoices::qr,
        super::invoices::pdf,
        super::clients::list_clients,
        super::clients::create_user,
        super::clients::list_grants,
        super::clients::create_grant,
        super::clients::revoke_grant,
        super::clients::list_keys,
        super::clients::create_key,
        super::clients::revoke_key,
        super::clients::set_policy,
        super::clients::put_credential,
        super::audit::export,
        super::clients::refresh_statuses,
        super::clients::ksef_status,
        super::invoices::pdf_zip,
        super::purchases::list,
        super::purchases::get_one,
        super::purchases::xml,
        super::purchases::pdf,
        super::webhooks::list,
        super::webhooks::create,
        super::webhooks::remove,
        super::webhooks::activate,
        super::webhooks::deactivate,
        super::webhooks::rotate_secret,
        super::webhooks::deliveries,
        super::webhooks::redeliver,
        super::office::get_office_credential,
        super::office::put_office_credential,
        super::office::put_credential_mode,
        super::office::check_credential,
        super::certificates::office_list,
        super::certificates::office_enroll,
        super::certificates::office_renew,
        super::certificates::office_revoke,
        super::certificates::client_list,
        super::certificates::client_enroll,
        super::certificates::client_renew,
        super::certificates::client_revoke,
        super::collective::create,
        super::collective::list,
    )
)]
pub struct ApiDoc;

/// The document as the API serves it and `docs/openapi.json` holds it (pretty, ending in a
/// newline).
pub fn json() -> String {
    let doc = ApiDoc::openapi();
    let mut text = doc.to_pretty_json().unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

/// The two ways to authenticate that `security` names.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("kgw_… per-client API key"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::http::auth::SESSION_COOKIE))),
        );
    }
}

/// The error statuses an operation answers, each with the error body of [`AppError`]: a handler
/// writes `Errors<401, 403, 404>` among its `responses`. Unused places stay 0.
pub struct Errors<
    const A: u16,
    const B: u16 = 0,
    const C: u16 = 0,
    const D: u16 = 0,
    const E: u16 = 0,
    const F: u16 = 0,
    const G: u16 = 0,
    const H: u16 = 0,
    const I: u16 = 0,
>;

impl<
        const A: u16,
        const B: u16,
        const C: u16,
        const D: u16,
        const E: u16,
        const F: u16,
        const G: u16,
        const H: u16,
        const I: u16,
    > utoipa::IntoResponses for Errors<A, B, C, D, E, F, G, H, I>
{
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let name = <AppError as utoipa::ToResponse>::response().0;
        [A, B, C, D, E, F, G, H, I]
            .into_iter()
            .filter(|status| *status != 0)
            .map(|status| (status.to_string(), Ref::from_response_name(name).into()))
            .collect()
    }
}

/// A body of raw bytes (a zip package).
pub struct Binary;

impl utoipa::PartialSchema for Binary {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::Custom("binary".into())))
            .into()
    }
}

impl utoipa::ToSchema for Binary {}

/// A string limited to the given spellings (those a domain enum reads).
fn one_of<'a>(spellings: impl IntoIterator<Item = &'a str>) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(spellings))
}

/// An array of strings limited to the given spellings.
fn many_of<'a>(spellings: impl IntoIterator<Item = &'a str>) -> Array {
    ArrayBuilder::new().items(one_of(spellings)).build()
}

// The closed sets a request names by their spellings, for `#[schema(schema_with = …)]` on the
// fields that carry them: the document lists what the domain's enums read, and nothing else.

pub fn offline_mode() -> Object {
    one_of(OfflineMode::ALL.iter().map(|m| m.as_str())).build()
}

pub fn role() -> Object {
    one_of(Role::ALL.iter().map(|r| r.as_str())).build()
}

pub fn permissions() -> Array {
    many_of(Permission::ALL.iter().map(|p| p.as_str()))
}

pub fn scopes() -> Array {
    many_of(ApiScope::ALL.iter().map(|s| s.as_str()))
}

pub fn send_policy() -> Object {
    one_of(SendPolicy::ALL.iter().map(|p| p.as_str())).build()
}

pub fn credential_mode() -> Object {
    one_of(CredentialMode::ALL.iter().map(|m| m.as_str())).build()
}

pub fn webhook_events() -> Array {
    many_of(WebhookEvent::ALL.iter().map(|e| e.as_str()))
}

pub fn certificate_purpose() -> Object {
    one_of(CertificatePurpose::ALL.iter().map(|p| p.as_str())).build()
}

pub fn key_choice() -> Object {
    one_of(KeyChoice::ALL.iter().map(|k| k.as_str())).build()
}

pub fn revoke_reason() -> Object {
    one_of(RevokeReason::ALL.iter().map(|r| r.as_str())).build()
}

#[cfg(test)]
mod tests {
    const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.json");

    /// `docs/openapi.json` is the generated document, so the readable artefact never drifts from
    /// the code. `KSEF_GW_WRITE_OPENAPI=1` rewrites it (as does `ksef-gateway openapi`).
    #[test]
    fn docs_openapi_json_is_the_generated_document() {
        let generated = super::json();
        if std::env::var_os("KSEF_GW_WRITE_OPENAPI").is_some() {
            if let Err(e) = std::fs::write(COMMITTED, &generated) {
                panic!("writing {COMMITTED}: {e}");
            }
        }
        let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/openapi.json is not the generated document: run `cargo run -- openapi > docs/openapi.json` \
             or the tests with KSEF_GW_WRITE_OPENAPI=1, and review the diff"
        );
    }

    /// The error schema of the document lists exactly the codes the API can answer.
    #[test]
    fn openapi_lists_every_code() {
        let doc: serde_json::Value = serde_json::from_str(&super::json()).unwrap_or_default();
        let documented = &doc["components"]["responses"]["Error"]["content"]["application/json"]["schema"]
            ["properties"]["error"]["properties"]["code"]["enum"];
        let mut documented: Vec<&str> =
            documented.as_array().into_iter().flatten().filter_map(|c| c.as_str()).collect();
        documented.sort_unstable();
        let mut listed = crate::error::AppError::CODES.to_vec();
        listed.sort_unstable();
        assert_eq!(documented, listed, "the document's error codes differ from the catalogue");
    }

    /// The whole document as a snapshot: a change of a summary, a parameter or a status is a
    /// reviewed diff.
    #[test]
    fn openapi_document_snapshot() {
        insta::assert_snapshot!("openapi", super::json());
    }
}
