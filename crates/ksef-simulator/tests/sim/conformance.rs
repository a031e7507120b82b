//! Every JSON answer of the simulator validated against the response schemas of the official
//! OpenAPI document (tests/fixtures/openapi.json, OpenAPI 3.0 translated to JSON Schema 2020-12).

use serde_json::{json, Map, Value};

use crate::client::{fixture, numbered_sample, sha, Sim, NIP, TOKEN};

/// OpenAPI 3.0 `nullable: true` → JSON Schema (`type: [t, "null"]`, or `anyOf` with null), and
/// the boolean `exclusiveMinimum` of 3.0 (2.7.0 uses it) → the number of 2020-12.
fn translate(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.values_mut().for_each(translate);
            if map.get("exclusiveMinimum") == Some(&Value::Bool(true)) {
                if let Some(min) = map.remove("minimum") {
                    map.insert("exclusiveMinimum".to_owned(), min);
                }
            }
            if map.remove("nullable") != Some(Value::Bool(true)) {
                return;
            }
            if let Some(Value::Array(e)) = map.get_mut("enum") {
                e.push(Value::Null);
            }
            match map.get("type").cloned() {
                Some(Value::String(t)) => {
                    map.insert("type".to_owned(), json!([t, "null"]));
                }
                _ => {
                    let inner = Value::Object(std::mem::take(map));
                    map.insert("anyOf".to_owned(), json!([{"type": "null"}, inner]));
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(translate),
        _ => {}
    }
}

pub struct Spec {
    paths: Value,
    components: Value,
}

impl Spec {
    fn load() -> Self {
        Self::load_from("openapi.json")
    }

    /// The official document `name` under tests/fixtures (`openapi-2.7.0.json` for 2.7 paths).
    pub fn load_from(name: &str) -> Self {
        let mut doc: Value = serde_json::from_slice(&fixture(name)).unwrap();
        let mut components = doc["components"].take();
        translate(&mut components);
        Self { paths: doc["paths"].take(), components }
    }

    /// Errors of `body` against the schema of (`path`, `method`, `status`, `content_type`).
    pub fn check(
        &self,
        path: &str,
        method: &str,
        status: u16,
        content_type: &str,
        body: &Value,
    ) -> Vec<String> {
        let response = &self.paths[path][method]["responses"][status.to_string()];
        let media = if content_type.starts_with("application/problem+json") {
            "application/problem+json"
        } else {
            "application/json"
        };
        let Some(schema) = response["content"][media].get("schema") else {
            return vec![format!("{method} {path} {status}: no {media} schema in the spec")];
        };
        let mut schema = schema.clone();
        translate(&mut schema);
        let mut root = Map::new();
        root.insert("$schema".to_owned(), json!("https://json-schema.org/draft/2020-12/schema"));
        root.insert("components".to_owned(), self.components.clone());
        root.insert("allOf".to_owned(), json!([schema]));
        let validator =
            jsonschema::options().should_validate_formats(true).build(&Value::Object(root)).unwrap();
        validator
            .iter_errors(body)
            .map(|e| format!("{method} {path} {status}: {e} at {}", e.instance_path()))
            .collect()
    }
}

/// Records answers to check against the spec.
pub struct Recorder<'a> {
    pub sim: &'a Sim,
    pub seen: Vec<(String, String, u16, String, Value)>,
}

impl Recorder<'_> {
    pub async fn call(
        &mut self,
        method: &str,
        template: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
        problem: bool,
    ) -> Value {
        let mut req = self.sim.http.request(method.parse().unwrap(), self.sim.url(path));
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        if problem {
            req = req.header("X-Error-Format", "problem-details");
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let ct =
            res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let value: Value = res.json().await.unwrap_or(Value::Null);
        if ct.contains("json") {
            self.seen.push((template.to_owned(), method.to_lowercase(), status, ct, value.clone()));
        }
        value
    }
}

