//! A real headless Chromium for the Mini App's tests, driven through Debian's chromedriver
//! (WebDriver, with fantoccini). Each browser runs in its own process group on a free
//! loopback port and is killed by that group's id when the test ends, however it ends.
//! One browser runs at a time, so timings on a small CI machine are not a race between them.
//! Chromium resolves no host but 127.0.0.1: a page that reached for the internet fails at
//! once instead of waiting on it.

#![allow(dead_code)]

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, SemaphorePermit};

const MISSING: &str = "the Mini App's browser tests need Chromium and its WebDriver: \
    apt-get install chromium chromium-driver (elsewhere, SOUK_CHROMIUM and SOUK_CHROMEDRIVER \
    name the browser and the driver)";
/// Long enough for a debug build on a busy two-core machine; a failing wait says what it
/// waited for.
pub const PATIENCE: Duration = Duration::from_secs(30);

static ONE_AT_A_TIME: Semaphore = Semaphore::const_new(1);

/// Where screenshots and the driver's log go: `target/mini-app/` (artefacts, not committed).
pub fn artefacts() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::common::workspace_root().join("target"))
        .join("mini-app");
    std::fs::create_dir_all(&dir).expect("artefact directory");
    dir
}

/// `$variable` if set, else the first of `candidates` (absolute, or on PATH) that exists.
fn find(variable: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Some(chosen) = std::env::var_os(variable) {
        return Some(PathBuf::from(chosen));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    candidates.iter().find_map(|name| {
        let name = Path::new(name);
        if name.is_absolute() {
            return name.is_file().then(|| name.to_path_buf());
        }
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

fn free_port() -> u16 {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    socket.local_addr().expect("its address").port()
}

/// chromedriver (and the Chromium it starts) in a process group of their own.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let group = nix::unistd::Pid::from_raw(-(self.0.id() as i32));
        let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.0.wait();
    }
}

/// A Chromium window on a page; closed when dropped.
pub struct Browser {
    pub client: Client,
    _driver: Driver,
    _turn: SemaphorePermit<'static>,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium whose pages run `before_page_scripts`
    /// before any script of their own (the stand-in `Telegram.WebApp`).
    pub async fn start(before_page_scripts: &str) -> Browser {
        let turn = ONE_AT_A_TIME.acquire().await.expect("the browser turn");
        let drivers = ["chromedriver", "/usr/lib/chromium/chromedriver"];
        let driver = find("SOUK_CHROMEDRIVER", &drivers).expect(MISSING);
        // Debian's /usr/bin/chromium is a shell wrapper; the binary behind it starts faster.
        let browsers = ["/usr/lib/chromium/chromium", "chromium", "chromium-browser"];
        let chromium = find("SOUK_CHROMIUM", &browsers).expect(MISSING);
        let port = free_port();
        let log = std::fs::File::create(artefacts().join(format!("chromedriver-{port}.log")))
            .expect("driver log");
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect(MISSING);
        let driver = Driver(child);
        let url = format!("http://127.0.0.1:{port}/");
        wait_until_up(&url).await;
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
                         "--disable-background-networking", "--window-size=420,900",
                         "--force-device-scale-factor=1",
                         "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"],
            }
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&url)
            .await
            .expect("a Chromium session");
        let browser = Browser {
            client,
            _driver: driver,
            _turn: turn,
        };
        browser
            .cdp(
                "Page.addScriptToEvaluateOnNewDocument",
                json!({ "source": before_page_scripts }),
            )
            .await;
        browser
    }

    /// A Chrome DevTools command, through chromedriver's own endpoint for them.
    pub async fn cdp(&self, cmd: &'static str, params: Value) -> Value {
        self.client
            .issue_cmd(Cdp { cmd, params })
            .await
            .unwrap_or_else(|e| panic!("CDP {cmd}: {e}"))
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigation");
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script {script}: {e}"))
    }

    /// Waits until `expression` is truthy in the page; answers its value.
    pub async fn until(&self, what: &str, expression: &str) -> Value {
        let started = Instant::now();
        let script = format!("return ({expression}) || null;");
        loop {
            let value = self.js(&script, vec![]).await;
            if !value.is_null() {
                return value;
            }
            if started.elapsed() > PATIENCE {
                let notice = self.text("#notice").await;
                let view = self.text("main").await;
                panic!("waited {PATIENCE:?} for {what}; notice {notice:?}, page {view:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The text of the first element `css` selects ("" when none does).
    pub async fn text(&self, css: &str) -> String {
        let script = "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';";
        let value = self.js(script, vec![json!(css)]).await;
        value.as_str().unwrap_or_default().to_string()
    }

    /// Clicks the element `css` selects once it is there, as a user's click (WebDriver).
    pub async fn click(&self, css: &str) {
        let element = self
            .client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"));
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Clicks the link or button whose text contains `label`, inside `within`.
    pub async fn click_text(&self, within: &str, label: &str) {
        // Marks the element for the WebDriver click (the mark of an earlier pick is wiped).
        let script = "for (const e of document.querySelectorAll('[data-pick]')) e.removeAttribute('data-pick'); \
            for (const e of document.querySelectorAll(arguments[0] + ' a, ' + arguments[0] + ' button')) \
            { if (e.innerText.includes(arguments[1])) { e.setAttribute('data-pick', '1'); return true; } } return null;";
        let started = Instant::now();
        while self
            .js(script, vec![json!(within), json!(label)])
            .await
            .is_null()
        {
            assert!(started.elapsed() < PATIENCE, "no '{label}' in {within}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.click("[data-pick]").await;
    }

    /// Saves a PNG of the window under `target/mini-app/`; answers its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let path = artefacts().join(name);
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

async fn wait_until_up(url: &str) {
    let started = Instant::now();
    let http = reqwest::Client::new();
    loop {
        let ready = http.get(format!("{url}status")).send().await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        assert!(started.elapsed() < PATIENCE, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or("")
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}
