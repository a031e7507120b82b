//! The API's OpenAPI document, generated from the handlers' `#[utoipa::path]` attributes and the
//! request and response types they name. `/api/v1/openapi.json` serves it and
//! `ksef-gateway openapi` prints it; `docs/openapi.json` is that output, kept equal by a test.
//! The pieces the handlers name in their attributes live in `openapi_types`, which imports no
//! handler: this file, listing every handler, is the only one that imports them.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

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
