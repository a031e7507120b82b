//! Received invoices: the HWM rule, truncation at 10 000, exports (round trip, corrupt part, 410,
//! 21182), limits — against the simulator over HTTP.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, SubsecRound, Utc};
use ksef_client::export::ExportOptions;
use ksef_client::hwm;
use ksef_client::models::export::status;
use ksef_simulator::{OutsideThirdSubject, ReceivedInvoices};

use crate::*;

fn outside(buyer: &str, count: usize, prefix: &str) -> ReceivedInvoices {
    ReceivedInvoices {
        buyer_nip: Some(buyer.to_owned()),
        count,
        number_prefix: Some(prefix.to_owned()),
        ..ReceivedInvoices::default()
    }
}

async fn buyer_login(s: &Setup) -> SecretString {
    s.sim.add_token(BUYER, BUYER_TOKEN, &["InvoiceRead"]);
    let ctx = ContextIdentifier::nip(BUYER);
    let tokens = s.client.authenticate_with_ksef_token(&ctx, &SecretString::from(BUYER_TOKEN)).await.unwrap();
    tokens.access_token.token
}

fn numbers<'a>(it: impl Iterator<Item = &'a str>) -> HashSet<String> {
    it.map(str::to_owned).collect()
}

#[tokio::test]
async fn an_invoice_stored_after_the_hwm_comes_in_the_next_window_and_only_there() {
    let s = setup(fast_limits()).await;
    let access = buyer_login(&s).await;
    let start = Utc::now() - chrono::Duration::hours(1);
    let early = s.sim.add_received_invoices(&outside(BUYER, 3, "EARLY/")).unwrap();
    // Permanent storage stalls right after the first three; two more are stored after that.
    let stall = Utc::now() + chrono::Duration::milliseconds(5);
    s.sim.faults().freeze_hwm(Some(stall));
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    let late = s.sim.add_received_invoices(&outside(BUYER, 2, "LATE/")).unwrap();

    let first = s.client.sync_window(&access, SubjectType::Subject2, start, 100).await.unwrap();
    assert_eq!(
        numbers(first.invoices.iter().map(|i| i.ksef_number.as_str())),
        numbers(early.iter().map(String::as_str))
    );
    assert!(first.advance.caught_up);
    assert!(
        first.advance.next_from <= stall
            && first.advance.next_from > stall - chrono::Duration::milliseconds(1)
    );
    assert_eq!(first.filters.date_range.restrict_to_permanent_storage_hwm_date, Some(true));
    assert_eq!(first.filters.date_range.to, None);
    // Without the cap the late invoices are already visible: the window really was capped at the HWM.
    let mut uncapped = first.filters.clone();
    uncapped.date_range.restrict_to_permanent_storage_hwm_date = None;
    let all = s.client.query_metadata(&access, &uncapped, 0, 100, SortOrder::Asc).await.unwrap();
    assert_eq!(all.invoices.len(), 5);

    // Still stalled: the next window is empty and the cursor stays.
    let again =
        s.client.sync_window(&access, SubjectType::Subject2, first.advance.next_from, 100).await.unwrap();
    assert!(again.invoices.is_empty());
    assert_eq!(again.advance.next_from, first.advance.next_from);

    s.sim.faults().freeze_hwm(None);
    let second =
        s.client.sync_window(&access, SubjectType::Subject2, first.advance.next_from, 100).await.unwrap();
    assert_eq!(
        numbers(second.invoices.iter().map(|i| i.ksef_number.as_str())),
        numbers(late.iter().map(String::as_str))
    );
    assert!(second.advance.next_from > first.advance.next_from);
    // The export path follows the same rule from the same cursor.
    let exported = s
        .client
        .export_window(&access, SubjectType::Subject2, first.advance.next_from, &ExportOptions::default())
        .await
        .unwrap();
    assert_eq!(
        numbers(exported.package.invoices.iter().map(|i| i.metadata.ksef_number.as_str())),
        numbers(late.iter().map(String::as_str))
    );
    assert!(exported.advance.caught_up);
    s.sim.stop().await;
}

