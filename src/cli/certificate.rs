//! `ksef-gateway certificate enroll|list|revoke|renew`: KSeF certificates the gateway enrolls
//! for the office (`--office`) or a client (`--nip`). KSeF's limits are printed before enrolling.

use clap::{Args, Subcommand};

use super::usage;
use crate::config::Settings;
use crate::domain::{CertificatePurpose, KeyChoice, Nip, RevokeReason};
use crate::error::{AppError, Refusal};
use crate::server::{self, StartError};
use crate::service::access::Caller;
use crate::service::enrollment::{self, Enrolled, Subject};
use crate::state::AppState;

#[derive(Debug, Subcommand)]
pub enum CertificateCommand {
    /// Enroll a new KSeF certificate and store it (Authentication: the login credential;
    /// Offline: the client's certificate for KOD II). Needs a login with a certificate already.
    Enroll(EnrollArgs),
    /// KSeF's list of the subject's certificates, the one the gateway uses marked, and KSeF's limits.
    List(WhoArgs),
    /// Revoke a certificate in KSeF (the one the gateway uses only with --force).
    Revoke(RevokeArgs),
    /// Enroll a new certificate of the type the gateway uses for the subject and switch to it.
    Renew(EnrollArgs),
}

/// Whose certificates: the office's or one client's.
#[derive(Debug, Args)]
pub struct WhoArgs {
    /// The office's own certificates.
    #[arg(long, conflicts_with = "nip")]
    office: bool,
    /// A client's certificates (its NIP).
    #[arg(long)]
    nip: Option<String>,
}

#[derive(Debug, Args)]
pub struct EnrollArgs {
    #[command(flatten)]
    who: WhoArgs,
    /// authentication (default: the login credential) or offline (a client's KOD II certificate).
    #[arg(long = "type", value_name = "authentication|offline", default_value = "authentication")]
    kind: String,
    /// ec (EC P-256, default) or rsa (RSA 2048).
    #[arg(long, value_name = "ec|rsa", default_value = "ec")]
    key: String,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    who: WhoArgs,
    /// The certificate's serial number (hex, as `certificate list` shows it).
    #[arg(long)]
    serial: String,
    /// unspecified, superseded or key-compromise.
    #[arg(long, value_name = "unspecified|superseded|key-compromise")]
    reason: String,
    /// Revoke even the certificate the gateway uses (its logins or KOD II stop at once).
    #[arg(long)]
    force: bool,
}

pub fn run(settings: Settings, cmd: &CertificateCommand) -> Result<(), StartError> {
    match cmd {
        CertificateCommand::Enroll(args) | CertificateCommand::Renew(args) => {
            let renew = matches!(cmd, CertificateCommand::Renew(_));
            let purpose = CertificatePurpose::parse(&args.kind).map_err(|e| usage(format!("--type: {e}")))?;
            let key = KeyChoice::parse(&args.key).map_err(|e| usage(format!("--key: {e}")))?;
            let nip = nip_of(&args.who)?;
            let st = server::bootstrap(settings)?;
            super::block_on(enroll(&st, nip.as_ref(), purpose, key, renew))?
        }
        CertificateCommand::List(who) => {
            let nip = nip_of(who)?;
            let st = server::bootstrap(settings)?;
            super::block_on(list(&st, nip.as_ref()))?
        }
        CertificateCommand::Revoke(args) => {
            let reason = RevokeReason::parse(&args.reason).map_err(|e| usage(format!("--reason: {e}")))?;
            let nip = nip_of(&args.who)?;
            let st = server::bootstrap(settings)?;
            super::block_on(revoke(&st, nip.as_ref(), args, reason))?
        }
    }
}

/// `--office` (None) or `--nip` (Some); one of them is required.
fn nip_of(who: &WhoArgs) -> Result<Option<Nip>, StartError> {
    match (&who.nip, who.office) {
        (Some(nip), _) => Nip::parse(nip).map(Some).map_err(|e| usage(format!("--nip: {e}"))),
        (None, true) => Ok(None),
        (None, false) => Err(usage("--office or --nip: say whose certificates".to_owned())),
    }
}

