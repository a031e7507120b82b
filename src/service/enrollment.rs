//! KSeF certificates enrolled by the gateway, for the office or for one client: a fresh key
//! (EC P-256, or RSA 2048), sealed in the vault the moment it exists; a CSR with exactly the DN
//! KSeF gives; enroll, poll, retrieve, check the certificate against the key, and store it the
//! way a person would (the login credential is replaced only after KSeF accepted a login with the
//! new certificate). KSeF's per-subject limits are read first and a full quota is refused. Also
//! the list (KSeF's, marking the certificate the gateway uses), revocation and renewal.
//!
//! KSeF enrolls only after a login with a certificate (XAdES; a KSeF token gets 25001), so the
//! subject must log in with one already: on TEST a self-signed certificate does for the first.
//! An enrollment the process did not finish stays `pending` with its sealed key and KSeF's
//! reference, and the next enrollment of that subject finishes it instead of starting another.

use chrono::NaiveDateTime;
use ksef_client::csr::CertificateKey;
use ksef_client::models::certificates::{CertificateLimits, CertificateQuery, EnrollCertificateRequest};
use ksef_client::{ErrorClass, KsefError};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::auth::Permission;
use crate::db::models::{
    ids, CertificateEnrollment, Client, Credential, NewCertificateEnrollment, OfficeCredential,
};
use crate::db::DbError;
use crate::domain::{
    CertificatePurpose, ClientId, EnrollmentId, EnrollmentState, KeyChoice, KsefTarget, Nip,
    OfficeCredentialKind, RevokeReason,
};
use crate::error::{AppError, Refusal};
use crate::service::access::{self, Caller};
use crate::service::certificates::{KSEF_CERTIFICATE, KSEF_OFFLINE_CERTIFICATE};
use crate::service::{audit, credentials, office};
use crate::state::AppState;
use crate::vault;

/// The vault kind a new certificate's private key is sealed under until it is stored.
pub const KEY_KIND: &str = "ksef_enrollment_key";

/// Whose certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// The office's own (it logs into every client that granted the office).
    Office,
    /// One client's (by its id): its own login certificate or its Offline one.
    Client(ClientId),
}

impl Subject {
    fn client_id(&self) -> Option<&ClientId> {
        match self {
            Self::Office => None,
            Self::Client(id) => Some(id),
        }
    }
}

/// KSeF's limits of the subject: what is left of its active certificates and enrollments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LimitsView {
    pub can_request: bool,
    pub active_limit: u32,
    pub active_remaining: u32,
    pub enrollments_limit: u32,
    pub enrollments_remaining: u32,
}

impl From<CertificateLimits> for LimitsView {
    fn from(l: CertificateLimits) -> Self {
        Self {
            can_request: l.can_request,
            active_limit: l.certificate.limit,
            active_remaining: l.certificate.remaining,
            enrollments_limit: l.enrollment.limit,
            enrollments_remaining: l.enrollment.remaining,
        }
    }
}

impl LimitsView {
    /// Whether KSeF would take one more enrollment.
    pub fn allows(&self) -> bool {
        self.can_request && self.active_remaining > 0 && self.enrollments_remaining > 0
    }

    /// In English, as the CLI prints it.
    pub fn describe(&self) -> String {
        format!(
            "KSeF limits: active certificates {} of {} left, enrollments {} of {} left",
            self.active_remaining, self.active_limit, self.enrollments_remaining, self.enrollments_limit
        )
    }
}

/// A XAdES login of the subject, to ask KSeF about its certificates.
struct Session {
    nip: Nip,
    environment: String,
    ksef: ksef_client::KsefClient,
    access: SecretString,
    /// The serial numbers of the certificates the gateway uses for the subject now, and for what.
    in_use: Vec<(String, CertificatePurpose)>,
}

impl Session {
    fn use_of(&self, serial: &str) -> Option<CertificatePurpose> {
        self.in_use.iter().find(|(s, _)| same_serial(s, serial)).map(|(_, p)| *p)
    }
}

/// Serial numbers compared as KSeF and X.509 write them (case, leading zeros).
fn same_serial(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.trim().trim_start_matches('0').to_ascii_uppercase();
    norm(a) == norm(b)
}

