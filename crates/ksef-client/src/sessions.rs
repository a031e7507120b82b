//! `GET /sessions`: the context's online or batch sessions, filtered and paged.

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::Method;
use secrecy::SecretString;

use crate::client::KsefClient;
use crate::error::KsefError;
use crate::models::session::{SessionQuery, SessionSummary, SessionsPage};
use crate::status::MAX_SESSION_PAGE;

impl KsefClient {
    /// One page of `GET /sessions` (page size 10–1000); needs InvoiceWrite or InvoiceRead.
    pub async fn list_sessions(
        &self,
        access_token: &SecretString,
        query: &SessionQuery,
        page_size: u32,
        continuation: Option<&str>,
    ) -> Result<SessionsPage, KsefError> {
        let mut rb =
            self.request(Method::GET, "/sessions", Some(access_token)).query(&query_pairs(query, page_size));
        if let Some(token) = continuation {
            rb = rb.header("x-continuation-token", token);
        }
        self.json(rb, "session list").await
    }

    /// Every session matching `query`, following continuation tokens.
    pub async fn all_sessions(
        &self,
        access_token: &SecretString,
        query: &SessionQuery,
    ) -> Result<Vec<SessionSummary>, KsefError> {
        let mut all = Vec::new();
        let mut continuation: Option<String> = None;
        loop {
            let page =
                self.list_sessions(access_token, query, MAX_SESSION_PAGE, continuation.as_deref()).await?;
            all.extend(page.sessions);
            match page.continuation_token.filter(|t| !t.is_empty()) {
                Some(next) => continuation = Some(next),
                None => return Ok(all),
            }
        }
    }
}

/// Query string of `GET /sessions`; `statuses` is an array, sent as repeated parameters.
fn query_pairs(query: &SessionQuery, page_size: u32) -> Vec<(&'static str, String)> {
    let mut pairs = vec![
        ("sessionType", query.session_type.as_str().to_owned()),
        ("pageSize", page_size.clamp(10, MAX_SESSION_PAGE).to_string()),
    ];
    if let Some(r) = &query.reference_number {
        pairs.push(("referenceNumber", r.clone()));
    }
    let dates = [
        ("dateCreatedFrom", query.date_created_from),
        ("dateCreatedTo", query.date_created_to),
        ("dateClosedFrom", query.date_closed_from),
        ("dateClosedTo", query.date_closed_to),
        ("dateModifiedFrom", query.date_modified_from),
        ("dateModifiedTo", query.date_modified_to),
    ];
    pairs.extend(dates.into_iter().filter_map(|(name, d)| d.map(|d: DateTime<Utc>| (name, rfc3339(d)))));
    pairs.extend(query.statuses.iter().map(|s| ("statuses", s.as_str().to_owned())));
    pairs
}

/// Explicit UTC offset: naive times would be read as Warsaw time.
fn rfc3339(d: DateTime<Utc>) -> String {
    d.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::query_pairs;
    use crate::models::session::{CommonSessionStatus, SessionQuery, SessionType};

    #[test]
    fn statuses_repeat_and_dates_carry_utc() {
        let mut q = SessionQuery::of(SessionType::Batch);
        q.statuses = vec![CommonSessionStatus::Succeeded, CommonSessionStatus::Failed];
        q.date_closed_from = chrono::DateTime::from_timestamp(1_780_000_000, 0);
        let pairs = query_pairs(&q, 5);
        assert_eq!(pairs[0], ("sessionType", "Batch".to_owned()));
        assert_eq!(pairs[1], ("pageSize", "10".to_owned()));
        assert_eq!(pairs[2], ("dateClosedFrom", "2026-05-28T20:26:40.000Z".to_owned()));
        assert_eq!(pairs[3..], [("statuses", "Succeeded".to_owned()), ("statuses", "Failed".to_owned())]);
    }
}
