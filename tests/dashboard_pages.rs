//! Every dashboard page through the router (`tower::ServiceExt::oneshot`) over the
//! reference set (`../shared/reference/`): the figures on the pages agree with the
//! reference metrics JSON and with the metrics API for the same filter, the rows
//! behind each figure count and recompute it, filters travel in every link, and
//! bad input is refused in words.

#[path = "pages/html.rs"]
mod html;
mod support;

use std::sync::LazyLock;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use serde_json::Value;
use shiplog_web::router;
use support::{TestApp, reference_text, spawn_app};
use tower::ServiceExt;

/// One runtime and one app loaded with the reference set, shared by every test of
/// this file (the app only reads after loading).
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
});

static APP: LazyLock<TestApp> = LazyLock::new(|| {
    RUNTIME.block_on(async {
        let app = spawn_app(|_| {}).await;
        let (status, body) = app
            .post_events(reference_text("events.ndjson"), "application/x-ndjson")
            .await;
        assert_eq!(status, 202, "{body}");
        app
    })
});

const PERIOD: &str = "from=2026-01-05&to=2026-02-16";

struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

fn get(path: &str) -> Page {
    get_with(path, &[])
}

fn get_with(path: &str, headers: &[(&str, &str)]) -> Page {
    // Loaded outside `block_on`: loading blocks on the runtime itself.
    let state = APP.state.clone();
    RUNTIME.block_on(async {
        let mut request = Request::get(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = router(state)
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 64 << 20)
            .await
            .unwrap();
        Page {
            status,
            headers,
            body: String::from_utf8(bytes.to_vec()).unwrap(),
        }
    })
}

fn ok(path: &str) -> String {
    let page = get(path);
    assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
    page.body
}

fn json(path: &str) -> Value {
    serde_json::from_str(&ok(path)).unwrap()
}

/// The six figures of a metrics JSON: (slug, value, tolerance, samples).
fn figures(m: &Value) -> Vec<(&'static str, Option<f64>, f64, i64)> {
    let n = |v: &Value| v.as_i64().unwrap();
    vec![
        (
            "deployment-frequency",
            m["deployment_frequency"]["per_day"].as_f64(),
            0.001,
            n(&m["deployment_frequency"]["deployments"]),
        ),
        (
            "lead-time",
            m["lead_time"]["median_hours"].as_f64(),
            0.01,
            n(&m["lead_time"]["samples"]),
        ),
        (
            "change-failure-rate",
            m["change_failure_rate"]["rate"].as_f64(),
            0.0001,
            n(&m["change_failure_rate"]["deployments"]),
        ),
        (
            "failed-deployment-recovery",
            m["failed_deployment_recovery"]["median_hours"].as_f64(),
            0.01,
            n(&m["failed_deployment_recovery"]["recovered"]),
        ),
        (
            "time-to-restore",
            m["time_to_restore"]["median_hours"].as_f64(),
            0.01,
            n(&m["time_to_restore"]["resolved"]),
        ),
        (
            "rework-rate",
            m["rework_rate"]["rate"].as_f64(),
            0.0001,
            n(&m["rework_rate"]["deployments"]),
        ),
    ]
}

/// Every tile of `html` shows the figures of `expected` (value and sample size).
fn assert_tiles_match(html: &str, expected: &Value, context: &str) {
    assert_some_tiles_match(html, expected, context, |_| true);
}

/// The tiles of `html` that `which` selects show the figures of `expected`.
fn assert_some_tiles_match(
    html: &str,
    expected: &Value,
    context: &str,
    which: impl Fn(&str) -> bool,
) {
    for (slug, value, tolerance, samples) in figures(expected).into_iter().filter(|f| which(f.0)) {
        let tile = html::element(html, &format!("data-metric=\"{slug}\""))
            .unwrap_or_else(|| panic!("{context}: no tile {slug}"));
        let shown: Option<f64> = html::attr(tile, "data-value")
            .filter(|v| !v.is_empty())
            .map(|v| v.parse().unwrap());
        match (shown, value) {
            (Some(a), Some(e)) => assert!(
                (a - e).abs() <= tolerance,
                "{context}: {slug} shows {a}, expected {e}"
            ),
            (a, e) => assert_eq!(a, e, "{context}: {slug}"),
        }
        let shown_samples: i64 = html::attr(tile, "data-samples").unwrap().parse().unwrap();
        assert_eq!(shown_samples, samples, "{context}: {slug} samples");
    }
}

