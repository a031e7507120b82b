//! The error body as the OpenAPI document describes it: one response component, `Error`, that
//! every operation's error statuses point to, its code enum read from [`AppError::CODES`] (the
//! generic codes and the refusal catalogue), so the document cannot list a code the API does not
//! answer nor miss one.

use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, RefOr, Response, ResponseBuilder};
use utoipa::PartialSchema;

use super::{AppError, Body};

/// The `code` of the error body: every stable code.
pub(super) fn code_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(
            "Stable code: the generic ones, then the refusals of the catalogue (src/error/refusal.rs).",
        ))
        .enum_values(Some(AppError::CODES.iter().copied()))
        .build()
}

impl<'r> utoipa::ToResponse<'r> for AppError {
    fn response() -> (&'r str, RefOr<Response>) {
        let content = ContentBuilder::new().schema(Some(<Body<'_> as PartialSchema>::schema())).build();
        let response = ResponseBuilder::new()
            .description("Error with a stable code")
            .content("application/json", content)
            .build();
        ("Error", response.into())
    }
}
