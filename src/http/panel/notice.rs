//! The KSeF-availability notice the panel shows on the dashboard, the client page and the send
//! confirmation: what is wrong, since when, and what the office can do (wait, or issue offline).

use super::labels::when;
use crate::service::availability::Notice;
use crate::state::AppState;

pub struct KsefNotice {
    /// `awaria`, `przerwa` or `brak-odpowiedzi` (also the CSS hook and the test's handle).
    pub kind: &'static str,
    pub headline: String,
    pub message: Option<String>,
    /// "od … do …" in Polish time, when known.
    pub period: Option<String>,
}

impl From<Notice> for KsefNotice {
    fn from(n: Notice) -> Self {
        let at = |t: chrono::DateTime<chrono::Utc>| when(t.naive_utc());
        let period = match (n.since, n.until) {
            (Some(s), Some(u)) => Some(format!("od {} do {} (zapowiedź)", at(s), at(u))),
            (Some(s), None) => Some(format!("od {}", at(s))),
            (None, Some(u)) => Some(format!("do {} (zapowiedź)", at(u))),
            (None, None) => None,
        };
        Self { kind: n.kind, headline: n.headline, message: n.message, period }
    }
}

/// The notice for one KSeF environment, None while KSeF looks available.
pub fn for_environment(st: &AppState, environment: &str) -> Option<KsefNotice> {
    st.availability.notice(environment).map(KsefNotice::from)
}

/// One notice per environment among `environments` that has one.
pub fn for_environments<'a>(
    st: &AppState,
    environments: impl IntoIterator<Item = &'a str>,
) -> Vec<KsefNotice> {
    let mut seen = std::collections::BTreeSet::new();
    environments.into_iter().filter(|e| seen.insert(*e)).filter_map(|e| for_environment(st, e)).collect()
}