fn serial_of(der: &[u8]) -> Result<String, AppError> {
    Ok(ksef_client::crypto::parse_certificate(der).map_err(|e| AppError::Internal(e.into()))?.serial_hex)
}

/// KSeF enrolls and revokes only after a login with a certificate.
fn certificate_login_needed(who: &str) -> AppError {
    AppError::Refused {
        refusal: Refusal::CertificateLoginNeeded,
        message: format!(
            "KSeF issues and revokes certificates only after a login with a certificate (XAdES), and {who} has none stored: store one first (on KSeF TEST a self-signed certificate is accepted)"
        ),
    }
}

/// KSeF's refusal of a certificate operation: transient failures are 503, the rest 422 with
/// `refusal` and KSeF's own words.
fn ksef_failed(refusal: Refusal, what: &str, e: &KsefError) -> AppError {
    if e.class() == ErrorClass::Transient {
        return AppError::Unavailable(format!("KSeF did not answer {what}: {e}"));
    }
    let said = crate::service::clients::KSEF_SAID;
    AppError::refused(refusal, format!("KSeF refused {what}. {said}{e}"))
}

/// One KSeF call, repeated after KSeF's `Retry-After` when it answers 429 (at most 3 times, a
/// wait of at most 10 s each): a person enrolling should not see a refusal for a busy second.
async fn patiently<T, F, Fut>(mut call: F) -> Result<T, KsefError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, KsefError>>,
{
    let mut tries = 0;
    loop {
        match call().await {
            Err(e) if tries < 3 => match e.class() {
                ErrorClass::RateLimited { retry_after } => {
                    tries += 1;
                    tokio::time::sleep(retry_after.min(std::time::Duration::from_secs(10))).await;
                }
                _ => return Err(e),
            },
            other => return other,
        }
    }
}

/// Refuses what no login could make right: the office's certificate is for logging in only.
pub fn check_request(subject: &Subject, purpose: CertificatePurpose) -> Result<(), AppError> {
    if *subject == Subject::Office && purpose == CertificatePurpose::Offline {
        return Err(AppError::invalid_field(
            "type",
            "office_offline",
            "the office's certificate is for logging in; an Offline certificate (KOD II) is enrolled for a client",
        ));
    }
    Ok(())
}

async fn session(st: &AppState, caller: &Caller, subject: &Subject) -> Result<Session, AppError> {
    let (nip, environment, login, mut in_use) = match subject {
        Subject::Office => {
            access::require_office_admin(caller)?;
            let Some((cred, login)) = office::open_active(st).await? else {
                return Err(certificate_login_needed("the office"));
            };
            if cred.kind != OfficeCredentialKind::Certificate {
                return Err(certificate_login_needed("the office (it logs in with a KSeF token)"));
            }
            (cred.office_nip, cred.ksef_environment, login, Vec::new())
        }
        Subject::Client(id) => {
            let (caller, id) = (caller.clone(), id.clone());
            let (client, offline) = st
                .db
                .tx(move |conn| {
                    access::require(conn, &caller, &id, Permission::Credentials)?;
                    let offline = Credential::find_active(conn, &id, KSEF_OFFLINE_CERTIFICATE)?;
                    Ok::<_, AppError>((Client::get(conn, &id)?, offline))
                })
                .await?;
            let who = format!("the client (NIP {})", client.nip);
            let Some((_, login)) = credentials::open_credential(st, &client).await? else {
                return Err(certificate_login_needed(&who));
            };
            if !matches!(login, ksef_client::Credential::Certificate { .. }) {
                return Err(certificate_login_needed(&format!("{who}, which logs in with a KSeF token,")));
            }
            let mut in_use = Vec::new();
            if let Some(cred) = offline {
                let opened = credentials::open_sealed(st, &client, &cred)?;
                let (serial, _) = crate::service::certificates::to_offline_signer(&opened)?;
                in_use.push((serial, CertificatePurpose::Offline));
            }
            (client.nip, client.ksef_environment, login, in_use)
        }
    };
    if let ksef_client::Credential::Certificate { der, .. } = &login {
        in_use.push((serial_of(der)?, CertificatePurpose::Authentication));
    }
    let ksef = crate::ksef::client_for(&environment, st.ksef_limits.clone())
        .map_err(|e| AppError::invalid_field("ksef", "not_ksef", e.to_string()))?;
    let context = ksef_client::ContextIdentifier::nip(nip.as_str());
    let login = ksef_client::TokenManager::with_credential(ksef.clone(), context, login);
    let access = patiently(|| login.access_token())
        .await
        .map_err(|e| ksef_failed(Refusal::CredentialRefused, "the login with the stored certificate", &e))?;
    Ok(Session { nip, environment, ksef, access, in_use })
}

