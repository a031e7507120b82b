//! The panel in a real headless Chromium, driven over W3C WebDriver by `chromedriver`: log in,
//! open the client, upload the sample invoice through the file input, see it as a draft, open
//! it and see its hash, log out. Screenshots go to /tmp/panel-*.png for a person to look at.
//!
//! Skipped (with a notice) only when `chromedriver` is not installed; CI installs the Debian
//! packages `chromium` and `chromium-driver`, so there it runs.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use crate::common::{Backend, TestDb};
use crate::panel::{seed, EMAIL, PASSWORD, SAMPLE, SELLER_NIP};

/// W3C WebDriver's key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn find_in_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(name)).find(|p| p.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// chromedriver as a child process, killed when the test ends however it ends.
pub(crate) struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A tiny WebDriver client: just what the flow needs.
pub(crate) struct Browser {
    http: reqwest::Client,
    base: String,
    /// chromedriver's address and the session id, for ending the session in `Drop`.
    driver: String,
    sid: String,
}

/// Ends the WebDriver session however the test ends (a failed assertion included), so that
/// chromedriver closes Chromium instead of leaving it running once chromedriver is killed.
/// A blocking request by hand, since `Drop` cannot await.
impl Drop for Browser {
    fn drop(&mut self) {
        use std::io::{Read, Write};
        if let Ok(mut s) = std::net::TcpStream::connect(&self.driver) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let req = format!(
                "DELETE /session/{} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                self.sid, self.driver
            );
            let _ = s.write_all(req.as_bytes());
            let _ = s.read_to_end(&mut Vec::new());
        }
    }
}

impl Browser {
    pub(crate) async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        match self.try_call(method, path, body).await {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        }
    }

    async fn try_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let v: Value = resp.json().await.unwrap();
        if status.is_success() {
            Ok(v["value"].clone())
        } else {
            Err(format!("WebDriver {path}: {status} {v}"))
        }
    }

    /// Finds `css` and calls `action` on it; when the page replaced the element between the two
    /// (a navigation finishing, live progress redrawing a row), finds it again, up to 10 s.
    async fn on_element(
        &self,
        css: &str,
        method: reqwest::Method,
        action: &str,
        body: Option<Value>,
    ) -> Value {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            let el = self.find(css).await;
            match self.try_call(method.clone(), &format!("/element/{el}/{action}"), body.clone()).await {
                Ok(v) => return v,
                Err(e) if e.contains("stale element") && Instant::now() < until => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("{e}"),
            }
        }
    }

    pub(crate) async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url }))).await;
    }

    pub(crate) async fn try_find(&self, css: &str) -> Option<String> {
        let resp = self
            .http
            .post(format!("{}/element", self.base))
            .json(&json!({"using": "css selector", "value": css}))
            .send()
            .await
            .unwrap();
        let ok = resp.status().is_success();
        let v: Value = resp.json().await.unwrap();
        ok.then(|| v["value"][ELEMENT].as_str().unwrap().to_owned())
    }

    /// Waits (up to 10 s) for an element: page loads after a click finish asynchronously.
    pub(crate) async fn find(&self, css: &str) -> String {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(id) = self.try_find(css).await {
                return id;
            }
            assert!(Instant::now() < until, "no element {css:?} in:\n{}", self.source().await);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(crate) async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{el}/value"), Some(json!({ "text": text })))
            .await;
    }

    pub(crate) async fn click(&self, css: &str) {
        self.on_element(css, reqwest::Method::POST, "click", Some(json!({}))).await;
    }

    pub(crate) async fn text(&self, css: &str) -> String {
        self.on_element(css, reqwest::Method::GET, "text", None).await.as_str().unwrap().to_owned()
    }

    /// Runs a script in the page (WebDriver's own channel, not subject to the page's CSP).
    pub(crate) async fn execute(&self, script: &str) -> Value {
        self.call(reqwest::Method::POST, "/execute/sync", Some(json!({ "script": script, "args": [] }))).await
    }

    /// Sets the window (in headless Chromium: the viewport) to `width` × `height` CSS pixels.
    pub(crate) async fn resize(&self, width: u32, height: u32) {
        self.call(reqwest::Method::POST, "/window/rect", Some(json!({"width": width, "height": height})))
            .await;
    }

    pub(crate) async fn source(&self) -> String {
        self.call(reqwest::Method::GET, "/source", None).await.as_str().unwrap_or("").to_owned()
    }

    pub(crate) async fn screenshot(&self, name: &str) {
        let b64 = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD.decode(b64.as_str().unwrap()).unwrap();
        std::fs::write(format!("/tmp/panel-{name}.png"), png).unwrap();
    }
}

