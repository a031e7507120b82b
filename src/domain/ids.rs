//! Identifiers as types: a client id and an invoice id are both UUIDv7 text, but one passed
//! where the other is expected no longer compiles. Each id is stored as the same `TEXT` it
//! always was (no migration), reads back as exactly that text, serialises to JSON as a plain
//! string, and reading anything but a UUID (from a URL, a form, JSON or the database) is an
//! error, never a default.

/// The conversions of a newtype over checked text (an id, a NIP): shown, compared and stored as
/// its text, serialised as a plain string, and made from text (`str::parse`, a database read)
/// only through `$read`, so what reads back is checked as what came in.
#[macro_export]
macro_rules! text_newtype {
    ($name:ident, $read:ident) => {
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = String;
            fn from_str(raw: &str) -> Result<Self, String> {
                Self::$read(raw)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        // Reading one as text (a log line, a `&str` parameter not typed yet) is always fine;
        // only making one from text is checked.
        impl ::std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl ::std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl<DB> ::diesel::serialize::ToSql<::diesel::sql_types::Text, DB> for $name
        where
            DB: ::diesel::backend::Backend,
            str: ::diesel::serialize::ToSql<::diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut ::diesel::serialize::Output<'b, '_, DB>,
            ) -> ::diesel::serialize::Result {
                self.0.as_str().to_sql(out)
            }
        }

        impl<DB> ::diesel::deserialize::FromSql<::diesel::sql_types::Text, DB> for $name
        where
            DB: ::diesel::backend::Backend,
            String: ::diesel::deserialize::FromSql<::diesel::sql_types::Text, DB>,
        {
            fn from_sql(raw: DB::RawValue<'_>) -> ::diesel::deserialize::Result<Self> {
                let text =
                    <String as ::diesel::deserialize::FromSql<::diesel::sql_types::Text, DB>>::from_sql(raw)?;
                Ok(Self::$read(&text)?)
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
    };
}

/// Declares an id newtype over the UUID text it is stored as.
///
/// ```ignore
/// id_type! {
///     /// Doc of the type.
///     pub struct ClientId ("client id");
/// }
/// ```
/// The string in parentheses names the id in error messages.
#[macro_export]
macro_rules! id_type {
    ($($(#[$meta:meta])* pub struct $name:ident ($what:literal);)+) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[derive(::diesel::expression::AsExpression, ::diesel::deserialize::FromSqlRow)]
        #[diesel(sql_type = ::diesel::sql_types::Text)]
        pub struct $name(String);

        impl $name {
            /// A fresh time-ordered id (UUIDv7).
            #[expect(clippy::new_without_default, reason = "a default id would be a fresh random one; `new` says so")]
            pub fn new() -> Self {
                Self(::uuid::Uuid::now_v7().to_string())
            }

            /// The id spelled `raw`: a UUID in its usual form (36 characters, lower case,
            /// hyphens), as the gateway writes them; anything else is an error.
            pub fn parse(raw: &str) -> Result<Self, String> {
                match ::uuid::Uuid::try_parse(raw) {
                    Ok(u) if raw.len() == 36 && u.hyphenated().to_string() == raw => Ok(Self(raw.to_owned())),
                    _ => Err(format!(concat!("invalid ", $what, " {:?} (a UUID expected)"), raw)),
                }
            }

            /// The stored and shown text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        $crate::text_newtype!($name, parse);

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(raw: String) -> Result<Self, String> {
                Self::parse(&raw)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                Self::parse(&raw).map_err(::serde::de::Error::custom)
            }
        }
    )+};
}

crate::id_type! {
    /// A client of the office (a taxpayer with its NIP).
    pub struct ClientId ("client id");
    /// A sales invoice.
    pub struct InvoiceId ("invoice id");
    /// A person who signs in to the panel or the API.
    pub struct UserId ("user id");
    /// A client system's API key.
    pub struct ApiKeyId ("API key id");
    /// A decision to send invoices.
    pub struct DecisionId ("decision id");
    /// A KSeF session the senders opened.
    pub struct KsefSessionId ("KSeF session id");
    /// A signed-in person's session.
    pub struct UserSessionId ("session id");
    /// A webhook endpoint.
    pub struct WebhookId ("webhook id");
    /// A purchase invoice fetched from KSeF.
    pub struct PurchaseInvoiceId ("purchase invoice id");
    /// A certificate enrollment.
    pub struct EnrollmentId ("enrollment id");
    /// A client's KSeF credential.
    pub struct CredentialId ("credential id");
    /// The office's own KSeF credential (a row of its own table: never a client's).
    pub struct OfficeCredentialId ("office credential id");
    /// A person's grant on a client.
    pub struct GrantId ("grant id");
    /// One event on its way to one webhook endpoint (also the `X-KSeF-Gateway-Delivery` header).
    pub struct WebhookDeliveryId ("webhook delivery id");
    /// One entry of an invoice's timeline.
    pub struct InvoiceEventId ("timeline entry id");
    /// A stored UPO (our row's; KSeF's own references stay text).
    pub struct UpoId ("UPO id");
    /// One invoice's row in the outbox.
    pub struct OutboxEntryId ("outbox entry id");
    /// Our row of a collective identifier (its number, KSeF's, stays text).
    pub struct CollectiveIdentifierId ("collective identifier id");
    /// One invoice's row in a collective identifier.
    pub struct CollectiveMemberId ("collective identifier member id");
    /// One event of the audit trail (its order is `seq`; the id names it).
    pub struct AuditEventId ("audit event id");
    /// One client's purchase sync of one subject type (a `purchase_sync` row).
    pub struct PurchaseSyncId ("purchase sync id");
    /// When one person last opened one list (a `list_visits` row).
    pub struct ListVisitId ("list visit id");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_ids_parse_back_as_themselves() {
        let id = InvoiceId::new();
        assert_eq!(InvoiceId::parse(id.as_str()), Ok(id.clone()));
        assert_eq!(id.to_string().parse::<InvoiceId>(), Ok(id.clone()));
        assert_ne!(InvoiceId::new(), id);
    }

    #[test]
    fn only_the_usual_uuid_text_is_an_id() {
        let good = "0193a5b2-7c1d-7e4f-8a9b-0c1d2e3f4a5b";
        assert!(ClientId::parse(good).is_ok());
        for bad in [
            "",
            "42",
            "id-1",
            "0193A5B2-7C1D-7E4F-8A9B-0C1D2E3F4A5B",
            "0193a5b27c1d7e4f8a9b0c1d2e3f4a5b",
            "{0193a5b2-7c1d-7e4f-8a9b-0c1d2e3f4a5b}",
            "urn:uuid:0193a5b2-7c1d-7e4f-8a9b-0c1d2e3f4a5b",
            " 0193a5b2-7c1d-7e4f-8a9b-0c1d2e3f4a5b",
            "../0193a5b2-7c1d-7e4f-8a9b-0c1d2e3f4a5",
        ] {
            let Err(err) = ClientId::parse(bad) else { panic!("{bad} was taken for an id") };
            assert!(err.contains("client id"), "{bad}: {err}");
        }
    }

    #[test]
    fn json_is_the_plain_text_and_refuses_other_text() -> Result<(), serde_json::Error> {
        let id = UserId::new();
        let json = serde_json::to_string(&id)?;
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<UserId>(&json)?, id);
        assert!(serde_json::from_str::<UserId>("\"nope\"").is_err());
        assert!(serde_json::from_str::<UserId>("7").is_err());
        Ok(())
    }
}