/// KSeF's limits for the subject's certificates (shown before enrolling).
pub async fn limits(st: &AppState, caller: &Caller, subject: &Subject) -> Result<LimitsView, AppError> {
    let s = session(st, caller, subject).await?;
    read_limits(&s).await
}

async fn read_limits(s: &Session) -> Result<LimitsView, AppError> {
    let limits = patiently(|| s.ksef.certificate_limits(&s.access))
        .await
        .map_err(|e| ksef_failed(Refusal::CertificateLimitsRefused, "the certificate limits", &e))?;
    Ok(limits.into())
}

/// What an enrollment (or renewal) did.
#[derive(Debug, Clone, Serialize)]
pub struct Enrolled {
    pub serial_number: String,
    pub certificate_type: CertificatePurpose,
    pub key_algorithm: KeyChoice,
    pub reference_number: String,
    #[serde(serialize_with = "crate::local_time::rfc3339_opt")]
    pub valid_until: Option<NaiveDateTime>,
    /// KSeF's limits as read before enrolling (None when a pending enrollment was finished).
    pub limits_before: Option<LimitsView>,
    /// A pending enrollment of an earlier run was finished instead of starting a new one.
    pub resumed: bool,
    /// The certificate the new one replaces in the gateway (renewal); it stays valid in KSeF
    /// until revoked or expired.
    pub replaces: Option<String>,
}

/// What an enrollment does to the certificates the gateway holds for the subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enrollment {
    /// A certificate besides those held (the first one, or one of another type).
    New,
    /// A new certificate of the same type as the one the gateway uses for the subject, which
    /// it switches to. The previous one stays valid in KSeF (revoke it as `superseded` when done).
    Renewal,
}

impl Enrollment {
    /// A renewal when `renew` (the API's and the command line's flag), else a new one.
    pub fn renewal_if(renew: bool) -> Self {
        if renew {
            Self::Renewal
        } else {
            Self::New
        }
    }
}

/// Enrolls a certificate for the subject and stores it: Authentication becomes the login
/// credential, Offline the client's certificate for KOD II. Office admins for the office, the
/// `credentials` permission for a client. Audited (`certificate.enrolled`).
pub async fn enroll(
    st: &AppState,
    caller: &Caller,
    subject: &Subject,
    purpose: CertificatePurpose,
    key: KeyChoice,
    kind: Enrollment,
) -> Result<Enrolled, AppError> {
    if kind == Enrollment::New {
        check_request(subject, purpose)?;
    }
    let s = session(st, caller, subject).await?;
    let replaces = match kind {
        Enrollment::New => None,
        Enrollment::Renewal => {
            let Some((old, _)) = s.in_use.iter().find(|(_, p)| *p == purpose).cloned() else {
                return Err(AppError::invalid_field(
                    "type",
                    "nothing_to_renew",
                    format!(
                        "the gateway holds no {purpose} certificate for this subject to renew; enroll one instead"
                    ),
                ));
            };
            Some(old)
        }
    };
    enroll_in(st, caller, subject, &s, purpose, key, replaces).await
}

