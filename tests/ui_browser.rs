//! The web UI in a real browser: Debian's Chromium, driven through chromedriver (WebDriver)
//! with fantoccini, against `cambium standalone` on a free port with a fresh home.
//!
//! - signing in (and a wrong password), the DAG list;
//! - triggering `hello` from the form, its grid until both tasks succeed, a task try's log;
//! - a backfill: dry run first (nothing created), then the real one until it is done;
//! - the model page: promote version 1 over 2, the metrics chart and the lineage graph;
//! - user data (a DAG's description and tags, a run's conf, a task's log) shown as text.
//!
//! Each test starts its own standalone and browser, so they run in parallel. Without
//! chromedriver the tests are skipped with a message, except in CI (`CI` set), where that is
//! a failure. `CAMBIUM_SCREENSHOTS=1` saves screenshots of the main pages to
//! `docs/screenshots/`; otherwise they go to the test's temporary folder.

mod common;

use common::everything::{self, page_urls};
use common::{Env, Standalone};
use fantoccini::elements::Element;
use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::future::Future;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The longest any one test may take, waits included.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(240);
/// How long to wait for a page or an element to appear.
const PAGE_WAIT: Duration = Duration::from_secs(20);
/// How long a run of `hello` may take (two `echo` commands; a few seconds).
const RUN_WAIT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------
// The browser

/// chromedriver and the Chromium it starts; both are killed when this drops, also when a
/// test panics.
struct Browser {
    client: Client,
    _driver: Driver,
}

/// The chromedriver process, in a process group of its own so that the Chromium processes it
/// starts go with it.
struct Driver {
    child: Child,
    log: PathBuf,
    // Chromium's profile, removed after the processes are gone (fields drop in order).
    _dir: tempfile::TempDir,
}

impl Driver {
    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The group's id is chromedriver's pid (process_group(0) at spawn).
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

/// True when chromedriver's `/status` says it is ready for sessions.
fn driver_ready(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.contains("\"ready\":true")
}

/// Where chromedriver and Chromium are.
struct Tools {
    driver: PathBuf,
    chromium: String,
}

impl Tools {
    /// chromedriver on PATH (or `CAMBIUM_TEST_CHROMEDRIVER`) and Chromium at /usr/bin/chromium
    /// (or `CAMBIUM_TEST_CHROMIUM`); `None`, with a visible message, when they are not
    /// installed outside CI. In CI (`CI` set) their absence fails the test.
    fn find() -> Option<Tools> {
        let driver = std::env::var_os("CAMBIUM_TEST_CHROMEDRIVER")
            .map(PathBuf::from)
            .or_else(|| on_path("chromedriver"));
        let chromium = std::env::var("CAMBIUM_TEST_CHROMIUM")
            .unwrap_or_else(|_| "/usr/bin/chromium".to_string());
        match driver {
            Some(driver) if driver.is_file() && Path::new(&chromium).is_file() => {
                Some(Tools { driver, chromium })
            }
            _ => {
                let what = format!(
                    "the browser tests need chromedriver (on PATH, or CAMBIUM_TEST_CHROMEDRIVER) \
                     and Chromium ({chromium}, or CAMBIUM_TEST_CHROMIUM): \
                     apt-get install chromium chromium-driver"
                );
                cambium_testkit::skip(&format!("{what} (.ci/run installs them in CI)"));
                None
            }
        }
    }
}

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium session in a fresh profile.
    async fn start(tools: &Tools) -> Browser {
        let Tools { driver, chromium } = tools;
        let dir = tempfile::tempdir().expect("browser tempdir");
        let profile = dir.path().join("profile");
        let log = dir.path().join("chromedriver.log");
        let port = free_port();
        let out = std::fs::File::create(&log).expect("chromedriver log");
        let err = out.try_clone().expect("clone log");
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", driver.display()));
        let mut driver = Driver {
            child,
            log,
            _dir: dir,
        };

        let deadline = Instant::now() + Duration::from_secs(20);
        while !driver_ready(port) {
            if let Ok(Some(status)) = driver.child.try_wait() {
                panic!("chromedriver exited ({status}):\n{}", driver.log_text());
            }
            if Instant::now() > deadline {
                panic!(
                    "chromedriver did not answer on port {port} in 20 s:\n{}",
                    driver.log_text()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }

        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".to_string(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-background-networking",
                    "--no-first-run",
                    "--disable-quic",
                    "--disable-component-update",
                    "--disable-sync",
                    "--window-size=1400,1000",
                    format!("--user-data-dir={}", profile.display()),
                ],
            }),
        );
        // chromedriver speaks plain HTTP on loopback: no TLS connector needed.
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = match ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => c,
            Err(e) => panic!(
                "no WebDriver session with {chromium}: {e}\n{}",
                driver.log_text()
            ),
        };
        client
            .update_timeouts(TimeoutConfiguration::new(
                Some(Duration::from_secs(20)),
                Some(Duration::from_secs(30)),
                Some(Duration::from_secs(0)),
            ))
            .await
            .expect("set WebDriver timeouts");
        Browser {
            client,
            _driver: driver,
        }
    }

    /// Ends the session (Chromium quits); chromedriver is killed on drop.
    async fn close(self) {
        let client = self.client.clone();
        let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
    }
}

// ---------------------------------------------------------------------------------------
// Pages

