//! The README's first command: `ksef-gateway demo` starts, seeds an office with a person of
//! each role and invoices in every state, and serves them; a second start keeps the data.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the demo and waits for its banner; returns the process and what it printed.
fn start(dir: &std::path::Path, port: u16) -> (Demo, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ksef-gateway"))
        .args(["demo", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let demo = Demo(child);
    let mut banner = String::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    for line in BufReader::new(out).lines() {
        let line = line.unwrap();
        banner.push_str(&line);
        banner.push('\n');
        if line.starts_with("Press Ctrl-C") || Instant::now() > deadline {
            break;
        }
    }
    (demo, banner)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn get(port: u16, path: &str, cookie: Option<&str>) -> (u16, String) {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-o", "-", "-w", "\n%{http_code}", &format!("http://127.0.0.1:{port}{path}")]);
    if let Some(c) = cookie {
        cmd.args(["-H", &format!("Cookie: {c}")]);
    }
    let out = String::from_utf8(cmd.output().unwrap().stdout).unwrap();
    let (body, code) = out.rsplit_once('\n').unwrap();
    (code.parse().unwrap_or(0), body.to_owned())
}

#[test]
fn the_demo_runs_with_an_office_in_every_state() {
    if Command::new("curl").arg("--version").output().is_err() {
        eprintln!("skipped: curl is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (_demo, banner) = start(dir.path(), port);
    for expected in [
        "admin@biuro.demo",
        "ksiegowa@biuro.demo",
        "zarzad@mazur.demo",
        "credential OK",
        "kgw_",
        "/api/v1/openapi.json",
        "/api/v1/audit?format=pdf",
    ] {
        assert!(banner.contains(expected), "banner lacks {expected}:\n{banner}");
    }
    assert_eq!(get(port, "/healthz", None).0, 200);
    let login = Command::new("curl")
        .args(["-s", "-D", "-", "-o", "/dev/null", "-H", "Content-Type: application/json"])
        .args(["-d", r#"{"email":"admin@biuro.demo","password":"demo-haslo-2026"}"#])
        .arg(format!("http://127.0.0.1:{port}/api/v1/session"))
        .output()
        .unwrap();
    let headers = String::from_utf8(login.stdout).unwrap();
    let cookie = headers
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: ").or_else(|| l.strip_prefix("Set-Cookie: ")))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_owned();
    // The senders take the demo's decisions through the embedded KSeF: every state shows up.
    let wanted = ["draft", "invalid", "approved", "accepted", "rejected"];
    let deadline = Instant::now() + Duration::from_secs(90);
    let states = loop {
        let (code, body) = get(port, "/api/v1/invoices?limit=1000", Some(&cookie));
        assert_eq!(code, 200, "{body}");
        let listed: serde_json::Value = serde_json::from_str(&body).unwrap();
        let states: std::collections::BTreeSet<String> = listed["invoices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["state"].as_str().unwrap().to_owned())
            .collect();
        if wanted.iter().all(|s| states.contains(*s)) || Instant::now() > deadline {
            break states;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    for s in wanted {
        assert!(states.contains(s), "no {s} invoice in the demo: {states:?}");
    }
    // The invoice issued offline carries KOD II, signed with the bakery's offline certificate.
    let (_, body) = get(port, "/api/v1/invoices?limit=1000", Some(&cookie));
    let listed: serde_json::Value = serde_json::from_str(&body).unwrap();
    let offline = listed["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["number"].as_str().is_some_and(|n| n.starts_with("FV/7/")))
        .unwrap();
    let (code, qr) =
        get(port, &format!("/api/v1/invoices/{}/qr", offline["id"].as_str().unwrap()), Some(&cookie));
    assert_eq!(code, 200, "{qr}");
    let qr: serde_json::Value = serde_json::from_str(&qr).unwrap();
    assert!(qr["kod2"].as_str().is_some_and(|l| l.contains("/certificate/Nip/5260250274/")), "{qr}");
    assert_eq!(qr["kod2_label"], "CERTYFIKAT");
    // And on the panel's invoice page, with its image.
    let id = offline["id"].as_str().unwrap();
    let (code, page) = get(port, &format!("/faktury/{id}"), Some(&cookie));
    assert_eq!(code, 200);
    assert!(page.contains("id=\"etykieta-kod2\""), "the invoice page shows KOD II: {page}");
    let (code, svg) = get(port, &format!("/faktury/{id}/kod-qr-certyfikat.svg"), Some(&cookie));
    assert_eq!(code, 200);
    assert!(svg.contains("<svg"), "{svg}");
    let (code, page) = get(port, "/", Some(&cookie));
    assert_eq!(code, 200);
    assert!(page.contains("Piekarnia"), "the panel's dashboard lists the demo clients");

    // The offline invoice's PDF: its caption (the KSeF number once sent, else OFFLINE), KOD I and
    // KOD II, both decodable.
    let pdf = download(port, &format!("/api/v1/invoices/{id}/pdf"), &cookie, dir.path());
    let text = crate::reports::pdf_pages(&pdf).join("\n");
    let caption = qr["label"].as_str().unwrap();
    assert!(text.contains(caption) && text.contains("KOD II") && text.contains("CERTYFIKAT"), "{text}");
    assert!(text.contains("offline"), "{text}");
    let mut codes = crate::reports::pdf_qr_codes(&pdf);
    codes.sort();
    let mut links = vec![qr["kod1"].as_str().unwrap().to_owned()];
    links.extend(qr["kod2"].as_str().map(str::to_owned));
    links.sort();
    assert_eq!(codes.len(), 2, "{codes:?}");
    // KOD II is signed afresh on each request, so only its unsigned part is stable.
    assert_eq!(codes[0], links[0]);
    let stable = |l: &str| l.rsplit_once('/').map(|(head, _)| head.to_owned()).unwrap_or_default();
    assert_eq!(stable(&codes[1]), stable(&links[1]));

    // The audit report names what KSeF answered: KSeF numbers and UPO hashes of accepted invoices.
    let (_, trail) = get(port, "/api/v1/audit?format=json", Some(&cookie));
    let trail: serde_json::Value = serde_json::from_str(&trail).unwrap();
    let accepted: serde_json::Value = trail["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "send.invoice_accepted")
        .map(|e| serde_json::from_str(e["payload"].as_str().unwrap()).unwrap())
        .unwrap();
    let pdf = download(port, "/api/v1/audit?format=pdf", &cookie, dir.path());
    let text = crate::reports::pdf_pages(&pdf).join("\n");
    let flat = text.replace('\n', "");
    assert!(text.contains("KSeF nadał numer (A)"), "{text}");
    assert!(text.contains("Biuro Rachunkowe Demo sp. z o.o."), "the demo office's name: {text}");
    for key in ["ksef_number", "upo_sha256", "session_reference"] {
        let want = accepted[key].as_str().unwrap();
        assert!(flat.contains(want), "{key} {want} missing from the audit PDF");
    }
}

/// A binary download through the demo's HTTP server.
fn download(port: u16, path: &str, cookie: &str, dir: &std::path::Path) -> Vec<u8> {
    let file = dir.join("download.bin");
    let out = Command::new("curl")
        .args(["-s", "-f", "-o"])
        .arg(&file)
        .args(["-H", &format!("Cookie: {cookie}"), &format!("http://127.0.0.1:{port}{path}")])
        .output()
        .unwrap();
    assert!(out.status.success(), "GET {path}: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::read(file).unwrap()
}