async fn enroll_in(
    st: &AppState,
    caller: &Caller,
    subject: &Subject,
    s: &Session,
    purpose: CertificatePurpose,
    key_choice: KeyChoice,
    replaces: Option<String>,
) -> Result<Enrolled, AppError> {
    if let Some(pending) = take_pending(st, subject, (&s.nip, &s.environment), purpose).await? {
        let key = open_key(st, &pending)?;
        let reference = pending.reference_number.clone().unwrap_or_default();
        let done = Pending { id: pending.id, reference, purpose, key_choice: pending.key_algorithm, key };
        return complete(st, caller, subject, s, done, None, true, replaces).await;
    }
    let limits = read_limits(s).await?;
    if !limits.allows() {
        return Err(AppError::Refused {
            refusal: Refusal::CertificateLimitReached,
            message: format!(
                "KSeF takes no more certificate enrollments for NIP {} now ({})",
                s.nip,
                limits.describe()
            ),
        });
    }
    let data = patiently(|| s.ksef.certificate_enrollment_data(&s.access))
        .await
        .map_err(|e| ksef_failed(Refusal::CertificateEnrollmentRefused, "the enrollment data", &e))?;
    let algorithm = key_choice.algorithm();
    let key = tokio::task::spawn_blocking(move || CertificateKey::generate(algorithm))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|e| AppError::Internal(e.into()))?;
    // Sealed before KSeF hears of it: a crash from here on leaves a resumable row.
    let sealed = vault::seal(&st.keys, &s.nip, KEY_KIND, key.pkcs8_der().expose_secret())
        .map_err(|e| AppError::Internal(e.into()))?;
    let id = EnrollmentId::new();
    {
        let (id, nip, env) = (id.clone(), s.nip.clone(), s.environment.clone());
        let client_id = subject.client_id().cloned();
        let created_by = caller.user().map(|u| u.id.clone());
        st.db
            .tx(move |conn| {
                CertificateEnrollment::insert(
                    conn,
                    &NewCertificateEnrollment {
                        id: &id,
                        client_id: client_id.as_ref(),
                        subject_nip: &nip,
                        ksef_environment: &env,
                        certificate_type: purpose,
                        key_algorithm: key_choice,
                        state: EnrollmentState::Pending,
                        key_version: Some(i64::from(sealed.key_version)),
                        key_nonce: Some(&sealed.nonce),
                        key_ciphertext: Some(&sealed.ciphertext),
                        created_by: created_by.as_ref(),
                        created_at: ids::now(),
                    },
                )
            })
            .await?;
    }
    let csr = match key.build_csr(&data) {
        Ok(csr) => csr,
        Err(e) => {
            finish(st, &id, EnrollmentState::Failed, None, Some(&e.to_string())).await?;
            return Err(AppError::invalid_field(
                "dn",
                "dn_not_encodable",
                format!("KSeF's subject name cannot be put in a certificate request as KSeF expects it: {e}"),
            ));
        }
    };
    let request = EnrollCertificateRequest {
        certificate_name: certificate_name(purpose),
        certificate_type: purpose.ksef(),
        csr: ksef_client::crypto::b64(&csr),
        valid_from: None,
    };
    let started = match patiently(|| s.ksef.enroll_certificate(&s.access, &request)).await {
        Ok(started) => started,
        Err(e) => {
            // KSeF did not take it (or did not answer): nothing to resume, the key is dropped.
            finish(st, &id, EnrollmentState::Failed, None, Some(&e.to_string())).await?;
            return Err(ksef_failed(Refusal::CertificateEnrollmentRefused, "the enrollment", &e));
        }
    };
    {
        let (id, reference) = (id.clone(), started.reference_number.clone());
        st.db.tx(move |conn| CertificateEnrollment::set_reference(conn, &id, &reference)).await?;
    }
    let pending = Pending { id, reference: started.reference_number, purpose, key_choice, key };
    complete(st, caller, subject, s, pending, Some(limits), false, replaces).await
}

/// The name KSeF shows for it: 5–100 letters, digits, `_`, `-` or spaces.
fn certificate_name(purpose: CertificatePurpose) -> String {
    let kind = match purpose {
        CertificatePurpose::Authentication => "logowanie",
        CertificatePurpose::Offline => "offline",
    };
    format!("Bramka KSeF {kind} {}", chrono::Utc::now().format("%Y-%m-%d %H%M%S"))
}

