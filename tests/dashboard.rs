//! The dashboard in a real browser: headless Chromium renders `/` of an app loaded
//! with the reference data, and the page shows the same figures as the metrics JSON.

mod support;

use std::process::Command;

use support::{FROM, TO, reference_text, spawn_app};

fn chromium() -> Option<&'static str> {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_shows_the_metrics_with_levels_in_a_browser() {
    let Some(browser) = chromium() else {
        // CI installs Chromium (.ci/run); on a workstation without it the test says so.
        assert!(
            std::env::var_os("CI").is_none(),
            "Chromium is required in CI: apt-get install chromium"
        );
        eprintln!(
            "skipped: no Chromium; install it with `apt-get install chromium` to run this test"
        );
        return;
    };
    let app = spawn_app(|_| {}).await;
    let (status, _) = app
        .post_events(reference_text("events.ndjson"), "application/x-ndjson")
        .await;
    assert_eq!(status, 202);
    let url = format!("{}/?from={FROM}&to={TO}", app.base);
    let profile = tempfile::tempdir().unwrap();
    let profile_arg = format!("--user-data-dir={}", profile.path().display());
    let dom = tokio::task::spawn_blocking(move || {
        Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                &profile_arg,
                "--dump-dom",
                &url,
            ])
            .output()
            .expect("chromium runs")
    })
    .await
    .unwrap();
    let html = String::from_utf8_lossy(&dom.stdout);
    assert!(
        html.contains("Shiplog"),
        "no page rendered: {}",
        String::from_utf8_lossy(&dom.stderr)
    );
    // The reference period's figures (expected_metrics.json) with their levels.
    for expected in [
        "1.79 / day",
        "75 deployments on 30 days",
        "3.2 d",
        "median of 313 commits",
        "21.3 %",
        "16 of 75 deployments failed",
        "median over 14 recovered of 16 failed",
        "median over 16 resolved of 19 incidents",
        "16 of 75 deployments followed a failure",
    ] {
        assert!(html.contains(expected), "the dashboard lacks {expected:?}");
    }
    for level in ["elite", "high", "low"] {
        assert!(
            html.contains(&format!("class=\"level {level}\"")),
            "no {level} badge"
        );
    }
    for service in [
        "checkout",
        "@storefront/web",
        "storefront-api",
        "mobile-bff",
        "legacy-billing",
    ] {
        assert!(
            html.contains(&format!("data-service=\"{service}\"")),
            "no row for {service}"
        );
    }
    app.stop().await;
}
