//! Who an invoice's timeline names for a step, stored as one text column: `user:<id>`,
//! `apikey:<id>`, `operator` or `system:sender`. Rows hold the [`Actor`] itself (a diesel `Text`
//! value: read here, written by `db::conn`, since the text is made, not borrowed, per backend),
//! and a send decision or an audit event records the kind alone as an [`ActorKind`].

use std::fmt;

use crate::domain::{ApiKeyId, UserId};

/// Who took a step on an invoice.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum Actor {
    /// A person signed in to the panel or the API.
    User(UserId),
    /// A client system with an API key.
    ApiKey(ApiKeyId),
    /// The operator at the command line.
    Operator,
    /// The gateway's own senders and watchdog.
    Sender,
}

crate::text_enum! {
    /// Who took a step, by kind alone: what a send decision and an audit event record beside
    /// the actor's id.
    pub enum ActorKind ("actor kind") {
        /// A person.
        User = "user",
        /// A client system with an API key.
        ApiKey = "api_key",
        /// The operator at the command line.
        Operator = "operator",
        /// The gateway itself (senders, watchdogs).
        System = "system",
    }
}

const USER: &str = "user:";
const API_KEY: &str = "apikey:";
const OPERATOR: &str = "operator";
const SENDER: &str = "system:sender";

impl Actor {
    /// The actor stored as `raw`; an unknown spelling, or an id that is no id of its kind, is
    /// an error, never a default.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            OPERATOR => Ok(Self::Operator),
            SENDER => Ok(Self::Sender),
            _ => raw
                .strip_prefix(USER)
                .and_then(|id| UserId::parse(id).ok())
                .map(Self::User)
                .or_else(|| {
                    raw.strip_prefix(API_KEY).and_then(|id| ApiKeyId::parse(id).ok()).map(Self::ApiKey)
                })
                .ok_or_else(|| {
                    format!("unknown actor {raw:?} (user:<id>, apikey:<id>, {OPERATOR}, {SENDER})")
                }),
        }
    }

    /// The kind alone, as a send decision records who took it.
    pub fn kind(&self) -> ActorKind {
        match self {
            Self::User(_) => ActorKind::User,
            Self::ApiKey(_) => ActorKind::ApiKey,
            Self::Operator => ActorKind::Operator,
            Self::Sender => ActorKind::System,
        }
    }

    /// The person's user id, when a person took the step.
    pub fn user_id(&self) -> Option<&UserId> {
        match self {
            Self::User(id) => Some(id),
            _ => None,
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User(id) => write!(f, "{USER}{id}"),
            Self::ApiKey(id) => write!(f, "{API_KEY}{id}"),
            Self::Operator => f.write_str(OPERATOR),
            Self::Sender => f.write_str(SENDER),
        }
    }
}

impl TryFrom<String> for Actor {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        Self::parse(&raw)
    }
}

impl From<Actor> for String {
    fn from(a: Actor) -> String {
        a.to_string()
    }
}

impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for Actor
where
    DB: diesel::backend::Backend,
    String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
{
    fn from_sql(raw: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
        let text = <String as diesel::deserialize::FromSql<diesel::sql_types::Text, DB>>::from_sql(raw)?;
        Ok(Self::parse(&text)?)
    }
}

impl serde::Serialize for Actor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_read_back_as_stored() {
        for a in [Actor::User(UserId::new()), Actor::ApiKey(ApiKeyId::new()), Actor::Operator, Actor::Sender]
        {
            assert_eq!(Actor::parse(&a.to_string()), Ok(a));
        }
        let id = UserId::new();
        assert_eq!(Actor::parse(&format!("user:{id}")).map(|a| a.user_id().cloned()), Ok(Some(id)));
    }

    #[test]
    fn kinds_are_spelled_as_stored() {
        let kinds: Vec<&str> =
            [Actor::User(UserId::new()), Actor::ApiKey(ApiKeyId::new()), Actor::Operator, Actor::Sender]
                .iter()
                .map(|a| a.kind().as_str())
                .collect();
        assert_eq!(kinds, ["user", "api_key", "operator", "system"]);
    }

    #[test]
    fn unknown_actors_are_errors() {
        // An id that is no UUID names nobody: no actor either.
        for raw in [
            "",
            "user:",
            "apikey:",
            "system",
            "system:watchdog",
            "Operator",
            "admin:1",
            "user:42",
            "apikey:k1",
        ] {
            assert!(Actor::parse(raw).is_err(), "{raw}");
        }
    }
}
