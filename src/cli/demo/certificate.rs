//! The bakery's KSeF certificate of type Offline, so that its offline invoice shows KOD II. In
//! real life MF issues it (`POST /certificates/enrollments`); here it is self-signed, made at the
//! first start, and sealed in the vault like any certificate.

use chrono::Datelike;
use secrecy::SecretString;

use crate::error::AppError;
use crate::service::access::Caller;
use crate::service::certificates::CertificateUse;
use crate::state::AppState;

pub async fn seed_offline(st: &AppState, client_id: &str, nip: &str) -> Result<(), AppError> {
    let fail = |e: rcgen::Error| AppError::Internal(anyhow::anyhow!("demo offline certificate: {e}"));
    let key = rcgen::KeyPair::generate().map_err(fail)?;
    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Piekarnia Złoty Kłos – certyfikat offline (demo)");
    // organizationIdentifier (2.5.4.97), as KSeF writes it in its certificates.
    params.distinguished_name.push(rcgen::DnType::CustomDnType(vec![2, 5, 4, 97]), format!("VATPL-{nip}"));
    let today = chrono::Utc::now().date_naive();
    let (from, until) = (today - chrono::Days::new(1), today + chrono::Days::new(730));
    params.not_before = rcgen::date_time_ymd(from.year(), from.month() as u8, from.day() as u8);
    params.not_after = rcgen::date_time_ymd(until.year(), until.month() as u8, until.day() as u8);
    let cert = params.self_signed(&key).map_err(fail)?;
    let key_pem = SecretString::from(key.serialize_pem());
    crate::service::clients::store_certificate(
        st,
        &Caller::Operator,
        client_id,
        CertificateUse::Offline,
        &cert.pem(),
        &key_pem,
    )
    .await?;
    Ok(())
}