#[tokio::test]
async fn truncation_at_10000_continues_without_loss_or_duplicate() {
    let s = setup(fast_limits()).await;
    let access = buyer_login(&s).await;
    let start = Utc::now() - chrono::Duration::hours(1);
    let seeded = s.sim.add_received_invoices(&outside(BUYER, 10_050, "BULK/")).unwrap();

    let first = s.client.sync_window(&access, SubjectType::Subject2, start, 250).await.unwrap();
    assert_eq!(first.invoices.len(), 10_000);
    assert!(!first.advance.caught_up);
    assert_eq!(Some(first.advance.next_from), first.invoices.last().unwrap().permanent_storage_date);

    let synced = s.client.sync_invoices(&access, SubjectType::Subject2, start, 250).await.unwrap();
    let got: Vec<&str> = synced.invoices.iter().map(|i| i.ksef_number.as_str()).collect();
    assert_eq!(got.len(), seeded.len(), "no duplicates");
    assert_eq!(numbers(got.into_iter()), numbers(seeded.iter().map(String::as_str)), "no loss");
    assert!(synced.next_from >= first.advance.next_from);

    // The export path: a truncated package, continued from lastPermanentStorageDate.
    let options = ExportOptions::default();
    let cut = s.client.export_window(&access, SubjectType::Subject2, start, &options).await.unwrap();
    assert!(cut.package.is_truncated);
    assert_eq!(cut.package.invoices.len(), 10_000);
    assert_eq!(Some(cut.advance.next_from), cut.package.last_permanent_storage_date);
    let rest = s
        .client
        .export_window(&access, SubjectType::Subject2, cut.advance.next_from, &options)
        .await
        .unwrap();
    assert!(!rest.package.is_truncated && rest.advance.caught_up);
    let mut all: HashSet<String> = HashSet::new();
    for inv in cut.package.invoices.iter().chain(&rest.package.invoices) {
        all.insert(inv.metadata.ksef_number.clone());
    }
    assert_eq!(all, numbers(seeded.iter().map(String::as_str)));
    s.sim.stop().await;
}

#[tokio::test]
async fn export_round_trips_hundreds_of_invoices_byte_exact_with_metadata() {
    let config = SimulatorConfig { export_part_size: 64 * 1024, ..fast_limits() };
    let s = setup(config).await;
    let seller = login(&s).await;
    let access = buyer_login(&s).await;
    let start = Utc::now() - chrono::Duration::hours(1);
    // One invoice sent for real by a seller in the simulator, and outside sellers' ones, one with
    // the buyer as Podmiot3 of somebody else's purchase.
    let session = s.client.open_online_session(&seller, &FormCode::fa3()).await.unwrap();
    let sent = s.client.send_invoice(&seller, &session, &sample(1), &SendOptions::default()).await.unwrap();
    s.client.wait_for_invoice(&seller, &session.reference_number, &sent.reference_number).await.unwrap();
    s.sim.add_received_invoices(&outside(BUYER, 300, "RT/")).unwrap();
    let third = ReceivedInvoices {
        third_subject: Some(OutsideThirdSubject { nip: BUYER.to_owned(), name: None, role: 6 }),
        ..outside("2222222222", 1, "P3/")
    };
    let paid_for = s.sim.add_received_invoices(&third).unwrap();

    let window = s
        .client
        .export_window(&access, SubjectType::Subject2, start, &ExportOptions::default())
        .await
        .unwrap();
    let package = &window.package;
    assert_eq!(package.invoices.len(), 301);
    assert!(!package.is_truncated && window.advance.caught_up);
    let by_number: HashMap<&str, &[u8]> =
        package.invoices.iter().map(|i| (i.metadata.ksef_number.as_str(), i.xml.as_slice())).collect();
    assert_eq!(by_number.len(), 301);
    // Every XML is KSeF's exact bytes: compare with the download by KSeF number for a sample.
    for inv in package
        .invoices
        .iter()
        .step_by(50)
        .chain(package.invoices.iter().filter(|i| i.metadata.seller.nip == SELLER))
    {
        let doc = s.client.download_invoice(&access, &inv.metadata.ksef_number).await.unwrap();
        assert_eq!(doc.bytes, inv.xml, "{}", inv.metadata.ksef_number);
        assert_eq!(Some(doc.sha256), inv.metadata.invoice_hash);
    }
    let real = package.invoices.iter().find(|i| i.metadata.seller.nip == SELLER).unwrap();
    assert_eq!(real.xml, sample(1));
    // Ascending by permanent-storage date, as KSeF sorts a PermanentStorage export.
    let dates: Vec<DateTime<Utc>> =
        package.invoices.iter().filter_map(|i| i.metadata.permanent_storage_date).collect();
    assert!(dates.windows(2).all(|w| w[0] <= w[1]));

    // Subject3: the invoice where the buyer is the payer, with its role.
    let p3 = s
        .client
        .export_window(&access, SubjectType::Subject3, start, &ExportOptions::default())
        .await
        .unwrap();
    assert_eq!(p3.package.invoices.len(), 1);
    assert_eq!(p3.package.invoices[0].metadata.ksef_number, paid_for[0]);
    let subjects = p3.package.invoices[0].metadata.third_subjects.clone().unwrap();
    assert_eq!((subjects[0].identifier.value.as_deref(), subjects[0].role), (Some(BUYER), 6));
    s.sim.stop().await;
}