async fn subject(st: &AppState, nip: Option<&Nip>) -> Result<Subject, StartError> {
    let Some(nip) = nip else { return Ok(Subject::Office) };
    match crate::service::clients::find_visible(st, &Caller::Operator, nip).await {
        Ok(client) => Ok(Subject::Client(client.id)),
        Err(AppError::NotFound) => Err(usage(format!("--nip: no client with NIP {}", nip.as_str()))),
        Err(e) => Err(StartError::Command(e.to_string())),
    }
}

/// Bad input: exit code 2 naming the option; anything else exit code 1.
fn failed(e: AppError) -> StartError {
    let option = match (&e, e.field_reason().map(|(f, _)| f)) {
        (_, Some("type")) => "type",
        (_, Some("serial")) => "serial",
        (AppError::Refused { refusal: Refusal::CertificateInUse, .. }, _) => "force",
        _ => return StartError::Command(e.to_string()),
    };
    usage(format!("--{option}: {e}"))
}

async fn enroll(
    st: &AppState,
    nip: Option<&Nip>,
    purpose: CertificatePurpose,
    key: KeyChoice,
    renew: bool,
) -> Result<(), StartError> {
    let subject = subject(st, nip).await?;
    enrollment::check_request(&subject, purpose).map_err(failed)?;
    let limits = enrollment::limits(st, &Caller::Operator, &subject).await.map_err(failed)?;
    println!("{}", limits.describe());
    let kind = enrollment::Enrollment::renewal_if(renew);
    let done =
        enrollment::enroll(st, &Caller::Operator, &subject, purpose, key, kind).await.map_err(failed)?;
    print_enrolled(&done);
    Ok(())
}

fn print_enrolled(e: &Enrolled) {
    let until = e.valid_until.map_or_else(|| "not reported".to_owned(), crate::local_time::display);
    let how = if e.resumed { "finished the pending enrollment" } else { "enrolled" };
    println!(
        "{how} {} ({} certificate, {} key, KSeF reference {}), stored; valid until {until}",
        e.serial_number, e.certificate_type, e.key_algorithm, e.reference_number
    );
    if let Some(old) = &e.replaces {
        println!(
            "  replaces {old} in the gateway; it stays valid in KSeF until revoked (--reason superseded)"
        );
    }
}

async fn list(st: &AppState, nip: Option<&Nip>) -> Result<(), StartError> {
    let subject = subject(st, nip).await?;
    let l = enrollment::list(st, &Caller::Operator, &subject).await.map_err(failed)?;
    println!("NIP {}: {}", l.subject_nip, l.limits.describe());
    for c in &l.certificates {
        let used = c.in_use.map(|p| format!("  <- used by the gateway ({p})")).unwrap_or_default();
        println!(
            "{}  {:<14}  {:<8}  until {}  {}{used}",
            c.serial_number,
            c.certificate_type,
            c.status,
            c.valid_to.format("%Y-%m-%d"),
            c.name
        );
    }
    for p in &l.pending {
        println!(
            "pending enrollment {} ({}) since {}{}; enroll again to finish it",
            p.reference_number.as_deref().unwrap_or("-"),
            p.certificate_type,
            crate::local_time::display(p.created_at),
            p.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
        );
    }
    Ok(())
}

async fn revoke(
    st: &AppState,
    nip: Option<&Nip>,
    args: &RevokeArgs,
    reason: RevokeReason,
) -> Result<(), StartError> {
    let subject = subject(st, nip).await?;
    let r = enrollment::revoke(st, &Caller::Operator, &subject, &args.serial, reason, args.force)
        .await
        .map_err(failed)?;
    println!("revoked {} in KSeF ({})", r.serial_number, r.reason);
    if let Some(p) = r.was_in_use {
        println!("  it was the gateway's {p} certificate: that stops now; enroll a new one");
    }
    Ok(())
}