#[test]
fn the_overview_shows_the_reference_figures_with_levels_and_what_they_are_made_of() {
    let html = ok(&format!("/?{PERIOD}"));
    let expected: Value = serde_json::from_str(&reference_text("expected_metrics.json")).unwrap();
    assert_tiles_match(&html, &expected, "overview");
    for text in [
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
        assert!(html.contains(text), "the overview lacks {text:?}");
    }
    let level = |slug: &str| {
        let tile = html::element(&html, &format!("data-metric=\"{slug}\"")).unwrap();
        html::text(html::element(tile, "class=\"level ").unwrap())
    };
    assert_eq!(level("deployment-frequency"), "elite");
    assert_eq!(level("lead-time"), "high");
    assert_eq!(level("change-failure-rate"), "low");
    // Grouped as DORA 2024 groups them.
    let throughput = html::element(&html, "id=\"throughput\"").unwrap();
    for slug in [
        "deployment-frequency",
        "lead-time",
        "failed-deployment-recovery",
    ] {
        assert!(
            throughput.contains(&format!("data-metric=\"{slug}\"")),
            "{slug}"
        );
    }
    let instability = html::element(&html, "id=\"instability\"").unwrap();
    for slug in ["change-failure-rate", "rework-rate"] {
        assert!(
            instability.contains(&format!("data-metric=\"{slug}\"")),
            "{slug}"
        );
    }
    // Build health beside them.
    assert!(
        html::element(&html, "id=\"build-health\"")
            .unwrap()
            .contains("Build success rate")
    );
}

#[test]
fn a_change_without_enough_samples_on_both_sides_says_why() {
    // The six weeks before the reference period hold a few early deployments only.
    let html = ok(&format!("/?{PERIOD}"));
    let before = json("/api/v1/metrics?from=2025-11-24&to=2026-01-05");
    let samples = before["lead_time"]["samples"].as_i64().unwrap();
    assert!(samples < 5, "{before}");
    let lead = html::element(&html, "data-change=\"lead-time\"").unwrap();
    assert_eq!(html::text(lead), "—");
    assert_eq!(
        html::attr(lead, "title").unwrap(),
        match samples {
            1 => "1 commit in the previous period; a change needs 5 on both sides".to_owned(),
            n => format!("{n} commits in the previous period; a change needs 5 on both sides"),
        }
    );
    let restore = html::element(&html, "data-change=\"time-to-restore\"").unwrap();
    assert_eq!(html::text(restore), "—");
    assert!(
        html::attr(restore, "title")
            .unwrap()
            .contains("resolved incidents in the previous period"),
        "{restore}"
    );
}

#[test]
fn changes_compare_with_the_previous_period_of_the_same_length() {
    // Three weeks against the three before: both halves of the reference set.
    let html = ok("/?from=2026-01-26&to=2026-02-16");
    let now = json("/api/v1/metrics?from=2026-01-26&to=2026-02-16");
    let before = json("/api/v1/metrics?from=2026-01-05&to=2026-01-26");
    let tile = html::element(&html, "data-change=\"deployment-frequency\"").unwrap();
    // Both periods have 21 days: the change of deployments per day is that of counts.
    let (a, b) = (
        now["deployment_frequency"]["deployments"].as_f64().unwrap(),
        before["deployment_frequency"]["deployments"]
            .as_f64()
            .unwrap(),
    );
    let percent = (a - b) / b * 100.0;
    let arrow = match percent.total_cmp(&0.0) {
        std::cmp::Ordering::Greater => "▲",
        std::cmp::Ordering::Less => "▼",
        std::cmp::Ordering::Equal => "=",
    };
    assert_eq!(html::text(tile), format!("{arrow} {:.1} %", percent.abs()));
    let class = html::attr(tile, "class").unwrap();
    assert_eq!(class.contains("better"), percent > 0.0, "{class}");
    assert_eq!(class.contains("worse"), percent < 0.0, "{class}");
    // Change failure rate moves in percentage points; higher is worse.
    let cfr = html::element(&html, "data-change=\"change-failure-rate\"").unwrap();
    let points = (now["change_failure_rate"]["rate"].as_f64().unwrap()
        - before["change_failure_rate"]["rate"].as_f64().unwrap())
        * 100.0;
    assert!(html::text(cfr).ends_with(" pts"), "{}", html::text(cfr));
    let shown: f64 = html::text(cfr)
        .trim_start_matches(['▲', '▼', '=', ' '])
        .trim_end_matches(" pts")
        .parse()
        .unwrap();
    assert!((shown - points.abs()).abs() < 0.06, "{shown} vs {points}");
    assert_eq!(
        html::attr(cfr, "class").unwrap().contains("worse"),
        points > 0.0
    );
}