/// The browser pointed at one standalone.
struct Ui {
    c: Client,
    base: String,
    shots: PathBuf,
}

/// Polls until a deadline; `tick` panics with what was awaited once it has passed.
struct Deadline {
    what: String,
    until: Instant,
    timeout: Duration,
}

impl Deadline {
    fn new(timeout: Duration, what: impl Into<String>) -> Deadline {
        Deadline {
            what: what.into(),
            until: Instant::now() + timeout,
            timeout,
        }
    }

    async fn tick(&self, last: impl std::fmt::Display) {
        if Instant::now() > self.until {
            panic!(
                "timed out after {:?} waiting for {} (last seen: {last})",
                self.timeout, self.what
            );
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

impl Ui {
    async fn goto(&self, path: &str) {
        let url = format!("{}{path}", self.base);
        self.c
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    async fn path(&self) -> String {
        self.c
            .current_url()
            .await
            .expect("current url")
            .path()
            .to_string()
    }

    async fn url(&self) -> String {
        self.c
            .current_url()
            .await
            .expect("current url")
            .as_str()
            .to_string()
    }

    /// Waits for an element matching `css`.
    async fn wait(&self, css: &str) -> Element {
        self.c
            .wait()
            .at_most(PAGE_WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} on the page within {PAGE_WAIT:?}: {e}"))
    }

    async fn count(&self, css: &str) -> usize {
        self.c
            .find_all(Locator::Css(css))
            .await
            .map(|v| v.len())
            .unwrap_or(0)
    }

    async fn text(&self, css: &str) -> String {
        self.wait(css)
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("text of {css}: {e}"))
    }

    async fn fill(&self, css: &str, value: &str) {
        let el = self.wait(css).await;
        el.clear()
            .await
            .unwrap_or_else(|e| panic!("clear {css}: {e}"));
        el.send_keys(value)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    async fn click(&self, css: &str) {
        self.wait(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Runs `script` in the page (a function body; `return` gives the value).
    async fn js(&self, script: &str) -> Value {
        self.c
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script {script}: {e}"))
    }

    /// The visible text of the whole page.
    async fn body_text(&self) -> String {
        self.js("return document.body.innerText;")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Injected markup would set `window.__pwned`; it must never run.
    async fn assert_not_pwned(&self) {
        let pwned = self.js("return typeof window.__pwned;").await;
        assert_eq!(
            pwned,
            "undefined",
            "a script from user data ran on {}",
            self.url().await
        );
        let foreign = self
            .js("return document.querySelectorAll('script:not([src=\"/static/app.js\"])').length;")
            .await;
        assert_eq!(
            foreign,
            0,
            "a script element from user data on {}",
            self.url().await
        );
    }

    async fn screenshot(&self, name: &str) {
        let png = self
            .c
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        std::fs::create_dir_all(&self.shots).expect("screenshots dir");
        let path = self.shots.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        eprintln!("screenshot: {}", path.display());
    }

    /// Signs in through the form, after checking that `/` sends a visitor to `/login`.
    async fn sign_in(&self, user: &str, password: &str) {
        self.goto("/").await;
        self.wait("form#login").await;
        assert_eq!(
            self.path().await,
            "/login",
            "/ must redirect to the login page"
        );
        self.fill("#username", user).await;
        self.fill("#password", password).await;
        self.click("#login-submit").await;
        self.wait("table#dags").await;
        assert_eq!(self.path().await, "/");
        assert!(
            self.text("#whoami").await.contains(user),
            "signed in as {user}"
        );
    }

    /// Reads the grid's cells as (task_id, run_id, state); `None` while the page reloads.
    async fn grid_cells(&self) -> Option<Vec<(String, String, String)>> {
        let cells = self
            .c
            .execute(
                "return Array.from(document.querySelectorAll('a.cell')).map(function (a) {
                   return [a.dataset.taskId, a.dataset.runId, a.dataset.state]; });",
                vec![],
            )
            .await
            .ok()?;
        Some(
            cells
                .as_array()?
                .iter()
                .filter_map(|c| {
                    let s = |i: usize| c.get(i).and_then(Value::as_str).map(str::to_string);
                    Some((s(0)?, s(1)?, s(2)?))
                })
                .collect(),
        )
    }
}

// ---------------------------------------------------------------------------------------
// What is drawn: computed styles and sizes, as a person would see them

/// The state colours of the stylesheet (`ui/assets/app.css`), shared by the grid's cells,
/// the graph's boxes and the badges.
const STATE_COLOURS: &[(&str, [u8; 3])] = &[
    ("success", [0x2e, 0x9d, 0x48]),
    ("failed", [0xd4, 0x3d, 0x3d]),
    ("running", [0x7f, 0xd1, 0x7f]),
    ("queued", [0x9a, 0xa0, 0xa6]),
    ("scheduled", [0xc4, 0xb5, 0xfd]),
    ("up_for_retry", [0xe6, 0xb8, 0x00]),
    ("upstream_failed", [0xf0, 0x8c, 0x00]),
    ("skipped", [0xf4, 0xa6, 0xc6]),
    ("none", [0xec, 0xef, 0xf1]),
];

fn state_colour(state: &str) -> [u8; 3] {
    STATE_COLOURS
        .iter()
        .find(|(s, _)| *s == state)
        .map(|(_, c)| *c)
        .unwrap_or_else(|| panic!("no colour for state {state}"))
}

/// A computed CSS colour (`rgb(1, 2, 3)`, `rgba(1, 2, 3, 0.5)`) as RGB, `None` for
/// `none`, fully transparent or anything else that paints nothing.
fn rgb(css: &str) -> Option<[u8; 3]> {
    let inner = css
        .trim()
        .strip_prefix("rgba(")
        .or_else(|| css.trim().strip_prefix("rgb("))?
        .strip_suffix(')')?;
    let parts: Vec<f64> = inner
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .ok()?;
    if parts.len() == 4 && parts[3] < 0.5 {
        return None;
    }
    let c = |v: f64| v.round().clamp(0.0, 255.0) as u8;
    Some([c(*parts.first()?), c(*parts.get(1)?), c(*parts.get(2)?)])
}

/// WCAG contrast ratio of two colours (1 to 21).
fn contrast(a: [u8; 3], b: [u8; 3]) -> f64 {
    let lum = |c: [u8; 3]| {
        let ch = |v: u8| {
            let v = f64::from(v) / 255.0;
            if v <= 0.039_28 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * ch(c[0]) + 0.7152 * ch(c[1]) + 0.0722 * ch(c[2])
    };
    let (x, y) = (lum(a), lum(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

/// A paint that shows: a colour that is neither transparent nor black.
fn visible_paint(what: &str, css: &str) -> [u8; 3] {
    let c = rgb(css).unwrap_or_else(|| panic!("{what} is not painted: {css:?}"));
    assert_ne!(c, [0, 0, 0], "{what} is black: {css}");
    c
}

impl Ui {
    /// The boxes of the graph (task graph or lineage) inside `container`, as drawn: every
    /// box filled (not black, not transparent; a task's in its state's colour) with a
    /// label of readable contrast, non-zero size, inside its box. Returns how many.
    async fn assert_graph_drawn(&self, container: &str) -> usize {
        let script = format!(
            "var out = [];
             document.querySelectorAll('{container} svg .node').forEach(function (g) {{
               var rect = g.querySelector('rect'), text = g.querySelector('text');
               var rs = getComputedStyle(rect), ts = getComputedStyle(text);
               var rb = rect.getBoundingClientRect(), tb = text.getBoundingClientRect();
               out.push({{ id: g.getAttribute('data-id'), cls: g.getAttribute('class'),
                 fill: rs.fill, stroke: rs.stroke, label: text.textContent,
                 label_fill: ts.fill, label_visibility: ts.visibility, label_opacity: ts.opacity,
                 rect: [rb.left, rb.top, rb.width, rb.height],
                 text: [tb.left, tb.top, tb.width, tb.height] }});
             }});
             return out;"
        );
        let nodes = self.js(&script).await;
        let nodes = nodes.as_array().cloned().unwrap_or_default();
        assert!(!nodes.is_empty(), "no graph nodes in {container}");
        for n in &nodes {
            let id = n["id"].as_str().unwrap_or("?");
            let what = format!("node {id} in {container}");
            let fill = visible_paint(
                &format!("the box of {what}"),
                n["fill"].as_str().unwrap_or(""),
            );
            let class = n["cls"].as_str().unwrap_or("");
            if let Some(state) = class.split(' ').find_map(|c| c.strip_prefix("state-")) {
                assert_eq!(
                    fill,
                    state_colour(state),
                    "{what} ({class}): the state's colour"
                );
            }
            let label = visible_paint(
                &format!("the label of {what}"),
                n["label_fill"].as_str().unwrap_or(""),
            );
            let ratio = contrast(fill, label);
            assert!(
                ratio >= 3.0,
                "{what}: label on box contrast {ratio:.2} ({n})"
            );
            assert_eq!(n["label_visibility"], "visible", "{what}");
            assert_eq!(n["label_opacity"], "1", "{what}");
            assert!(
                !n["label"].as_str().unwrap_or("").is_empty(),
                "{what} has a label"
            );
            let r = |k: &str, i: usize| n[k][i].as_f64().unwrap_or(0.0);
            assert!(
                r("rect", 2) > 20.0 && r("rect", 3) > 10.0,
                "{what}: box size {n}"
            );
            assert!(
                r("text", 2) > 3.0 && r("text", 3) > 5.0,
                "{what}: label size {n}"
            );
            assert!(
                r("text", 0) >= r("rect", 0) - 1.0
                    && r("text", 1) >= r("rect", 1) - 1.0
                    && r("text", 0) + r("text", 2) <= r("rect", 0) + r("rect", 2) + 1.0
                    && r("text", 1) + r("text", 3) <= r("rect", 1) + r("rect", 3) + 1.0,
                "{what}: the label is inside its box: {n}"
            );
        }
        let edges = self
            .js(&format!(
                "return Array.from(document.querySelectorAll('{container} svg .edge')).map(function (p) {{
                   var s = getComputedStyle(p); return [s.stroke, s.strokeWidth, s.fill]; }});"
            ))
            .await;
        for e in edges.as_array().cloned().unwrap_or_default() {
            visible_paint(
                &format!("an edge in {container}"),
                e[0].as_str().unwrap_or(""),
            );
            assert_eq!(e[2], "none", "edges are lines, not filled shapes: {e}");
        }
        nodes.len()
    }

    /// The grid's cells as drawn: each a visible square in its state's colour.
    async fn assert_grid_drawn(&self) -> Vec<String> {
        let cells = self
            .js(
                "return Array.from(document.querySelectorAll('a.cell')).map(function (a) {
                   var s = getComputedStyle(a), b = a.getBoundingClientRect();
                   return [a.dataset.state, s.backgroundColor, b.width, b.height]; });",
            )
            .await;
        let cells = cells.as_array().cloned().unwrap_or_default();
        assert!(!cells.is_empty(), "no grid cells");
        let mut states = Vec::new();
        for c in &cells {
            let state = c[0].as_str().unwrap_or("?").to_string();
            let colour = visible_paint(&format!("a {state} cell"), c[1].as_str().unwrap_or(""));
            assert_eq!(colour, state_colour(&state), "a {state} cell's colour");
            let (w, h) = (c[2].as_f64().unwrap_or(0.0), c[3].as_f64().unwrap_or(0.0));
            assert!(w >= 10.0 && h >= 10.0, "a {state} cell is {w}x{h}");
            states.push(state);
        }
        states.sort();
        states.dedup();
        states
    }

    /// A chart (plotters' SVG) inside `container` as drawn: a sizeable drawing whose lines
    /// and points have a visible stroke or fill and a size, and readable axis text.
    async fn assert_chart_drawn(&self, container: &str) {
        let drawn = self
            .js(&format!(
                "var svg = document.querySelector('{container} svg');
                 if (!svg) return null;
                 var b = svg.getBoundingClientRect();
                 var lines = Array.from(svg.querySelectorAll('polyline, path')).map(function (l) {{
                   var s = getComputedStyle(l), r = l.getBoundingClientRect();
                   return [s.stroke, parseFloat(s.strokeWidth), r.width, r.height]; }});
                 var points = Array.from(svg.querySelectorAll('circle')).map(function (c) {{
                   var s = getComputedStyle(c), r = c.getBoundingClientRect();
                   return [s.fill, s.stroke, r.width, r.height]; }});
                 var texts = Array.from(svg.querySelectorAll('text')).map(function (t) {{
                   var s = getComputedStyle(t), r = t.getBoundingClientRect();
                   return [s.fill, r.width, r.height, t.textContent]; }});
                 return {{ size: [b.width, b.height], lines: lines, points: points, texts: texts }};"
            ))
            .await;
        assert!(!drawn.is_null(), "no chart in {container}");
        let size = |i: usize| drawn["size"][i].as_f64().unwrap_or(0.0);
        assert!(
            size(0) > 300.0 && size(1) > 150.0,
            "{container}: chart size {drawn}"
        );
        let lines: Vec<Value> = drawn["lines"].as_array().cloned().unwrap_or_default();
        let drawn_lines = lines
            .iter()
            .filter(|l| {
                rgb(l[0].as_str().unwrap_or("")).is_some_and(|c| c != [255, 255, 255])
                    && l[1].as_f64().unwrap_or(0.0) > 0.0
                    && l[2].as_f64().unwrap_or(0.0) + l[3].as_f64().unwrap_or(0.0) > 5.0
            })
            .count();
        assert!(drawn_lines > 0, "{container}: no line is drawn: {lines:?}");
        for p in drawn["points"].as_array().cloned().unwrap_or_default() {
            let painted = rgb(p[0].as_str().unwrap_or("")).or(rgb(p[1].as_str().unwrap_or("")));
            assert!(
                painted.is_some(),
                "{container}: a point is not painted: {p}"
            );
            assert!(
                p[2].as_f64().unwrap_or(0.0) > 1.0,
                "{container}: a point has no size: {p}"
            );
        }
        let texts: Vec<Value> = drawn["texts"].as_array().cloned().unwrap_or_default();
        assert!(!texts.is_empty(), "{container}: no axis labels");
        for t in &texts {
            if t[3].as_str().unwrap_or("").trim().is_empty() {
                continue;
            }
            let c = rgb(t[0].as_str().unwrap_or(""))
                .unwrap_or_else(|| panic!("{container}: text not painted: {t}"));
            assert!(
                contrast(c, [255, 255, 255]) >= 3.0,
                "{container}: faint text {t}"
            );
            assert!(
                t[1].as_f64().unwrap_or(0.0) > 0.0,
                "{container}: text without size {t}"
            );
        }
    }
}

/// A URL path segment: everything but unreserved characters percent-encoded.
fn seg(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// One test: an installation, its standalone and the browser

struct Case {
    env: Env,
    server: Standalone,
    ui: Ui,
}

/// Where screenshots go: the repository's docs with `CAMBIUM_SCREENSHOTS=1`, else the test's
/// temporary folder.
fn screenshots_dir(env: &Env) -> PathBuf {
    if std::env::var("CAMBIUM_SCREENSHOTS").as_deref() == Ok("1") {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots")
    } else {
        env.dir.path().join("screenshots")
    }
}

/// Runs a blocking step (the CLI, a file) from inside the async scenario.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

fn cambium_ok(env: &Env, args: &[&str]) {
    let out = env.run(args);
    assert!(
        out.status.success(),
        "cambium {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `scenario` with a time limit; if it fails, prints where the browser was, the page
/// and the standalone's log before failing the test.
async fn drive<F, Fut>(browser: Browser, env: Env, server: Standalone, scenario: F)
where
    F: FnOnce(Arc<Case>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let shots = screenshots_dir(&env);
    let case = Arc::new(Case {
        ui: Ui {
            c: browser.client.clone(),
            base: server.url.clone(),
            shots,
        },
        env,
        server,
    });
    let mut task = tokio::spawn(scenario(case.clone()));
    let failure: Option<Box<dyn std::any::Any + Send>> =
        match tokio::time::timeout(SCENARIO_TIMEOUT, &mut task).await {
            Ok(Ok(())) => None,
            Ok(Err(e)) if e.is_panic() => Some(e.into_panic()),
            Ok(Err(e)) => Some(Box::new(format!("the scenario ended: {e}"))),
            Err(_) => {
                task.abort();
                Some(Box::new(format!(
                    "the scenario did not finish within {SCENARIO_TIMEOUT:?}"
                )))
            }
        };
    if let Some(panic) = failure {
        report(&case).await;
        drop(case);
        browser.close().await;
        std::panic::resume_unwind(panic);
    }
    browser.close().await;
}

fn head(text: &str, n: usize) -> &str {
    match text.char_indices().nth(n) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

fn tail(text: &str, n: usize) -> &str {
    let count = text.chars().count();
    match text.char_indices().nth(count.saturating_sub(n)) {
        Some((i, _)) => &text[i..],
        None => text,
    }
}

async fn report(case: &Case) {
    let t = Duration::from_secs(10);
    let url = match tokio::time::timeout(t, case.ui.c.current_url()).await {
        Ok(Ok(u)) => u.to_string(),
        Ok(Err(e)) => format!("(unknown: {e})"),
        Err(_) => "(the browser did not answer)".to_string(),
    };
    let source = match tokio::time::timeout(t, case.ui.c.source()).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => format!("(no page source: {e})"),
        Err(_) => "(the browser did not answer)".to_string(),
    };
    let log = case.server.proc.log_text();
    eprintln!(
        "\n===== browser test failed =====\nbrowser at: {url}\n----- page source (first 6000 characters) -----\n{}\n----- standalone log (last 12000 characters) -----\n{}\n===== end =====",
        head(&source, 6000),
        tail(&log, 12000)
    );
}

/// Starts the browser and a standalone on `env`, then runs `scenario`.
async fn with_browser<F, Fut>(tools: Tools, env: Env, scenario: F)
where
    F: FnOnce(Arc<Case>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let browser = Browser::start(&tools).await;
    let server = env.standalone();
    drive(browser, env, server, scenario).await;
}

/// The repository's DAGs, with the heavy ones paused so that the scheduler does not train
/// models in the background while a test looks at pages.
fn repo_env() -> Env {
    let env = Env::new().with_repo_dags();
    for dag in ["wine_quality_ct", "retrain_shell", "fan_out"] {
        cambium_ok(&env, &["dags", "pause", dag]);
    }
    env
}

// ---------------------------------------------------------------------------------------
// The tests

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_trigger_watch_the_grid_read_the_log_and_backfill() {
    let Some(tools) = Tools::find() else { return };
    with_browser(tools, repo_env(), |case| async move {
        let ui = &case.ui;
        let env = &case.env;

        // 1. Signing in: a wrong password stays on /login with a message.
        ui.goto("/").await;
        ui.wait("form#login").await;
        assert_eq!(
            ui.path().await,
            "/login",
            "/ must redirect to the login page"
        );
        ui.fill("#username", "admin").await;
        ui.fill("#password", "not the password").await;
        ui.click("#login-submit").await;
        let error = ui.text("#login-error").await;
        assert!(!error.is_empty());
        assert_eq!(ui.path().await, "/login");
        assert_eq!(ui.count("table#dags").await, 0);
        ui.sign_in("admin", &case.server.admin_password).await;

        // 2. The DAG list shows the repository's DAGs.
        for dag in ["hello", "fan_out", "retrain_shell", "wine_quality_ct"] {
            let row = format!("table#dags tr[data-dag-id=\"{dag}\"]");
            assert_eq!(ui.count(&row).await, 1, "{dag} in the DAG list");
        }
        let hello = ui.text("table#dags tr[data-dag-id=\"hello\"]").await;
        assert!(hello.contains("*/10 * * * *"), "{hello}");
        assert!(hello.contains("demo"), "{hello}");
        ui.screenshot("dags").await;

        // 3. Trigger hello from the form, with a conf of our own.
        ui.goto("/dags/hello/trigger").await;
        ui.wait("form#trigger-form").await;
        let conf = ui
            .wait("#conf")
            .await
            .prop("value")
            .await
            .expect("conf value")
            .unwrap_or_default();
        let prefilled: Value = serde_json::from_str(&conf)
            .unwrap_or_else(|e| panic!("#conf is not JSON ({e}): {conf}"));
        assert!(prefilled.is_object(), "{conf}");
        ui.fill("#conf", r#"{"who": "the browser test"}"#).await;
        ui.click("#trigger-submit").await;
        ui.wait("#run-state").await;
        let run_id = ui.text("#run-id").await;
        assert!(!run_id.is_empty());
        let path = ui.path().await;
        assert!(path.starts_with("/dags/hello/runs/"), "{path}");
        assert!(ui.text("#run-conf").await.contains("the browser test"));

        // The grid, until both of the run's tasks succeed.
        ui.goto("/dags/hello").await;
        ui.wait("table#grid").await;
        let deadline = Deadline::new(RUN_WAIT, format!("both tasks of {run_id} to succeed"));
        loop {
            let cells = ui.grid_cells().await.unwrap_or_default();
            let ours: Vec<_> = cells.iter().filter(|c| c.1 == run_id).collect();
            let ok = |task: &str| ours.iter().any(|c| c.0 == task && c.2 == "success");
            if ok("say_hello") && ok("say_bye") {
                break;
            }
            deadline.tick(format!("{ours:?}")).await;
            let _ = ui.c.refresh().await;
        }
        ui.screenshot("grid").await;

        let drawn = ui.assert_grid_drawn().await;
        assert!(drawn.iter().any(|s| s == "success"), "{drawn:?}");

        ui.goto("/dags/hello/graph").await;
        ui.wait("#graph svg").await;
        assert_eq!(ui.assert_graph_drawn("#graph").await, 2);
        ui.screenshot("graph").await;

        // 4. A cell opens the task try, with its log.
        ui.goto("/dags/hello").await;
        let cell = format!("a.cell[data-task-id=\"say_hello\"][data-run-id=\"{run_id}\"]");
        let deadline = Deadline::new(PAGE_WAIT, "the say_hello cell to open its try");
        loop {
            // The grid reloads itself when runs change; a click can miss a stale cell.
            if ui.wait(&cell).await.click().await.is_ok()
                && ui.path().await.ends_with("/tasks/say_hello")
            {
                break;
            }
            deadline.tick(ui.url().await).await;
            ui.goto("/dags/hello").await;
        }
        assert_eq!(
            ui.path().await,
            format!("/dags/hello/runs/{}/tasks/say_hello", seg(&run_id))
        );
        assert_eq!(ui.text("#task-state").await, "success");
        let log = ui.text("pre#log").await;
        assert!(
            log.contains("hello for 20"),
            "the rendered command's output: {log}"
        );
        ui.screenshot("task").await;

        // 5. Backfill an hour: a dry run first, which creates nothing.
        ui.goto("/dags/hello/backfill").await;
        ui.wait("form#backfill-form").await;
        ui.fill("#start", "2026-11-02T08:00:00+01:00").await;
        ui.fill("#end", "2026-11-02T09:00:00+01:00").await;
        ui.wait("#rerun")
            .await
            .select_by_value("none")
            .await
            .expect("rerun none");
        ui.fill("#max_active_runs", "4").await;
        ui.click("#preview-button").await;
        ui.wait("table#preview").await;
        let intervals = ui.count("table#preview tr[data-action]").await;
        assert!(
            (6..=7).contains(&intervals),
            "an hour of a 10-minute schedule: {intervals} intervals\n{}",
            ui.text("table#preview").await
        );
        ui.screenshot("backfill-preview").await;
        let backfill_runs = || {
            blocking(|| env.json(&["runs", "list", "hello"], 0))
                .as_array()
                .expect("runs")
                .iter()
                .filter(|r| r["run_type"] == "backfill")
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(
            backfill_runs(),
            Vec::<Value>::new(),
            "a dry run creates nothing"
        );

        ui.click("#start-button").await;
        ui.wait("#progress").await;
        let url = ui.url().await;
        assert!(url.contains("/dags/hello/backfill?backfill="), "{url}");
        let deadline = Deadline::new(Duration::from_secs(120), "the backfill to finish");
        loop {
            let progress =
                ui.c.execute(
                    "var d = document.getElementById('progress-done'),
                         t = document.getElementById('progress-total');
                     return d && t ? [d.textContent.trim(), t.textContent.trim()] : null;",
                    vec![],
                )
                .await
                .unwrap_or(Value::Null);
            let n = |i: usize| progress[i].as_str().and_then(|s| s.parse::<usize>().ok());
            if let (Some(done), Some(total)) = (n(0), n(1)) {
                assert_eq!(total, intervals, "the backfill's runs");
                if done == total {
                    break;
                }
            }
            deadline.tick(&progress).await;
            let _ = ui.c.refresh().await;
        }
        ui.screenshot("backfill-progress").await;
        let runs = backfill_runs();
        assert_eq!(runs.len(), intervals, "{runs:?}");
        assert!(
            runs.iter().all(|r| r["state"] == "success"),
            "every backfilled run succeeds: {runs:?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn promote_a_model_version_from_its_page() {
    let Some(tools) = Tools::find() else { return };
    // Two trainings, as in the continuous-training tour: v1, then v2 on new data, which
    // takes production.
    let env = Env::new().with_repo_dags();
    env.train_two_wine_versions();
    for dag in ["wine_quality_ct", "retrain_shell", "fan_out"] {
        cambium_ok(&env, &["dags", "pause", dag]);
    }

    with_browser(tools, env, |case| async move {
        let ui = &case.ui;
        ui.sign_in("admin", &case.server.admin_password).await;
        ui.goto("/models/wine_quality").await;
        ui.wait("table#versions").await;
        assert_eq!(ui.text("#production").await, "version 2");
        assert_eq!(ui.count("table#versions tr[data-version]").await, 2);
        for v in ["1", "2"] {
            let row = format!("table#versions tr[data-version=\"{v}\"]");
            assert_eq!(ui.count(&row).await, 1, "version {v}");
        }
        ui.wait("#metrics-chart svg").await;
        ui.wait("#lineage svg").await;
        assert_eq!(
            ui.count("button.promote-button[data-version=\"2\"]").await,
            0,
            "no promote button on the production version"
        );

        ui.click("button.promote-button[data-version=\"1\"]").await;
        let deadline = Deadline::new(PAGE_WAIT, "#production to say version 1");
        loop {
            let now =
                ui.c.execute(
                    "var p = document.getElementById('production');
                     return p ? p.textContent.trim() : null;",
                    vec![],
                )
                .await
                .unwrap_or(Value::Null);
            if now == "version 1" {
                break;
            }
            deadline.tick(&now).await;
        }
        assert_eq!(ui.path().await, "/models/wine_quality");
        ui.wait("table#versions").await;
        ui.wait("#metrics-chart svg").await;
        ui.wait("#lineage svg").await;
        ui.assert_chart_drawn("#metrics-chart").await;
        assert!(
            ui.assert_graph_drawn("#lineage").await >= 4,
            "data → components → model → deployment"
        );
        assert_eq!(
            ui.count("button.promote-button[data-version=\"2\"]").await,
            1,
            "version 2 can be promoted back"
        );
        assert_eq!(
            blocking(|| case.env.production("wine_quality")),
            Some(1),
            "the CLI agrees"
        );
        ui.screenshot("model").await;
    })
    .await;
}

/// Markup that sets `window.__pwned` if a page ever renders it as HTML.
const DESCRIPTION: &str =
    "<script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=2\">";
const TAG: &str = "<b>x</b>";
const LOGGED: &str = "<script>window.__pwned=3</script>";
const CONF_NOTE: &str = "<script>window.__pwned=4</script>";

#[tokio::test(flavor = "multi_thread")]
async fn user_data_is_shown_as_text() {
    let Some(tools) = Tools::find() else { return };
    let env = Env::new();
    env.write_dag(
        "xss.rhai",
        &format!(
            "let d = dag(\"xss\", #{{\n    description: {description},\n    tags: [{tag}],\n    params: #{{ note: \"\" }},\n}});\n\
             d.command(\"shout\", #{{ cmd: [\"echo\", {logged}] }});\n",
            description = serde_json::to_string(DESCRIPTION).expect("json"),
            tag = serde_json::to_string(TAG).expect("json"),
            logged = serde_json::to_string(LOGGED).expect("json"),
        ),
    );
    let listed = env.json(&["dags", "list"], 0);
    assert_eq!(listed[0]["dag_id"], "xss", "the DAG imports: {listed}");

    with_browser(tools, env, |case| async move {
        let ui = &case.ui;
        ui.sign_in("admin", &case.server.admin_password).await;

        // The tag in the DAG list.
        let row = ui.text("table#dags tr[data-dag-id=\"xss\"]").await;
        assert!(row.contains(TAG), "the tag as text: {row}");
        assert_eq!(ui.count("table#dags tr[data-dag-id=\"xss\"] b").await, 0);
        ui.assert_not_pwned().await;

        // The description on the DAG's pages.
        ui.goto("/dags/xss").await;
        ui.wait("#dag-title").await;
        let text = ui.body_text().await;
        assert!(
            text.contains(DESCRIPTION),
            "the description as text: {text}"
        );
        assert_eq!(ui.count("main img").await, 0);
        ui.assert_not_pwned().await;

        // A conf with markup, through the trigger form, on the run page.
        ui.goto("/dags/xss/trigger").await;
        ui.fill("#conf", &json!({ "note": CONF_NOTE }).to_string())
            .await;
        ui.click("#trigger-submit").await;
        ui.wait("#run-state").await;
        let run_id = ui.text("#run-id").await;
        let conf = ui.text("#run-conf").await;
        assert!(conf.contains(CONF_NOTE), "the conf as text: {conf}");
        ui.assert_not_pwned().await;

        // The task's log, once the run has ended.
        let deadline = Deadline::new(RUN_WAIT, format!("{run_id} to succeed"));
        loop {
            let state =
                ui.c.execute(
                    "var s = document.getElementById('run-state');
                     return s ? s.textContent.trim() : null;",
                    vec![],
                )
                .await
                .unwrap_or(Value::Null);
            if state == "success" {
                break;
            }
            assert_ne!(state, "failed", "the run failed");
            deadline.tick(&state).await;
            let _ = ui.c.refresh().await;
        }
        ui.goto(&format!("/dags/xss/runs/{}/tasks/shout", seg(&run_id)))
            .await;
        let log = ui.text("pre#log").await;
        assert!(log.contains(LOGGED), "the log as text: {log}");
        assert_eq!(ui.count("pre#log script").await, 0);
        ui.assert_not_pwned().await;
    })
    .await;
}

/// An admin adds a user on the users page; the new viewer signs in, sees no users link and
/// is refused the page.
#[tokio::test(flavor = "multi_thread")]
async fn an_admin_adds_a_user_who_then_signs_in() {
    let Some(tools) = Tools::find() else { return };
    with_browser(tools, Env::new(), |case| async move {
        let ui = &case.ui;
        ui.sign_in("admin", &case.server.admin_password).await;
        assert_eq!(
            ui.count("nav a[href=\"/users\"]").await,
            1,
            "admins see Users"
        );
        ui.click("nav a[href=\"/users\"]").await;
        ui.wait("table#users").await;
        assert!(ui.text("table#users").await.contains("admin"));

        let name = "nina <i>x";
        ui.fill("#new-user input[name=name]", name).await;
        ui.fill("#new-user input[name=password]", "nina-password-1")
            .await;
        ui.click("#new-user button").await;
        let saved = ui.text("#saved").await;
        assert!(saved.contains(name), "saved as text: {saved}");
        assert!(ui.text("table#users").await.contains(name));
        assert_eq!(ui.count("table#users i").await, 0, "the name is escaped");
        ui.assert_not_pwned().await;

        // The same name again is refused on the form, nothing else changes.
        ui.fill("#new-user input[name=name]", name).await;
        ui.fill("#new-user input[name=password]", "other-password").await;
        ui.click("#new-user button").await;
        let error = ui.text("#form-error").await;
        assert!(error.contains("already a user"), "{error}");

        // No delete button for yourself.
        let own = ui
            .js("return Array.from(document.querySelectorAll('table#users tr')).filter(function (tr) {
                   return tr.cells[0] && tr.cells[0].textContent === 'admin'; })
                   .map(function (tr) { return tr.querySelectorAll('form.delete-user').length; });")
            .await;
        assert_eq!(own, json!([0]), "admins cannot delete themselves");

        ui.click("form.who button").await;
        ui.wait("form#login").await;
        ui.sign_in(name, "nina-password-1").await;
        assert_eq!(ui.count("nav a[href=\"/users\"]").await, 0);
        ui.goto("/users").await;
        let refused = ui.text("#error-message").await;
        assert!(refused.contains("admin role"), "{refused}");

        // Back as admin, delete her: her row goes.
        ui.goto("/").await;
        ui.click("form.who button").await;
        ui.wait("form#login").await;
        ui.sign_in("admin", &case.server.admin_password).await;
        ui.goto("/users").await;
        ui.wait("table#users").await;
        assert_eq!(ui.count("form.delete-user").await, 1, "only nina can be deleted");
        ui.click("form.delete-user button").await;
        // The redirect back to /users lists her no more (polled: the click navigates).
        let deadline = Instant::now() + PAGE_WAIT;
        loop {
            let table = ui
                .js("var t = document.getElementById('users'); return t ? t.textContent : null;")
                .await;
            match table.as_str() {
                Some(text) if !text.contains("nina") => break,
                other => assert!(Instant::now() < deadline, "nina still listed: {other:?}"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
}

/// Every page of docs/ui.md on an installation with one of everything (see
/// tests/common/everything.rs), served by `cambium webserver` (no scheduler, so the forged
/// states hold): no page fails or runs user data, and what is drawn is drawn — the grid
/// and graph in every state's colour, the charts' lines, the lineage graph, metrics with
/// 4 significant digits.
#[tokio::test(flavor = "multi_thread")]
async fn every_page_with_one_of_everything_is_drawn() {
    let Some(tools) = Tools::find() else { return };
    let env = Env::new();
    let made = blocking(|| env.one_of_everything());
    everything::forge_states(&env, &made.states_run_id).await;
    let urls = page_urls(&made);
    let run = everything::seg(&made.run_id);
    let browser = Browser::start(&tools).await;
    let server = env.webserver();
    drive(browser, env, server, move |case| async move {
        let ui = &case.ui;
        ui.sign_in(everything::USER, everything::USER_PASSWORD)
            .await;
        for url in &urls {
            ui.goto(url).await;
            ui.wait("main").await;
            assert_eq!(
                ui.count("#error-message").await,
                0,
                "{url} is an error page: {}",
                ui.body_text().await
            );
            ui.assert_not_pwned().await;
        }

        ui.goto("/dags/states").await;
        ui.wait("table#grid").await;
        let mut all: Vec<String> = everything::STATES.iter().map(|s| s.to_string()).collect();
        all.sort();
        assert_eq!(ui.assert_grid_drawn().await, all, "a cell in every state");
        ui.goto("/dags/states/graph").await;
        ui.wait("#graph svg").await;
        assert_eq!(
            ui.assert_graph_drawn("#graph").await,
            everything::STATES.len()
        );
        ui.screenshot("graph-states").await;

        ui.goto("/dags/everything/graph").await;
        ui.wait("#graph svg").await;
        assert_eq!(ui.assert_graph_drawn("#graph").await, 3);

        ui.goto("/dags/wine_quality_ct/runs").await;
        ui.wait("#duration-chart svg").await;
        ui.assert_chart_drawn("#duration-chart").await;
        ui.screenshot("runs").await;

        ui.goto("/models/wine_quality").await;
        ui.wait("#lineage svg").await;
        ui.assert_chart_drawn("#metrics-chart").await;
        assert!(ui.assert_graph_drawn("#lineage").await >= 4);

        ui.goto(&format!("/dags/everything/runs/{run}/tasks/ok"))
            .await;
        let metrics = ui.text("table#task-metrics").await;
        assert!(metrics.contains("0.764"), "{metrics}");
        assert!(
            !metrics.contains("0.76397"),
            "4 significant digits: {metrics}"
        );
        ui.goto("/assets").await;
        let events = ui.text("table#asset-events").await;
        assert!(
            events.contains(everything::EXTRA_NOTE),
            "the extra as text: {events}"
        );
    })
    .await;
}
