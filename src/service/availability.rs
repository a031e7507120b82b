//! Is KSeF up? Per KSeF environment, two witnesses: Latarnia, KSeF's public status service
//! (polled in the background), and the senders' own experience (consecutive failures to reach
//! KSeF). The panel turns this into a notice that explains the outage and offers the offline mode
//! with a conscious confirmation; nothing here decides or sends anything by itself. The
//! background poll of Latarnia is in `service::latarnia`.

use std::collections::HashMap;
use std::sync::RwLock;

use chrono::{DateTime, Utc};
use ksef_client::models::manage::LighthouseStatus;

use crate::offline::OfflineMode;

/// Failed turns in a row (timeouts, 5xx, refused connections) after which the gateway says KSeF
/// is not answering, whatever Latarnia says.
const FAILURES_BEFORE_NOTICE: u32 = 3;

#[derive(Debug, Clone, Default)]
struct Health {
    latarnia: Option<LighthouseStatus>,
    failures_in_row: u32,
    failing_since: Option<DateTime<Utc>>,
}

/// What the gateway knows about each KSeF environment its clients use (shared, in memory).
#[derive(Debug, Default)]
pub struct Availability {
    by_environment: RwLock<HashMap<String, Health>>,
}

/// Why KSeF is (or may be) unavailable, in the panel's words.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Notice {
    /// `awaria` (failure announced), `przerwa` (maintenance) or `brak-odpowiedzi` (our senders
    /// cannot reach KSeF, nothing announced).
    pub kind: &'static str,
    pub headline: String,
    /// Latarnia's own title and text, when it has a message.
    pub message: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    // The offline mode that fits, preselected on the offline confirmation page. (A plain
    // comment: utoipa would wrap an inline enum with a description in an `allOf` with an object,
    // a schema no string matches.)
    #[serde(serialize_with = "mode_name")]
    #[schema(inline)]
    pub offline_mode: OfflineMode,
}

impl Availability {
    fn update(&self, environment: &str, f: impl FnOnce(&mut Health)) {
        let mut map = crate::locks::write(&self.by_environment);
        f(map.entry(environment.to_owned()).or_default());
    }

    pub fn record_latarnia(&self, environment: &str, status: LighthouseStatus) {
        self.update(environment, |h| h.latarnia = Some(status));
    }

    /// Latarnia did not answer: what it said before is no longer known to hold (an old
    /// FAILURE must not stay on screen); the senders' own experience still speaks.
    pub fn forget_latarnia(&self, environment: &str) {
        self.update(environment, |h| h.latarnia = None);
    }

    /// A sender turn could not reach KSeF (timeout, 5xx, connection refused).
    pub fn record_failure(&self, environment: &str) {
        self.update(environment, |h| {
            h.failures_in_row += 1;
            h.failing_since.get_or_insert_with(Utc::now);
        });
    }

    /// KSeF answered a sender turn.
    pub fn record_success(&self, environment: &str) {
        self.update(environment, |h| {
            h.failures_in_row = 0;
            h.failing_since = None;
        });
    }

    /// The notice for an environment, None while KSeF looks available.
    pub fn notice(&self, environment: &str) -> Option<Notice> {
        let map = crate::locks::read(&self.by_environment);
        let health = map.get(environment)?;
        if let Some(notice) = health.latarnia.as_ref().and_then(latarnia_notice) {
            return Some(notice);
        }
        (health.failures_in_row >= FAILURES_BEFORE_NOTICE).then(|| Notice {
            kind: "brak-odpowiedzi",
            headline: "KSeF nie odpowiada bramce (kolejne próby kończą się błędem), choć Latarnia nie ogłasza awarii"
                .to_owned(),
            message: None,
            since: health.failing_since,
            until: None,
            offline_mode: OfflineMode::Offline24,
        })
    }
}

fn mode_name<S: serde::Serializer>(mode: &OfflineMode, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(mode.as_str())
}

fn latarnia_notice(status: &LighthouseStatus) -> Option<Notice> {
    let (kind, headline, offline_mode) = match status.status.as_str() {
        "AVAILABLE" => return None,
        "MAINTENANCE" => (
            "przerwa",
            "KSeF jest niedostępny: trwa ogłoszona przerwa techniczna",
            OfflineMode::Unavailability,
        ),
        "TOTAL_FAILURE" => ("awaria", "Awaria całkowita KSeF ogłoszona w Latarni", OfflineMode::Emergency),
        _ => ("awaria", "Awaria KSeF ogłoszona w Latarni", OfflineMode::Emergency),
    };
    let current = status.messages.iter().find(|m| m.kind.as_deref() != Some("FAILURE_END"));
    Some(Notice {
        kind,
        headline: headline.to_owned(),
        message: current.map(|m| {
            [m.title.as_deref(), m.text.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(": ")
        }),
        since: current.and_then(|m| m.start),
        until: current.and_then(|m| m.end),
        offline_mode,
    })
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "test code")]
mod tests {
    use super::*;

    fn status(json: &str) -> LighthouseStatus {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn latarnia_failure_gives_a_notice_with_its_message_and_the_emergency_mode() {
        let a = Availability::default();
        a.record_latarnia("test", status(r#"{"status":"AVAILABLE","messages":[]}"#));
        assert_eq!(a.notice("test"), None);
        a.record_latarnia(
            "test",
            status(
                r#"{"status":"FAILURE","messages":[{"id":7,"eventId":3,"category":"FAILURE","type":"FAILURE_START",
                "title":"Awaria KSeF","text":"Trwają prace","start":"2026-12-02T08:00:00Z","end":"2026-12-02T12:00:00Z"}]}"#,
            ),
        );
        let n = a.notice("test").unwrap();
        assert_eq!((n.kind, n.offline_mode), ("awaria", OfflineMode::Emergency));
        assert_eq!(n.message.as_deref(), Some("Awaria KSeF: Trwają prace"));
        assert_eq!(n.until.unwrap().to_rfc3339(), "2026-12-02T12:00:00+00:00");
        assert_eq!(a.notice("prod"), None, "per environment");
    }

    #[test]
    fn three_failed_turns_in_a_row_mean_not_answering_until_one_succeeds() {
        let a = Availability::default();
        a.record_failure("test");
        a.record_failure("test");
        assert_eq!(a.notice("test"), None, "two failures may be a blip");
        a.record_failure("test");
        let n = a.notice("test").unwrap();
        assert_eq!((n.kind, n.offline_mode), ("brak-odpowiedzi", OfflineMode::Offline24));
        assert!(n.since.is_some());
        a.record_success("test");
        assert_eq!(a.notice("test"), None);
    }

    #[test]
    fn a_latarnia_that_stops_answering_does_not_keep_an_old_failure_on_screen() {
        let a = Availability::default();
        a.record_latarnia("test", status(r#"{"status":"FAILURE","messages":[]}"#));
        assert!(a.notice("test").is_some());
        a.forget_latarnia("test");
        assert_eq!(a.notice("test"), None);
    }

    #[test]
    fn maintenance_suggests_the_unavailability_mode() {
        let a = Availability::default();
        a.record_latarnia("test", status(r#"{"status":"MAINTENANCE","messages":[]}"#));
        let n = a.notice("test").unwrap();
        assert_eq!((n.kind, n.offline_mode, n.message), ("przerwa", OfflineMode::Unavailability, None));
    }
}