/// Starts chromedriver and waits until it answers.
async fn start_driver(exe: &PathBuf) -> (Driver, String) {
    let port = free_port();
    let child = Command::new(exe)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = Driver(child);
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let until = Instant::now() + Duration::from_secs(20);
    while http.get(format!("{url}/status")).send().await.is_err() {
        assert!(Instant::now() < until, "chromedriver did not start on {url}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (driver, url)
}

/// Opens a headless Chromium session with its own profile directory.
async fn open_browser(driver_url: &str, profile: &std::path::Path) -> Browser {
    let http = reqwest::Client::new();
    let mut options = json!({"args": [
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--window-size=1280,1000", "--lang=pl-PL",
        format!("--user-data-dir={}", profile.display()),
    ]});
    if let Some(bin) = ["chromium", "chromium-browser", "google-chrome"].iter().find_map(|n| find_in_path(n))
    {
        options["binary"] = json!(bin);
    }
    let caps =
        json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}});
    let resp = http.post(format!("{driver_url}/session")).json(&caps).send().await.unwrap();
    let v: Value = resp.json().await.unwrap();
    let sid =
        v["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no WebDriver session: {v}")).to_owned();
    let driver = driver_url.trim_start_matches("http://").to_owned();
    Browser { http, base: format!("{driver_url}/session/{sid}"), driver, sid }
}

/// The gateway on a real port, in its own actix system on its own thread (as `serve` runs it).
pub(crate) fn start_gateway(t: &TestDb) -> (String, ksef_gateway::state::AppState) {
    start_gateway_with(t, |s| s)
}

/// [`start_gateway`] with settings changed by `tweak`.
fn start_gateway_with(
    t: &TestDb,
    tweak: impl FnOnce(ksef_gateway::config::Settings) -> ksef_gateway::config::Settings,
) -> (String, ksef_gateway::state::AppState) {
    let mut s = tweak(t.settings());
    s.auth.cookie_secure = false; // plain http on 127.0.0.1: a Secure cookie would never come back
    s.server.workers = 1;
    let st = t.state_with(s);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server_state = st.clone();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(ksef_gateway::server::run(server_state, listener)).unwrap();
    });
    (url, st)
}

