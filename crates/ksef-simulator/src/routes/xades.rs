//! `POST /auth/xades-signature`: authentication with a signed `AuthTokenRequest` (XAdES-BES,
//! enveloped, exclusive C14N). As on TE, self-signed certificates are accepted.

use actix_web::{web, HttpResponse};
use chrono::Utc;

use crate::app::AppState;
use crate::errors::{ApiError, ApiResult};
use crate::routes::auth::{start_operation, take_challenge, valid_nip, AuthMethod, Verdict};
use crate::state::{SignerRec, Subject};
use crate::xades::tree::{parse, Element, TreeError};
use crate::xades::verify::{verify, Signer};

const NAMESPACES: [&str; 2] =
    ["http://ksef.mf.gov.pl/auth/token/2.0", "http://ksef.mf.gov.pl/auth/token/2.1"];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/xades-signature", web::post().to(xades));
}

/// The fields of `AuthTokenRequest` the simulator uses.
struct Request {
    challenge: String,
    context_kind: String,
    context_value: String,
    by_fingerprint: bool,
}

fn xsd_error(detail: &str) -> ApiError {
    ApiError::exception_with(21401, "Dokument nie jest zgodny ze schemą (xsd).", vec![detail.to_owned()])
}

fn read_request(root: &Element) -> ApiResult<Request> {
    let ns = root.ns_decls.iter().find(|(p, _)| p.is_empty()).map(|(_, u)| u.as_str());
    if root.local() != "AuthTokenRequest" || !ns.is_some_and(|ns| NAMESPACES.contains(&ns)) {
        return Err(xsd_error("Oczekiwano AuthTokenRequest w przestrzeni nazw auth/token/2.0 lub 2.1."));
    }
    let text = |name: &str| {
        root.child(name)
            .map(|c| c.text().trim().to_owned())
            .ok_or_else(|| xsd_error(&format!("Brak elementu {name}.")))
    };
    let context = root
        .child("ContextIdentifier")
        .and_then(|c| c.elements().next())
        .ok_or_else(|| xsd_error("Brak ContextIdentifier."))?;
    let by_fingerprint = match text("SubjectIdentifierType")?.as_str() {
        "certificateSubject" => false,
        "certificateFingerprint" => true,
        other => return Err(xsd_error(&format!("Nieprawidłowy SubjectIdentifierType: {other}"))),
    };
    Ok(Request {
        challenge: text("Challenge")?,
        context_kind: context.local().to_owned(),
        context_value: context.text().trim().to_owned(),
        by_fingerprint,
    })
}

/// The signer's identifier: NIP (seal `VATPL-`, person `TINPL-`), PESEL (`PNOPL-`) or the fingerprint.
fn subject(signer: &Signer, by_fingerprint: bool) -> ApiResult<(Subject, AuthMethod)> {
    let seal = signer.subject_attr("2.5.4.97");
    let method = if seal.is_some() { AuthMethod::QualifiedSeal } else { AuthMethod::QualifiedSignature };
    if by_fingerprint {
        return Ok((Subject::Fingerprint(signer.fingerprint()), method));
    }
    let id = seal
        .as_deref()
        .and_then(|v| v.strip_prefix("VATPL-"))
        .map(|nip| Subject::Nip(nip.to_owned()))
        .or_else(|| {
            let serial = signer.subject_attr("2.5.4.5")?;
            serial
                .strip_prefix("TINPL-")
                .map(|nip| Subject::Nip(nip.to_owned()))
                .or_else(|| serial.strip_prefix("PNOPL-").map(|p| Subject::Pesel(p.to_owned())))
        })
        .ok_or_else(|| {
            ApiError::exception(21117, "Nieprawidłowy identyfikator podmiotu dla wskazanego typu kontekstu.")
        })?;
    Ok((id, method))
}

async fn xades(state: web::Data<AppState>, body: web::Bytes) -> ApiResult<HttpResponse> {
    let root = parse(&body).map_err(|e| match e {
        TreeError::Encoding => ApiError::exception(21217, "Nieprawidłowe kodowanie znaków."),
        TreeError::Syntax(d) => ApiError::exception_with(21001, "Nieczytelna treść.", vec![d]),
    })?;
    let request = read_request(&root)?;
    if request.context_kind != "Nip" || !valid_nip(&request.context_value) {
        return Err(ApiError::validation("Symulator obsługuje kontekst typu Nip z poprawnym NIP."));
    }
    // Signature verification is CPU work: done before taking the state lock.
    let signer = verify(&root).map_err(|d| {
        let code = if d.contains("certyfikat") { 21115 } else { 21001 };
        ApiError::exception_with(code, "Nieprawidłowy podpis lub certyfikat.", vec![d])
    })?;
    let (subject_id, method) = subject(&signer, request.by_fingerprint)?;
    let nip = request.context_value;
    let now = Utc::now();
    let mut db = state.db.lock();
    take_challenge(&mut db, &request.challenge)?;
    // A certificate the simulator CA issued: its KSeF status decides as well.
    let serial = signer.serial_hex();
    let issued = db.certificates.get_mut(&serial).filter(|c| c.der == signer.cert_der);
    let method = if issued.is_some() { AuthMethod::InternalCertificate } else { method };
    let refusal = issued.and_then(|c| {
        c.last_use = Some(now);
        c.login_refusal(now)
    });
    let cert_failure = |detail: &str| {
        Verdict::fail(460, "Uwierzytelnianie zakończone niepowodzeniem z powodu błędu certyfikatu", detail)
    };
    let verdict = if !signer.valid_at(now) {
        cert_failure("Nieważny certyfikat")
    } else if let Some(detail) = refusal {
        cert_failure(detail)
    } else if db.blocked_contexts.contains(&nip) {
        Verdict::fail(
            480,
            "Uwierzytelnienie zablokowane",
            "Kontekst zablokowany z powodu incydentu bezpieczeństwa.",
        )
    } else {
        let permissions = db.signer_permissions(&nip, &subject_id);
        if permissions.is_empty() {
            Verdict::no_permissions()
        } else {
            Verdict::success(None, permissions)
        }
    };
    let signer = SignerRec { subject: subject_id, dn: crate::certificates::enrollment_dn(&signer) };
    let verdict = Verdict { signer: Some(signer), ..verdict };
    Ok(start_operation(&state, &mut db, nip, method, verdict))
}