#[tokio::test]
async fn every_json_answer_matches_the_official_schemas() {
    let spec = Spec::load();
    // Published rate limits (scale 1), so that 429 answers can be checked too.
    let sim = Sim::start(ksef_simulator::SimulatorConfig::default()).await;
    sim.sim.add_token(NIP, TOKEN, &["InvoiceWrite", "InvoiceRead", "CredentialsManage"]);
    let mut r = Recorder { sim: &sim, seen: Vec::new() };
    r.call(
        "GET",
        "/security/public-key-certificates",
        "/security/public-key-certificates",
        None,
        None,
        false,
    )
    .await;
    let (auth_ref, auth) = sim.init_auth(NIP, TOKEN).await;
    r.call("POST", "/auth/challenge", "/auth/challenge", None, None, false).await;
    r.call("GET", "/auth/{referenceNumber}", &format!("/auth/{auth_ref}"), Some(&auth), None, false).await;
    let tokens = r.call("POST", "/auth/token/redeem", "/auth/token/redeem", Some(&auth), None, false).await;
    r.call("POST", "/auth/token/redeem", "/auth/token/redeem", Some(&auth), None, false).await;
    r.call("POST", "/auth/token/redeem", "/auth/token/redeem", Some(&auth), None, true).await;
    let refresh = tokens["refreshToken"]["token"].as_str().unwrap().to_owned();
    r.call("POST", "/auth/token/refresh", "/auth/token/refresh", Some(&refresh), None, false).await;
    r.call("GET", "/auth/{referenceNumber}", &format!("/auth/{auth_ref}"), Some(&refresh), None, false).await;
    let access = tokens["accessToken"]["token"].as_str().unwrap().to_owned();
    let a = Some(access.as_str());
    // Online session with an accepted, a duplicate and an invalid invoice.
    let session = sim.open_online(&access).await;
    let s = &session.reference;
    let send_path = format!("/sessions/online/{s}/invoices");
    let send_tpl = "/sessions/online/{referenceNumber}/invoices";
    let xml = fixture("FA_3_Przyklad_1.xml");
    let sent = r.call("POST", send_tpl, &send_path, a, Some(&Sim::send_body(&session, &xml)), false).await;
    r.call("POST", send_tpl, &send_path, a, Some(&Sim::send_body(&session, &xml)), false).await;
    r.call("POST", send_tpl, &send_path, a, Some(&Sim::send_body(&session, b"<Faktura/>")), false).await;
    let mut bad = Sim::send_body(&session, &xml);
    bad["invoiceHash"] = json!(sha(b"x"));
    r.call("POST", send_tpl, &send_path, a, Some(&bad), false).await;
    r.call("POST", send_tpl, &send_path, a, Some(&bad), true).await;
    r.call("GET", "/sessions/{referenceNumber}", &format!("/sessions/{s}"), a, None, false).await;
    sim.close_online(&access, &session).await;
    let inv = sent["referenceNumber"].as_str().unwrap();
    sim.invoice_final(&access, s, inv).await;
    r.call("GET", "/sessions/{referenceNumber}", &format!("/sessions/{s}"), a, None, false).await;
    r.call("GET", "/sessions/{referenceNumber}/invoices", &format!("/sessions/{s}/invoices"), a, None, false)
        .await;
    r.call(
        "GET",
        "/sessions/{referenceNumber}/invoices/failed",
        &format!("/sessions/{s}/invoices/failed"),
        a,
        None,
        false,
    )
    .await;
    r.call(
        "GET",
        "/sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}",
        &format!("/sessions/{s}/invoices/{inv}"),
        a,
        None,
        false,
    )
    .await;
    r.call("GET", "/sessions", "/sessions?sessionType=Online", a, None, false).await;
    r.call("GET", "/sessions", "/sessions", a, None, true).await;
    r.call(
        "GET",
        "/sessions/{referenceNumber}/upo/{upoReferenceNumber}",
        &format!("/sessions/{s}/upo/20260101-EU-0000000000-0000000000-00"),
        a,
        None,
        false,
    )
    .await;
    // Batch.
    let (batch, _) = sim.batch_plan(&[("a.xml".to_owned(), numbered_sample(2, "C/1"))], 1).await;
    r.call("POST", "/sessions/batch", "/sessions/batch", a, Some(&batch), false).await;
    // Reading.
    let from = (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339();
    let q = json!({"subjectType": "Subject1", "dateRange": {"dateType": "Invoicing", "from": from}});
    r.call("POST", "/invoices/query/metadata", "/invoices/query/metadata", a, Some(&q), false).await;
    r.call(
        "GET",
        "/invoices/ksef/{ksefNumber}",
        "/invoices/ksef/9999999999-20260101-000000000000-00",
        a,
        None,
        false,
    )
    .await;
    // Exports: start, status until done (with its package), unknown reference, past retention.
    let export_body = sim.export_body(&json!({"subjectType": "Subject1",
        "dateRange": {"dateType": "PermanentStorage", "from": from, "restrictToPermanentStorageHwmDate": true}}))
    .await;
    let started =
        r.call("POST", "/invoices/exports", "/invoices/exports", a, Some(&export_body.0), false).await;
    let e = started["referenceNumber"].as_str().unwrap().to_owned();
    let status_tpl = "/invoices/exports/{referenceNumber}";
    let status_path = format!("/invoices/exports/{e}");
    while r.call("GET", status_tpl, &status_path, a, None, false).await["status"]["code"] == 100 {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    }
    assert!(
        r.seen.iter().any(|s| s.0 == status_tpl && s.4["package"]["parts"].is_array()),
        "no package checked"
    );
    r.call("GET", status_tpl, "/invoices/exports/20260101-EH-0000000000-0000000000-00", a, None, false).await;
    sim.sim.faults().set_export_retention(Some(std::time::Duration::ZERO));
    r.call("GET", status_tpl, &status_path, a, None, false).await;
    sim.sim.faults().set_export_retention(None);
    // Tokens, permissions, limits.
    let created = r
        .call(
            "POST",
            "/tokens",
            "/tokens",
            a,
            Some(&json!({"permissions": ["InvoiceRead"], "description": "conformance"})),
            false,
        )
        .await;
    r.call("GET", "/tokens", "/tokens", a, None, false).await;
    let t = created["referenceNumber"].as_str().unwrap();
    r.call("GET", "/tokens/{referenceNumber}", &format!("/tokens/{t}"), a, None, false).await;
    r.call(
        "POST",
        "/permissions/query/personal/grants",
        "/permissions/query/personal/grants",
        a,
        Some(&json!({})),
        false,
    )
    .await;
    r.call("GET", "/auth/sessions", "/auth/sessions", a, None, false).await;
    r.call("GET", "/rate-limits", "/rate-limits", a, None, false).await;
    r.call("GET", "/limits/context", "/limits/context", a, None, false).await;
    // 401 and 403.
    r.call("GET", "/sessions", "/sessions?sessionType=Online", None, None, false).await;
    sim.sim.add_token(NIP, "read-only", &["InvoiceRead"]);
    let (read_only, _) = sim.login(NIP, "read-only").await;
    r.call("POST", "/sessions/online", "/sessions/online", Some(&read_only), Some(&json!({})), false).await;
    // 429 in both formats.
    for i in 0..12 {
        r.call("GET", "/sessions", "/sessions?sessionType=Batch", Some(&read_only), None, i % 2 == 1).await;
    }
    assert!(r.seen.iter().any(|s| s.2 == 429 && s.3.contains("problem")), "no problem+json 429");
    assert!(r.seen.iter().any(|s| s.2 == 429 && !s.3.contains("problem")), "no plain 429");
    let statuses: Vec<u16> = r.seen.iter().map(|s| s.2).collect();
    for expected in [200, 201, 202, 400, 401, 403, 410, 429] {
        assert!(statuses.contains(&expected), "no {expected} answer was checked: {statuses:?}");
    }
    // The checker itself rejects a wrong shape (short challenge, missing fields, bad date-time).
    let wrong = json!({"challenge": "short", "timestamp": "yesterday", "timestampMs": 1});
    assert_eq!(spec.check("/auth/challenge", "post", 200, "application/json", &wrong).len(), 3);
    let errors: Vec<String> =
        r.seen.iter().flat_map(|(p, m, st, ct, body)| spec.check(p, m, *st, ct, body)).collect();
    assert!(errors.is_empty(), "{} answers checked, errors:\n{}", r.seen.len(), errors.join("\n"));
}