#[actix_web::test]
async fn panel_in_headless_chromium() {
    let Some(exe) = find_in_path("chromedriver") else {
        eprintln!("skipped: chromedriver is not installed (apt-get install chromium chromium-driver)");
        return;
    };
    let t = TestDb::new(Backend::Sqlite).unwrap();
    let (gw, st) = start_gateway(&t);
    seed(&st).await;
    let (_driver, driver_url) = start_driver(&exe).await;
    let profile = tempfile::tempdir().unwrap();
    let b = open_browser(&driver_url, profile.path()).await;

    b.goto(&format!("{gw}/")).await;
    b.find("form[action='/login']").await;
    b.type_into("#email", EMAIL).await;
    b.type_into("#password", PASSWORD).await;
    b.click("#zaloguj").await;
    b.find("table.data").await;
    assert!(b.source().await.contains("ABC AGD"), "the dashboard lists the client");
    b.screenshot("dashboard").await;

    b.click(&format!("a[href='/klienci/{SELLER_NIP}']")).await;
    b.type_into("#plik", SAMPLE).await;
    b.click("#wgraj").await;
    b.find("section.file").await;
    assert!(b.source().await.contains("szkic"), "the sample invoice is stored as a draft");

    b.goto(&format!("{gw}/klienci/{SELLER_NIP}")).await;
    let listed = b.text("#faktury").await;
    assert!(listed.contains("FV2026/02/150") && listed.contains("szkic"), "{listed}");
    b.screenshot("client").await;

    b.click("#faktury a[href^='/faktury/']").await;
    let sha = b.text("#sha256").await;
    let bytes = std::fs::read(SAMPLE).unwrap();
    assert_eq!(sha, ksef_gateway::service::intake::invoice_hash(&bytes));
    // A draft is neither in KSeF nor issued offline: no KOD I, and no "OFFLINE" caption.
    assert!(b.try_find("#etykieta-qr").await.is_none(), "a draft has no KOD I");
    b.find("#bez-kodu-qr").await;
    assert_eq!(b.text("#data-wystawienia").await, "15.02.2026", "P_1 in the panel's format");
    b.screenshot("invoice").await;

    // "Statusy w KSeF": nothing of this client is in flight yet, and the page says so.
    b.goto(&format!("{gw}/klienci/{SELLER_NIP}")).await;
    b.click("#statusy").await;
    assert!(b.text("#statusy-info").await.contains("nie czeka na status"));

    // Latarnia announces a failure of the client's KSeF: the notice is on the client page.
    let environment = { crate::common::client_by_nip(&st, SELLER_NIP).await.ksef_environment };
    let failure = serde_json::from_value(json!({"status": "FAILURE", "messages": [{
        "id": 1, "eventId": 1, "category": "FAILURE", "type": "FAILURE_START", "title": "Awaria KSeF",
        "text": "Trwa usuwanie awarii.", "start": "2026-12-02T08:00:00Z", "end": "2026-12-02T16:00:00Z"}]}))
    .unwrap();
    st.availability.record_latarnia(&environment, failure);
    b.goto(&format!("{gw}/klienci/{SELLER_NIP}")).await;
    assert!(b.text("#ksef-awaria").await.contains("Trwa usuwanie awarii"));
    b.screenshot("client-outage").await;

    // Offline issuing: the confirmation page explains the mode (the emergency one preselected
    // during the announced failure); the browser itself will not submit it until the
    // conscious-confirmation checkbox is ticked.
    b.click("#faktury input[name='ids']").await;
    b.click("#offline").await;
    // Every read after a click first waits for an element only the next page has: the click
    // returns before the new page replaces the old one.
    b.find("#swiadomie").await;
    assert!(b.source().await.contains("value=\"emergency\" checked"), "the mode that fits a failure");
    let explained = b.text("main").await;
    assert!(explained.contains("następnego dnia roboczego") && explained.contains(&sha), "{explained}");
    b.screenshot("offline").await;
    b.click("#potwierdz").await;
    assert!(b.try_find("#swiadomie").await.is_some(), "without the checkbox the form stays on the page");
    // The page shows each mode's deadline of this invoice: the failure's from its end
    // (Wednesday 02.12.2026 + 7 business days), offline24's from P_1 (Sunday 15.02.2026).
    assert_eq!(b.text("#termin-emergency").await, "11.12.2026 23:59");
    assert_eq!(b.text("#termin-offline24").await, "16.02.2026 23:59");
    b.click("#tryb-offline24").await;
    b.click("#swiadomie").await;
    // The sample's past P_1 is a warning, repeated here and confirmed consciously.
    b.click("input[name='ostrzezenia_ok']").await;
    b.click("#potwierdz").await;
    assert!(b.text("#decyzja").await.contains("Decyzja zapisana"));
    b.goto(&format!("{gw}/klienci/{SELLER_NIP}")).await;
    b.click("#faktury a[href^='/faktury/']").await;
    b.find("#sha256").await;
    let issued = b.text("main").await;
    assert!(
        issued.contains("wystawiona offline") && issued.contains("termin przesłania do KSeF"),
        "{issued}"
    );
    assert_eq!(b.text("#etykieta-qr").await, "OFFLINE", "issued offline, no KSeF number yet");
    // offline24: the next business day after the issue date (P_1), not after the day of the
    // click, to the end of that day in Warsaw time; the timeline note says the very same time.
    assert_eq!(b.text("#termin-offline").await, "16.02.2026 23:59");
    let history = b.text("#historia").await;
    assert!(history.contains("termin przesłania do KSeF: 16.02.2026 23:59"), "{history}");
    assert!(!issued.contains("22:59"), "no UTC time leaks onto the page: {issued}");
    b.goto(&format!("{gw}/")).await;
    b.find("table.data").await;
    b.screenshot("dashboard-after").await;

    b.click("#wyloguj").await;
    b.find("form[action='/login']").await;
    b.goto(&format!("{gw}/")).await;
    b.find("form[action='/login']").await;

    drop(b); // ends the session (and Chromium) before chromedriver is stopped
}

