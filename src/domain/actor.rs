//! Who an invoice's timeline names for a step, stored as one text column: `user:<id>`,
//! `apikey:<id>`, `operator` or `system:sender`.

use std::fmt;

/// Who took a step on an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    /// A person signed in to the panel or the API (user id).
    User(String),
    /// A client system with an API key (key id).
    ApiKey(String),
    /// The operator at the command line.
    Operator,
    /// The gateway's own senders and watchdog.
    Sender,
}

const USER: &str = "user:";
const API_KEY: &str = "apikey:";
const OPERATOR: &str = "operator";
const SENDER: &str = "system:sender";

impl Actor {
    /// The actor stored as `raw`; an unknown spelling is an error, never a default.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let id = |rest: &str| (!rest.is_empty()).then(|| rest.to_owned());
        match raw {
            OPERATOR => Ok(Self::Operator),
            SENDER => Ok(Self::Sender),
            _ => raw
                .strip_prefix(USER)
                .and_then(id)
                .map(Self::User)
                .or_else(|| raw.strip_prefix(API_KEY).and_then(id).map(Self::ApiKey))
                .ok_or_else(|| {
                    format!("unknown actor {raw:?} (user:<id>, apikey:<id>, {OPERATOR}, {SENDER})")
                }),
        }
    }

    /// The kind alone, as a send decision records who took it: `user`, `api_key`, `operator`
    /// or `system`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::User(_) => "user",
            Self::ApiKey(_) => "api_key",
            Self::Operator => OPERATOR,
            Self::Sender => "system",
        }
    }

    /// The person's user id, when a person took the step.
    pub fn user_id(&self) -> Option<&str> {
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
        for a in [Actor::User("u1".into()), Actor::ApiKey("k1".into()), Actor::Operator, Actor::Sender] {
            assert_eq!(Actor::parse(&a.to_string()), Ok(a));
        }
        assert_eq!(Actor::parse("user:42").map(|a| a.user_id().map(str::to_owned)), Ok(Some("42".into())));
    }

    #[test]
    fn unknown_actors_are_errors() {
        for raw in ["", "user:", "apikey:", "system", "system:watchdog", "Operator", "admin:1"] {
            assert!(Actor::parse(raw).is_err(), "{raw}");
        }
    }
}
