//! Test-data operations of KSeF's TEST environment (`/testdata/*`, no authentication): grant a
//! subject permissions in a context, so that its certificate or token logs in there (the accounting
//! office's case), and withdraw them again. Production has no such endpoints.

use reqwest::Method;
use serde::Serialize;

use crate::client::KsefClient;
use crate::error::KsefError;
use crate::models::common::ContextIdentifier;
use crate::models::manage::TypedIdentifier;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TestPermission<'a> {
    description: &'a str,
    permission_type: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GrantRequest<'a> {
    context_identifier: &'a ContextIdentifier,
    authorized_identifier: &'a TypedIdentifier,
    permissions: Vec<TestPermission<'a>>,
}

/// Description sent with each test permission (KSeF wants 5–256 characters).
const DESCRIPTION: &str = "Uprawnienie testowe";

impl KsefClient {
    /// `POST /testdata/permissions`: `context` grants `authorized` (`Nip`, `Pesel` or `Fingerprint`)
    /// the `permissions` (e.g. `InvoiceWrite`). TEST environment only.
    pub async fn testdata_grant_permissions(
        &self,
        context: &ContextIdentifier,
        authorized: &TypedIdentifier,
        permissions: &[&str],
    ) -> Result<(), KsefError> {
        let body = GrantRequest {
            context_identifier: context,
            authorized_identifier: authorized,
            permissions: permissions
                .iter()
                .map(|p| TestPermission { description: DESCRIPTION, permission_type: p })
                .collect(),
        };
        let rb = self.request(Method::POST, "/testdata/permissions", None).json(&body);
        self.no_content(rb, "test data: grant permissions").await
    }

    /// `POST /testdata/permissions/revoke`: `context` withdraws every permission of `authorized`.
    pub async fn testdata_revoke_permissions(
        &self,
        context: &ContextIdentifier,
        authorized: &TypedIdentifier,
    ) -> Result<(), KsefError> {
        let body = serde_json::json!({"contextIdentifier": context, "authorizedIdentifier": authorized});
        let rb = self.request(Method::POST, "/testdata/permissions/revoke", None).json(&body);
        self.no_content(rb, "test data: revoke permissions").await
    }
}