/// chromedriver and a headless Chromium logged in to the gateway at `gw` as `email`; None
/// (with a notice) when chromedriver is not installed.
pub(crate) async fn logged_in(
    gw: &str,
    email: &str,
    password: &str,
) -> Option<(Driver, Browser, tempfile::TempDir)> {
    let Some(exe) = find_in_path("chromedriver") else {
        eprintln!("skipped: chromedriver is not installed (apt-get install chromium chromium-driver)");
        return None;
    };
    let (driver, driver_url) = start_driver(&exe).await;
    let profile = tempfile::tempdir().unwrap();
    let b = open_browser(&driver_url, profile.path()).await;
    b.goto(&format!("{gw}/")).await;
    b.find("form[action='/login']").await;
    b.type_into("#email", email).await;
    b.type_into("#password", password).await;
    b.click("#zaloguj").await;
    b.find("table.data").await;
    Some((driver, b, profile))
}

/// 2,000 invoices of one client: the panel lists the newest 50 and says "1–50 z 2 000"; the
/// next page shows exactly the next 50, whose invoices can be opened and chosen for sending.
#[actix_web::test]
async fn page_two_of_two_thousand_invoices_in_headless_chromium() {
    let t = TestDb::new(Backend::Sqlite).unwrap();
    let (gw, st) = start_gateway(&t);
    seed(&st).await;
    let client = crate::common::client_by_nip(&st, SELLER_NIP).await;
    let expected = crate::pagination::store_many(&st, &client.id, SELLER_NIP, 2_000).await;
    let Some((_driver, b, _profile)) = logged_in(&gw, EMAIL, PASSWORD).await else { return };

    b.goto(&format!("{gw}/klienci/{SELLER_NIP}")).await;
    assert_eq!(b.text("#zakres").await, "1–50 z 2 000");
    let first_page = b.source().await;
    assert!(first_page.contains(&format!("/faktury/{}", expected[0])) && !first_page.contains(&expected[50]));
    b.click("#nastepna").await;
    b.find("#poprzednia").await;
    assert_eq!(b.text("#zakres").await, "51–100 z 2 000");
    let second = b.source().await;
    for id in &expected[50..100] {
        assert!(second.contains(&format!("href=\"/faktury/{id}\"")), "page 2 lists {id}");
    }
    assert!(!second.contains(&expected[49]) && !second.contains(&expected[100]), "and nothing else");
    assert!(b.try_find(&format!("#w-{}", expected[99])).await.is_some(), "an older invoice can be chosen");
    b.screenshot("page-2").await;
    b.click(&format!("a[href='/faktury/{}']", expected[75])).await;
    b.find("#sha256").await;
    assert!(b.source().await.contains(&expected[75]), "and opened");
    drop(b);
}