#[tokio::test]
async fn corrupt_part_expired_export_and_concurrency_limit_are_clear_errors() {
    let config = SimulatorConfig { export_part_size: 4 * 1024, ..fast_limits() };
    let s = setup(config).await;
    let access = buyer_login(&s).await;
    let start = Utc::now() - chrono::Duration::hours(1);
    s.sim.add_received_invoices(&outside(BUYER, 40, "C/")).unwrap();
    let options = ExportOptions::default();

    // A part corrupted in transit: an integrity error naming the part; retrying succeeds.
    s.sim.faults().corrupt_export_parts(1);
    let err = s.client.export_window(&access, SubjectType::Subject2, start, &options).await.unwrap_err();
    assert!(matches!(&err, KsefError::Integrity(m) if m.contains("export part 1")), "{err}");
    assert_eq!(err.class(), ErrorClass::Transient);
    let ok = s.client.export_window(&access, SubjectType::Subject2, start, &options).await.unwrap();
    assert_eq!(ok.package.invoices.len(), 40);

    // Past its retention an export answers 410.
    let filters = hwm::window(SubjectType::Subject2, start, Utc::now());
    let started = s.client.start_export(&access, &filters).await.unwrap();
    s.client.wait_for_export(&access, &started.reference_number).await.unwrap();
    s.sim.faults().set_export_retention(Some(std::time::Duration::ZERO));
    let gone = s.client.export_status(&access, &started.reference_number).await.unwrap_err();
    assert!(gone.is_gone(), "{gone}");
    assert_eq!(gone.class(), ErrorClass::Permanent);
    s.sim.faults().set_export_retention(None);

    // Stuck at 100: ten run at once at most (21182, retry later).
    s.sim.faults().hold_exports(true);
    let mut running = Vec::new();
    for _ in 0..10 {
        running.push(s.client.start_export(&access, &filters).await.unwrap());
    }
    let st = s.client.export_status(&access, &running[0].reference_number).await.unwrap();
    assert_eq!(st.status.code, status::IN_PROGRESS);
    assert!(st.package.is_none());
    let limit = s.client.start_export(&access, &filters).await.unwrap_err();
    assert!(limit.api().is_some_and(|a| a.has_code(21182)), "{limit}");
    assert_eq!(limit.class(), ErrorClass::Transient);
    s.sim.faults().hold_exports(false);
    let package = s.client.wait_for_export(&access, &running[9].reference_number).await.unwrap();
    let done = s.client.download_export(&running[9].key, &package, &options).await.unwrap();
    assert_eq!(done.invoices.len(), 40);
    s.sim.stop().await;
}

#[tokio::test]
async fn hundred_day_rule_and_published_limits() {
    // Published limits (scale 1): metadata 8 per second.
    let s = setup(SimulatorConfig::default()).await;
    let access = buyer_login(&s).await;
    let now = Utc::now();
    let too_long = InvoiceQueryFilters::new(
        SubjectType::Subject2,
        DateRange {
            date_type: DateType::PermanentStorage,
            from: now - chrono::Duration::days(101),
            to: None,
            restrict_to_permanent_storage_hwm_date: Some(true),
        },
    );
    let err = s.client.query_metadata(&access, &too_long, 0, 10, SortOrder::Asc).await.unwrap_err();
    assert!(err.api().is_some_and(|a| a.has_code(21405)), "{err}");
    // The HWM window of an old cursor stays within 100 days, so KSeF accepts it.
    let old = hwm::window(SubjectType::Subject2, now - chrono::Duration::days(300), now);
    let page = s.client.query_metadata(&access, &old, 0, 10, SortOrder::Asc).await.unwrap();
    assert_eq!(page.permanent_storage_hwm_date, old.date_range.to.map(|t| t.trunc_subsecs(3)));
    let adv = hwm::advance(
        &old.date_range,
        &hwm::WindowResult {
            is_truncated: page.is_truncated,
            last_permanent_storage_date: None,
            permanent_storage_hwm_date: page.permanent_storage_hwm_date,
        },
    )
    .unwrap();
    assert!(!adv.caught_up, "a 100-day window of old history is not the end");

    let mut classes = Vec::new();
    for _ in 0..8 {
        classes.push(
            s.client.query_metadata(&access, &old, 0, 10, SortOrder::Asc).await.err().map(|e| e.class()),
        );
    }
    assert!(
        classes.iter().any(
            |c| matches!(c, Some(ErrorClass::RateLimited { retry_after }) if retry_after.as_secs() >= 1)
        ),
        "{classes:?}"
    );
    s.sim.stop().await;
}