/// An enrollment without KSeF's reference younger than this may still be on its way (another
/// request is waiting for KSeF's answer); only older ones are taken as left by a stopped gateway.
const IN_FLIGHT: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// A pending enrollment of this subject and type KSeF took (the oldest). Pending ones that cannot
/// be finished are marked abandoned on the way: the gateway stopped before it recorded KSeF's
/// reference, or the subject is another NIP or logs in to another KSeF now.
async fn take_pending(
    st: &AppState,
    subject: &Subject,
    (nip, environment): (&Nip, &str),
    purpose: CertificatePurpose,
) -> Result<Option<CertificateEnrollment>, AppError> {
    let (client_id, nip, environment) = (subject.client_id().cloned(), nip.clone(), environment.to_owned());
    Ok(st
        .db
        .tx(move |conn| {
            let mut found = None;
            let now = ids::now();
            for p in CertificateEnrollment::list_pending(conn, client_id.as_ref())? {
                let why = if p.reference_number.is_none() {
                    if now - p.created_at < IN_FLIGHT {
                        continue;
                    }
                    Some("the gateway stopped before it recorded KSeF's reference of the enrollment")
                } else if p.ksef_environment != environment {
                    Some("the subject logs in to another KSeF now")
                } else if p.subject_nip != nip {
                    Some("the subject logs in with another NIP now")
                } else {
                    None
                };
                if let Some(why) = why {
                    CertificateEnrollment::finish(
                        conn,
                        &p.id,
                        EnrollmentState::Abandoned,
                        None,
                        Some(why),
                        now,
                    )?;
                } else if found.is_none() && p.certificate_type == purpose {
                    found = Some(p);
                }
            }
            Ok::<_, DbError>(found)
        })
        .await?)
}

fn open_key(st: &AppState, row: &CertificateEnrollment) -> Result<CertificateKey, AppError> {
    let (Some(version), Some(nonce), Some(ciphertext)) =
        (row.key_version, &row.key_nonce, &row.key_ciphertext)
    else {
        return Err(AppError::Internal(anyhow::anyhow!("pending enrollment {} holds no key", row.id)));
    };
    let opened =
        crate::service::ksef_login::open_bound(st, &row.subject_nip, KEY_KIND, version, nonce, ciphertext)?;
    CertificateKey::from_pkcs8_der(opened.expose_secret()).map_err(|e| AppError::Internal(e.into()))
}

async fn finish(
    st: &AppState,
    id: &EnrollmentId,
    state: EnrollmentState,
    serial: Option<&str>,
    error: Option<&str>,
) -> Result<(), AppError> {
    let (id, serial, error) = (id.clone(), serial.map(str::to_owned), error.map(str::to_owned));
    st.db
        .tx(move |conn| {
            CertificateEnrollment::finish(conn, &id, state, serial.as_deref(), error.as_deref(), ids::now())
        })
        .await?;
    Ok(())
}

/// An enrollment KSeF took, with its key in memory.
struct Pending {
    id: EnrollmentId,
    reference: String,
    purpose: CertificatePurpose,
    key_choice: KeyChoice,
    key: CertificateKey,
}

