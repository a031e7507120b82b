//! Online sessions: send, statuses, KSeF numbers, UPO, duplicates, errors.

use serde_json::json;

use crate::client::{b64, fixture, sha, Sim, NIP, TOKEN};

#[tokio::test]
async fn online_send_of_official_sample_is_accepted_with_upo() {
    let sim = Sim::with_token().await;
    let (access, _) = sim.login(NIP, TOKEN).await;
    let session = sim.open_online(&access).await;
    let xml = fixture("FA_3_Przyklad_1.xml");
    let (status, sent) = sim.send(&access, &session, &xml).await;
    assert_eq!(status, 202, "{sent}");
    let invoice_ref = sent["referenceNumber"].as_str().unwrap();
    assert_eq!(sim.close_online(&access, &session).await, 204);
    let inv = sim.invoice_final(&access, &session.reference, invoice_ref).await;
    assert_eq!(inv["status"]["code"], 200, "{inv}");
    assert_eq!(inv["invoiceHash"], sha(&xml));
    assert_eq!(inv["invoiceNumber"], "FV2026/02/150");
    let ksef = inv["ksefNumber"].as_str().unwrap();
    assert!(ksef_simulator::ksef_number_is_valid(ksef), "{ksef}");
    assert!(ksef.starts_with("9999999999-"));
    // Pre-signed UPO link: no bearer, x-ms-meta-hash header.
    let res = sim.http.get(inv["upoDownloadUrl"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let hash = res.headers()["x-ms-meta-hash"].to_str().unwrap().to_owned();
    let upo = res.bytes().await.unwrap();
    assert_eq!(hash, sha(&upo));
    assert_eq!(ksef_fa3::UpoSchema::load().unwrap().validate(&upo), vec![]);
    let upo = String::from_utf8(upo.to_vec()).unwrap();
    // P_1 (2026-02-15) is before the sending day: KSeF marks the invoice Offline automatically.
    assert_eq!(inv["invoicingMode"], "Offline");
    assert!(upo.contains("<TrybWysylki>Offline</TrybWysylki>"));
    assert!(upo.contains(&format!("<NumerKSeFDokumentu>{ksef}</NumerKSeFDokumentu>")));
    // The same UPO through the API.
    let res = sim
        .http
        .get(sim.url(&format!("/sessions/{}/invoices/ksef/{ksef}/upo", session.reference)))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Session: processed, one UPO page.
    let (status, st) = sim.get(&format!("/sessions/{}", session.reference), &access).await;
    assert_eq!(status, 200);
    assert_eq!(st["status"]["code"], 200, "{st}");
    assert_eq!(st["successfulInvoiceCount"], 1);
    let page = st["upo"]["pages"][0]["downloadUrl"].as_str().unwrap();
    let page_xml = sim.http.get(page).send().await.unwrap().text().await.unwrap();
    assert!(page_xml.contains("<CalkowitaLiczbaDokumentow>1</CalkowitaLiczbaDokumentow>"));
    let counters = sim.sim.counters();
    assert_eq!((counters.total.received, counters.total.accepted), (1, 1));
}

#[tokio::test]
async fn duplicate_is_440_with_original_number() {
    let sim = Sim::with_token().await;
    let (access, _) = sim.login(NIP, TOKEN).await;
    let session = sim.open_online(&access).await;
    let xml = fixture("FA_3_Przyklad_2.xml");
    let (_, first) = sim.send(&access, &session, &xml).await;
    let (_, second) = sim.send(&access, &session, &xml).await;
    let first =
        sim.invoice_final(&access, &session.reference, first["referenceNumber"].as_str().unwrap()).await;
    let second =
        sim.invoice_final(&access, &session.reference, second["referenceNumber"].as_str().unwrap()).await;
    assert_eq!(second["status"]["code"], 440, "{second}");
    assert_eq!(second["status"]["extensions"]["originalKsefNumber"], first["ksefNumber"]);
    assert_eq!(second["status"]["extensions"]["originalSessionReferenceNumber"], session.reference.as_str());
    let (_, failed) = sim.get(&format!("/sessions/{}/invoices/failed", session.reference), &access).await;
    assert_eq!(failed["invoices"].as_array().unwrap().len(), 1);
    assert_eq!(sim.sim.counters().total.duplicates, 1);
}

#[tokio::test]
async fn hash_size_base64_and_key_errors() {
    let sim = Sim::with_token().await;
    let (access, _) = sim.login(NIP, TOKEN).await;
    let session = sim.open_online(&access).await;
    let xml = fixture("FA_3_Przyklad_3.xml");
    let path = format!("/sessions/online/{}/invoices", session.reference);
    let code = |v: &serde_json::Value| v["exception"]["exceptionDetailList"][0]["exceptionCode"].clone();
    let mut body = Sim::send_body(&session, &xml);
    body["invoiceHash"] = json!(sha(b"something else"));
    let (status, res) = sim.post(&path, Some(&access), &body).await;
    assert_eq!((status, code(&res)), (400, json!(21403)), "{res}");
    let mut body = Sim::send_body(&session, &xml);
    body["invoiceSize"] = json!(xml.len() + 1);
    let (status, res) = sim.post(&path, Some(&access), &body).await;
    assert_eq!((status, code(&res)), (400, json!(21402)));
    let mut body = Sim::send_body(&session, &xml);
    body["encryptedInvoiceContent"] = json!("!!not base64!!");
    let (status, res) = sim.post(&path, Some(&access), &body).await;
    assert_eq!((status, code(&res)), (400, json!(21405)));
    assert!(res["exception"]["timestamp"].is_string());
    // Problem details on request.
    let res = sim
        .http
        .post(sim.url(&path))
        .bearer_auth(&access)
        .header("X-Error-Format", "problem-details")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let problem: serde_json::Value = res.json().await.unwrap();
    assert_eq!(problem["errors"][0]["code"], 21405);
    // A session key the simulator cannot unwrap: session 415, sends refused, no crash.
    let bad = json!({"formCode": {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"},
        "encryption": {"encryptedSymmetricKey": b64(&[1u8; 256]), "initializationVector": b64(&[0u8; 16])}});
    let (status, opened) = sim.post("/sessions/online", Some(&access), &bad).await;
    assert_eq!(status, 201);
    let reference = opened["referenceNumber"].as_str().unwrap();
    let (_, st) = sim.get(&format!("/sessions/{reference}"), &access).await;
    assert_eq!(st["status"]["code"], 415);
    let (status, res) = sim
        .post(
            &format!("/sessions/online/{reference}/invoices"),
            Some(&access),
            &Sim::send_body(&session, &xml),
        )
        .await;
    assert_eq!((status, code(&res)), (400, json!(21180)));
    // Wrong AES key for a valid session: the invoice fails with 435 (hashes match the ciphertext).
    let wrong = crate::client::Session { reference: session.reference.clone(), key: [9; 32], iv: session.iv };
    let mut body = Sim::send_body(&wrong, &xml);
    body["invoiceHash"] = json!(sha(&xml));
    let (status, res) = sim.post(&path, Some(&access), &body).await;
    if status == 202 {
        let inv =
            sim.invoice_final(&access, &session.reference, res["referenceNumber"].as_str().unwrap()).await;
        assert_eq!(inv["status"]["code"], 435);
    } else {
        // Wrong key can decrypt to garbage with valid padding: then the plaintext hash check fails.
        assert_eq!((status, code(&res)), (400, json!(21403)));
    }
}
