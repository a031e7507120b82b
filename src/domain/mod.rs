//! Value types of the domain, validated once at the edge.

mod actor;
mod amount;
mod certificate;
mod credential;
mod ids;
mod nip;
mod offline_mode;
mod purchase;
mod state;
mod stuck;
mod text_enum;
mod timeline;
mod webhook;

pub use actor::{Actor, ActorKind};
pub use amount::{amount_text, decimal_pl, grouped, minor_units, parse_amount};
pub use certificate::{CertificatePurpose, EnrollmentState, KeyChoice, RevokeReason};
pub use credential::{CredentialMode, OfficeCredentialKind};
pub use ids::{
    ApiKeyId, AuditEventId, ClientId, CollectiveIdentifierId, CollectiveMemberId, CredentialId, DecisionId,
    EnrollmentId, GrantId, InvoiceEventId, InvoiceId, KsefSessionId, ListVisitId, OfficeCredentialId,
    OutboxEntryId, PurchaseInvoiceId, PurchaseSyncId, UpoId, UserId, UserSessionId, WebhookDeliveryId,
    WebhookId,
};
pub use nip::Nip;
pub use offline_mode::OfflineMode;
pub use purchase::PurchaseRole;
pub use state::{
    check_moves, ForbiddenMove, InvoiceState, OutboxState, SessionKind, SessionState, StatusLetter,
};
pub use stuck::StuckCutoffs;
pub use timeline::EventKind;
pub use webhook::{DeliveryStatus, EventSet, WebhookEvent};

crate::text_enum! {
    /// How a client's invoices may be sent (DESIGN.md, "Who may do what").
    pub enum SendPolicy ("send policy") {
        /// A person decides (default).
        Manual = "manual",
        /// A second person, not the preparer, approves the exact bytes.
        FourEyes = "four-eyes",
        /// The client's own API key may send.
        ApiAuto = "api-auto"
    }
}

impl SendPolicy {
    /// How the panel names the policy.
    pub fn label_pl(self) -> &'static str {
        match self {
            Self::Manual => "ręczna – o wysyłce decyduje osoba",
            Self::FourEyes => "dwie pary oczu – druga osoba zatwierdza",
            Self::ApiAuto => "automatyczna – wysyła system klienta (klucz API)",
        }
    }
}

/// Which KSeF a client's credential belongs to: a named environment or an explicit API URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KsefTarget {
    Test,
    Demo,
    Prod,
    Url(String),
}

impl KsefTarget {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "test" => Ok(Self::Test),
            "demo" => Ok(Self::Demo),
            "prod" => Ok(Self::Prod),
            url if url.starts_with("http://") || url.starts_with("https://") => {
                ::url::Url::parse(url).map_err(|e| format!("invalid KSeF URL: {e}"))?;
                Ok(Self::Url(url.trim_end_matches('/').to_owned()))
            }
            other => Err(format!("unknown KSeF environment {other:?} (test, demo, prod or an https URL)")),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Test => "test",
            Self::Demo => "demo",
            Self::Prod => "prod",
            Self::Url(u) => u,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_and_targets() {
        assert_eq!(SendPolicy::parse("four-eyes"), Ok(SendPolicy::FourEyes));
        assert!(SendPolicy::parse("auto").is_err());
        assert_eq!(
            KsefTarget::parse("https://sim.local/v2/"),
            Ok(KsefTarget::Url("https://sim.local/v2".into()))
        );
        assert!(KsefTarget::parse("ftp://x").is_err());
    }
}

/// The language a reader asked for (API messages, PDF documents).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Pl,
    En,
}

impl Lang {
    /// From an `Accept-Language` header: English when English comes before Polish, else Polish.
    pub fn from_accept_language(header: Option<&str>) -> Self {
        let Some(h) = header else { return Self::Pl };
        for part in h.split(',') {
            let tag = part.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            if tag.starts_with("pl") {
                return Self::Pl;
            }
            if tag.starts_with("en") {
                return Self::En;
            }
        }
        Self::Pl
    }

    /// `pl` or `en` (the CLI's `--lang`).
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "pl" => Ok(Self::Pl),
            "en" => Ok(Self::En),
            other => Err(format!("unknown language {other:?} (pl, en)")),
        }
    }

    /// The text in this language.
    pub fn t<'a>(self, pl: &'a str, en: &'a str) -> &'a str {
        match self {
            Self::Pl => pl,
            Self::En => en,
        }
    }
}