#[test]
fn every_filter_gives_the_figures_of_the_metrics_api_for_the_same_filter() {
    let checkout: Value =
        serde_json::from_str(&reference_text("expected_metrics_checkout.json")).unwrap();
    assert_tiles_match(
        &ok(&format!("/?{PERIOD}&service=checkout")),
        &checkout,
        "checkout",
    );
    for filter in [
        "team=web",
        "team=payments",
        "service=%40storefront%2Fweb",
        "team=nobody",
    ] {
        let api = json(&format!("/api/v1/metrics?{PERIOD}&{filter}"));
        assert_tiles_match(&ok(&format!("/?{PERIOD}&{filter}")), &api, filter);
        for metric in [
            "deployment-frequency",
            "lead-time",
            "time-to-restore",
            "rework-rate",
        ] {
            let page = ok(&format!("/metrics/{metric}?{PERIOD}&{filter}"));
            assert_some_tiles_match(&page, &api, &format!("{metric} {filter}"), |s| s == metric);
        }
    }
}

#[test]
fn the_band_table_changes_the_levels() {
    let level = |bands: &str| {
        let html = ok(&format!("/?{PERIOD}&bands={bands}"));
        let tile = html::element(&html, "data-metric=\"change-failure-rate\"").unwrap();
        html::text(html::element(tile, "class=\"level ").unwrap())
    };
    // 21.3 %: low in 2023 (over 15 %), high in 2021 (at most 30 %) and in 2024 (20 %
    // is high there, so 21.3 % is low).
    assert_eq!(level("2023"), "low");
    assert_eq!(level("2021"), "high");
    assert_eq!(level("2024"), "low");
}

#[test]
fn metric_pages_draw_one_bar_per_bucket_with_the_level_bands_behind() {
    for (bucket, bars) in [("day", 42), ("week", 6), ("month", 2)] {
        let html = ok(&format!(
            "/metrics/deployment-frequency?{PERIOD}&bucket={bucket}"
        ));
        let chart = html::element(&html, "id=\"series-chart\"").unwrap();
        assert_eq!(
            chart.matches("class=\"bar\"").count(),
            bars,
            "{bucket}: {chart}"
        );
        for level in ["elite", "high", "medium", "low"] {
            assert!(
                chart.contains(&format!("band {level}")),
                "{bucket}: no {level} band"
            );
        }
    }
    // Rework rate has no bands.
    let html = ok(&format!("/metrics/rework-rate?{PERIOD}"));
    assert!(
        !html::element(&html, "id=\"series-chart\"")
            .unwrap()
            .contains("band elite")
    );
}

#[test]
fn duration_pages_show_the_distribution_whose_p50_is_the_figure() {
    let expected: Value = serde_json::from_str(&reference_text("expected_metrics.json")).unwrap();
    for (slug, median, samples) in [
        ("lead-time", &expected["lead_time"]["median_hours"], 313),
        (
            "failed-deployment-recovery",
            &expected["failed_deployment_recovery"]["median_hours"],
            14,
        ),
        (
            "time-to-restore",
            &expected["time_to_restore"]["median_hours"],
            16,
        ),
    ] {
        let html = ok(&format!("/metrics/{slug}?{PERIOD}"));
        let text = html::text(html::element(&html, "id=\"distribution-text\"").unwrap());
        assert!(
            text.starts_with(&format!("{samples} samples: p50 ")),
            "{slug}: {text}"
        );
        let chart = html::element(&html, "id=\"distribution-chart\"").unwrap();
        assert!(chart.contains("p50"), "{slug}: no p50 marker");
        let median = median.as_f64().unwrap();
        let shown = if median < 48.0 {
            format!("p50 {median:.1} h")
        } else {
            format!("p50 {:.1} d", median / 24.0)
        };
        assert!(text.contains(&shown), "{slug}: {text} lacks {shown}");
    }
    assert!(
        !ok(&format!("/metrics/change-failure-rate?{PERIOD}"))
            .contains("id=\"distribution-chart\"")
    );
}

