//! Annotations and team goals end to end: `POST /api/v1/annotations` and `shiplog
//! annotate` store a note once, the dashboard draws it on the charts and timelines of
//! the views it belongs to (and lists it), never on another team's; the goals of the
//! config are judged on the figures the metrics API gives and drawn on the charts.

#[path = "pages/html.rs"]
mod html;
mod support;

use serde_json::{Value, json};
use shiplog_model::goals::{Goal, Goals};
use support::{FROM, INGEST_TOKEN, ServedBinary, TO, TestApp, reference_text, shiplog, spawn_app};

const ORG_NOTE: &str = "moved to trunk-based development";
const PAYMENTS_NOTE: &str = "new on-call rota <b>for</b> payments";
const WEB_NOTE: &str = "web team only";

async fn annotate(app: &TestApp, body: Value) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}/api/v1/annotations", app.base))
        .bearer_auth(INGEST_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The reference set and three notes: the organisation's, payments' and web's.
async fn app_with_notes(goals: impl FnOnce(&mut shiplog_model::goals::GoalBook)) -> TestApp {
    let app = spawn_app(|config| goals(&mut config.goals)).await;
    let (status, body) = app
        .post_events(reference_text("events.ndjson"), "application/x-ndjson")
        .await;
    assert_eq!(status, 202, "{body}");
    for note in [
        json!({"at": "2026-01-20T12:00:00Z", "text": ORG_NOTE}),
        json!({"at": "2026-01-27T09:30:00Z", "text": PAYMENTS_NOTE, "team": "payments"}),
        json!({"at": "2026-02-03T08:00:00Z", "text": WEB_NOTE, "team": "web"}),
    ] {
        let (status, body) = annotate(&app, note).await;
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["accepted"], 1, "{body}");
    }
    app
}

fn x_of(fragment: &str, name: &str) -> f64 {
    html::attr(fragment, name).unwrap().parse().unwrap()
}

#[tokio::test]
async fn an_annotation_is_drawn_where_it_falls_on_the_charts_of_its_own_views_only() {
    let app = app_with_notes(|_| {}).await;
    let page = |query: String| {
        let app = &app;
        async move {
            let (status, body) = app.get_text(&query).await;
            assert_eq!(status, 200, "{query}: {body}");
            body
        }
    };
    let period = format!("from={FROM}&to={TO}&bucket=week");

    // The payments view: the organisation's note and the team's, not web's.
    let html = page(format!(
        "/metrics/deployment-frequency?{period}&team=payments"
    ))
    .await;
    let notes = html::elements(&html, "class=\"annotation\"");
    let titles: Vec<String> = notes.iter().map(|n| html::text(n)).collect();
    assert_eq!(notes.len(), 2, "{titles:?}");
    assert!(titles[0].contains(ORG_NOTE) && titles[0].contains("2026-01-20 12:00"));
    assert!(titles[1].contains(PAYMENTS_NOTE) && titles[1].contains("team payments"));
    assert!(!html.contains(WEB_NOTE));
    // Markup in a note is text, never markup.
    assert!(html.contains("&lt;b&gt;for&lt;/b&gt;") && !html.contains("<b>for</b>"));

    // Each line falls in its week's slot: 2026-01-20 12:00 in the third week (from
    // 2026-01-19), 1.5 of its 7 days in; 2026-01-27 in the fourth.
    let bars: Vec<&str> = html::elements(&html, "class=\"bar\"");
    let bar_x: Vec<f64> = bars.iter().map(|b| x_of(b, "x")).collect();
    let slot = bar_x[1] - bar_x[0];
    let slot_start = |i: usize| bar_x[i] - 0.15 * slot;
    let lines: Vec<f64> = notes
        .iter()
        // The group's first `x1` is its line's.
        .map(|n| x_of(n, "x1"))
        .collect();
    let expected = slot_start(2) + 1.5 / 7.0 * slot;
    assert!((lines[0] - expected).abs() < 0.2, "{lines:?} vs {expected}");
    assert!(
        lines[1] > slot_start(3) && lines[1] < slot_start(4),
        "{lines:?}"
    );

    // Listed under every page of the view, in time order.
    let list = html::element(&html, "id=\"annotations\"").expect("the notes are listed");
    let listed = html::elements(list, "data-annotation=");
    assert_eq!(listed.len(), 2);
    assert!(html::text(listed[0]).contains(ORG_NOTE));

    // The web view has web's note and the organisation's; the whole organisation, all.
    let web = page(format!("/?{period}&team=web")).await;
    assert!(web.contains(WEB_NOTE) && web.contains(ORG_NOTE) && !web.contains("on-call rota"));
    let all = page(format!("/metrics/lead-time?{period}")).await;
    assert_eq!(html::elements(&all, "class=\"annotation\"").len(), 3);

    // A service's page is its own view whatever the filter: its team's notes are on
    // its timeline.
    let checkout = page(format!("/services/checkout?{period}&team=web")).await;
    let timeline = html::element(&checkout, "class=\"chart timeline\"").expect("a timeline");
    let timeline_notes = html::elements(timeline, "class=\"annotation\"");
    assert_eq!(timeline_notes.len(), 2);
    assert!(!checkout.contains(WEB_NOTE));

    // Outside the period: not drawn, not listed.
    let before = page("/metrics/deployment-frequency?from=2026-01-05&to=2026-01-12".into()).await;
    assert!(!before.contains("class=\"annotation\"") && !before.contains("id=\"annotations\""));
    app.stop().await;
}

