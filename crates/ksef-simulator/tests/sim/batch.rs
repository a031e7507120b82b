//! Batch sessions: 20 invoices in a split, encrypted package.

use serde_json::json;

use crate::client::{b64, fixture, numbered_sample, sha, Sim, NIP, TOKEN};

#[tokio::test]
async fn batch_of_twenty_with_one_duplicate_and_one_invalid() {
    let sim = Sim::with_token().await;
    let (access, _) = sim.login(NIP, TOKEN).await;
    let mut files: Vec<(String, Vec<u8>)> = (0..18)
        .map(|i| (format!("inv-{i:02}.xml"), numbered_sample(i % 5 + 1, &format!("B/{i}/2026"))))
        .collect();
    files.push(("dup.xml".to_owned(), numbered_sample(4, "B/3/2026")));
    files.push(("broken.xml".to_owned(), b"<Faktura><oops/></Faktura>".to_vec()));
    let (body, parts) = sim.batch_plan(&files, 2).await;
    let (status, opened) = sim.post("/sessions/batch", Some(&access), &body).await;
    assert_eq!(status, 201, "{opened}");
    let reference = opened["referenceNumber"].as_str().unwrap();
    let close = format!("/sessions/batch/{reference}/close");
    // Closing before every part is uploaded: 21205.
    let (status, res) = sim.post(&close, Some(&access), &json!(null)).await;
    assert_eq!(
        (status, res["exception"]["exceptionDetailList"][0]["exceptionCode"].clone()),
        (400, json!(21205))
    );
    for (upload, part) in opened["partUploadRequests"].as_array().unwrap().iter().zip(&parts) {
        assert_eq!(upload["method"], "PUT");
        let url = upload["url"].as_str().unwrap();
        // Without the blob-type header the upload is refused; no bearer token is needed.
        assert_eq!(sim.http.put(url).body(part.clone()).send().await.unwrap().status(), 400);
        let res =
            sim.http.put(url).header("x-ms-blob-type", "BlockBlob").body(part.clone()).send().await.unwrap();
        assert_eq!(res.status(), 201);
    }
    let (status, _) = sim.post(&close, Some(&access), &json!(null)).await;
    assert_eq!(status, 204);
    let (_, st) = sim.get(&format!("/sessions/{reference}"), &access).await;
    assert_eq!(st["status"]["code"], 200, "{st}");
    assert_eq!(
        (st["invoiceCount"].clone(), st["successfulInvoiceCount"].clone(), st["failedInvoiceCount"].clone()),
        (json!(20), json!(18), json!(2))
    );
    let (_, list) = sim.get(&format!("/sessions/{reference}/invoices?pageSize=10"), &access).await;
    assert_eq!(list["invoices"].as_array().unwrap().len(), 10);
    let token = list["continuationToken"].as_str().unwrap();
    let res = sim
        .http
        .get(sim.url(&format!("/sessions/{reference}/invoices?pageSize=10")))
        .bearer_auth(&access)
        .header("x-continuation-token", token)
        .send()
        .await
        .unwrap();
    let rest: serde_json::Value = res.json().await.unwrap();
    assert_eq!(rest["invoices"].as_array().unwrap().len(), 10);
    assert!(rest["continuationToken"].is_null());
    let (_, failed) = sim.get(&format!("/sessions/{reference}/invoices/failed"), &access).await;
    let mut codes: Vec<(String, u64)> = failed["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["invoiceFileName"].as_str().unwrap().to_owned(), i["status"]["code"].as_u64().unwrap()))
        .collect();
    codes.sort();
    assert_eq!(codes, vec![("broken.xml".to_owned(), 430), ("dup.xml".to_owned(), 440)]);
    let counters = sim.sim.counters();
    assert_eq!((counters.total.received, counters.total.accepted, counters.total.duplicates), (20, 18, 1));
    let page = st["upo"]["pages"][0]["downloadUrl"].as_str().unwrap();
    let upo = sim.http.get(page).send().await.unwrap().bytes().await.unwrap();
    assert!(ksef_fa3::UpoSchema::load().unwrap().validate(&upo).is_empty());
}

#[tokio::test]
async fn batch_declarations_are_checked() {
    let sim = Sim::with_token().await;
    let (access, _) = sim.login(NIP, TOKEN).await;
    let (rsa_key, _) = sim.public_key("SymmetricKeyEncryption").await;
    let wrapped =
        rsa_key.encrypt(&mut rand::rngs::OsRng, rsa::Oaep::new::<sha2::Sha256>(), &[1u8; 32]).unwrap();
    let part = json!({"ordinalNumber": 1, "fileSize": 100, "fileHash": sha(b"x")});
    let body = |parts: Vec<serde_json::Value>| {
        json!({
            "formCode": {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"},
            "batchFile": {"fileSize": 100, "fileHash": sha(b"x"), "fileParts": parts},
            "encryption": {"encryptedSymmetricKey": b64(&wrapped), "initializationVector": b64(&[0u8; 16])},
        })
    };
    let code = |v: &serde_json::Value| v["exception"]["exceptionDetailList"][0]["exceptionCode"].clone();
    let many =
        (1..=51).map(|i| json!({"ordinalNumber": i, "fileSize": 100, "fileHash": sha(b"x")})).collect();
    let (status, res) = sim.post("/sessions/batch", Some(&access), &body(many)).await;
    assert_eq!((status, code(&res)), (400, json!(21161)));
    let huge = vec![json!({"ordinalNumber": 1, "fileSize": 200_000_000u64, "fileHash": sha(b"x")})];
    let (status, res) = sim.post("/sessions/batch", Some(&access), &body(huge)).await;
    assert_eq!((status, code(&res)), (400, json!(21157)));
    // Declared 100 bytes, uploaded 3: close answers 21157.
    let (status, opened) = sim.post("/sessions/batch", Some(&access), &body(vec![part])).await;
    assert_eq!(status, 201);
    let url = opened["partUploadRequests"][0]["url"].as_str().unwrap();
    sim.http.put(url).header("x-ms-blob-type", "BlockBlob").body(vec![1, 2, 3]).send().await.unwrap();
    let close = format!("/sessions/batch/{}/close", opened["referenceNumber"].as_str().unwrap());
    let (status, res) = sim.post(&close, Some(&access), &json!(null)).await;
    assert_eq!((status, code(&res)), (400, json!(21157)));
    // A tampered signature is refused.
    let res = sim
        .http
        .put(format!("{url}x"))
        .header("x-ms-blob-type", "BlockBlob")
        .body(vec![1])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn attachments_need_batch_and_consent() {
    let sim = Sim::with_token().await;
    let (access, _) = sim.login(NIP, TOKEN).await;
    let with_attachment = fixture("FA_3_Przyklad_24.xml");
    // Online: refused with 415 even with consent.
    let session = sim.open_online(&access).await;
    let (_, sent) = sim.send(&access, &session, &with_attachment).await;
    let inv = sim.invoice_final(&access, &session.reference, sent["referenceNumber"].as_str().unwrap()).await;
    assert_eq!(inv["status"]["code"], 415, "{inv}");
    let (_, st) = sim.get("/permissions/attachments/status", &access).await;
    assert_eq!(st["isAttachmentAllowed"], false);
    assert_eq!(sim.post("/testdata/attachment", None, &json!({"nip": NIP})).await.0, 200);
    let (_, st) = sim.get("/permissions/attachments/status", &access).await;
    assert_eq!(st["isAttachmentAllowed"], true);
    let reference = sim.send_batch(&access, &[("att.xml".to_owned(), with_attachment)]).await;
    let (_, list) = sim.get(&format!("/sessions/{reference}/invoices"), &access).await;
    assert_eq!(list["invoices"][0]["status"]["code"], 200, "{list}");
}