#[test]
fn the_lead_time_page_breaks_lead_time_into_stages() {
    let html = ok(&format!("/metrics/lead-time?{PERIOD}&bucket=week"));
    let rows = html::rows(&html, "stages");
    // previous period, this period, six weeks.
    assert_eq!(rows.len(), 8, "{rows:?}");
    let period = html::text(rows[1]);
    assert!(period.starts_with("this period"), "{period}");
    assert!(
        !period.contains("—"),
        "the reference set has pull requests: {period}"
    );
}

#[test]
fn per_service_tables_sort_on_the_server() {
    let html = ok(&format!(
        "/services?{PERIOD}&sort=deployment-frequency&dir=desc"
    ));
    let services: Vec<String> = html::rows(&html, "services")
        .iter()
        .map(|r| html::attr(r, "data-service").unwrap())
        .collect();
    let api = |s: &str| {
        json(&format!(
            "/api/v1/metrics?{PERIOD}&service={}",
            s.replace('@', "%40").replace('/', "%2F")
        ))["deployment_frequency"]["deployments"]
            .as_i64()
            .unwrap()
    };
    let counts: Vec<i64> = services.iter().map(|s| api(s)).collect();
    assert!(
        counts.windows(2).all(|w| w[0] >= w[1]),
        "{services:?} {counts:?}"
    );
    assert_eq!(
        services.len(),
        5,
        "four deploying services and legacy-billing: {services:?}"
    );
    let ascending = ok(&format!("/services?{PERIOD}&sort=service"));
    let names: Vec<String> = html::rows(&ascending, "services")
        .iter()
        .map(|r| html::attr(r, "data-service").unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    // Every figure in the table is one click from the rows behind it.
    let checkout = html::rows(&ascending, "services")
        .into_iter()
        .find(|r| r.contains("data-service=\"checkout\""))
        .unwrap();
    let links = html::links(checkout);
    for metric in ["deployment-frequency", "lead-time", "time-to-restore"] {
        let explain = format!("/explain/{metric}?{PERIOD}&service=checkout");
        assert!(links.contains(&explain), "{links:?}");
    }
    // The header links flip the direction of the current column.
    let header = html::element(&ascending, "aria-sort=\"ascending\"").unwrap();
    assert!(header.contains("dir=desc"), "{header}");
}

#[test]
fn a_services_page_shows_its_timeline_deployments_incidents_and_what_runs_where() {
    let html = ok(&format!("/services/checkout?{PERIOD}"));
    let expected: Value =
        serde_json::from_str(&reference_text("expected_metrics_checkout.json")).unwrap();
    assert_tiles_match(&html, &expected, "checkout page");
    let deployments = html::rows(&html, "deployments");
    let counted = deployments
        .iter()
        .filter(|r| {
            let outcome = html::attr(r, "data-outcome").unwrap();
            !["attempt", "preproduction"].contains(&outcome.as_str())
        })
        .count();
    assert_eq!(counted, 36, "checkout's 36 production deployments");
    assert!(
        deployments
            .iter()
            .any(|r| html::attr(r, "data-outcome").as_deref() == Some("failed"))
    );
    let timeline = html::element(&html, "id=\"timeline-chart\"").unwrap();
    assert!(timeline.matches("<title>").count() >= deployments.len());
    // Incidents link to the deployment they were attributed to, with the rule.
    let incidents = html::rows(&html, "incidents");
    assert!(!incidents.is_empty());
    for row in &incidents {
        let text = html::text(row);
        let attributed = row.contains("href=\"#deployment-") || row.contains("#deployment-");
        assert_eq!(
            attributed,
            !text.contains("d: attributed to no deployment"),
            "{text}"
        );
    }
    // What runs where: production and Preprod, each with a sha and a deployment.
    let running = html::rows(&html, "running");
    let environments: Vec<String> = running
        .iter()
        .map(|r| html::attr(r, "data-environment").unwrap())
        .collect();
    assert!(
        environments.contains(&"Prod".to_owned()),
        "{environments:?}"
    );
    assert!(
        environments.contains(&"Preprod".to_owned()),
        "{environments:?}"
    );
    let pending = html::text(html::element(&html, "id=\"pending\"").unwrap());
    assert!(
        pending.starts_with("Production runs everything") || pending.contains("commit"),
        "{pending}"
    );
    assert_eq!(
        get(&format!("/services/nothing-here?{PERIOD}")).status,
        StatusCode::NOT_FOUND
    );
}

/// Reads a CSV body into rows of cells (the tests' own reading, quotes included).
fn csv_rows(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut cell)),
            ('\n', false) => {
                row.push(std::mem::take(&mut cell));
                lines.push(std::mem::take(&mut row));
            }
            (c, _) => cell.push(c),
        }
    }
    let header = lines.remove(0);
    (header, lines)
}