/// A token KSeF refuses is not stored: the access page says why in Polish beside the field,
/// inside the normal layout, and the working credential (its fingerprint) stays.
#[actix_web::test]
async fn a_refused_token_keeps_the_working_one_in_headless_chromium() {
    use ksef_gateway::auth::Role;
    use ksef_gateway::service::access::Caller;
    use ksef_gateway::service::users::{self, NewUserInput};
    let t = TestDb::new(Backend::Sqlite).unwrap();
    let (gw, st) = start_gateway(&t);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let sim = ksef_simulator::start(ksef_simulator::SimulatorConfig::default(), listener).await.unwrap();
    crate::panel::seed_at(&st, &sim.base_url()).await;
    let admin = NewUserInput {
        email: "szefowa@biuro.test".into(),
        display_name: "Szefowa".into(),
        role: Role::OfficeAdmin,
        nip: None,
    };
    users::create_user(&st, &Caller::Operator, admin, secrecy::SecretString::from(PASSWORD)).await.unwrap();
    let Some((_driver, b, _profile)) = logged_in(&gw, "szefowa@biuro.test", PASSWORD).await else { return };

    b.goto(&format!("{gw}/klienci/{SELLER_NIP}/dostepy")).await;
    let before = b.text("#biezace-poswiadczenie").await;
    b.type_into("#token", "20261203-EC-ODRZUCONY-TOKEN-01|nip-9999999999|0badc0ffee0badc0").await;
    b.click("#zapisz-token").await;
    let why = b.text("#blad-token").await;
    assert!(why.contains("KSeF nie przyjął tego poświadczenia") && why.contains("dotychczasowe"), "{why}");
    let page = b.source().await;
    assert!(page.contains("id=\"wyloguj\"") && page.contains("Dziennik audytu"), "inside the normal layout");
    assert!(!page.contains("0badc0ffee0badc0"), "the token typed never comes back");
    assert_eq!(b.text("#biezace-poswiadczenie").await, before, "the working credential stays");
    b.screenshot("token-refused").await;
    drop(b);
    sim.stop().await;
}

/// "Faktury zakupowe" from the navigation: the list with its counts, a search through the
/// filter form (which comes back filled in), and the invoice page in Polish formats.
#[actix_web::test]
async fn purchase_invoices_in_headless_chromium() {
    let t = TestDb::new(Backend::Sqlite).unwrap();
    let (gw, st) = start_gateway(&t);
    seed(&st).await;
    let client = crate::common::client_by_nip(&st, SELLER_NIP).await;
    crate::purchases::store_many(&st, &client.id, 150).await;
    let ksef = crate::purchases::SAMPLE_KSEF;
    crate::purchases::store(&st, vec![crate::purchases::sample_row(&client.id, 1, ksef)]).await;
    let Some((_driver, b, _profile)) = logged_in(&gw, EMAIL, PASSWORD).await else { return };

    b.click("nav a[href='/faktury-zakupowe']").await;
    b.find("#zakupowe").await;
    assert_eq!(b.text("#zakres").await, "1–100 z 151");
    b.type_into("#f-szukaj", "FV2026").await;
    b.click("#filtruj").await;
    b.find("#zakupowe a[href$='0100001AF629-AF']").await;
    assert_eq!(b.text("#zakres").await, "1–1 z 1");
    assert!(b.source().await.contains("value=\"FV2026\""), "the form comes back filled in");
    b.screenshot("purchases").await;
    b.click("#zakupowe a[href$='0100001AF629-AF']").await;
    b.find("#dane").await;
    assert_eq!(b.text("#brutto").await, "2 051,00 zł");
    assert_eq!(b.text("#data").await, "15.02.2026");
    b.find("#pdf").await;
    b.screenshot("purchase").await;
    drop(b);
}