#[tokio::test]
async fn the_same_note_is_stored_once_and_bad_ones_are_refused_by_name() {
    let app = spawn_app(|_| {}).await;
    let note = json!({"at": "2026-01-20T12:00:00Z", "text": ORG_NOTE, "service": "checkout"});
    let (status, first) = annotate(&app, note.clone()).await;
    assert_eq!(status, 202, "{first}");
    let (status, again) = annotate(&app, note).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        (again["accepted"].as_i64(), again["duplicates"].as_i64()),
        (Some(0), Some(1))
    );
    assert_eq!(first["id"], again["id"]);
    // Posting its id again with new text updates it.
    let id = first["id"].as_str().unwrap();
    let (status, _) = annotate(
        &app,
        json!({"id": id, "at": "2026-01-20T12:00:00Z", "text": "corrected"}),
    )
    .await;
    assert_eq!(status, 202);
    let stored: (i64, String, Option<String>) = app
        .state
        .db
        .readers
        .with(|c| {
            c.query_row(
                "SELECT count(*), any_value(text), any_value(service) FROM annotations",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
        })
        .unwrap()
        .unwrap();
    assert_eq!(stored, (1, "corrected".into(), Some("checkout".into())));
    assert_eq!(app.raw_events(), 2, "each version is in the raw log");

    for (body, status, words) in [
        (json!({"service": "checkout"}), 422, "`text` is required"),
        (
            json!({"text": "x", "colour": "red"}),
            422,
            "unknown field `colour`",
        ),
        (json!({"text": "x", "service": "ALL"}), 422, "`service`"),
        (
            json!({"text": "x", "at": "last tuesday"}),
            422,
            "`at` is not an RFC 3339 timestamp",
        ),
        (
            json!({"text": "x".repeat(70_000)}),
            422,
            "`text` is 70000 bytes long",
        ),
        (json!(["x"]), 400, "JSON object"),
    ] {
        let (got, answer) = annotate(&app, body).await;
        assert_eq!(got, status, "{answer}");
        assert!(answer.to_string().contains(words), "{words}: {answer}");
    }
    let response = app
        .client
        .post(format!("{}/api/v1/annotations", app.base))
        .bearer_auth(INGEST_TOKEN)
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(app.raw_events(), 2, "nothing refused was stored");
    app.stop().await;
}

/// The six figures of a metrics JSON by goal.
fn actual(metrics: &Value, goal: Goal, days: f64) -> Option<f64> {
    let f = |path: &[&str]| {
        let mut v = metrics;
        for key in path {
            v = &v[key];
        }
        v.as_f64()
    };
    match goal {
        Goal::DeploymentsPerWeek => {
            f(&["deployment_frequency", "deployments"]).map(|d| d * 7.0 / days)
        }
        Goal::LeadTimeMedian => f(&["lead_time", "median_hours"]),
        Goal::ChangeFailureRate => f(&["change_failure_rate", "rate"]),
        Goal::RecoveryMedian => f(&["failed_deployment_recovery", "median_hours"]),
        Goal::RestoreMedian => f(&["time_to_restore", "median_hours"]),
        Goal::ReworkRate => f(&["rework_rate", "rate"]),
    }
}

