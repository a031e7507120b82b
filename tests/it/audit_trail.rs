//! The audit trail is tamper-evident: a changed, removed or reordered event breaks the chain
//! at that event; reports come as CSV, JSON and PDF (the PDF in `reports.rs`).

use diesel::connection::SimpleConnection;

use ksef_gateway::db::AnyConn;
use ksef_gateway::pdf::Lang;
use ksef_gateway::service::access::Caller;
use ksef_gateway::service::audit::{self, ChainVerdict};
use ksef_gateway::service::reports::{self, ReportFormat, ReportQuery};

use crate::both_backends;
use crate::common::Backend;
use crate::office::{app, invoice, login, office, upload, ACC_FULL, NIP_A};

both_backends!(tampering_is_detected_where_it_happened);

fn raw(conn: &mut AnyConn, sql: &str) {
    match conn {
        AnyConn::Pg(c) => c.batch_execute(sql).unwrap(),
        AnyConn::Sqlite(c) => c.batch_execute(sql).unwrap(),
    }
}

async fn verdict(st: &ksef_gateway::state::AppState) -> ChainVerdict {
    st.db.run(audit::verify).await.unwrap()
}

async fn tampering_is_detected_where_it_happened(b: Backend) {
    let Some((_db, o)) = office(b).await else { return };
    let app = app(&o.st).await;
    let acc = login(&app, ACC_FULL).await;
    for i in 0..3 {
        upload(&app, &acc, Some(NIP_A), invoice(NIP_A, &format!("FV/AUD/{i}"))).await;
    }
    let ChainVerdict::Intact { events } = verdict(&o.st).await else { panic!("a fresh trail is intact") };
    assert!(events >= 15, "users, grants, keys, logins, uploads: {events}");

    let query = ReportQuery { nip: Some(NIP_A.into()), ..ReportQuery::default() };
    let plan = reports::plan(&o.st, &Caller::Operator, query, ReportFormat::Csv, Lang::Pl).await.unwrap();
    let mut csv = Vec::new();
    reports::write(&o.st.db, &plan, ReportFormat::Csv, &mut csv, &mut |_| {}).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    assert!(
        csv.starts_with("seq,at_utc,actor_kind,actor_id,client_id,action,subject,payload,prev_hash,hash\n")
    );
    assert_eq!(csv.lines().filter(|l| l.contains("invoice.uploaded")).count(), 3);

    // Change one event's payload: the chain breaks exactly there.
    let target = 5;
    o.st.db
        .run(move |c| {
            raw(c, &format!("UPDATE audit_events SET payload = '{{\"forged\":true}}' WHERE seq = {target}"));
            Ok::<_, ksef_gateway::db::DbError>(())
        })
        .await
        .unwrap();
    assert!(matches!(verdict(&o.st).await, ChainVerdict::Broken { seq: 5, .. }));

    // In another office, remove one event: the gap is named where it is.
    let Some((_db2, o2)) = office(b).await else { return };
    o2.st
        .db
        .run(|c| {
            raw(c, "DELETE FROM audit_events WHERE seq = 7");
            Ok::<_, ksef_gateway::db::DbError>(())
        })
        .await
        .unwrap();
    let ChainVerdict::Broken { seq, reason } = verdict(&o2.st).await else {
        panic!("a removed event must be found")
    };
    assert_eq!(seq, 8, "{reason}");
    assert!(reason.contains("7"), "{reason}");
}
