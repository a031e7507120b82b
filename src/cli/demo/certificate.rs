//! The demo's KSeF certificates, made at the first start and sealed in the vault like any
//! certificate: the office's own, which logs into every client that granted the office (a
//! self-signed one for the first login, as KSeF's TEST accepts, then one the gateway enrolls from
//! the simulator's CA with it), and the bakery's self-signed one of type Offline, so that its
//! offline invoice shows KOD II.

use chrono::Datelike;
use secrecy::SecretString;

use crate::domain::{ClientId, Nip};
use crate::error::AppError;
use crate::service::access::Caller;
use crate::service::certificates::CertificateUse;
use crate::service::office::{self, OfficeCredentialInput, OfficeSecret};
use crate::state::AppState;

/// A self-signed certificate for `nip` (organizationIdentifier `VATPL-NIP`, as KSeF writes it in
/// its certificates), valid from yesterday for two years: (certificate PEM, private key PEM).
fn self_signed(common_name: &str, nip: &str) -> Result<(String, SecretString), AppError> {
    let fail = |e: rcgen::Error| AppError::Internal(anyhow::anyhow!("demo certificate: {e}"));
    let key = rcgen::KeyPair::generate().map_err(fail)?;
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name.push(rcgen::DnType::CommonName, common_name);
    params.distinguished_name.push(rcgen::DnType::CustomDnType(vec![2, 5, 4, 97]), format!("VATPL-{nip}"));
    let today = chrono::Utc::now().date_naive();
    let (from, until) = (today - chrono::Days::new(1), today + chrono::Days::new(730));
    params.not_before = rcgen::date_time_ymd(from.year(), from.month() as u8, from.day() as u8);
    params.not_after = rcgen::date_time_ymd(until.year(), until.month() as u8, until.day() as u8);
    let cert = params.self_signed(&key).map_err(fail)?;
    Ok((cert.pem(), SecretString::from(key.serialize_pem())))
}

pub async fn seed_offline(st: &AppState, client_id: &ClientId, nip: &str) -> Result<(), AppError> {
    let (cert, key) = self_signed("Piekarnia Złoty Kłos – certyfikat offline (demo)", nip)?;
    crate::service::clients::store_certificate(
        st,
        &Caller::Operator,
        client_id,
        CertificateUse::Offline,
        &cert,
        &key,
    )
    .await?;
    Ok(())
}

/// The office's own KSeF certificate, stored (checked against this run's KSeF first) unless the
/// office already has a credential.
pub async fn seed_office(st: &AppState, office_nip: &str, ksef_url: &str) -> Result<(), AppError> {
    if office::show(st, &Caller::Operator).await?.is_some() {
        return Ok(());
    }
    let (certificate_pem, private_key_pem) =
        self_signed("Biuro Rachunkowe Demo – certyfikat KSeF (demo)", office_nip)?;
    let input = OfficeCredentialInput {
        nip: Nip::parse(office_nip).map_err(AppError::invalid)?,
        ksef: Some(crate::domain::KsefTarget::parse(ksef_url).map_err(AppError::invalid)?),
        secret: OfficeSecret::Certificate { certificate_pem, private_key_pem },
    };
    office::store(st, &Caller::Operator, input).await?;
    // Then the office's real certificate, enrolled by the gateway with that first login (as an
    // office does on TEST): it replaces the self-signed one and shows under "Certyfikaty KSeF".
    let office = crate::service::enrollment::Subject::Office;
    let purpose = crate::domain::CertificatePurpose::Authentication;
    let key = crate::domain::KeyChoice::Ec;
    let kind = crate::service::enrollment::Enrollment::New;
    crate::service::enrollment::enroll(st, &Caller::Operator, &office, purpose, key, kind).await?;
    Ok(())
}