#[tokio::test]
async fn goals_are_judged_on_the_teams_own_figures_and_drawn_on_its_charts() {
    // Targets on both sides of what the reference set gives: some met, some missed.
    let mut payments = Goals::default();
    payments.set(Goal::LeadTimeMedian, 10_000.0).unwrap();
    payments.set(Goal::ChangeFailureRate, 0.0).unwrap();
    payments.set(Goal::DeploymentsPerWeek, 500.0).unwrap();
    payments.set(Goal::RestoreMedian, 1.0).unwrap();
    let expected_goals = payments.clone();
    let app = app_with_notes(move |book| {
        book.teams.insert("payments".into(), payments);
    })
    .await;
    let period = format!("from={FROM}&to={TO}");
    let (_, metrics) = app
        .get_text(&format!("/api/v1/metrics?{period}&team=payments"))
        .await;
    let metrics: Value = serde_json::from_str(&metrics).unwrap();
    let days = 42.0;

    let (_, overview) = app.get_text(&format!("/?{period}&team=payments")).await;
    let slugs = [
        (Goal::LeadTimeMedian, "lead-time"),
        (Goal::ChangeFailureRate, "change-failure-rate"),
        (Goal::DeploymentsPerWeek, "deployment-frequency"),
        (Goal::RestoreMedian, "time-to-restore"),
    ];
    let mut seen = Vec::new();
    for (goal, slug) in slugs {
        let span = html::element(&overview, &format!("data-goal=\"{slug}\""))
            .unwrap_or_else(|| panic!("no goal on the {slug} tile"));
        let class = html::attr(span, "class").unwrap();
        let target = expected_goals.get(goal).unwrap();
        let expected = match actual(&metrics, goal, days) {
            None => "goal unknown",
            Some(v) if goal.higher_is_better() && v >= target => "goal met",
            Some(v) if !goal.higher_is_better() && v <= target => "goal met",
            Some(_) => "goal missed",
        };
        assert_eq!(class, expected, "{slug}: {metrics}");
        seen.push(class);
    }
    assert!(
        seen.contains(&"goal met".into()) && seen.contains(&"goal missed".into()),
        "{seen:?}"
    );
    // A figure without a goal has none beside it.
    assert!(html::element(&overview, "data-goal=\"rework-rate\"").is_none());

    // Another team's view, and the organisation's, judge nothing: no league table.
    for query in [format!("/?{period}&team=web"), format!("/?{period}")] {
        let (_, html) = app.get_text(&query).await;
        assert!(!html.contains("data-goal="), "{query}");
    }

    // The goal is a line across the team's chart, the axis reaching it.
    let (_, chart) = app
        .get_text(&format!("/metrics/lead-time?{period}&team=payments"))
        .await;
    let target = html::element(&chart, "class=\"target\"").expect("a goal line");
    assert!(html::text(target).contains("goal ≤ 416.7 d"), "{target}");
    // A service inherits its team's goals.
    let (_, checkout) = app.get_text(&format!("/services/checkout?{period}")).await;
    assert!(checkout.contains("data-goal=\"lead-time\""));
    app.stop().await;
}

#[tokio::test]
async fn shiplog_annotate_posts_a_note_that_the_dashboard_then_shows() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shiplog.duckdb");
    let server = ServedBinary::start(dir.path(), &db, None).await;
    let mut command = shiplog();
    command.args([
        "annotate",
        "--server",
        &server.base,
        "--token",
        INGEST_TOKEN,
        "--team",
        "payments",
        "--at",
        "2026-01-20T12:00:00Z",
        ORG_NOTE,
    ]);
    let out = support::output_beside_server(command).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("202") && stderr.contains("annotation-"),
        "{stderr}"
    );
    let page = reqwest::get(format!(
        "{}/?from={FROM}&to={TO}&team=payments",
        server.base
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    let list = html::element(&page, "id=\"annotations\"").expect("the note is listed");
    assert!(html::text(list).contains(ORG_NOTE), "{list}");
    // Without a token the server refuses it, and the command says so.
    let mut command = shiplog();
    command.args(["annotate", "--server", &server.base, "unauthorised"]);
    let out = support::output_beside_server(command).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("401"));
}
