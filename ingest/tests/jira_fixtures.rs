//! The Jira adapter on the real Cloud and Server issue webhook payloads in
//! `tests/fixtures/jira` (the Mattermost Jira plugin's test data), field by field:
//! which issues are incidents (`[sources.jira] issue_types`, `labels`), which
//! service they belong to, the resolution and the reopening, and the deliveries it
//! stores but does not map.

mod fixture_support;

use std::collections::BTreeMap;

use fixture_support::{
    assert_skipped, assert_table_covers, at, deliver, no_headers, read_json, the_incident,
};
use serde_json::{Value, json};
use shiplog_ingest::sources::{MapError, Mapping, Routing, Source};
use shiplog_model::ServiceSettings;

const FOLDER: &str = "jira";
const DIR: &str = "mattermost-plugin-jira";

fn path(file: &str) -> String {
    format!("{DIR}/{file}")
}

fn post(body: &Value, routing: &Routing) -> Result<Mapping, MapError> {
    let bytes = serde_json::to_vec(body).expect("serializes");
    deliver(Source::Jira, &no_headers(), &bytes, routing)
}

fn post_fixture(file: &str, routing: &Routing) -> Mapping {
    let body = fixture_support::read(FOLDER, &path(file));
    deliver(Source::Jira, &no_headers(), &body, routing).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn fixture(file: &str) -> Value {
    read_json(FOLDER, &path(file))
}

/// None of the fixtures is of type Incident: this config makes Bugs incidents (the
/// Server issue TES-4) and issues labelled `test-label` (the Cloud Story TES-41);
/// `checkout` claims the component COMP-1, `payments` the project TES.
fn routing() -> Routing {
    let mut routing = Routing::default();
    routing.jira.issue_types = vec!["Incident".into(), "bug".into()];
    routing.jira.labels = vec!["test-label".into()];
    routing.services.insert(
        "checkout".into(),
        ServiceSettings {
            jira_components: vec!["COMP-1".into()],
            ..ServiceSettings::default()
        },
    );
    routing.services.insert(
        "payments".into(),
        ServiceSettings {
            jira_projects: vec!["TES".into()],
            ..ServiceSettings::default()
        },
    );
    routing
}

/// One delivery and the incident it must map to. Jira writes offsets without a
/// colon (`2019-02-15T19:01:52.971-0800`); the expected instants are those in UTC.
struct Expected {
    file: &'static str,
    event: &'static str,
    id: &'static str,
    service: &'static str,
    opened_at: &'static str,
    resolved_at: Option<&'static str>,
    severity: &'static str,
    title: &'static str,
}

/// Cloud: issue 10040 (TES-41), a Story labelled test-label with component COMP-1,
/// created 2019-02-15T19:01:52.971-0800.
const CLOUD_OPENED: &str = "2019-02-16T03:01:52.971Z";
/// Server: issue 10300 (TES-4), a Bug, created 2019-08-13T06:14:23.580+0800.
const SERVER_OPENED: &str = "2019-08-12T22:14:23.580Z";

const fn cloud(
    file: &'static str,
    event: &'static str,
    resolved_at: Option<&'static str>,
    title: &'static str,
) -> Expected {
    Expected {
        file,
        event,
        id: "jira:10040",
        service: "checkout",
        opened_at: CLOUD_OPENED,
        resolved_at,
        severity: "High",
        title,
    }
}

const fn server(file: &'static str, resolved_at: Option<&'static str>) -> Expected {
    Expected {
        file,
        event: "jira:issue_updated",
        id: "jira:10300",
        service: "payments",
        opened_at: SERVER_OPENED,
        resolved_at,
        severity: "Medium",
        title: "Unit test summary 1",
    }
}

const UPDATED: &str = "jira:issue_updated";

const TABLE: &[Expected] = &[
    cloud(
        "webhook-issue-created.json",
        "jira:issue_created",
        None,
        "Unit test summary",
    ),
    cloud(
        "webhook-issue-updated-started-working.json",
        UPDATED,
        None,
        "Unit test summary 1",
    ),
    // status Done (category done), resolutiondate 2019-02-15T19:15:40.470-0800.
    cloud(
        "webhook-issue-updated-resolved.json",
        UPDATED,
        Some("2019-02-16T03:15:40.470Z"),
        "Unit test summary 1",
    ),
    cloud(
        "webhook-issue-updated-resolved-one-changelog.json",
        UPDATED,
        Some("2019-02-16T03:15:40.470Z"),
        "Unit test summary 1",
    ),
    // status To Do, resolution cleared: nothing says resolved.
    cloud(
        "webhook-issue-updated-reopened.json",
        UPDATED,
        None,
        "Unit test summary 1",
    ),
    // The changelog says Task -> Bug; the fields (what is read) still say Story.
    cloud(
        "webhook-issue-updated-issue-type.json",
        UPDATED,
        None,
        "Unit test summary 1",
    ),
    cloud(
        "webhook-issue-updated-raised-priority.json",
        UPDATED,
        None,
        "Unit test summary 1",
    ),
    // labels sad, test-label: still labelled test-label.
    cloud(
        "webhook-issue-updated-labels.json",
        UPDATED,
        None,
        "Unit test summary 1",
    ),
    server("webhook-server-issue-updated-in-progress.json", None),
    // status Resolved (category done), resolutiondate 2019-08-13T07:23:01.890+0800.
    server(
        "webhook-server-issue-updated-resolved.json",
        Some("2019-08-12T23:23:01.890Z"),
    ),
    // status Closed, resolutiondate 2019-08-14T11:03:02.179+0800 (resolved again
    // after the reopening, then closed).
    server(
        "webhook-server-issue-updated-closed.json",
        Some("2019-08-14T03:03:02.179Z"),
    ),
    server("webhook-server-issue-updated-reopened.json", None),
];

/// The fixtures the table does not list: a Task with neither the type nor a label
/// of the config, and a deletion.
const NOT_INCIDENTS: &[&str] = &[
    "webhook-cloud-issue-created-many-fields.json",
    "webhook-issue-deleted.json",
];

#[test]
fn every_incident_fixture_maps_to_its_incident_field_by_field() {
    for want in TABLE {
        let mapping = post_fixture(want.file, &routing());
        assert_eq!(mapping.event_type, want.event, "{}", want.file);
        assert_eq!(mapping.delivery_id, None, "{}: no header", want.file);
        let i = the_incident(&mapping);
        assert_eq!(i.id.as_str(), want.id, "{}", want.file);
        assert_eq!(i.service.as_str(), want.service, "{}", want.file);
        assert_eq!(i.opened_at, at(want.opened_at), "{}", want.file);
        assert!(!i.opened_at_estimated, "{}", want.file);
        assert_eq!(i.resolved_at, want.resolved_at.map(at), "{}", want.file);
        assert_eq!(i.severity.as_deref(), Some(want.severity), "{}", want.file);
        assert_eq!(i.deployment_id, None, "{}", want.file);
        assert_eq!(i.sha, None, "{}", want.file);
        assert_eq!(i.title.as_deref(), Some(want.title), "{}", want.file);
    }
}

#[test]
fn with_the_default_config_no_fixture_is_an_incident_and_the_reason_names_the_keys() {
    for want in TABLE {
        let mapping = post_fixture(want.file, &Routing::default());
        assert_eq!(mapping.event_type, want.event, "{}", want.file);
        assert_skipped(&mapping, "`[sources.jira] issue_types` (Incident)");
        assert_skipped(&mapping, "`[sources.jira] labels` (none)");
    }
    let mapping = post_fixture(NOT_INCIDENTS[0], &Routing::default());
    assert_skipped(&mapping, "issue KT-22 is a Task without a label");
}

#[test]
fn a_task_without_the_type_or_a_label_of_the_config_is_skipped() {
    let mapping = post_fixture(NOT_INCIDENTS[0], &routing());
    assert_eq!(mapping.event_type, "jira:issue_created");
    assert_skipped(&mapping, "`[sources.jira] issue_types` (Incident, bug)");
    assert_skipped(&mapping, "`[sources.jira] labels` (test-label)");
}

#[test]
fn a_deleted_issue_is_stored_and_skipped_with_the_reason() {
    let mut routing = routing();
    routing.jira.issue_types = vec!["Task".into()];
    let mapping = post_fixture(NOT_INCIDENTS[1], &routing);
    assert_eq!(mapping.event_type, "jira:issue_deleted");
    assert_skipped(&mapping, "issue IDT-19 was deleted");
    assert_skipped(&mapping, "never deletes an incident");
}

#[test]
fn a_configured_service_field_names_the_service_in_every_field_shape() {
    // KT-22 carries custom fields of every kind; none is a service field in its
    // instance, but each shape is one a service field can have.
    let cases = [
        ("customfield_10074", "A"),      // select list: {"value": "A", …}
        ("customfield_10071", "value1"), // labels-like list of text: the first
        ("customfield_10075", "1"),      // multi-select: the first option's value
        ("customfield_10077", "dwdwd"),  // text
    ];
    for (field, service) in cases {
        let mut routing = Routing::default();
        routing.jira.issue_types = vec!["Task".into()];
        routing.jira.service_field = Some(field.into());
        let mapping = post_fixture(NOT_INCIDENTS[0], &routing);
        let i = the_incident(&mapping);
        assert_eq!(i.service.as_str(), service, "{field}");
        assert_eq!(i.id.as_str(), "jira:10509");
        // created 2019-08-27T12:43:24.193-0700; priority Medium.
        assert_eq!(i.opened_at, at("2019-08-27T19:43:24.193Z"));
        assert_eq!(i.resolved_at, None);
        assert_eq!(i.severity.as_deref(), Some("Medium"));
        assert_eq!(i.title.as_deref(), Some("Lots of fields selected"));
    }
    // A number names no service.
    let mut routing = Routing::default();
    routing.jira.issue_types = vec!["Task".into()];
    routing.jira.service_field = Some("customfield_10072".into());
    let body = fixture_support::read(FOLDER, &path(NOT_INCIDENTS[0]));
    let error = deliver(Source::Jira, &no_headers(), &body, &routing).unwrap_err();
    assert!(
        error
            .0
            .starts_with("jira:issue_created: issue.fields.customfield_10072 must be text"),
        "{error}"
    );
}

#[test]
fn without_a_field_component_or_project_the_issue_is_skipped_naming_the_keys() {
    let mut routing = Routing::default();
    routing.jira.issue_types = vec!["Task".into(), "Bug".into()];
    // Set, but KT-22 has no such field; no components; project KT is not listed.
    routing.jira.service_field = Some("customfield_99999".into());
    let mapping = post_fixture(NOT_INCIDENTS[0], &routing);
    assert_skipped(&mapping, "issue KT-22: no service");
    assert_skipped(&mapping, "`[sources.jira] service_field`");
    assert_skipped(&mapping, "components (none)");
    assert_skipped(&mapping, "project (KT) under `jira_projects`");
    // The Server issue: no component either.
    let mapping = post_fixture("webhook-server-issue-updated-resolved.json", &routing);
    assert_skipped(&mapping, "project (TES) under `jira_projects`");
}

#[test]
fn an_only_component_or_a_label_naming_a_service_routes_without_a_component_list() {
    let mut routing = Routing::default();
    routing.jira.labels = vec!["test-label".into()];
    // No service configured: the issue's only component.
    let mapping = post_fixture("webhook-issue-created.json", &routing);
    assert_eq!(the_incident(&mapping).service.as_str(), "COMP-1");
    // A configured service whose deploy names hold the label `sad`.
    routing.services.insert(
        "web".into(),
        ServiceSettings {
            deploy_names: vec!["sad".into()],
            ..ServiceSettings::default()
        },
    );
    let mapping = post_fixture("webhook-issue-updated-labels.json", &routing);
    assert_eq!(the_incident(&mapping).service.as_str(), "web");
}

#[test]
fn the_server_issue_resolved_reopened_and_closed_ends_at_its_last_resolution() {
    let incident = |file: &str| the_incident(&post_fixture(file, &routing())).clone();
    let mut stored = incident("webhook-server-issue-updated-resolved.json");
    // Reopened: SPEC §8 lets no update clear `resolved_at`; the incident stays
    // resolved at its first resolution until the next one replaces it.
    for file in [
        "webhook-server-issue-updated-reopened.json",
        "webhook-server-issue-updated-in-progress.json",
    ] {
        stored = stored.merge(incident(file));
        assert_eq!(
            stored.resolved_at,
            Some(at("2019-08-12T23:23:01.890Z")),
            "{file}"
        );
    }
    stored = stored.merge(incident("webhook-server-issue-updated-closed.json"));
    assert_eq!(stored.resolved_at, Some(at("2019-08-14T03:03:02.179Z")));
    assert_eq!(stored.opened_at, at(SERVER_OPENED));
}

#[test]
fn a_done_status_without_a_resolution_date_resolves_at_the_deliverys_time() {
    let mut body = fixture("webhook-issue-updated-resolved.json");
    body["issue"]["fields"]["resolutiondate"] = Value::Null;
    let mapping = post(&body, &routing()).unwrap();
    // timestamp 1550286940507 ms.
    assert_eq!(
        the_incident(&mapping).resolved_at,
        Some(at("2019-02-16T03:15:40.507Z"))
    );
}

#[test]
fn an_update_without_a_creation_time_opens_at_a_stand_in() {
    let mut body = fixture("webhook-issue-updated-started-working.json");
    body["issue"]["fields"]
        .as_object_mut()
        .unwrap()
        .remove("created");
    let i = the_incident(&post(&body, &routing()).unwrap()).clone();
    // timestamp 1550286862039 ms.
    assert_eq!(i.opened_at, at("2019-02-16T03:14:22.039Z"));
    assert!(i.opened_at_estimated);
    let mut body = fixture("webhook-issue-created.json");
    body["issue"]["fields"]
        .as_object_mut()
        .unwrap()
        .remove("created");
    let i = the_incident(&post(&body, &routing()).unwrap()).clone();
    assert_eq!(i.opened_at, at("2019-02-16T03:01:53.023Z"));
    assert!(!i.opened_at_estimated, "the creation's own time is exact");
}

#[test]
fn jira_clouds_delivery_header_is_the_delivery_id() {
    let headers = BTreeMap::from([(
        "x-atlassian-webhook-identifier".to_owned(),
        "1562177136176-10509".to_owned(),
    )]);
    let body = fixture_support::read(FOLDER, &path("webhook-issue-created.json"));
    let mapping = deliver(Source::Jira, &headers, &body, &routing()).unwrap();
    assert_eq!(mapping.delivery_id.as_deref(), Some("1562177136176-10509"));
    // Kept on a skipped delivery too.
    let body = fixture_support::read(FOLDER, &path("webhook-issue-deleted.json"));
    let mapping = deliver(Source::Jira, &headers, &body, &routing()).unwrap();
    assert_eq!(mapping.delivery_id.as_deref(), Some("1562177136176-10509"));
}

#[test]
fn events_about_other_things_than_issues_are_skipped() {
    // A comment event's envelope, as the issue's fixture with another event name.
    let mut body = fixture("webhook-issue-updated-labels.json");
    body["webhookEvent"] = json!("comment_created");
    let mapping = post(&body, &routing()).unwrap();
    assert_eq!(mapping.event_type, "comment_created");
    assert_skipped(&mapping, "Shiplog maps issue events only");
}

#[test]
fn a_body_that_is_not_an_issue_event_is_refused_naming_the_path() {
    let mut body = fixture("webhook-issue-created.json");
    body.as_object_mut().unwrap().remove("webhookEvent");
    assert_eq!(
        post(&body, &routing()).unwrap_err().0,
        "jira: webhookEvent is missing"
    );
    let mut body = fixture("webhook-issue-created.json");
    body.as_object_mut().unwrap().remove("issue");
    assert_eq!(
        post(&body, &routing()).unwrap_err().0,
        "jira:issue_created: issue is missing"
    );
    let mut body = fixture("webhook-issue-created.json");
    body["issue"]["fields"]["created"] = json!("last tuesday");
    assert_eq!(
        post(&body, &routing()).unwrap_err().0,
        "jira:issue_created: issue.fields.created is not a timestamp: \"last tuesday\""
    );
}

#[test]
fn the_tests_cover_every_jira_fixture() {
    assert_table_covers(
        FOLDER,
        TABLE
            .iter()
            .map(|e| e.file)
            .chain(NOT_INCIDENTS.iter().copied())
            .map(path)
            .chain(["SOURCE.md".to_owned(), path("LICENSE.txt")]),
    );
}
