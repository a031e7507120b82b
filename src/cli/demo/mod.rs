//! `ksef-gateway demo`: the gateway on SQLite with the embedded KSeF simulator and a demo office,
//! ready to look at. Each feature shows up here as it lands.

mod certificate;
mod collective;
mod erp;
mod invoices;
mod outside;
mod people;
mod purchases;

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;

use secrecy::SecretString;

use crate::config::{Settings, Sources};
use crate::db::models::Client;
use crate::domain::{CredentialMode, KsefTarget, Nip, SendPolicy};
use crate::server::{self, StartError};
use crate::service::access::Caller;
use crate::service::clients::{add_client, add_office_client, NewClientInput};
use crate::service::credentials::{self, CredentialHealth};
use crate::state::AppState;

/// The demo office's clients: NIPs with valid checksums, one per send policy. Most log in with
/// the office's own certificate (they granted the office in KSeF); the bakery keeps its own
/// token, as some clients do.
const DEMO_CLIENTS: &[(&str, &str, SendPolicy, CredentialMode)] = &[
    ("5260250274", "Piekarnia Złoty Kłos Sp. z o.o.", SendPolicy::Manual, CredentialMode::Own),
    ("7740001454", "Hurtownia Budowlana Mazur S.A.", SendPolicy::FourEyes, CredentialMode::Office),
    ("1132853869", "Sklep Internetowy Kowalski", SendPolicy::ApiAuto, CredentialMode::Office),
];

/// The demo office's own NIP (its certificate is issued for it).
const OFFICE_NIP: &str = "1070002878";

/// What the simulator lets a demo client's token do.
const DEMO_PERMISSIONS: &[&str] =
    &["InvoiceWrite", "InvoiceRead", "CredentialsManage", "CredentialsRead", "Introspection"];

/// What the office-mode clients granted the office in KSeF.
const GRANTED_TO_OFFICE: &[&str] = &["InvoiceWrite", "InvoiceRead"];

pub fn run(mut sources: Sources) -> Result<(), StartError> {
    if sources.data_dir.is_none() {
        sources.data_dir = Some(PathBuf::from("./data/demo"));
    }
    let listen = sources.listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
    sources.listen = Some(listen);
    let mut settings = Settings::load(&sources)?;
    // The demo serves plain HTTP on localhost; production keeps Secure cookies (HTTPS only).
    settings.auth.cookie_secure = false;
    // Purchase invoices show up within seconds of the start rather than after KSeF's 15 minutes.
    settings.purchase.poll_s = 3;
    // The demo's "ERP" receives webhooks over plain HTTP on localhost.
    settings.webhooks.allow_http_hosts.push("127.0.0.1".to_owned());
    settings.webhooks.allow_private.push("127.0.0.0/8".to_owned());
    if settings.office.name.is_empty() {
        settings.office.name = "Biuro Rachunkowe Demo sp. z o.o.".to_owned();
    }
    crate::telemetry::init(&settings.log);
    let state = server::bootstrap(settings)?;
    let listener = TcpListener::bind(listen)
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {listen}: {e}")))?;
    let sim_listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    actix_web::rt::System::new().block_on(async move {
        // KSeF takes a moment to give a KSeF number; two seconds let people watch W → O → A.
        let sim_config = ksef_simulator::SimulatorConfig {
            processing_delay: std::time::Duration::from_secs(2),
            ..Default::default()
        };
        let sim = ksef_simulator::start(sim_config, sim_listener)
            .await
            .map_err(|e| StartError::Command(format!("embedded KSeF simulator: {e:#}")))?;
        let clients = seed_office(&state, &sim).await?;
        let ids: Vec<(crate::domain::ClientId, Nip)> =
            clients.iter().map(|(c, _)| (c.id.clone(), c.nip.clone())).collect();
        let fail = |e: crate::error::AppError| StartError::Command(format!("demo setup: {e}"));
        people::seed(&state, &ids).await.map_err(fail)?;
        let erp = erp::start()?;
        erp::seed(&state, &ids, &erp).await.map_err(fail)?;
        let bakery = clients.iter().map(|(c, _)| c).find(|c| c.nip == DEMO_CLIENTS[0].0);
        let outside = match bakery {
            Some(c) => credentials::open_ksef_token(&state, c).await.map_err(fail)?.and_then(|(_, token)| {
                crate::ksef::client_for(&sim.base_url(), state.ksef_limits.clone()).ok().map(|k| (k, token))
            }),
            None => None,
        };
        let api_key = invoices::seed(&state, &ids, outside).await.map_err(fail)?;
        let ksef = crate::ksef::client_for(&sim.base_url(), state.ksef_limits.clone())
            .map_err(|e| StartError::Command(format!("demo setup: {e}")))?;
        let buyers: Vec<(&str, &str)> = DEMO_CLIENTS.iter().map(|(nip, name, ..)| (*nip, *name)).collect();
        let outside_sent = purchases::seed(&sim, &ksef, &buyers)
            .await
            .map_err(|e| StartError::Command(format!("demo purchase invoices: {e}")))?;
        tracing::info!(invoices = outside_sent, "Outside sellers invoiced the demo clients");
        print_banner(&state, &listener, &sim.base_url(), &clients, api_key.as_deref(), &erp)?;
        actix_web::rt::spawn(collective::seed_when_accepted(state.clone(), DEMO_CLIENTS[2].0));
        server::run(state, listener).await?;
        sim.stop().await;
        Ok(())
    })
}