/// DuckDB's `quantile_cont`: linear interpolation between the closest ranks.
fn quantile(mut values: Vec<f64>, q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = q * (values.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    Some(values[lo] + (values[hi] - values[lo]) * (rank - lo as f64))
}

#[test]
fn the_rows_behind_every_figure_count_and_recompute_it() {
    let m: Value = serde_json::from_str(&reference_text("expected_metrics.json")).unwrap();
    let csv = |slug: &str| {
        let page = get(&format!("/explain/{slug}?{PERIOD}&format=csv"));
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        csv_rows(&page.body)
    };
    let column = |header: &[String], name: &str| header.iter().position(|h| h == name).unwrap();
    let shown_count = |slug: &str| {
        let html = ok(&format!("/explain/{slug}?{PERIOD}"));
        html::text(html::element(&html, "id=\"row-count\"").unwrap())
            .parse::<i64>()
            .unwrap()
    };

    // Deployment frequency, change failure rate, rework: one row per deployment.
    for slug in ["deployment-frequency", "change-failure-rate", "rework-rate"] {
        let (header, rows) = csv(slug);
        assert_eq!(
            rows.len() as i64,
            m["deployment_frequency"]["deployments"],
            "{slug}"
        );
        assert_eq!(shown_count(slug), rows.len() as i64, "{slug}");
        let failed = rows
            .iter()
            .filter(|r| r[column(&header, "failed")] == "true")
            .count();
        assert_eq!(failed as i64, m["change_failure_rate"]["failed"], "{slug}");
        let rework = rows
            .iter()
            .filter(|r| r[column(&header, "rework")] == "true")
            .count();
        assert_eq!(rework as i64, m["rework_rate"]["rework"], "{slug}");
        let days: std::collections::BTreeSet<&str> = rows
            .iter()
            .map(|r| &r[column(&header, "finished_at")][..10])
            .collect();
        assert_eq!(days.len() as i64, m["deployment_frequency"]["deploy_days"]);
        // A failure names its cause: a rollback, or the incidents attributed to it.
        for r in rows
            .iter()
            .filter(|r| r[column(&header, "failed")] == "true")
        {
            let cause = &r[column(&header, "failure_cause")];
            assert!(!cause.is_empty());
            if cause.contains("rollback") {
                assert!(!r[column(&header, "rolled_back_by")].is_empty());
            }
            if cause.contains("incident") {
                assert!(!r[column(&header, "incidents")].is_empty());
            }
        }
    }

    // Lead time: one row per sample; the median of their hours is the figure.
    let (header, rows) = csv("lead-time");
    assert_eq!(rows.len() as i64, m["lead_time"]["samples"]);
    assert_eq!(shown_count("lead-time"), rows.len() as i64);
    let hours: Vec<f64> = rows
        .iter()
        .map(|r| r[column(&header, "hours")].parse().unwrap())
        .collect();
    let median = quantile(hours.clone(), 0.5).unwrap();
    assert!((median - m["lead_time"]["median_hours"].as_f64().unwrap()).abs() <= 0.01);
    let p90 = quantile(hours, 0.9).unwrap();
    assert!((p90 - m["lead_time"]["p90_hours"].as_f64().unwrap()).abs() <= 0.01);
    let starts: std::collections::BTreeSet<&str> = rows
        .iter()
        .map(|r| r[column(&header, "start")].as_str())
        .collect();
    assert!(
        starts.contains("commit") && starts.contains("pull request first commit"),
        "{starts:?}"
    );

    // Recovery: one row per failed deployment; median over the recovered.
    let (header, rows) = csv("failed-deployment-recovery");
    assert_eq!(rows.len() as i64, m["failed_deployment_recovery"]["failed"]);
    let recovered: Vec<f64> = rows
        .iter()
        .filter_map(|r| r[column(&header, "recovery_hours")].parse().ok())
        .collect();
    assert_eq!(
        recovered.len() as i64,
        m["failed_deployment_recovery"]["recovered"]
    );
    let median = quantile(recovered, 0.5).unwrap();
    assert!(
        (median
            - m["failed_deployment_recovery"]["median_hours"]
                .as_f64()
                .unwrap())
        .abs()
            <= 0.01
    );

    // Time to restore: one row per incident; median over the resolved.
    let (header, rows) = csv("time-to-restore");
    assert_eq!(rows.len() as i64, m["time_to_restore"]["incidents"]);
    assert_eq!(shown_count("time-to-restore"), rows.len() as i64);
    let resolved: Vec<f64> = rows
        .iter()
        .filter_map(|r| r[column(&header, "hours")].parse().ok())
        .collect();
    assert_eq!(resolved.len() as i64, m["time_to_restore"]["resolved"]);
    let median = quantile(resolved, 0.5).unwrap();
    assert!((median - m["time_to_restore"]["median_hours"].as_f64().unwrap()).abs() <= 0.01);
    for r in &rows {
        let rule = &r[column(&header, "rule")];
        assert_eq!(
            rule.is_empty(),
            r[column(&header, "deployment_id")].is_empty(),
            "{r:?}"
        );
    }
}

#[test]
fn explain_pages_are_paged_and_the_figure_on_them_is_the_tiles() {
    let first = ok(&format!("/explain/lead-time?{PERIOD}"));
    assert_eq!(html::rows(&first, "rows").len(), 100);
    let last = ok(&format!("/explain/lead-time?{PERIOD}&page=4"));
    assert_eq!(
        html::rows(&last, "rows").len(),
        13,
        "313 samples: 3 full pages and 13"
    );
    assert!(html::text(html::element(&last, "id=\"pager\"").unwrap()).contains("page 4 of 4"));
    let overview = ok(&format!("/?{PERIOD}"));
    for slug in ["lead-time", "change-failure-rate", "time-to-restore"] {
        let tile = html::element(&overview, &format!("data-metric=\"{slug}\"")).unwrap();
        let value = html::text(html::element(tile, "data-explain=").unwrap());
        let explain = ok(&format!("/explain/{slug}?{PERIOD}"));
        let shown = html::text(html::element(&explain, "id=\"figure-value\"").unwrap());
        assert_eq!(shown, value, "{slug}");
        // The tile's number links to these rows, with the filters.
        let href = html::attr(html::element(tile, "data-explain=").unwrap(), "href").unwrap();
        assert_eq!(href, format!("/explain/{slug}?{PERIOD}"));
    }
}

#[test]
fn every_link_keeps_the_filters_and_never_the_token() {
    let query = format!("{PERIOD}&team=web&bands=2021&bucket=day");
    for path in [
        "/",
        "/metrics/lead-time",
        "/explain/rework-rate",
        "/services",
        "/services/%40storefront%2Fweb",
        "/data-health",
    ] {
        let html = ok(&format!("{path}?{query}"));
        let internal: Vec<String> = html::links(&html)
            .into_iter()
            .filter(|l| l.starts_with('/') && !l.starts_with("/static/"))
            .collect();
        assert!(!internal.is_empty(), "{path}");
        for link in &internal {
            assert!(!link.contains("token"), "{path}: {link}");
            if link.contains("days=") {
                // A preset replaces the custom range.
                assert!(!link.contains("from="), "{path}: {link}");
            } else {
                assert!(
                    link.contains("from=2026-01-05") && link.contains("to=2026-02-16"),
                    "{path}: {link}"
                );
            }
            assert!(
                link.contains("bands=2021") && link.contains("bucket=day"),
                "{path}: {link}"
            );
            // Links to one service (its page, its own figures and their rows) name
            // the service instead of the team.
            if !link.starts_with("/services/") {
                assert!(
                    link.contains("team=web") || link.contains("service="),
                    "{path}: {link}"
                );
            }
        }
    }
    // Presets replace the custom range.
    let html = ok(&format!("/?{query}"));
    let presets = html::element(&html, "id=\"presets\"").unwrap();
    let seven = html::links(presets)
        .into_iter()
        .find(|l| l.contains("days=7"))
        .unwrap();
    assert!(
        !seven.contains("from=") && seven.contains("team=web"),
        "{seven}"
    );
    let week = ok(&seven);
    let today = chrono::Utc::now().date_naive();
    let from = (today + chrono::Days::new(1) - chrono::Days::new(7)).to_string();
    assert!(
        week.contains(&format!("<b id=\"from\">{from}</b>")),
        "{seven}"
    );
}

#[test]
fn pages_send_a_policy_that_allows_no_script() {
    for path in [
        "/",
        "/metrics/lead-time",
        "/services",
        "/data-health",
        "/explain/lead-time",
    ] {
        let page = get(&format!("{path}?{PERIOD}"));
        assert_eq!(page.status, StatusCode::OK, "{path}");
        let csp = page.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("style-src 'self'"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("script-src"), "{csp}");
        assert_eq!(page.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(page.headers[header::REFERRER_POLICY], "no-referrer");
        assert!(!page.body.contains("<script"), "{path}");
        assert!(
            !page.body.contains("style=\""),
            "{path}: an inline style breaks the policy"
        );
        assert!(!page.body.contains("<style"), "{path}");
    }
    let css = get("/static/shiplog.css");
    assert_eq!(css.status, StatusCode::OK);
    assert!(
        css.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert!(css.body.contains("prefers-color-scheme: dark"));
}

#[test]
fn bad_filters_are_refused_with_a_page_that_says_what_to_fix() {
    for (query, status, words) in [
        (
            "bucket=year",
            StatusCode::BAD_REQUEST,
            "use day, week or month",
        ),
        (
            "days=13",
            StatusCode::BAD_REQUEST,
            "use one of 7, 30, 90 or 365",
        ),
        ("bands=2022", StatusCode::BAD_REQUEST, "2021, 2023 or 2024"),
        (
            "from=2026-02-16&to=2026-01-05",
            StatusCode::BAD_REQUEST,
            "must be before",
        ),
        (
            "from=2000-01-01&to=2026-01-01",
            StatusCode::BAD_REQUEST,
            "max_period_days = 1830",
        ),
        ("from=2026-01-05", StatusCode::BAD_REQUEST, "give both"),
    ] {
        let page = get(&format!("/metrics/lead-time?{query}"));
        assert_eq!(page.status, status, "{query}: {}", page.body);
        assert!(
            page.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(page.body.contains(words), "{query}: {}", page.body);
    }
    let unknown = get("/metrics/velocity");
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.body.contains("lead-time"), "{}", unknown.body);
    assert_eq!(
        get(&format!("/explain/lead-time?{PERIOD}&page=0")).status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get(&format!("/services?{PERIOD}&sort=colour")).status,
        StatusCode::BAD_REQUEST
    );
    // The weekly report takes no longer period either (SPEC §5).
    assert_eq!(
        get("/reports/weekly.csv?from=0001-01-01&to=9999-12-31").status,
        StatusCode::BAD_REQUEST
    );
}

#[test]
fn data_health_counts_match_their_rows() {
    let html = ok(&format!("/data-health?{PERIOD}"));
    let findings = html::rows(&html, "findings");
    assert_eq!(findings.len(), 5);
    for row in findings {
        let slug = html::attr(row, "data-check").unwrap();
        let count: i64 = html::text(html::element(row, "class=\"num\"").unwrap())
            .parse()
            .unwrap();
        let rows = ok(&format!("/data-health/{slug}?{PERIOD}"));
        let shown: i64 = html::text(html::element(&rows, "id=\"row-count\"").unwrap())
            .parse()
            .unwrap();
        assert_eq!(shown, count, "{slug}");
        let csv = get(&format!("/data-health/{slug}?{PERIOD}&format=csv"));
        assert_eq!(csv.body.lines().count() as i64, count + 1, "{slug}");
    }
    // The reference set arrived through the typed API.
    assert!(
        html::rows(&html, "sources")
            .iter()
            .any(|r| r.contains("data-source="))
    );
}

#[test]
fn hostile_names_render_as_text_and_are_guarded_in_csv() {
    RUNTIME.block_on(async {
        let app = spawn_app(|_| {}).await;
        let service = "<script>alert(1)</script>";
        let events = [
            json_line(&serde_json::json!({"type":"change","repo":"acme/x","sha":"s1","parents":[],"committed_at":"2026-03-02T08:00:00Z"})),
            json_line(&serde_json::json!({"type":"deployment","id":"<b>d1</b>","service":service,"repo":"acme/x","sha":"s1","finished_at":"2026-03-02T10:00:00Z"})),
            json_line(&serde_json::json!({"type":"incident","id":"i-1","service":service,"opened_at":"2026-03-02T11:00:00Z","resolved_at":"2026-03-02T12:00:00Z","title":"=HYPERLINK(\"http://x\")"})),
        ]
        .join("");
        let (status, body) = app.post_events(events, "application/x-ndjson").await;
        assert_eq!(status, 202, "{body}");
        let get = |path: String| {
            let state = app.state.clone();
            async move {
                let response = router(state)
                    .oneshot(Request::get(&path).body(Body::empty()).unwrap())
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::OK, "{path}");
                let bytes = axum::body::to_bytes(response.into_body(), 16 << 20).await.unwrap();
                String::from_utf8(bytes.to_vec()).unwrap()
            }
        };
        let q = "from=2026-03-01&to=2026-03-08";
        for path in [
            format!("/?{q}"),
            format!("/services?{q}"),
            format!("/services/%3Cscript%3Ealert(1)%3C%2Fscript%3E?{q}"),
            format!("/metrics/lead-time?{q}"),
            format!("/explain/time-to-restore?{q}"),
            format!("/explain/deployment-frequency?{q}"),
        ] {
            let html = get(path.clone()).await;
            assert!(!html.contains("<script"), "{path}: a raw script tag");
            assert!(!html.contains("<b>d1"), "{path}: raw markup from an id");
            assert!(html::unescape(&html).contains(service), "{path}: the name is missing");
        }
        let incidents = get(format!("/services/%3Cscript%3Ealert(1)%3C%2Fscript%3E?{q}")).await;
        assert!(!incidents.contains("=HYPERLINK(\"http"), "quotes are escaped in HTML");
        assert!(html::unescape(&incidents).contains("=HYPERLINK(\"http://x\")"));
        let csv = get(format!("/explain/time-to-restore?{q}&format=csv")).await;
        let line = csv.lines().nth(1).unwrap();
        assert!(line.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{line}");
        assert!(line.contains(service), "{line}");
        let deployments = get(format!("/explain/deployment-frequency?{q}&format=csv")).await;
        assert_eq!(deployments.lines().count(), 2, "{deployments}");
        app.stop().await;
    });
}

fn json_line(value: &Value) -> String {
    format!("{value}\n")
}

#[test]
fn a_token_in_the_url_becomes_a_cookie_and_leaves_the_url() {
    RUNTIME.block_on(async {
        let app = spawn_app(|config| {
            config.tokens.read = Some(secrecy::SecretString::from("read-secret"));
        })
        .await;
        let send = |path: &str, cookie: Option<&str>| {
            let mut request = Request::get(path);
            if let Some(cookie) = cookie {
                request = request.header(header::COOKIE, cookie);
            }
            router(app.state.clone()).oneshot(request.body(Body::empty()).unwrap())
        };
        let refused = send("/?days=30", None).await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        let wrong = send("/metrics/lead-time?days=30&token=nope", None)
            .await
            .unwrap();
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        assert!(wrong.headers().get(header::SET_COOKIE).is_none());

        let redirect = send(
            "/metrics/lead-time?days=30&token=read-secret&service=a%20b",
            None,
        )
        .await
        .unwrap();
        assert_eq!(redirect.status(), StatusCode::SEE_OTHER);
        let location = redirect.headers()[header::LOCATION].to_str().unwrap();
        assert_eq!(location, "/metrics/lead-time?days=30&service=a%20b");
        let cookie = redirect.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(cookie.starts_with("shiplog_read=read-secret;"), "{cookie}");
        for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(cookie.contains(part), "{cookie}");
        }
        let pair = cookie.split(';').next().unwrap();
        let page = send(location, Some(pair)).await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let bytes = axum::body::to_bytes(page.into_body(), 16 << 20)
            .await
            .unwrap();
        let html = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(!html.contains("read-secret"), "the token is in the page");
        assert!(html::links(&html).iter().all(|l| !l.contains("token")));
        // The cookie serves reads only: ingest still wants its own token.
        let ingest = router(app.state.clone())
            .oneshot(
                Request::post("/api/v1/events")
                    .header(header::COOKIE, pair)
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from("{}"))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(ingest.status(), StatusCode::UNAUTHORIZED);
        app.stop().await;
    });
}
