//! Collective identifiers (IZ) over HTTP: the rules a caller sees (71001 for a foreign invoice,
//! 403 without any of the three permissions, 21405 past 500 invoices) and every JSON answer checked
//! against the 2.7.0 schemas (`POST /collective-identifiers/invoices` of 2.7.1 answers with the
//! schema of the GET it replaced).

use serde_json::{json, Value};

use crate::client::{Sim, NIP, TOKEN};
use crate::conformance::{Recorder, Spec};

const BUYER: &str = "5213000005";

fn seed(sim: &Sim, seller: &str, count: usize) -> Vec<String> {
    sim.sim
        .add_received_invoices(&ksef_simulator::ReceivedInvoices {
            buyer_nip: Some(BUYER.to_owned()),
            seller_nip: Some(seller.to_owned()),
            count,
            ..Default::default()
        })
        .unwrap()
}

fn body(numbers: &[String]) -> Value {
    json!({"invoices": numbers.iter().map(|n| json!({"ksefNumber": n})).collect::<Vec<_>>()})
}

#[tokio::test]
async fn collective_identifiers_follow_the_rules_and_the_2_7_0_schemas() {
    let spec = Spec::load_from("openapi-2.7.0.json");
    let sim = Sim::start(ksef_simulator::SimulatorConfig::default()).await;
    sim.sim.add_token(NIP, TOKEN, &["InvoiceWrite", "InvoiceRead"]);
    let (access, _) = sim.login(NIP, TOKEN).await;
    let a = Some(access.as_str());
    let mut r = Recorder { sim: &sim, seen: Vec::new() };
    let own = seed(&sim, NIP, 501);
    let foreign = seed(&sim, "5265877635", 1);

    let mut paid = body(&own[..2]);
    paid["invoices"][0]["payment"] = json!({"amount": 1230.5, "currency": "EUR"});
    paid["invoices"][0]["description"] = json!("Płatność za luty");
    let created =
        r.call("POST", "/collective-identifiers", "/collective-identifiers", a, Some(&paid), false).await;
    let iz = created["collectiveIdentifierNumber"].as_str().unwrap().to_owned();
    assert!(ksef_simulator::collective_identifier_is_valid(&iz), "{iz}");
    assert!(iz.starts_with(&format!("{NIP}-IZ")), "{iz}");
    let full = r
        .call(
            "POST",
            "/collective-identifiers",
            "/collective-identifiers",
            a,
            Some(&body(&own[..500])),
            false,
        )
        .await;
    assert!(full["collectiveIdentifierNumber"].is_string(), "{full}");
    let over = r
        .call("POST", "/collective-identifiers", "/collective-identifiers", a, Some(&body(&own)), false)
        .await;
    assert_eq!(over["exception"]["exceptionDetailList"][0]["exceptionCode"], 21405, "{over}");
    let refused = r
        .call("POST", "/collective-identifiers", "/collective-identifiers", a, Some(&body(&foreign)), false)
        .await;
    assert_eq!(refused["exception"]["exceptionDetailList"][0]["exceptionCode"], 71001, "{refused}");
    r.call("POST", "/collective-identifiers", "/collective-identifiers", a, Some(&body(&foreign)), true)
        .await;

    let from = (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339();
    let to = (chrono::Utc::now() + chrono::Duration::minutes(1)).to_rfc3339();
    let q = json!({"dateCreatedFrom": from, "dateCreatedTo": to});
    let listed = r
        .call("POST", "/collective-identifiers/query", "/collective-identifiers/query", a, Some(&q), false)
        .await;
    assert_eq!(listed["collectiveIdentifiers"].as_array().unwrap().len(), 2, "{listed}");
    let tpl = "/collective-identifiers/ksef/{ksefNumber}";
    let of_first =
        r.call("GET", tpl, &format!("/collective-identifiers/ksef/{}", own[0]), a, None, false).await;
    assert_eq!(of_first["collectiveIdentifiers"].as_array().unwrap().len(), 2, "{of_first}");
    let members = r
        .call(
            "POST",
            "/collective-identifiers/invoices",
            "/collective-identifiers/invoices",
            a,
            Some(&json!({"collectiveIdentifierNumbers": [iz]})),
            false,
        )
        .await;
    let items = members["invoices"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{members}");
    assert!(
        items.iter().any(|i| i["payment"]["currency"] == "EUR" && i["detailsHidden"] == false),
        "{members}"
    );

    // Without InvoiceRead, InvoiceWrite or CollectiveIdentifierManage: 403.
    sim.sim.add_token(NIP, "manage-only", &["CredentialsManage"]);
    let (manage_only, _) = sim.login(NIP, "manage-only").await;
    let denied = r
        .call(
            "POST",
            "/collective-identifiers",
            "/collective-identifiers",
            Some(&manage_only),
            Some(&body(&own[..1])),
            false,
        )
        .await;
    assert_eq!(denied["reasonCode"], "missing-permissions", "{denied}");
    sim.sim.add_token(NIP, "iz-only", &["CollectiveIdentifierManage"]);
    let (iz_only, _) = sim.login(NIP, "iz-only").await;
    let (status, _) = sim.post("/collective-identifiers", Some(&iz_only), &body(&own[..1])).await;
    assert_eq!(status, 201, "CollectiveIdentifierManage alone is enough");
    // An office's token that carries CollectiveIdentifierManage works in the seller's context once
    // the seller granted it there (test data), and no longer after the grant is revoked.
    let office = "1070002878";
    sim.sim.add_token(office, "office-iz", &["CollectiveIdentifierManage"]);
    let grant = json!({
        "contextIdentifier": {"type": "Nip", "value": NIP},
        "authorizedIdentifier": {"type": "Nip", "value": office},
        "permissions": [{"permissionType": "CollectiveIdentifierManage", "description": "IZ biura"}],
    });
    let (status, _) = sim.post("/testdata/permissions", None, &grant).await;
    assert_eq!(status, 200);
    let (office_access, _) = sim.login(NIP, "office-iz").await;
    // The same context's collectiveIdentifier budget: 10 a second, used up above.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, made) = sim.post("/collective-identifiers", Some(&office_access), &body(&own[2..3])).await;
    assert_eq!(status, 201, "{made}");
    sim.post("/testdata/permissions/revoke", None, &grant).await;
    let (reference, auth) = sim.init_auth(NIP, "office-iz").await;
    assert_eq!(sim.auth_status(&reference, &auth).await["status"]["code"], 415, "revoked: no login there");
    let limits = r.call("GET", "/rate-limits", "/rate-limits", a, None, false).await;
    assert_eq!(limits["collectiveIdentifier"]["perHour"], 120, "{limits}");

    // The 2.7.1 POST answers with the schema of the 2.7.0 GET it replaced.
    for seen in &mut r.seen {
        if seen.0 == "/collective-identifiers/invoices" {
            seen.0 = "/collective-identifiers/{collectiveIdentifierNumber}/invoices".to_owned();
            seen.1 = "get".to_owned();
        }
    }
    let statuses: Vec<u16> = r.seen.iter().map(|s| s.2).collect();
    for expected in [200, 201, 400, 403] {
        assert!(statuses.contains(&expected), "no {expected} answer was checked: {statuses:?}");
    }
    let errors: Vec<String> =
        r.seen.iter().flat_map(|(p, m, st, ct, body)| spec.check(p, m, *st, ct, body)).collect();
    assert!(errors.is_empty(), "{} answers checked, errors:\n{}", r.seen.len(), errors.join("\n"));
}
