//! `GET /sessions`: filters, invoice counts and continuation paging.

use ksef_client::models::session::{CommonSessionStatus, SessionQuery, SessionType};

use crate::*;

#[tokio::test]
async fn sessions_are_listed_filtered_and_paged() {
    let s = setup(fast_limits()).await;
    let access = login(&s).await;
    let sent = s.client.open_online_session(&access, &FormCode::fa3()).await.unwrap();
    let inv = s.client.send_invoice(&access, &sent, &sample(1), &SendOptions::default()).await.unwrap();
    s.client.close_online_session(&access, &sent.reference_number).await.unwrap();
    s.client.wait_for_invoice(&access, &sent.reference_number, &inv.reference_number).await.unwrap();
    s.client.wait_for_session(&access, &sent.reference_number).await.unwrap();
    let mut open = Vec::new();
    for _ in 0..10 {
        open.push(s.client.open_online_session(&access, &FormCode::fa3()).await.unwrap().reference_number);
    }

    let online = SessionQuery::of(SessionType::Online);
    let first = s.client.list_sessions(&access, &online, 10, None).await.unwrap();
    assert_eq!(first.sessions.len(), 10);
    let next = first.continuation_token.clone().expect("11 sessions do not fit a page of 10");
    let second = s.client.list_sessions(&access, &online, 10, Some(&next)).await.unwrap();
    assert_eq!(second.sessions.len(), 1);
    assert!(second.continuation_token.filter(|t| !t.is_empty()).is_none());
    assert_eq!(s.client.all_sessions(&access, &online).await.unwrap().len(), 11);

    let mut by_ref = SessionQuery::of(SessionType::Online);
    by_ref.reference_number = Some(sent.reference_number.clone());
    let done = s.client.all_sessions(&access, &by_ref).await.unwrap();
    assert_eq!(done.len(), 1);
    let done = &done[0];
    assert_eq!(done.status.code, 200, "{done:?}");
    assert_eq!(
        (done.total_invoice_count, done.successful_invoice_count, done.failed_invoice_count),
        (1, 1, 0)
    );
    assert!(done.date_updated >= done.date_created);

    let mut in_progress = SessionQuery::of(SessionType::Online);
    in_progress.statuses = vec![CommonSessionStatus::InProgress];
    let mut listed: Vec<String> = s
        .client
        .all_sessions(&access, &in_progress)
        .await
        .unwrap()
        .into_iter()
        .map(|x| x.reference_number)
        .collect();
    listed.sort();
    open.sort();
    assert_eq!(listed, open);
    in_progress.statuses.push(CommonSessionStatus::Succeeded);
    assert_eq!(s.client.all_sessions(&access, &in_progress).await.unwrap().len(), 11);

    let mut created_later = SessionQuery::of(SessionType::Online);
    created_later.date_created_from = Some(chrono::Utc::now() + chrono::Duration::hours(1));
    assert!(s.client.all_sessions(&access, &created_later).await.unwrap().is_empty());
    assert!(s.client.all_sessions(&access, &SessionQuery::of(SessionType::Batch)).await.unwrap().is_empty());
    s.sim.stop().await;
}