/// Live progress: invoices decided while their page is open go W → O → A on the invoice page,
/// and a bulk send on the client's list, without a reload: `static/live.js` polls
/// `/stany-faktur` and stops once all is final. The sender starts only after the page is
/// shown, so the page really starts at W; a marker set in the page proves it was never reloaded.
#[actix_web::test]
async fn live_progress_reaches_a_without_reload_in_headless_chromium() {
    use ksef_gateway::service::access::Caller;
    use ksef_gateway::service::decisions::{decide_send, SendRequest};
    use ksef_gateway::service::intake::{self, Source};
    if find_in_path("chromedriver").is_none() {
        eprintln!("skipped: chromedriver is not installed (apt-get install chromium chromium-driver)");
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let sim = ksef_simulator::start(ksef_simulator::SimulatorConfig::default(), listener).await.unwrap();
    let token = "20261201-EC-TESTTOKEN-0000000001|nip|abc";
    sim.add_token(SELLER_NIP, token, &["InvoiceWrite", "InvoiceRead"]);
    let t = TestDb::new(Backend::Sqlite).unwrap();
    let (gw, st) = start_gateway_with(&t, |mut s| {
        s.sender.enabled = false; // started by hand below, once the page shows W
        s.sender.tick_ms = 30;
        s.sender.status_poll_ms = 100;
        s.sender.backoff_base_ms = 100;
        s
    });
    crate::panel::seed_at(&st, &sim.base_url()).await;
    let client = { crate::common::client_by_nip(&st, SELLER_NIP).await };
    let sample = std::fs::read_to_string(SAMPLE).unwrap();
    let today = ksef_gateway::local_time::today().format("%Y-%m-%d").to_string();
    let decide = |numbers: Vec<String>| {
        let (st, sample, today, client_id) = (st.clone(), sample.clone(), today.clone(), client.id.clone());
        async move {
            let mut ids = Vec::new();
            for n in numbers {
                let xml = sample
                    .replace("<P_2>FV2026/02/150</P_2>", &format!("<P_2>{n}</P_2>"))
                    .replace("<P_1>2026-02-15</P_1>", &format!("<P_1>{today}</P_1>"));
                let stored =
                    intake::submit(&st, &Caller::Operator, &client_id, xml.into_bytes(), Source::Api)
                        .await
                        .unwrap();
                ids.push(stored[0].invoice.id.clone());
            }
            let req = SendRequest {
                invoice_ids: ids.clone(),
                offline: None,
                failure_confirmed: false,
                source_ip: None,
            };
            decide_send(&st, &Caller::Operator, req).await.unwrap();
            ids
        }
    };
    let Some((_driver, b, _profile)) = logged_in(&gw, EMAIL, PASSWORD).await else { return };
    let reach_a = |what: &'static str| {
        let (b, st) = (&b, &st);
        async move {
            let until = Instant::now() + Duration::from_secs(30);
            loop {
                let left = b.execute("return document.querySelectorAll('[data-live]').length").await;
                if left == json!(0) {
                    break;
                }
                if Instant::now() >= until {
                    let c = crate::common::client_by_nip(st, SELLER_NIP).await;
                    panic!(
                        "{what}: still on its way after 30 s; client paused: {:?}\n{}",
                        c.paused_reason,
                        b.source().await
                    );
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            let marker = b.execute("return window.kgwNoReload || null").await;
            assert_eq!(marker, json!(7), "{what}: the page was never reloaded");
        }
    };

    // One invoice on its page: W, then A by itself.
    let one = decide(vec!["FV/LIVE/1".into()]).await;
    b.goto(&format!("{gw}/faktury/{}", one[0])).await;
    assert_eq!(b.text("#stan").await, "w kolejce");
    assert_eq!(b.text(".status-box b.letter").await, "W");
    b.execute("window.kgwNoReload = 7").await;
    let engine = ksef_gateway::engine::start(st.clone());
    reach_a("the invoice page").await;
    assert_eq!(b.text("#stan").await, "przyjęta w KSeF");
    assert_eq!(b.text(".status-box b.letter").await, "A");
    engine.stop().await;

    // A bulk send of three on the client's list: every row follows, the one already in A stays.
    let three = decide((2..=4).map(|i| format!("FV/LIVE/{i}")).collect()).await;
    b.goto(&format!("{gw}/klienci/{SELLER_NIP}")).await;
    b.find("#faktury").await;
    let live = b.execute("return document.querySelectorAll('#faktury [data-live]').length").await;
    assert_eq!(live, json!(3), "the three decided rows are followed");
    b.execute("window.kgwNoReload = 7").await;
    let engine = ksef_gateway::engine::start(st.clone());
    reach_a("the client's list").await;
    let accepted = b.execute("return document.querySelectorAll('#faktury b.letter.A').length").await;
    assert_eq!(accepted, json!(4), "{}", b.source().await);
    for id in &three {
        let row = format!("#faktury tr[data-state='accepted'] a[href='/faktury/{id}']");
        b.find(&row).await;
        let number =
            b.text(&format!("tr[data-state='accepted']:has(a[href='/faktury/{id}']) .live-ksef")).await;
        assert!(number.starts_with(&format!("{SELLER_NIP}-")), "the KSeF number arrives live: {number}");
    }
    b.screenshot("live-progress").await;
    engine.stop().await;
    sim.stop().await;
}

/// "Utwórz identyfikator zbiorczy" in Chromium: two accepted invoices and a draft are ticked on
/// the client's list; the confirmation page lists the two and names the draft as left out; the
/// result page shows the IZ number KSeF issued, and both invoice pages list it.
#[actix_web::test]
async fn collective_identifier_from_the_list_in_headless_chromium() {
    use ksef_gateway::service::access::Caller;
    use ksef_gateway::service::intake::{self, Source};
    if find_in_path("chromedriver").is_none() {
        eprintln!("skipped: chromedriver is not installed (apt-get install chromium chromium-driver)");
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let sim = ksef_simulator::start(ksef_simulator::SimulatorConfig::default(), listener).await.unwrap();
    sim.add_token(SELLER_NIP, "20261201-EC-TESTTOKEN-0000000001|nip|abc", &["InvoiceWrite", "InvoiceRead"]);
    let t = TestDb::new(Backend::Sqlite).unwrap();
    let (gw, st) = start_gateway_with(&t, |mut s| {
        s.sender.enabled = false;
        s
    });
    crate::panel::seed_at(&st, &sim.base_url()).await;
    let client = crate::common::client_by_nip(&st, SELLER_NIP).await;
    let accepted = crate::engine::collective::store_accepted(&st, &sim, &client, 2).await;
    let bytes = std::fs::read(SAMPLE).unwrap();
    let draft = intake::submit(&st, &Caller::Operator, &client.id, bytes, Source::Api).await.unwrap();
    let draft_id = draft[0].invoice.id.clone();
    let Some((_driver, b, _profile)) = logged_in(&gw, EMAIL, PASSWORD).await else { return };

    b.goto(&format!("{gw}/klienci/{SELLER_NIP}")).await;
    for id in accepted.iter().map(|(id, _)| id).chain([&draft_id]) {
        b.click(&format!("#w-{id}")).await;
    }
    b.click("#iz").await;
    b.find("#do-iz").await;
    let confirm = b.source().await;
    for (_, ksef) in &accepted {
        assert!(confirm.contains(ksef.as_str()), "lists {ksef}");
    }
    assert!(b.text("#pominiete").await.contains("FV2026/02/150"), "the draft is named as left out");
    b.screenshot("iz-confirm").await;
    b.type_into("#opis", "Zapłata zbiorcza").await;
    b.click("#utworz-iz").await;
    let number = b.text("#numer-iz").await;
    assert!(ksef_simulator::collective_identifier_is_valid(&number), "{number}");
    assert_eq!(sim.collective_identifiers(SELLER_NIP)[0].0, number, "KSeF issued it");
    b.screenshot("iz-done").await;
    b.goto(&format!("{gw}/faktury/{}", accepted[1].0)).await;
    assert!(b.text("#iz-faktury").await.contains(&number), "the invoice page lists it");
    drop(b);
    sim.stop().await;
}