/// Creates the demo clients and the office's certificate on first start; on every start points
/// the clients at this run's simulator, registers there what it forgot (the bakery's token, the
/// other clients' grants to the office) and checks that each client's credential really
/// authenticates in its context.
async fn seed_office(
    st: &AppState,
    sim: &ksef_simulator::RunningSimulator,
) -> Result<Vec<(Client, CredentialHealth)>, StartError> {
    let fail = |e: crate::error::AppError| StartError::Command(format!("demo setup: {e}"));
    let target = KsefTarget::parse(&sim.base_url()).map_err(StartError::Command)?;
    certificate::seed_office(st, OFFICE_NIP, target.as_str()).await.map_err(fail)?;
    let mut out = Vec::new();
    for (nip, name, policy, mode) in DEMO_CLIENTS {
        let typed = Nip::parse(nip).map_err(StartError::Command)?;
        let key = typed.clone();
        let existing = st.db.tx(move |c| Client::find_by_nip(c, &key)).await.map_err(|e| fail(e.into()))?;
        let client = match existing {
            Some(c) => c,
            None => {
                let input = NewClientInput {
                    nip: typed.clone(),
                    name: (*name).to_owned(),
                    ksef: target.clone(),
                    policy: *policy,
                };
                match mode {
                    CredentialMode::Own => add_client(st, input, demo_token(nip)?, None).await,
                    CredentialMode::Office => add_office_client(st, input, None).await,
                }
                .map_err(fail)?
            }
        };
        // A demo directory from before the office had its own credential switches over.
        crate::service::office::set_mode(st, &Caller::Operator, &client.id, *mode).await.map_err(fail)?;
        let (id, url) = (client.id.clone(), target.as_str().to_owned());
        st.db.tx(move |c| Client::set_ksef_environment(c, &id, &url)).await.map_err(|e| fail(e.into()))?;
        let client = st.db.tx(move |c| Client::find_by_nip(c, &typed)).await.map_err(|e| fail(e.into()))?;
        let client =
            client.ok_or_else(|| StartError::Command(format!("demo setup: client {nip} vanished")))?;
        match mode {
            CredentialMode::Own => {
                if let Some((_, token)) = credentials::open_ksef_token(st, &client).await.map_err(fail)? {
                    sim.add_token(
                        &client.nip,
                        secrecy::ExposeSecret::expose_secret(&token),
                        DEMO_PERMISSIONS,
                    );
                }
            }
            CredentialMode::Office => sim.grant(&client.nip, OFFICE_NIP, GRANTED_TO_OFFICE),
        }
        let health = credentials::check(st, &client).await.map_err(fail)?;
        out.push((client, health));
    }
    Ok(out)
}

/// A fresh random token in the shape KSeF issues (reference|nip|secret).
fn demo_token(nip: &str) -> Result<SecretString, StartError> {
    let mut secret = [0u8; 20];
    getrandom::fill(&mut secret).map_err(|e| StartError::Command(format!("random: {e}")))?;
    Ok(SecretString::from(format!("20261121-EC-DEMO000000-0000000000-00|nip-{nip}|{}", hex::encode(secret))))
}

fn print_banner(
    st: &AppState,
    listener: &TcpListener,
    sim_url: &str,
    clients: &[(Client, CredentialHealth)],
    api_key: Option<&str>,
    erp: &str,
) -> Result<(), StartError> {
    let base = format!("http://{}", listener.local_addr()?);
    println!("ksef-gateway demo is running");
    println!(
        "  gateway:   {base}   (health {base}/healthz, readiness {base}/readyz, metrics {base}/metrics)"
    );
    println!("  KSeF:      {sim_url}   (embedded simulator of KSeF 2.0)");
    println!("  database:  {}", st.db.describe());
    println!(
        "  demo office NIP {OFFICE_NIP}: its own KSeF certificate (self-signed, as KSeF's TEST accepts) logs"
    );
    println!("  into the clients that granted the office; checked against KSeF just now:");
    for (c, health) in clients {
        let status = match health {
            CredentialHealth::Ok => "credential OK".to_owned(),
            CredentialHealth::Missing => "no credential".to_owned(),
            CredentialHealth::Failed(e) => format!("credential FAILED: {e}"),
        };
        let whose = match c.credential_mode {
            CredentialMode::Office => "office's certificate",
            CredentialMode::Own => "own KSeF token",
        };
        println!("    {}  {:<36} policy {:<9} {whose:<20} {status}", c.nip, c.name, c.send_policy);
    }
    println!("  panel:     {base}/   (po polsku); API {base}/api/v1/openapi.json");
    println!("  logins (password for all: {}):", people::DEMO_PASSWORD);
    for (email, role, _, what) in people::PEOPLE {
        println!("    {email:<24} {:<20} {what}", role.as_str());
    }
    match api_key {
        Some(key) => println!("  API key of Sklep Internetowy Kowalski (submit, read, send; shown once):\n    {key}"),
        None => println!("  API key of Sklep Internetowy Kowalski: created at the first start (delete ./data/demo for a new one)"),
    }
    println!(
        "  to look at: Piekarnia's FV/7 (issued offline: KOD I + KOD II, legal deadline), FV/8 (rejected,"
    );
    println!("    440 duplicate), Hurtownia's HB/1 (awaits a second person's approval), \"Statusy w KSeF\" on a client");
    println!("  IZ:        Sklep's SKLEP/1–4 (to Hurtownia) get one collective identifier once accepted (invoice page)");
    println!("  purchase:  outside sellers and the clients themselves invoiced the demo clients in KSeF;");
    println!("             the gateway fetches them within seconds (ksef-gateway purchase status)");
    println!("  PDF:       each invoice page's \"Pobierz PDF\" ({base}/api/v1/invoices/<id>/pdf); the audit report");
    println!("             {base}/audyt or {base}/api/v1/audit?format=pdf (after logging in)");
    println!(
        "  webhooks:  every client's events go to a demo ERP at {erp} (panel: \"Webhooki\" on a client)"
    );
    println!("Press Ctrl-C to stop.");
    Ok(())
}