/// Waits for KSeF to issue the certificate, retrieves it, checks it certifies the key, stores it
/// and closes the enrollment (audited). While KSeF has not decided, the enrollment stays pending.
#[expect(clippy::too_many_arguments, reason = "one call site per path; the values are all distinct")]
async fn complete(
    st: &AppState,
    caller: &Caller,
    subject: &Subject,
    s: &Session,
    p: Pending,
    limits_before: Option<LimitsView>,
    resumed: bool,
    replaces: Option<String>,
) -> Result<Enrolled, AppError> {
    let serial = match patiently(|| s.ksef.wait_for_enrollment(&s.access, &p.reference)).await {
        Ok(serial) => serial,
        Err(KsefError::EnrollmentFailed(status)) => {
            let why = format!("{} {}", status.code, status.description);
            finish(st, &p.id, EnrollmentState::Failed, None, Some(&why)).await?;
            return Err(AppError::Refused {
                refusal: Refusal::CertificateEnrollmentRefused,
                message: format!(
                    "KSeF refused the enrollment {}. {}{why}",
                    p.reference,
                    crate::service::clients::KSEF_SAID
                ),
            });
        }
        Err(e) => return Err(still_pending(st, &p, &e.to_string()).await),
    };
    let wanted = [serial.as_str()];
    let retrieved = match patiently(|| s.ksef.retrieve_certificates(&s.access, &wanted)).await {
        Ok(r) => r,
        Err(e) => return Err(still_pending(st, &p, &e.to_string()).await),
    };
    let Some(der) = retrieved
        .into_iter()
        .find(|c| same_serial(&c.certificate_serial_number, &serial))
        .and_then(|c| c.der().ok())
    else {
        return Err(still_pending(st, &p, "KSeF did not hand out the issued certificate").await);
    };
    if !p.key.matches_certificate(&der).unwrap_or(false) {
        let why = "the issued certificate does not certify the key the gateway generated";
        finish(st, &p.id, EnrollmentState::Failed, Some(&serial), Some(why)).await?;
        return Err(AppError::Refused {
            refusal: Refusal::CertificateKeyMismatch,
            message: format!("{why}; nothing stored"),
        });
    }
    let certificate_pem = pem::encode(&pem::Pem::new("CERTIFICATE", der));
    let private_key_pem = p.key.to_pkcs8_pem().map_err(|e| AppError::Internal(e.into()))?;
    drop(p.key);
    let stored = store(st, caller, subject, s, p.purpose, &certificate_pem, private_key_pem).await;
    let valid_until = match stored {
        Ok(v) => v,
        Err(e) => return Err(with_pending_note(st, &p.id, e).await),
    };
    let (caller2, id, client_id) = (caller.clone(), p.id.clone(), subject.client_id().cloned());
    let payload = serde_json::json!({
        "subject_nip": s.nip, "certificate_type": p.purpose.as_str(), "key_algorithm": p.key_choice.as_str(),
        "serial_number": serial, "reference_number": p.reference, "resumed": resumed, "replaces": replaces,
        "valid_until": valid_until,
    });
    let serial2 = serial.clone();
    let (renewing, renewed) = (replaces.is_some(), replaces);
    st.db
        .tx(move |conn| {
            CertificateEnrollment::finish(
                conn,
                &id,
                EnrollmentState::Issued,
                Some(&serial2),
                None,
                ids::now(),
            )?;
            audit::record(
                conn,
                audit::AuditEntry {
                    actor: &caller2.audit_actor(),
                    client_id: client_id.as_ref(),
                    action: if renewing { "certificate.renewed" } else { "certificate.enrolled" },
                    subject: Some(&serial2),
                    payload,
                },
            )?;
            Ok::<_, AppError>(())
        })
        .await?;
    Ok(Enrolled {
        serial_number: serial,
        certificate_type: p.purpose,
        key_algorithm: p.key_choice,
        reference_number: p.reference,
        valid_until,
        limits_before,
        resumed,
        replaces: renewed.or_else(|| replaces_of(s, p.purpose)),
    })
}

fn replaces_of(s: &Session, purpose: CertificatePurpose) -> Option<String> {
    s.in_use.iter().find(|(_, p)| *p == purpose).map(|(serial, _)| serial.clone())
}

/// Stores the issued certificate as a person would: through the office's or the client's
/// credential service, which logs in with it first (a login certificate) and replaces the
/// previous one only then, in one transaction.
async fn store(
    st: &AppState,
    caller: &Caller,
    subject: &Subject,
    s: &Session,
    purpose: CertificatePurpose,
    certificate_pem: &str,
    private_key_pem: SecretString,
) -> Result<Option<NaiveDateTime>, AppError> {
    match subject {
        Subject::Office => {
            let input = office::OfficeCredentialInput {
                nip: s.nip.clone(),
                ksef: Some(KsefTarget::parse(&s.environment).map_err(AppError::invalid)?),
                secret: office::OfficeSecret::Certificate {
                    certificate_pem: certificate_pem.to_owned(),
                    private_key_pem,
                },
            };
            Ok(office::store(st, caller, input).await?.validity.valid_until)
        }
        Subject::Client(id) => {
            let view = crate::service::clients::store_certificate(
                st,
                caller,
                id,
                purpose,
                certificate_pem,
                &private_key_pem,
            )
            .await?;
            Ok(view.validity.valid_until)
        }
    }
}

