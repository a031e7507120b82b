//! `GET /sessions` filters: every date pair of the spec (OA: GET /sessions, dateCreated/Closed/Modified From/To).

use chrono::{SecondsFormat, Utc};
use serde_json::Value;

use crate::client::{fixture, Sim, NIP, TOKEN};

fn refs(body: &Value) -> Vec<String> {
    body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["referenceNumber"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn closed_and_modified_dates_filter_sessions() {
    let sim = Sim::with_token().await;
    let (access, _) = sim.login(NIP, TOKEN).await;
    let closed = sim.open_online(&access).await;
    let (status, sent) = sim.send(&access, &closed, &fixture("FA_3_Przyklad_1.xml")).await;
    assert_eq!(status, 202, "{sent}");
    assert_eq!(sim.close_online(&access, &closed).await, 204);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let between = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let open = sim.open_online(&access).await;

    let list = |query: String| {
        let sim = &sim;
        let access = access.clone();
        async move {
            let (status, body) = sim.get(&format!("/sessions?sessionType=Online{query}"), &access).await;
            assert_eq!(status, 200, "{body}");
            refs(&body)
        }
    };
    let t = between.replace('+', "%2B");
    assert_eq!(list(String::new()).await.len(), 2);
    // An open session has no closing date, so any dateClosed bound leaves it out.
    assert_eq!(list("&dateClosedTo=2100-01-01T00:00:00Z".into()).await, [closed.reference.as_str()]);
    assert!(list(format!("&dateClosedFrom={t}")).await.is_empty());
    // Last activity: the closed session's close, the open one's opening.
    assert_eq!(list(format!("&dateModifiedTo={t}")).await, [closed.reference.as_str()]);
    assert_eq!(list(format!("&dateModifiedFrom={t}")).await, [open.reference.as_str()]);
    assert_eq!(list(format!("&dateCreatedFrom={t}")).await, [open.reference.as_str()]);

    // A date that is not ISO 8601 is a 400 (ExceptionResponse), not a silently dropped filter.
    let (status, body) = sim.get("/sessions?sessionType=Online&dateClosedFrom=yesterday", &access).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["exception"]["exceptionDetailList"][0]["exceptionCode"], 21405, "{body}");
    sim.sim.stop().await;
}
