//! The dashboard in a real browser: headless Chromium, driven over WebDriver
//! (chromedriver) with fantoccini, on an app loaded with the reference set. It reads
//! the tiles, follows an explain link from a tile, changes a filter and sees the URL
//! and the numbers change, downloads a CSV, opens a service's timeline, and saves
//! screenshots at 375 px and 1400 px under the target directory.

#[path = "pages/html.rs"]
mod html;
mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use support::{FROM, TO, reference_text, spawn_app};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A chromedriver process, stopped when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts chromedriver on a free port and waits for the line that says it listens.
fn start_driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let started = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|line| line.contains("started successfully"));
    assert!(started, "chromedriver did not start");
    // Keep reading its output so that it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Driver { child, port }
}

async fn browser(driver: &Driver, downloads: &Path) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                "--window-size=1400,1000"
            ],
            "prefs": {
                "download.default_directory": downloads.display().to_string(),
                "download.prompt_for_download": false
            }
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a WebDriver session")
}

fn screenshots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn text_of(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .text()
        .await
        .unwrap()
}

async fn attr_of(client: &Client, css: &str, name: &str) -> Option<String> {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .attr(name)
        .await
        .unwrap()
}

/// Clicks the link at `css` and waits for the next page's own element `arrived`
/// (the click answers before the new page has loaded).
async fn follow(client: &Client, css: &str, arrived: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .click()
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Css(arrived))
        .await
        .unwrap_or_else(|e| panic!("{arrived} never appeared after clicking {css}: {e}"));
}

/// Waits, up to a deadline, for the browser to finish writing a download into `dir`
/// (Chromium writes `*.crdownload` first and renames it when done).
fn finished_download(dir: &Path) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let done = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "csv"));
        if let Some(path) = done {
            return path;
        }
        assert!(
            Instant::now() < deadline,
            "no CSV was downloaded into {}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_works_in_a_real_browser() {
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        // CI installs both (.ci/run); on a workstation without them the test says so.
        assert!(
            std::env::var_os("CI").is_none(),
            "Chromium and chromedriver are required in CI: apt-get install chromium chromium-driver"
        );
        eprintln!("skipped: apt-get install chromium chromium-driver to run this test");
        return;
    }
    let app = spawn_app(|_| {}).await;
    let (status, _) = app
        .post_events(reference_text("events.ndjson"), "application/x-ndjson")
        .await;
    assert_eq!(status, 202);
    let expected: Value = serde_json::from_str(&reference_text("expected_metrics.json")).unwrap();
    let driver = tokio::task::spawn_blocking(start_driver).await.unwrap();
    let downloads = tempfile::tempdir().unwrap();
    let client = browser(&driver, downloads.path()).await;
    let shots = screenshots_dir();

    // The overview's tiles.
    client
        .goto(&format!("{}/?from={FROM}&to={TO}", app.base))
        .await
        .unwrap();
    let lead = text_of(&client, "[data-metric=lead-time] .value").await;
    assert_eq!(lead, "3.2 d");
    let cfr = text_of(&client, "[data-metric=change-failure-rate]").await;
    assert!(
        cfr.contains("21.3 %") && cfr.contains("16 of 75 deployments failed"),
        "{cfr}"
    );
    assert_eq!(
        text_of(&client, "[data-metric=change-failure-rate] .level")
            .await
            .to_lowercase(),
        "low"
    );
    let df = attr_of(
        &client,
        "[data-metric=deployment-frequency]",
        "data-samples",
    )
    .await;
    assert_eq!(df.as_deref(), Some("75"));

    // Screenshots at a phone's width and a wide screen's; the phone layout does not
    // scroll sideways.
    for (width, height) in [(375u32, 812u32), (1400, 1000)] {
        client.set_window_size(width, height).await.unwrap();
        let png = client.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG at {width} px");
        std::fs::write(shots.join(format!("overview-{width}.png")), png).unwrap();
        let overflow = client
            .execute(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
                vec![],
            )
            .await
            .unwrap();
        assert!(
            overflow.as_i64().unwrap() <= 1,
            "{width} px scrolls sideways by {overflow}"
        );
    }

    // From a tile, one click to the rows behind it.
    follow(
        &client,
        "[data-metric=change-failure-rate] a.value",
        "#row-count",
    )
    .await;
    let url = client.current_url().await.unwrap();
    assert_eq!(url.path(), "/explain/change-failure-rate", "{url}");
    assert_eq!(
        text_of(&client, "#row-count").await,
        expected["change_failure_rate"]["deployments"].to_string()
    );
    assert_eq!(text_of(&client, "#figure-value").await, "21.3 %");

    // Download every row as CSV.
    client
        .find(Locator::Css("#csv"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let dir = downloads.path().to_owned();
    let csv = tokio::task::spawn_blocking(move || finished_download(&dir))
        .await
        .unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(
        text.lines().count(),
        76,
        "a header and 75 deployments: {}",
        csv.display()
    );
    assert!(text.starts_with("finished_at,service,"));

    // Change a filter: the URL and the numbers change.
    client
        .goto(&format!("{}/?from={FROM}&to={TO}", app.base))
        .await
        .unwrap();
    let form = client.form(Locator::Css("form.filters")).await.unwrap();
    form.set_by_name("service", "checkout").await.unwrap();
    form.submit().await.unwrap();
    // The submitted page is the one whose filter holds the service.
    client
        .wait()
        .for_element(Locator::Css("input[name=service][value=checkout]"))
        .await
        .unwrap();
    let url = client.current_url().await.unwrap();
    assert!(
        url.query().unwrap_or("").contains("service=checkout"),
        "{url}"
    );
    let samples = attr_of(
        &client,
        "[data-metric=deployment-frequency]",
        "data-samples",
    )
    .await;
    assert_eq!(samples.as_deref(), Some("36"), "checkout's deployments");
    let cfr = text_of(&client, "[data-metric=change-failure-rate] .value").await;
    assert_eq!(cfr, "27.8 %");

    // A service's timeline.
    client
        .goto(&format!("{}/services?from={FROM}&to={TO}", app.base))
        .await
        .unwrap();
    follow(&client, "tr[data-service=checkout] a", "#service-name").await;
    assert_eq!(
        client.current_url().await.unwrap().path(),
        "/services/checkout"
    );
    assert_eq!(text_of(&client, "#service-name").await, "checkout");
    let marks = client
        .find_all(Locator::Css("#timeline-chart .mark"))
        .await
        .unwrap();
    assert!(
        marks.len() >= 36,
        "checkout's deployments on the timeline: {}",
        marks.len()
    );
    let failed = client
        .find_all(Locator::Css("#timeline-chart .mark.failed"))
        .await
        .unwrap();
    assert!(!failed.is_empty(), "failed deployments are coloured");
    let html = client.source().await.unwrap();
    let spans = html::elements(&html, "class=\"span incident");
    assert!(!spans.is_empty(), "incidents are drawn as spans");
    client.set_window_size(1400, 1000).await.unwrap();
    std::fs::write(
        shots.join("service-1400.png"),
        client.screenshot().await.unwrap(),
    )
    .unwrap();
    client.set_window_size(375, 812).await.unwrap();
    std::fs::write(
        shots.join("service-375.png"),
        client.screenshot().await.unwrap(),
    )
    .unwrap();

    client.close().await.unwrap();
    drop(driver);
    app.stop().await;
}