/// The enrollment stays pending (its key sealed) after `why`; the error says how to finish it.
async fn still_pending(st: &AppState, p: &Pending, why: &str) -> AppError {
    let note = format!("not finished: {why}");
    let id = p.id.clone();
    let noted = st.db.tx(move |conn| CertificateEnrollment::note_error(conn, &id, &note)).await;
    if let Err(e) = noted {
        return e.into();
    }
    AppError::Unavailable(format!(
        "the enrollment {} is still pending ({why}); enroll again for this subject to finish it",
        p.reference
    ))
}

async fn with_pending_note(st: &AppState, id: &EnrollmentId, e: AppError) -> AppError {
    let (id, note) = (id.clone(), format!("issued but not stored: {e}"));
    match st.db.tx(move |conn| CertificateEnrollment::note_error(conn, &id, &note)).await {
        Ok(()) => e,
        Err(db) => db.into(),
    }
}

/// One certificate of KSeF's list, and whether the gateway uses it.
#[derive(Debug, Clone, Serialize)]
pub struct CertificateRow {
    pub serial_number: String,
    pub name: String,
    /// The subject's CN as KSeF issued it.
    pub common_name: String,
    pub certificate_type: CertificatePurpose,
    /// `active`, `blocked`, `revoked` or `expired`.
    pub status: String,
    pub valid_from: chrono::DateTime<chrono::Utc>,
    pub valid_to: chrono::DateTime<chrono::Utc>,
    pub last_use_date: Option<chrono::DateTime<chrono::Utc>>,
    /// What the gateway uses it for now (None: not used by the gateway).
    pub in_use: Option<CertificatePurpose>,
}

/// An enrollment the gateway has not finished.
#[derive(Debug, Clone, Serialize)]
pub struct PendingRow {
    pub reference_number: Option<String>,
    pub certificate_type: CertificatePurpose,
    #[serde(serialize_with = "crate::local_time::rfc3339")]
    pub created_at: NaiveDateTime,
    pub error: Option<String>,
}

/// The subject's certificates as KSeF lists them, its limits and the unfinished enrollments.
#[derive(Debug, Clone, Serialize)]
pub struct CertificateList {
    pub subject_nip: Nip,
    pub limits: LimitsView,
    pub certificates: Vec<CertificateRow>,
    pub pending: Vec<PendingRow>,
}

/// KSeF's list of the subject's certificates (newest first), marking the ones the gateway uses.
pub async fn list(st: &AppState, caller: &Caller, subject: &Subject) -> Result<CertificateList, AppError> {
    let s = session(st, caller, subject).await?;
    let limits = read_limits(&s).await?;
    let mut certificates = Vec::new();
    // KSeF allows 100 active certificates per NIP; 10 pages of 50 cover them and their history.
    for page in 0..10 {
        let query = CertificateQuery::default();
        let got = patiently(|| s.ksef.query_certificates(&s.access, &query, page, 50))
            .await
            .map_err(|e| ksef_failed(Refusal::CertificateQueryRefused, "the certificate list", &e))?;
        for c in got.certificates {
            certificates.push(CertificateRow {
                in_use: s.use_of(&c.certificate_serial_number),
                certificate_type: match c.kind {
                    ksef_client::models::certificates::CertificateType::Authentication => {
                        CertificatePurpose::Authentication
                    }
                    ksef_client::models::certificates::CertificateType::Offline => {
                        CertificatePurpose::Offline
                    }
                },
                status: format!("{:?}", c.status).to_lowercase(),
                serial_number: c.certificate_serial_number,
                name: c.name,
                common_name: c.common_name,
                valid_from: c.valid_from,
                valid_to: c.valid_to,
                last_use_date: c.last_use_date,
            });
        }
        if !got.has_more {
            break;
        }
    }
    let client_id = subject.client_id().cloned();
    let pending = st
        .db
        .tx(move |conn| CertificateEnrollment::list_pending(conn, client_id.as_ref()))
        .await?
        .into_iter()
        .map(|p| PendingRow {
            reference_number: p.reference_number,
            certificate_type: p.certificate_type,
            created_at: p.created_at,
            error: p.error,
        })
        .collect();
    Ok(CertificateList { subject_nip: s.nip, limits, certificates, pending })
}

