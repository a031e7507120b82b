//! Online and batch sessions, statuses, UPO, buyer view.

use crate::*;

#[tokio::test]
async fn online_send_is_accepted_with_ksef_number_and_upo() {
    let s = setup(fast_limits()).await;
    let access = login(&s).await;
    let session = s.client.open_online_session(&access, &FormCode::fa3()).await.unwrap();
    let xml = sample(1);
    let sent = s.client.send_invoice(&access, &session, &xml, &SendOptions::default()).await.unwrap();
    assert_eq!(sent.invoice_hash, "X+wQflQVyRs1fImlI+xDPnWk1V37hys4O1lkx9iJbSA=");
    s.client.close_online_session(&access, &session.reference_number).await.unwrap();

    let status =
        s.client.wait_for_invoice(&access, &session.reference_number, &sent.reference_number).await.unwrap();
    assert!(status.is_success(), "{status:?}");
    assert_eq!(status.invoice_hash, sent.invoice_hash);
    let number = KsefNumber::parse(status.ksef_number.as_deref().unwrap()).unwrap();
    assert_eq!(number.seller_nip(), SELLER);

    // UPO three ways: API by invoice reference, API by KSeF number, pre-signed link (hash header checked).
    let upo = s.client.invoice_upo(&access, &session.reference_number, &sent.reference_number).await.unwrap();
    assert!(String::from_utf8_lossy(&upo.bytes).contains(number.as_str()));
    let by_number = s
        .client
        .invoice_upo_by_ksef_number(&access, &session.reference_number, number.as_str())
        .await
        .unwrap();
    assert_eq!(by_number.sha256, upo.sha256);
    let presigned = s.client.download_presigned(status.upo_download_url.as_deref().unwrap()).await.unwrap();
    assert!(presigned.hash_verified, "pre-signed UPO must carry x-ms-meta-hash");
    assert_eq!(presigned.sha256, upo.sha256);

    let session_status = s.client.wait_for_session(&access, &session.reference_number).await.unwrap();
    assert_eq!(session_status.status.code, 200, "{session_status:?}");
    let listed = s.client.all_session_invoices(&access, &session.reference_number).await.unwrap();
    assert_eq!(listed.len(), 1);

    // The same invoice again is a duplicate (440, permanent).
    let again = s.client.open_online_session(&access, &FormCode::fa3()).await.unwrap();
    let dup = s.client.send_invoice(&access, &again, &xml, &SendOptions::default()).await.unwrap();
    let dup =
        s.client.wait_for_invoice(&access, &again.reference_number, &dup.reference_number).await.unwrap();
    assert_eq!(dup.status.code, 440);
    assert_eq!(dup.failure_class(), Some(ErrorClass::Permanent));
    s.sim.stop().await;
}

#[tokio::test]
async fn batch_of_twelve_then_metadata_query_and_download() {
    let s = setup(fast_limits()).await;
    let access = login(&s).await;
    // Eleven samples with distinct (type, P_2) plus sample 4 renumbered: 12 non-duplicates.
    let mut invoices: Vec<BatchInvoice> = [1, 2, 5, 6, 8, 10, 11, 12, 14, 15, 18]
        .iter()
        .map(|n| BatchInvoice { file_name: format!("FA_3_Przyklad_{n}.xml"), xml: sample(*n) })
        .collect();
    let renumbered =
        String::from_utf8(sample(4)).unwrap().replace("<P_2>FV2026/02/150</P_2>", "<P_2>FV2026/02/151</P_2>");
    invoices.push(BatchInvoice { file_name: "FV2026-02-151.xml".into(), xml: renumbered.into_bytes() });
    let options = BatchOptions { part_size: 8_000, ..BatchOptions::default() };
    let started = chrono::Utc::now() - chrono::Duration::minutes(1);
    let submission = s.client.send_batch(&access, invoices, &options).await.unwrap();
    assert!(submission.part_count >= 2, "parts: {}", submission.part_count);
    let status = s.client.wait_for_session(&access, &submission.reference_number).await.unwrap();
    assert_eq!(status.status.code, 200, "{status:?}");
    let listed = s.client.all_session_invoices(&access, &submission.reference_number).await.unwrap();
    assert_eq!(listed.len(), 12);
    for hash in &submission.invoice_hashes {
        let inv = listed.iter().find(|i| i.invoice_hash == hash.invoice_hash).unwrap();
        assert!(inv.is_success(), "{inv:?}");
        assert!(KsefNumber::is_valid(inv.ksef_number.as_deref().unwrap()));
    }

    // The buyer (1111111111) sees the 12 invoices as Subject2 and downloads one byte-for-byte.
    s.sim.add_token(BUYER, BUYER_TOKEN, &["InvoiceRead"]);
    let buyer = s
        .client
        .authenticate_with_ksef_token(&ContextIdentifier::nip(BUYER), &SecretString::from(BUYER_TOKEN))
        .await
        .unwrap()
        .access_token
        .token;
    let filters = InvoiceQueryFilters::new(
        SubjectType::Subject2,
        DateRange {
            date_type: DateType::Invoicing,
            from: started,
            to: None,
            restrict_to_permanent_storage_hwm_date: None,
        },
    );
    let page = s.client.query_metadata(&buyer, &filters, 0, 100, SortOrder::Asc).await.unwrap();
    assert_eq!(page.invoices.len(), 12, "{page:?}");
    assert!(!page.has_more);
    let first = &page.invoices[0];
    assert_eq!(first.seller.nip, SELLER);
    let doc = s.client.download_invoice(&buyer, &first.ksef_number).await.unwrap();
    assert_eq!(Some(doc.sha256.clone()), first.invoice_hash);
    assert!(submission.invoice_hashes.iter().any(|h| h.invoice_hash == doc.sha256));
    s.sim.stop().await;
}
