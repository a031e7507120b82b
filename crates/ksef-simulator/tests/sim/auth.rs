//! Security material and KSeF-token authentication.

use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::client::{b64, sha, Sim, NIP, TOKEN};

#[tokio::test]
async fn certificates_have_official_ids() {
    let sim = Sim::with_token().await;
    let (status, certs) = sim.get("/security/public-key-certificates", "").await;
    assert_eq!(status, 200);
    let certs = certs.as_array().unwrap();
    assert_eq!(certs.len(), 2);
    for c in certs {
        let der =
            base64::engine::general_purpose::STANDARD.decode(c["certificate"].as_str().unwrap()).unwrap();
        assert_eq!(c["certificateId"], sha(&der));
        assert_eq!(c["publicKeyId"].as_str().unwrap().len(), 44);
    }
    let (_, key_id) = sim.public_key("SymmetricKeyEncryption").await;
    let (_, token_key_id) = sim.public_key("KsefTokenEncryption").await;
    assert_ne!(key_id, token_key_id);
}

#[tokio::test]
async fn challenge_has_official_shape() {
    let sim = Sim::with_token().await;
    let (status, ch) = sim.post("/auth/challenge", None, &json!(null)).await;
    assert_eq!(status, 200);
    let c = ch["challenge"].as_str().unwrap();
    assert_eq!(c.len(), 36);
    assert_eq!(&c[8..12], "-CR-");
    assert!(c[12..].chars().all(|ch| ch == '-' || ch.is_ascii_hexdigit() && !ch.is_ascii_lowercase()));
    let ts = chrono::DateTime::parse_from_rfc3339(ch["timestamp"].as_str().unwrap()).unwrap();
    assert_eq!(ts.timestamp_millis(), ch["timestampMs"].as_i64().unwrap());
    assert_eq!(ch["clientIp"], "127.0.0.1");
}

#[tokio::test]
async fn token_flow_redeem_once_refresh_and_token_types() {
    let sim = Sim::with_token().await;
    let (reference, auth) = sim.init_auth(NIP, TOKEN).await;
    let st = sim.auth_status(&reference, &auth).await;
    assert_eq!(st["status"]["code"], 200);
    assert_eq!(st["authenticationMethodInfo"]["category"], "Token");
    let (status, tokens) = sim.post("/auth/token/redeem", Some(&auth), &json!(null)).await;
    assert_eq!(status, 200, "{tokens}");
    let (status, again) = sim.post("/auth/token/redeem", Some(&auth), &json!(null)).await;
    assert_eq!(status, 400);
    assert_eq!(again["exception"]["exceptionDetailList"][0]["exceptionCode"], 21301);
    let refresh = tokens["refreshToken"]["token"].as_str().unwrap();
    let (status, refreshed) = sim.post("/auth/token/refresh", Some(refresh), &json!(null)).await;
    assert_eq!(status, 200, "{refreshed}");
    let access = refreshed["accessToken"]["token"].as_str().unwrap();
    // A refresh token is not an access token, and vice versa.
    let (status, problem) = sim.get("/sessions?sessionType=Online", refresh).await;
    assert_eq!(status, 401, "{problem}");
    assert_eq!(problem["status"], 401);
    let (status, _) = sim.post("/auth/token/refresh", Some(access), &json!(null)).await;
    assert_eq!(status, 401);
    let (status, _) = sim.get("/sessions?sessionType=Online", "").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn bad_tokens_fail_with_official_codes() {
    let sim = Sim::with_token().await;
    // Unknown token → 450.
    let (reference, auth) = sim.init_auth(NIP, "no-such-token").await;
    assert_eq!(sim.auth_status(&reference, &auth).await["status"]["code"], 450);
    // Token of another context → 415.
    let (reference, auth) = sim.init_auth("5265877635", TOKEN).await;
    assert_eq!(sim.auth_status(&reference, &auth).await["status"]["code"], 415);
    // Redeem after failure → 21301.
    let (status, body) = sim.post("/auth/token/redeem", Some(&auth), &json!(null)).await;
    assert_eq!(
        (status, body["exception"]["exceptionDetailList"][0]["exceptionCode"].clone()),
        (400, json!(21301))
    );
    // Unknown challenge → 21111; unknown key id → 21470.
    let body = json!({"challenge": "20250101-CR-0000000000-0000000000-00", "contextIdentifier": {"type": "Nip", "value": NIP},
        "encryptedToken": b64(b"x")});
    let (status, res) = sim.post("/auth/ksef-token", None, &body).await;
    assert_eq!(
        (status, res["exception"]["exceptionDetailList"][0]["exceptionCode"].clone()),
        (400, json!(21111))
    );
    let (_, ch) = sim.post("/auth/challenge", None, &json!(null)).await;
    let body = json!({"challenge": ch["challenge"], "contextIdentifier": {"type": "Nip", "value": NIP},
        "encryptedToken": b64(b"x"), "publicKeyId": b64(&Sha256::digest(b"other"))});
    let (status, res) = sim.post("/auth/ksef-token", None, &body).await;
    assert_eq!(
        (status, res["exception"]["exceptionDetailList"][0]["exceptionCode"].clone()),
        (400, json!(21470))
    );
    // Garbage ciphertext under a valid challenge → 202, then 450; never a crash.
    let (_, ch) = sim.post("/auth/challenge", None, &json!(null)).await;
    let body = json!({"challenge": ch["challenge"], "contextIdentifier": {"type": "Nip", "value": NIP}, "encryptedToken": b64(&[7u8; 256])});
    let (status, res) = sim.post("/auth/ksef-token", None, &body).await;
    assert_eq!(status, 202, "{res}");
    let st = sim
        .auth_status(
            res["referenceNumber"].as_str().unwrap(),
            res["authenticationToken"]["token"].as_str().unwrap(),
        )
        .await;
    assert_eq!(st["status"]["code"], 450);
}

#[tokio::test]
async fn auth_sessions_list_and_revoke() {
    let sim = Sim::with_token().await;
    let (access, refresh) = sim.login(NIP, TOKEN).await;
    let (status, list) = sim.get("/auth/sessions", &access).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["isCurrent"], true);
    let res = sim.http.delete(sim.url("/auth/sessions/current")).bearer_auth(&refresh).send().await.unwrap();
    assert_eq!(res.status(), 204);
    let (status, res) = sim.post("/auth/token/refresh", Some(&refresh), &json!(null)).await;
    assert_eq!(
        (status, res["exception"]["exceptionDetailList"][0]["exceptionCode"].clone()),
        (400, json!(21301))
    );
    let (_, list) = sim.get("/auth/sessions", &access).await;
    assert_eq!(list["items"][0]["status"]["code"], 425);
}
