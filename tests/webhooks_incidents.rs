//! The incident webhooks of Opsgenie and Jira over a real socket: deployments posted
//! through the typed API, then each source's real payloads posted as the sender
//! posts them (its token in the header or the query), until the incident is
//! attributed to a deployment and resolved and `/api/v1/metrics` shows its time to
//! restore, the change failure rate and the recovery it gives. A missing or wrong
//! token is `401` and stores nothing.

mod support;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use shiplog_model::ServiceSettings;
use support::{TestApp, fixture, spawn_app};

const OPSGENIE_TOKEN: &str = "og-webhook-token";
const JIRA_TOKEN: &str = "jira-webhook-token";

/// How a delivery proves itself.
enum Proof<'a> {
    Bearer(&'a str),
    Query(&'a str),
    Nothing,
}

async fn post(
    app: &TestApp,
    source: &str,
    proof: Proof<'_>,
    headers: &[(&str, &str)],
    body: &Value,
) -> (u16, Value) {
    let route = match proof {
        Proof::Query(token) => format!("{source}?token={token}"),
        _ => source.to_owned(),
    };
    let bearer = match proof {
        Proof::Bearer(token) => Some(format!("Bearer {token}")),
        _ => None,
    };
    let mut all: Vec<(&str, &str)> = headers.to_vec();
    all.extend(bearer.iter().map(|b| ("authorization", b.as_str())));
    app.webhook(&route, &all, body.to_string().as_bytes()).await
}

/// Two successful production deployments of `service`, through the typed API.
async fn deploy(app: &TestApp, service: &str, times: [&str; 2]) {
    let events: Vec<String> = times
        .iter()
        .enumerate()
        .map(|(n, at)| {
            json!({"type": "deployment", "id": format!("{service}-{n}"), "service": service,
                   "sha": format!("{:040x}", n + 1), "finished_at": at})
            .to_string()
        })
        .collect();
    let (status, answer) = app
        .post_events(events.join("\n"), "application/x-ndjson")
        .await;
    assert_eq!(status, 202, "{answer}");
}

fn assert_mapped(answer: &Value, status: u16, want: u16) {
    assert_eq!(status, want, "{answer}");
    assert_eq!(answer["mapped"], 1, "{answer}");
    assert_eq!(answer["skipped"], Value::Null, "{answer}");
}

#[tokio::test]
async fn an_opsgenie_alert_created_and_closed_fails_its_deployment_and_restores() {
    let app = spawn_app(|config| {
        config.sources.opsgenie_token = Some(SecretString::from(OPSGENIE_TOKEN));
        config.routing.services.insert(
            "checkout".into(),
            ServiceSettings {
                opsgenie_tags: vec!["vip".into()],
                ..ServiceSettings::default()
            },
        );
    })
    .await;
    // The alert opens at 2017-08-14T11:25:56.288Z (create.json's createdAt).
    deploy(
        &app,
        "checkout",
        ["2017-08-14T08:00:00Z", "2017-08-14T10:00:00Z"],
    )
    .await;
    let stored = app.raw_events();

    let create = fixture("opsgenie/create.json");
    for (proof, said) in [
        (Proof::Nothing, "missing token"),
        (Proof::Bearer("wrong"), "wrong token"),
        (Proof::Query("wrong"), "wrong token"),
    ] {
        let (status, answer) = post(&app, "opsgenie", proof, &[], &create).await;
        assert_eq!(status, 401, "{answer}");
        let error = answer["error"].as_str().unwrap();
        assert!(
            error.contains(said) && error.contains("SHIPLOG_OPSGENIE_TOKEN"),
            "{answer}"
        );
    }
    assert_eq!(
        app.raw_events(),
        stored,
        "a refused delivery stores nothing"
    );

    let (status, answer) = post(
        &app,
        "opsgenie",
        Proof::Bearer(OPSGENIE_TOKEN),
        &[],
        &create,
    )
    .await;
    assert_mapped(&answer, status, 202);
    assert_eq!(answer["event"], "Create", "{answer}");
    // Opsgenie retries the same body: a repeat.
    let (status, answer) = post(
        &app,
        "opsgenie",
        Proof::Bearer(OPSGENIE_TOKEN),
        &[],
        &create,
    )
    .await;
    assert_eq!(
        (status, &answer["duplicates"]),
        (200, &json!(1)),
        "{answer}"
    );

    let open = app
        .metrics("from=2017-08-14&to=2017-08-21&service=checkout")
        .await;
    assert_eq!(open["time_to_restore"]["incidents"], 1, "{open}");
    assert_eq!(open["time_to_restore"]["resolved"], 0, "{open}");
    assert_eq!(open["change_failure_rate"]["rate"], 0.5, "{open}");

    // close.json closes another alert, with no tags, in 2015: the copy closes this
    // one (its alertId and tags), two and a half hours after it opened (updatedAt, in
    // nanoseconds, at 13:55:56.288Z).
    let mut close = fixture("opsgenie/close.json");
    close["alert"]["alertId"] = create["alert"]["alertId"].clone();
    close["alert"]["tags"] = json!(["vip"]);
    close["alert"]["createdAt"] = create["alert"]["createdAt"].clone();
    close["alert"]["updatedAt"] = json!(1_502_718_956_288_000_000_i64);
    let (status, answer) = post(&app, "opsgenie", Proof::Query(OPSGENIE_TOKEN), &[], &close).await;
    assert_mapped(&answer, status, 202);

    let m = app
        .metrics("from=2017-08-14&to=2017-08-21&service=checkout")
        .await;
    assert_eq!(m["deployment_frequency"]["deployments"], 2, "{m}");
    // Attributed to the deployment at 10:00 (the latest before it opened, rule 4c).
    assert_eq!(m["change_failure_rate"]["failed"], 1, "{m}");
    assert_eq!(m["change_failure_rate"]["rate"], 0.5, "{m}");
    assert_eq!(m["time_to_restore"]["incidents"], 1, "{m}");
    assert_eq!(m["time_to_restore"]["resolved"], 1, "{m}");
    assert_eq!(m["time_to_restore"]["median_hours"], 2.5, "{m}");
    // 10:00 to 13:55:56.288.
    assert_eq!(m["failed_deployment_recovery"]["recovered"], 1, "{m}");
    assert_eq!(m["failed_deployment_recovery"]["median_hours"], 3.93, "{m}");
    // The same on the dashboard's overview.
    let week = "from=2017-08-14&to=2017-08-21&service=checkout";
    let (restore, resolved) = app.tile(week, "time-to-restore").await;
    assert_eq!(resolved, 1);
    assert!((restore.unwrap() - 2.5).abs() < 0.005, "{restore:?}");
    assert_eq!(app.tile(week, "change-failure-rate").await, (Some(0.5), 2));
    app.stop().await;
}

#[tokio::test]
async fn a_jira_server_bug_resolved_reopened_and_closed_restores_at_its_last_resolution() {
    let app = spawn_app(|config| {
        config.sources.jira_token = Some(SecretString::from(JIRA_TOKEN));
        config.routing.jira.issue_types = vec!["Bug".into()];
        config.routing.services.insert(
            "payments".into(),
            ServiceSettings {
                jira_projects: vec!["TES".into()],
                ..ServiceSettings::default()
            },
        );
    })
    .await;
    // The issue TES-4 opens at 2019-08-12T22:14:23.580Z (fields.created).
    deploy(
        &app,
        "payments",
        ["2019-08-12T12:00:00Z", "2019-08-12T20:00:00Z"],
    )
    .await;
    let stored = app.raw_events();
    let dir = "jira/mattermost-plugin-jira";
    let resolved = fixture(&format!("{dir}/webhook-server-issue-updated-resolved.json"));

    for (proof, said) in [
        (Proof::Nothing, "missing token"),
        (Proof::Query("wrong"), "wrong token"),
        (Proof::Bearer(OPSGENIE_TOKEN), "wrong token"),
    ] {
        let (status, answer) = post(&app, "jira", proof, &[], &resolved).await;
        assert_eq!(status, 401, "{answer}");
        let error = answer["error"].as_str().unwrap();
        assert!(
            error.contains(said) && error.contains("SHIPLOG_JIRA_TOKEN"),
            "{answer}"
        );
    }
    assert_eq!(
        app.raw_events(),
        stored,
        "a refused delivery stores nothing"
    );

    // A Cloud Story is no incident under this config: stored, with the reason.
    let story = fixture(&format!("{dir}/webhook-issue-created.json"));
    let (status, answer) = post(&app, "jira", Proof::Query(JIRA_TOKEN), &[], &story).await;
    assert_eq!((status, &answer["mapped"]), (202, &json!(0)), "{answer}");
    assert!(
        answer["skipped"]
            .as_str()
            .unwrap()
            .contains("`[sources.jira] issue_types` (Bug)"),
        "{answer}"
    );

    // Jira Server's deliveries, in the order they happened; the first as Jira Cloud
    // would send it, with its delivery id (and the same again is a repeat).
    let id = [("x-atlassian-webhook-identifier", "1565652182025-10300")];
    let (status, answer) = post(&app, "jira", Proof::Query(JIRA_TOKEN), &id, &resolved).await;
    assert_mapped(&answer, status, 202);
    assert_eq!(answer["delivery"], "jira:1565652182025-10300", "{answer}");
    let (status, _) = post(&app, "jira", Proof::Query(JIRA_TOKEN), &id, &resolved).await;
    assert_eq!(status, 200);

    let first = app
        .metrics("from=2019-08-12&to=2019-08-19&service=payments")
        .await;
    // 22:14:23.580 to 23:23:01.890 on the 12th.
    assert_eq!(first["time_to_restore"]["median_hours"], 1.14, "{first}");

    for file in [
        "webhook-server-issue-updated-reopened.json",
        "webhook-server-issue-updated-in-progress.json",
        "webhook-server-issue-updated-closed.json",
    ] {
        let body = fixture(&format!("{dir}/{file}"));
        let (status, answer) = post(&app, "jira", Proof::Bearer(JIRA_TOKEN), &[], &body).await;
        assert_mapped(&answer, status, 202);
    }

    let m = app
        .metrics("from=2019-08-12&to=2019-08-19&service=payments")
        .await;
    assert_eq!(m["deployment_frequency"]["deployments"], 2, "{m}");
    assert_eq!(m["change_failure_rate"]["failed"], 1, "{m}");
    assert_eq!(m["change_failure_rate"]["rate"], 0.5, "{m}");
    assert_eq!(m["time_to_restore"]["incidents"], 1, "{m}");
    assert_eq!(m["time_to_restore"]["resolved"], 1, "{m}");
    // To the last resolution, 2019-08-14T03:03:02.179Z: 28 h 48 min 38.599 s.
    assert_eq!(m["time_to_restore"]["median_hours"], 28.81, "{m}");
    // From the deployment at 20:00 on the 12th: 31 h 3 min 2.179 s.
    assert_eq!(
        m["failed_deployment_recovery"]["median_hours"], 31.05,
        "{m}"
    );
    // The same on the dashboard's overview.
    let week = "from=2019-08-12&to=2019-08-19&service=payments";
    let (restore, resolved) = app.tile(week, "time-to-restore").await;
    assert_eq!(resolved, 1);
    assert!((restore.unwrap() - 28.81).abs() < 0.005, "{restore:?}");
    assert_eq!(app.tile(week, "change-failure-rate").await, (Some(0.5), 2));
    app.stop().await;
}

#[test]
fn the_config_file_and_the_environment_set_both_sources_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shiplog.toml");
    std::fs::write(
        &path,
        "[sources.opsgenie]\ntoken = \"og-from-file\"\n\
         [sources.jira]\ntoken = \"jira-from-file\"\nissue_types = [\"Bug\"]\n\
         labels = [\"incident\"]\nservice_field = \"customfield_10074\"\n\
         [services.checkout]\nopsgenie_teams = [\"SRE\"]\nopsgenie_tags = [\"vip\"]\n\
         jira_components = [\"COMP-1\"]\njira_projects = [\"TES\"]\n",
    )
    .unwrap();
    let env = |name: &str| (name == "SHIPLOG_JIRA_TOKEN").then(|| "jira-from-env".to_owned());
    let config = shiplog_web::Config::load(Some(path.as_path()), env).unwrap();
    let secret = |s: &Option<SecretString>| s.as_ref().unwrap().expose_secret().to_owned();
    assert_eq!(secret(&config.sources.opsgenie_token), "og-from-file");
    assert_eq!(
        secret(&config.sources.jira_token),
        "jira-from-env",
        "the environment wins"
    );
    let jira = &config.routing.jira;
    assert_eq!(jira.issue_types, ["Bug"]);
    assert_eq!(jira.labels, ["incident"]);
    assert_eq!(jira.service_field.as_deref(), Some("customfield_10074"));
    let checkout = &config.routing.services["checkout"];
    assert_eq!(checkout.opsgenie_teams, ["SRE"]);
    assert_eq!(checkout.opsgenie_tags, ["vip"]);
    assert_eq!(checkout.jira_components, ["COMP-1"]);
    assert_eq!(checkout.jira_projects, ["TES"]);
    let shown = format!("{config:?}");
    assert!(
        !shown.contains("og-from-file") && !shown.contains("jira-from-env"),
        "secrets never show"
    );

    // Without `issue_types`, Jira's own incident type; a typo is refused by name.
    std::fs::write(&path, "[sources.jira]\nlabels = [\"incident\"]\n").unwrap();
    let config = shiplog_web::Config::load(Some(path.as_path()), |_| None).unwrap();
    assert_eq!(config.routing.jira.issue_types, ["Incident"]);
    assert!(config.sources.jira_token.is_none());
    std::fs::write(&path, "[sources.jira]\nissue_type = [\"Bug\"]\n").unwrap();
    let error = shiplog_web::Config::load(Some(path.as_path()), |_| None).unwrap_err();
    assert!(error.to_string().contains("issue_type"), "{error}");
}
