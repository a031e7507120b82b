//! The pieces of the OpenAPI document the handlers name in their `#[utoipa::path]` and
//! `#[schema]` attributes: the error statuses, a binary body, the closed sets of spellings. Apart
//! from `doc`, which lists the handlers, so a handler importing these imports no handler back.

use std::collections::BTreeMap;

use utoipa::openapi::schema::{Array, ArrayBuilder, Object, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{Ref, RefOr, Response, Schema};

use crate::auth::{ApiScope, Permission, Role};
use crate::domain::{
    CertificatePurpose, CredentialMode, KeyChoice, OfflineMode, RevokeReason, SendPolicy, WebhookEvent,
};
use crate::error::AppError;

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