/// What a revocation did.
#[derive(Debug, Clone, Serialize)]
pub struct Revoked {
    pub serial_number: String,
    pub reason: RevokeReason,
    /// It was the certificate the gateway used (revoked with `force`): that use stops now.
    pub was_in_use: Option<CertificatePurpose>,
}

/// Revokes one of the subject's certificates in KSeF. The one the gateway uses is refused
/// unless `force`: revoking it stops the gateway's logins (or KOD II) for the subject. Audited.
pub async fn revoke(
    st: &AppState,
    caller: &Caller,
    subject: &Subject,
    serial: &str,
    reason: RevokeReason,
    force: bool,
) -> Result<Revoked, AppError> {
    // KSeF's path parameter is 16 upper-case hex digits; shorter serials are the same number.
    let serial = serial.trim().to_ascii_uppercase();
    if serial.is_empty() || serial.len() > 16 || !serial.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::invalid_field(
            "serial",
            "bad_serial",
            "a certificate serial number is at most 16 hexadecimal digits",
        ));
    }
    let serial = format!("{serial:0>16}");
    let serial = serial.as_str();
    let s = session(st, caller, subject).await?;
    let in_use = s.use_of(serial);
    if let (Some(purpose), false) = (in_use, force) {
        let what = match purpose {
            CertificatePurpose::Authentication => "logs in to KSeF with",
            CertificatePurpose::Offline => "signs KOD II of offline invoices with",
        };
        return Err(AppError::Refused {
            refusal: Refusal::CertificateInUse,
            message: format!(
                "certificate {serial} is the one the gateway {what} for NIP {}: revoking it stops that at once; renew first (or revoke with force)",
                s.nip
            ),
        });
    }
    patiently(|| s.ksef.revoke_certificate(&s.access, serial, reason.ksef()))
        .await
        .map_err(|e| ksef_failed(Refusal::CertificateRevokeRefused, "the revocation", &e))?;
    let (caller2, client_id, serial2, nip) =
        (caller.clone(), subject.client_id().cloned(), serial.to_owned(), s.nip.clone());
    st.db
        .tx(move |conn| {
            // A revoked certificate is never used again: the login (or KOD II signer) it was
            // goes out of use with the revocation, so the gateway does not keep presenting it.
            if let Some(purpose) = in_use {
                let now = ids::now();
                match (client_id.as_ref(), purpose) {
                    (None, _) => OfficeCredential::retire_active(conn, now)?,
                    (Some(id), CertificatePurpose::Authentication) => {
                        Credential::retire_active(conn, id, KSEF_CERTIFICATE, now)?
                    }
                    (Some(id), CertificatePurpose::Offline) => {
                        Credential::retire_active(conn, id, KSEF_OFFLINE_CERTIFICATE, now)?
                    }
                };
            }
            audit::record(
                conn,
                audit::AuditEntry {
                    actor: &caller2.audit_actor(),
                    client_id: client_id.as_ref(),
                    action: "certificate.revoked",
                    subject: Some(&serial2),
                    payload: serde_json::json!({"subject_nip": nip, "reason": reason.as_str(), "forced": force,
                        "was_in_use": in_use.map(CertificatePurpose::as_str)}),
                },
            )
        })
        .await?;
    Ok(Revoked { serial_number: serial.to_owned(), reason, was_in_use: in_use })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_compare_as_numbers_in_hex() {
        assert!(same_serial("00a1B2", "A1B2"));
        assert!(!same_serial("A1B2", "A1B3"));
    }

    #[test]
    fn a_full_quota_is_refused_before_enrolling() {
        let limits = LimitsView {
            can_request: true,
            active_limit: 100,
            active_remaining: 0,
            enrollments_limit: 300,
            enrollments_remaining: 12,
        };
        assert!(!limits.allows());
        assert!(LimitsView { active_remaining: 1, ..limits }.allows());
        assert!(!LimitsView { active_remaining: 1, can_request: false, ..limits }.allows());
        assert!(limits.describe().contains("0 of 100"));
    }

    #[test]
    fn certificate_names_fit_ksef_rules() {
        let name = certificate_name(CertificatePurpose::Authentication);
        assert!((5..=100).contains(&name.chars().count()), "{name}");
        assert!(name.chars().all(|c| c.is_alphanumeric() || " _-".contains(c)), "{name}");
    }
}
