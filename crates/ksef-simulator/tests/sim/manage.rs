//! KSeF tokens, permissions, metadata queries, downloads, test-data helpers.

use serde_json::json;

use crate::client::{fixture, Sim, NIP, TOKEN};

#[tokio::test]
async fn generated_token_works_until_revoked_then_450() {
    let sim = Sim::with_token().await;
    let (access, _) = sim.login(NIP, TOKEN).await;
    let (status, created) = sim
        .post(
            "/tokens",
            Some(&access),
            &json!({"permissions": ["InvoiceRead"], "description": "ERP integration"}),
        )
        .await;
    assert_eq!(status, 202, "{created}");
    let token = created["token"].as_str().unwrap().to_owned();
    let reference = created["referenceNumber"].as_str().unwrap();
    let (status, _) = sim
        .post("/tokens", Some(&access), &json!({"permissions": ["SubunitManage"], "description": "too much"}))
        .await;
    assert_eq!(status, 400);
    let (erp_access, _) = sim.login(NIP, &token).await;
    let (status, mine) = sim.get("/tokens", &erp_access).await;
    assert_eq!(status, 200);
    assert_eq!(
        mine["tokens"].as_array().unwrap().len(),
        1,
        "a token without CredentialsManage sees only itself: {mine}"
    );
    let (_, all) = sim.get("/tokens", &access).await;
    assert_eq!(all["tokens"].as_array().unwrap().len(), 2);
    // InvoiceRead only: opening a session is forbidden.
    let (status, problem) = sim.post("/sessions/online", Some(&erp_access), &json!({})).await;
    assert_eq!(status, 403, "{problem}");
    assert_eq!(problem["reasonCode"], "missing-permissions");
    let res =
        sim.http.delete(sim.url(&format!("/tokens/{reference}"))).bearer_auth(&access).send().await.unwrap();
    assert_eq!(res.status(), 204);
    let (_, one) = sim.get(&format!("/tokens/{reference}"), &access).await;
    assert_eq!(one["status"], "Revoked");
    let (auth_ref, auth) = sim.init_auth(NIP, &token).await;
    let st = sim.auth_status(&auth_ref, &auth).await;
    assert_eq!(st["status"]["code"], 450);
    let (_, perms) = sim.post("/permissions/query/personal/grants", Some(&access), &json!({})).await;
    let scopes: Vec<&str> = perms["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["permissionScope"].as_str().unwrap())
        .collect();
    assert_eq!(scopes, ["InvoiceWrite", "InvoiceRead", "CredentialsManage"]);
}

#[tokio::test]
async fn buyer_finds_and_downloads_purchase_invoice() {
    let sim = Sim::with_token().await;
    sim.sim.add_token("1111111111", "buyer-token", &["InvoiceRead"]);
    sim.sim.add_token("5265877635", "stranger-token", &["InvoiceRead"]);
    let (access, _) = sim.login(NIP, TOKEN).await;
    let session = sim.open_online(&access).await;
    let xml = fixture("FA_3_Przyklad_4.xml");
    let (_, sent) = sim.send(&access, &session, &xml).await;
    let inv = sim.invoice_final(&access, &session.reference, sent["referenceNumber"].as_str().unwrap()).await;
    let ksef = inv["ksefNumber"].as_str().unwrap();
    let (buyer, _) = sim.login("1111111111", "buyer-token").await;
    let from = (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339();
    let filters =
        json!({"subjectType": "Subject2", "dateRange": {"dateType": "PermanentStorage", "from": from}});
    let (status, found) = sim.post("/invoices/query/metadata?pageSize=10", Some(&buyer), &filters).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["invoices"][0]["ksefNumber"], ksef);
    assert_eq!(found["invoices"][0]["seller"]["nip"], NIP);
    assert_eq!(found["invoices"][0]["buyer"]["identifier"]["value"], "1111111111");
    let seller_view =
        json!({"subjectType": "Subject1", "dateRange": {"dateType": "PermanentStorage", "from": from}});
    let (_, none) = sim.post("/invoices/query/metadata", Some(&buyer), &seller_view).await;
    assert!(none["invoices"].as_array().unwrap().is_empty());
    let res =
        sim.http.get(sim.url(&format!("/invoices/ksef/{ksef}"))).bearer_auth(&buyer).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap().as_ref(), xml.as_slice());
    let (stranger, _) = sim.login("5265877635", "stranger-token").await;
    let (status, res) = sim.get(&format!("/invoices/ksef/{ksef}"), &stranger).await;
    assert_eq!(
        (status, res["exception"]["exceptionDetailList"][0]["exceptionCode"].clone()),
        (400, json!(21164))
    );
}

#[tokio::test]
async fn testdata_grants_and_blocks() {
    let sim = Sim::with_token().await;
    // An office token (NIP 5265877635) authenticates in the client's context only after a grant.
    sim.sim.add_token("5265877635", "office-token", &["InvoiceWrite", "InvoiceRead"]);
    let (r, a) = sim.init_auth(NIP, "office-token").await;
    assert_eq!(sim.auth_status(&r, &a).await["status"]["code"], 415);
    let grant = json!({"contextIdentifier": {"type": "Nip", "value": NIP}, "authorizedIdentifier": {"type": "Nip", "value": "5265877635"},
        "permissions": [{"permissionType": "InvoiceWrite", "description": "biuro rachunkowe"}]});
    let (status, _) = sim.post("/testdata/permissions", None, &grant).await;
    assert_eq!(status, 200);
    let (office, _) = sim.login(NIP, "office-token").await;
    let claims_session = sim.open_online(&office).await;
    assert_eq!(claims_session.reference.len(), 36);
    let block = json!({"contextIdentifier": {"type": "Nip", "value": NIP}});
    assert_eq!(sim.post("/testdata/context/block", None, &block).await.0, 200);
    let (r, a) = sim.init_auth(NIP, TOKEN).await;
    assert_eq!(sim.auth_status(&r, &a).await["status"]["code"], 480);
    assert_eq!(sim.post("/testdata/context/unblock", None, &block).await.0, 200);
    let (r, a) = sim.init_auth(NIP, TOKEN).await;
    assert_eq!(sim.auth_status(&r, &a).await["status"]["code"], 200);
}
