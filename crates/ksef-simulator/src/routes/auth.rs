//! KSeF-token authentication: challenge, `ksef-token`, status, redeem, refresh.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Duration, Utc};
use serde::Deserialize;
use serde_json::json;

use crate::app::{client_ip, AppState};
use crate::crypto::{b64_decode, rsa_oaep_decrypt};
use crate::errors::{ApiError, ApiResult};
use crate::ids::reference_number;
use crate::jwt::{Claims, TokenKind, ACCESS_TOKEN_TTL, AUTH_TOKEN_TTL, REFRESH_TOKEN_TTL};
use crate::state::{AuthOp, ChallengeRec, Db, SignerRec};
use crate::time;

/// How long a challenge may be used.
const CHALLENGE_TTL: Duration = Duration::minutes(10);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/challenge", web::post().to(challenge))
        .route("/auth/ksef-token", web::post().to(ksef_token))
        .route("/auth/token/redeem", web::post().to(redeem))
        .route("/auth/token/refresh", web::post().to(refresh))
        .route("/auth/{reference}", web::get().to(status));
}

async fn challenge(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let now = time::now_ms();
    let challenge = reference_number("CR", now);
    let mut db = state.db.lock();
    // Forget expired challenges now and then, so long benchmarks do not grow memory.
    if db.challenges.len() > 10_000 {
        db.challenges.retain(|_, c| now < c.created + CHALLENGE_TTL);
    }
    db.challenges.insert(
        challenge.clone(),
        ChallengeRec { timestamp_ms: now.timestamp_millis(), created: now, used: false },
    );
    drop(db);
    HttpResponse::Ok().json(json!({
        "challenge": challenge,
        "timestamp": time::fmt(now),
        "timestampMs": now.timestamp_millis(),
        "clientIp": client_ip(&req),
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextIdentifier {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KsefTokenRequest {
    challenge: String,
    context_identifier: ContextIdentifier,
    encrypted_token: String,
    public_key_id: Option<String>,
}

/// Whether `nip` matches the official NIP pattern and checksum.
pub fn valid_nip(nip: &str) -> bool {
    const WEIGHTS: [u32; 9] = [6, 5, 7, 2, 3, 4, 5, 6, 7];
    let digits: Vec<u32> = nip.chars().filter_map(|c| c.to_digit(10)).collect();
    digits.len() == 10
        && nip.len() == 10
        && digits[0] != 0
        && digits.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum::<u32>() % 11 == digits[9]
}

async fn ksef_token(
    state: web::Data<AppState>,
    body: web::Json<KsefTokenRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let now = Utc::now();
    if body.context_identifier.kind != "Nip" {
        return Err(ApiError::validation("Symulator obsługuje kontekst typu Nip."));
    }
    let nip = body.context_identifier.value;
    if !valid_nip(&nip) {
        return Err(ApiError::validation(format!("Nieprawidłowy NIP kontekstu: {nip}")));
    }
    if body.public_key_id.as_ref().is_some_and(|id| *id != state.keys.token.cert.public_key_id) {
        return Err(ApiError::exception(21470, "Nieznany lub wycofany identyfikator klucza publicznego."));
    }
    let encrypted = b64_decode(&body.encrypted_token)
        .ok_or_else(|| ApiError::validation("encryptedToken nie jest poprawnym Base64."))?;
    let mut db = state.db.lock();
    let challenge_ts = take_challenge(&mut db, &body.challenge)?;
    let plain = rsa_oaep_decrypt(&state.keys.token.key, &encrypted).and_then(|p| String::from_utf8(p).ok());
    let verdict = judge(&db, plain.as_deref(), challenge_ts, &nip);
    if let Some(r) = &verdict.token_ref {
        if let Some(t) = db.tokens.values_mut().find(|t| &t.reference == r) {
            t.last_use = Some(now);
        }
    }
    Ok(start_operation(&state, &mut db, nip, AuthMethod::Token, verdict))
}

/// Marks a challenge used and returns its `timestampMs`; 21111 when unknown, used or expired.
pub fn take_challenge(db: &mut Db, challenge: &str) -> ApiResult<i64> {
    match db.challenges.get_mut(challenge) {
        Some(c) if !c.used && Utc::now() < c.created + CHALLENGE_TTL => {
            c.used = true;
            Ok(c.timestamp_ms)
        }
        _ => Err(ApiError::exception(21111, "Nieprawidłowe wyzwanie autoryzacyjne.")),
    }
}

/// How the subject authenticated (shown by the auth status).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    Token,
    QualifiedSeal,
    QualifiedSignature,
    /// A KSeF certificate issued through enrollment.
    InternalCertificate,
}

impl AuthMethod {
    /// `authenticationMethod` (deprecated field, still required).
    pub fn name(self) -> &'static str {
        match self {
            Self::Token => "Token",
            Self::QualifiedSeal => "QualifiedSeal",
            Self::QualifiedSignature => "QualifiedSignature",
            Self::InternalCertificate => "InternalCertificate",
        }
    }

    fn info(self) -> serde_json::Value {
        match self {
            Self::Token => json!({"category": "Token", "code": "token.ksef", "displayName": "Token KSeF"}),
            Self::QualifiedSeal => {
                json!({"category": "XadesSignature", "code": "seal.qualified", "displayName": "Pieczęć kwalifikowana"})
            }
            Self::QualifiedSignature => {
                json!({"category": "XadesSignature", "code": "signature.qualified", "displayName": "Podpis kwalifikowany"})
            }
            Self::InternalCertificate => {
                json!({"category": "XadesSignature", "code": "certificate.ksef", "displayName": "Certyfikat KSeF"})
            }
        }
    }
}

/// The decided outcome of an authentication.
pub struct Verdict {
    pub code: u16,
    pub description: &'static str,
    pub details: Vec<String>,
    /// The KSeF token used (token authentication).
    pub token_ref: Option<String>,
    /// The signer of a XAdES authentication.
    pub signer: Option<SignerRec>,
    pub permissions: Vec<String>,
}

impl Verdict {
    /// A failed authentication with one detail.
    pub fn fail(code: u16, description: &'static str, detail: &str) -> Self {
        Self {
            code,
            description,
            details: vec![detail.to_owned()],
            token_ref: None,
            signer: None,
            permissions: Vec::new(),
        }
    }

    /// 415: the subject holds no permission in the context.
    pub fn no_permissions() -> Self {
        Self::fail(
            415,
            "Uwierzytelnianie zakończone niepowodzeniem z powodu braku nadanych uprawnień",
            "Brak uprawnień w kontekście.",
        )
    }

    /// A successful authentication with `permissions`.
    pub fn success(token_ref: Option<String>, permissions: Vec<String>) -> Self {
        Self {
            code: 200,
            description: "Uwierzytelnianie zakończone sukcesem",
            details: Vec::new(),
            token_ref,
            signer: None,
            permissions,
        }
    }
}

/// Registers an authentication operation (its outcome shows after the processing delay) and
/// answers 202 with the operation token.
pub fn start_operation(
    state: &AppState,
    db: &mut Db,
    nip: String,
    method: AuthMethod,
    verdict: Verdict,
) -> HttpResponse {
    let now = Utc::now();
    let reference = reference_number("AU", now);
    let claims = Claims {
        kind: TokenKind::OperationToken,
        context_type: "Nip".to_owned(),
        context_value: nip.clone(),
        method: method.name().to_owned(),
        auth_ref: reference.clone(),
        token_ref: verdict.token_ref.clone().unwrap_or_default(),
        permissions: verdict.permissions.clone(),
        iss: String::new(),
        aud: String::new(),
        iat: 0,
        exp: 0,
        jti: String::new(),
        serial: 0,
    };
    let (token, valid_until) = state.jwt.issue(claims, TokenKind::OperationToken, AUTH_TOKEN_TTL);
    let op = AuthOp {
        start: now,
        ready_at: now + state.delay(),
        nip,
        method,
        token_ref: verdict.token_ref,
        signer: verdict.signer,
        permissions: verdict.permissions,
        code: verdict.code,
        description: verdict.description,
        details: verdict.details,
        redeemed: false,
        revoked: false,
        last_refresh: None,
        refresh_valid_until: None,
    };
    db.auth_ops.insert(reference.clone(), op);
    HttpResponse::Accepted().json(json!({
        "referenceNumber": reference,
        "authenticationToken": {"token": token, "validUntil": time::fmt(valid_until)},
    }))
}

/// Decides the outcome of a token authentication (shown by `GET /auth/{ref}`).
fn judge(db: &Db, plain: Option<&str>, challenge_ts: i64, nip: &str) -> Verdict {
    let fail = Verdict::fail;
    let Some((token, ts)) = plain.and_then(|p| p.rsplit_once('|')) else {
        return fail(
            450,
            "Uwierzytelnianie zakończone niepowodzeniem z powodu błędnego tokenu",
            "Nieprawidłowy token.",
        );
    };
    if ts.parse::<i64>().ok() != Some(challenge_ts) {
        return fail(
            450,
            "Uwierzytelnianie zakończone niepowodzeniem z powodu błędnego tokenu",
            "Nieprawidłowy czas tokena.",
        );
    }
    let Some(rec) = db.tokens.get(token) else {
        return fail(
            450,
            "Uwierzytelnianie zakończone niepowodzeniem z powodu błędnego tokenu",
            "Nieprawidłowy token.",
        );
    };
    if rec.status != "Active" {
        return fail(
            450,
            "Uwierzytelnianie zakończone niepowodzeniem z powodu błędnego tokenu",
            "Token unieważniony.",
        );
    }
    if db.blocked_contexts.contains(nip) {
        return fail(
            480,
            "Uwierzytelnienie zablokowane",
            "Kontekst zablokowany z powodu incydentu bezpieczeństwa.",
        );
    }
    let permissions = db.permissions_in(nip, &rec.nip, &rec.permissions);
    if permissions.is_empty() {
        return Verdict::no_permissions();
    }
    Verdict::success(Some(rec.reference.clone()), permissions)
}

pub fn op_not_found() -> ApiError {
    ApiError::exception(21304, "Brak uwierzytelnienia o podanym numerze referencyjnym.")
}

async fn status(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let claims = state.bearer_claims(&req, TokenKind::OperationToken)?;
    let reference = path.into_inner();
    if claims.auth_ref != reference {
        return Err(op_not_found());
    }
    let db = state.db.lock();
    let op = db.auth_ops.get(&reference).ok_or_else(op_not_found)?;
    Ok(HttpResponse::Ok().json(op_json(op, Utc::now())))
}

/// `AuthenticationOperationStatusResponse` of an operation at `now`.
pub fn op_json(op: &AuthOp, now: chrono::DateTime<Utc>) -> serde_json::Value {
    let status = if op.revoked {
        json!({"code": 425, "description": "Uwierzytelnienie unieważnione",
            "details": ["Uwierzytelnienie i powiązane refresh tokeny zostały unieważnione przez użytkownika"]})
    } else if now < op.ready_at {
        json!({"code": 100, "description": "Uwierzytelnianie w toku"})
    } else if op.details.is_empty() {
        json!({"code": op.code, "description": op.description})
    } else {
        json!({"code": op.code, "description": op.description, "details": op.details})
    };
    json!({
        "startDate": time::fmt(op.start),
        "authenticationMethod": op.method.name(),
        "authenticationMethodInfo": op.method.info(),
        "status": status,
        "isTokenRedeemed": op.redeemed,
        "lastTokenRefreshDate": op.last_refresh.map(time::fmt),
        "refreshTokenValidUntil": op.refresh_valid_until.map(time::fmt),
    })
}

fn not_authorised(detail: &str) -> ApiError {
    ApiError::exception_with(21301, "Brak autoryzacji.", vec![detail.to_owned()])
}

/// The current permissions behind an auth operation: the KSeF token's (21301 if it was revoked) or
/// the signer's grants in the context (21301 once the context withdrew them all).
fn live_permissions(db: &Db, op: &AuthOp) -> ApiResult<Vec<String>> {
    if let Some(signer) = &op.signer {
        let permissions = db.signer_permissions(&op.nip, &signer.subject);
        if permissions.is_empty() {
            return Err(not_authorised("Kontekst wycofał uprawnienia podmiotu."));
        }
        return Ok(permissions);
    }
    let Some(token_ref) = op.token_ref.as_deref() else {
        return Ok(op.permissions.clone());
    };
    match db.token_by_ref(token_ref) {
        Some((_, t)) if t.status == "Active" => Ok(db.permissions_in(&op.nip, &t.nip, &t.permissions)),
        _ => Err(not_authorised("Token KSeF został unieważniony.")),
    }
}

async fn redeem(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let claims = state.bearer_claims(&req, TokenKind::OperationToken)?;
    let now = Utc::now();
    let mut db = state.db.lock();
    let op = db.auth_ops.get(&claims.auth_ref).ok_or_else(op_not_found)?;
    if op.redeemed {
        return Err(not_authorised("Tokeny zostały już pobrane."));
    }
    if now < op.ready_at || op.code != 200 {
        return Err(not_authorised("Status uwierzytelniania nie pozwala na pobranie tokenów."));
    }
    let permissions = live_permissions(&db, op)?;
    let auth_ref = claims.auth_ref.clone();
    let claims = Claims { permissions, ..claims };
    let (access, access_until) = state.jwt.issue(claims.clone(), TokenKind::ContextToken, ACCESS_TOKEN_TTL);
    let (refresh, refresh_until) = state.jwt.issue(claims, TokenKind::RefreshToken, REFRESH_TOKEN_TTL);
    if let Some(op) = db.auth_ops.get_mut(&auth_ref) {
        op.redeemed = true;
        op.refresh_valid_until = Some(refresh_until);
        state.counters.authenticated(&op.nip);
    }
    Ok(HttpResponse::Ok().json(json!({
        "accessToken": {"token": access, "validUntil": time::fmt(access_until)},
        "refreshToken": {"token": refresh, "validUntil": time::fmt(refresh_until)},
    })))
}

async fn refresh(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let claims = state.bearer_claims(&req, TokenKind::RefreshToken)?;
    let mut db = state.db.lock();
    let op = db.auth_ops.get(&claims.auth_ref).ok_or_else(op_not_found)?;
    if op.revoked {
        return Err(not_authorised("Sesja uwierzytelnienia została unieważniona."));
    }
    let permissions = live_permissions(&db, op)?;
    let (access, until) =
        state.jwt.issue(Claims { permissions, ..claims.clone() }, TokenKind::ContextToken, ACCESS_TOKEN_TTL);
    if let Some(op) = db.auth_ops.get_mut(&claims.auth_ref) {
        op.last_refresh = Some(Utc::now());
        state.counters.refreshed(&op.nip);
    }
    Ok(HttpResponse::Ok().json(json!({"accessToken": {"token": access, "validUntil": time::fmt(until)}})))
}
