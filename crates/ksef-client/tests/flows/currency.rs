//! KSeF 2.8 currency over HTTP: 21184 (session paused), proxy HTML 502/504, the new limit groups.

use ksef_client::models::manage::published;
use ksef_client::online::SendOptions;

use crate::*;

#[tokio::test]
async fn session_paused_21184_is_classified_and_a_new_session_takes_the_invoice() {
    let s = setup(fast_limits()).await;
    let access = login(&s).await;
    let paused = s.client.open_online_session(&access, &FormCode::fa3()).await.unwrap();
    s.sim.faults().pause_next_online_sessions(1);
    let xml = sample(1);
    let err = s.client.send_invoice(&access, &paused, &xml, &SendOptions::default()).await.unwrap_err();
    assert!(err.is_session_unavailable(), "{err:?}");
    assert_eq!((err.http_status(), err.class()), (Some(400), ErrorClass::SessionUnusable));
    // The session stays paused; nothing was received there.
    let again = s.client.send_invoice(&access, &paused, &xml, &SendOptions::default()).await.unwrap_err();
    assert!(again.is_session_unavailable(), "{again:?}");
    let fresh = s.client.open_online_session(&access, &FormCode::fa3()).await.unwrap();
    let sent = s.client.send_invoice(&access, &fresh, &xml, &SendOptions::default()).await.unwrap();
    let status =
        s.client.wait_for_invoice(&access, &fresh.reference_number, &sent.reference_number).await.unwrap();
    assert!(status.is_success(), "{status:?}");
    assert_eq!(s.sim.accepted_hashes(SELLER).len(), 1);
    s.sim.stop().await;
}

#[tokio::test]
async fn proxy_html_pages_are_transient_and_rate_limits_report_the_2_8_groups() {
    let s = setup(SimulatorConfig::default()).await;
    let access = login(&s).await;
    for status in [502, 504] {
        s.sim.faults().html_burst(1, status);
        let err = s.client.rate_limits(&access).await.unwrap_err();
        assert_eq!((err.http_status(), err.class()), (Some(status), ErrorClass::Transient), "{err:?}");
    }
    let limits = s.client.rate_limits(&access).await.unwrap();
    let windows = |group: &str| limits[group].windows().map(Option::unwrap_or_default);
    assert_eq!(windows("onlineSessionClose"), published::ONLINE_SESSION_CLOSE);
    assert_eq!(windows("batchSessionClose"), published::BATCH_SESSION_CLOSE);
    assert_eq!(limits["anonymous"].windows(), [Some(60), None, None]);
    assert_eq!(limits["global"].windows(), [None; 3]);
    s.sim.stop().await;
}
