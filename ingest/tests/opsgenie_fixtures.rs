//! The Opsgenie adapter on the real webhook integration payloads in
//! `tests/fixtures/opsgenie` (Zulip's copies), field by field: the routing of an
//! alert to a service by team, tag or entity, the times Opsgenie writes as epoch
//! numbers, and the actions it stores but does not map.

mod fixture_support;

use fixture_support::{
    assert_skipped, assert_table_covers, at, deliver, no_headers, read_json, the_incident,
};
use serde_json::{Value, json};
use shiplog_ingest::sources::{MapError, Mapping, Routing, Source};
use shiplog_model::ServiceSettings;

const FOLDER: &str = "opsgenie";

fn post(body: &Value, routing: &Routing) -> Result<Mapping, MapError> {
    let bytes = serde_json::to_vec(body).expect("serializes");
    deliver(Source::Opsgenie, &no_headers(), &bytes, routing)
}

fn post_fixture(file: &str, routing: &Routing) -> Mapping {
    let body = fixture_support::read(FOLDER, file);
    deliver(Source::Opsgenie, &no_headers(), &body, routing)
        .unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// A config in which `checkout` claims the tag `tag1` and `search` the team `SRE`.
fn routing() -> Routing {
    let mut routing = Routing::default();
    routing.services.insert(
        "checkout".into(),
        ServiceSettings {
            opsgenie_tags: vec!["tag1".into()],
            ..ServiceSettings::default()
        },
    );
    routing.services.insert(
        "search".into(),
        ServiceSettings {
            opsgenie_teams: vec!["SRE".into()],
            ..ServiceSettings::default()
        },
    );
    routing
}

/// One delivery and the incident it must map to. `createdAt` is milliseconds since
/// 1970, `updatedAt` (the action's time) nanoseconds, kept to the microsecond.
struct Expected {
    file: &'static str,
    action: &'static str,
    id: &'static str,
    service: &'static str,
    opened_at: &'static str,
    resolved_at: Option<&'static str>,
    severity: Option<&'static str>,
    title: &'static str,
}

const TABLE: &[Expected] = &[
    // entity "Server", no config: the service named as the entity; priority 3.
    Expected {
        file: "create.json",
        action: "Create",
        id: "opsgenie:ec03dad6-62c8-4c94-b38b-d88f398e900f",
        service: "Server",
        opened_at: "2017-08-14T11:25:56.288Z",
        resolved_at: None,
        severity: Some("P3"),
        title: "another alert",
    },
    // entity "", tags tag1 and tag2: `checkout` lists tag1.
    Expected {
        file: "acknowledge.json",
        action: "Acknowledge",
        id: "opsgenie:052652ac-5d1c-464a-812a-7dd18bbfba8c",
        service: "checkout",
        opened_at: "2015-01-05T10:03:11.104Z",
        resolved_at: None,
        severity: None,
        title: "test alert",
    },
];

#[test]
fn every_alert_fixture_maps_to_its_incident_field_by_field() {
    for want in TABLE {
        let mapping = post_fixture(want.file, &routing());
        assert_eq!(mapping.event_type, want.action, "{}", want.file);
        assert_eq!(mapping.delivery_id, None, "{}: keyed by body", want.file);
        let i = the_incident(&mapping);
        assert_eq!(i.id.as_str(), want.id, "{}", want.file);
        assert_eq!(i.service.as_str(), want.service, "{}", want.file);
        assert_eq!(i.opened_at, at(want.opened_at), "{}", want.file);
        assert!(!i.opened_at_estimated, "{}: createdAt is exact", want.file);
        assert_eq!(i.resolved_at, want.resolved_at.map(at), "{}", want.file);
        assert_eq!(i.severity.as_deref(), want.severity, "{}", want.file);
        assert_eq!(i.deployment_id, None, "{}", want.file);
        assert_eq!(i.sha, None, "{}", want.file);
        assert_eq!(i.title.as_deref(), Some(want.title), "{}", want.file);
    }
}

#[test]
fn the_close_fixture_carries_nothing_to_route_by_and_is_skipped_naming_the_keys() {
    // close.json has no teams, no tags and an empty entity.
    for routing in [Routing::default(), routing()] {
        let mapping = post_fixture("close.json", &routing);
        assert_eq!(mapping.event_type, "Close");
        assert_skipped(&mapping, "`opsgenie_teams`");
        assert_skipped(&mapping, "`opsgenie_tags`");
        assert_skipped(&mapping, "052652ac-5d1c-464a-812a-7dd18bbfba8c");
    }
    // acknowledge.json without a config: its tags are named in the reason.
    let mapping = post_fixture("acknowledge.json", &Routing::default());
    assert_skipped(&mapping, "(tag1, tag2)");
}

#[test]
fn close_resolves_at_the_actions_time_and_an_earlier_acknowledgement_keeps_it() {
    // close.json with the tags the acknowledgement of the same alert carried, so that
    // the config routes it (the fixture as published has none).
    let mut body = read_json(FOLDER, "close.json");
    body["alert"]["tags"] = json!(["tag1", "tag2"]);
    let closed = post(&body, &routing()).unwrap();
    let c = the_incident(&closed);
    assert_eq!(
        c.id.as_str(),
        "opsgenie:052652ac-5d1c-464a-812a-7dd18bbfba8c"
    );
    assert_eq!(c.service.as_str(), "checkout");
    assert_eq!(c.opened_at, at("2015-01-05T10:03:11.104Z"));
    assert!(!c.opened_at_estimated);
    // updatedAt 1420452374669001603 ns.
    assert_eq!(c.resolved_at, Some(at("2015-01-05T10:06:14.669001Z")));
    assert_eq!(c.title.as_deref(), Some("test alert"));

    // The acknowledgement delivered after the close leaves the incident closed.
    let acknowledged = post_fixture("acknowledge.json", &routing());
    let merged = c.clone().merge(the_incident(&acknowledged).clone());
    assert_eq!(merged.resolved_at, Some(at("2015-01-05T10:06:14.669001Z")));
    assert_eq!(merged.opened_at, at("2015-01-05T10:03:11.104Z"));
}

#[test]
fn a_team_listed_in_the_config_wins_over_tags_and_entity() {
    // create.json's `teams` is empty; Opsgenie's own payloads name the alert's teams
    // there, in `team` and among the `responders`: each routes.
    let variants = [
        ("teams", json!(["SRE"])),
        ("teams", json!([{"id": "8418d193", "name": "SRE"}])),
        ("team", json!("SRE")),
        (
            "responders",
            json!([{"type": "user", "name": "ana"}, {"type": "team", "id": "8418d193", "name": "SRE"}]),
        ),
    ];
    for (key, value) in variants {
        let mut body = read_json(FOLDER, "create.json");
        body["alert"]["tags"] = json!(["tag1"]);
        body["alert"][key] = value.clone();
        let mapping = post(&body, &routing()).unwrap();
        assert_eq!(
            the_incident(&mapping).service.as_str(),
            "search",
            "{key}: {value}"
        );
    }
    // Listed by id instead of name.
    let mut by_id = routing();
    by_id.services.get_mut("search").unwrap().opsgenie_teams = vec!["8418d193".into()];
    let mut body = read_json(FOLDER, "create.json");
    body["alert"]["teams"] = json!([{"id": "8418d193", "name": "SRE"}]);
    let mapping = post(&body, &by_id).unwrap();
    assert_eq!(the_incident(&mapping).service.as_str(), "search");
}

#[test]
fn the_entity_names_a_configured_service_through_its_deploy_names() {
    let mut routing = Routing::default();
    routing.services.insert(
        "infra".into(),
        ServiceSettings {
            deploy_names: vec!["server".into()],
            ..ServiceSettings::default()
        },
    );
    let mapping = post_fixture("create.json", &routing);
    assert_eq!(the_incident(&mapping).service.as_str(), "infra");
}

#[test]
fn without_created_at_create_opens_at_its_own_time_and_other_actions_estimate() {
    let mut body = read_json(FOLDER, "create.json");
    body["alert"].as_object_mut().unwrap().remove("createdAt");
    let i = the_incident(&post(&body, &Routing::default()).unwrap()).clone();
    // updatedAt 1502709956288000110 ns.
    assert_eq!(i.opened_at, at("2017-08-14T11:25:56.288Z"));
    assert!(!i.opened_at_estimated);

    let mut body = read_json(FOLDER, "acknowledge.json");
    body["alert"].as_object_mut().unwrap().remove("createdAt");
    let i = the_incident(&post(&body, &routing()).unwrap()).clone();
    assert_eq!(i.opened_at, at("2015-01-05T10:03:44.764002Z"));
    assert!(
        i.opened_at_estimated,
        "a stand-in that never moves a stored open time"
    );
}

#[test]
fn priorities_written_as_opsgenie_names_them_are_kept() {
    let mut body = read_json(FOLDER, "create.json");
    body["alert"]["priority"] = json!("P1");
    let mapping = post(&body, &Routing::default()).unwrap();
    assert_eq!(the_incident(&mapping).severity.as_deref(), Some("P1"));
}

#[test]
fn actions_other_than_create_acknowledge_and_close_are_skipped() {
    for action in ["AddNote", "AssignOwnership", "Escalate", "UnAcknowledge"] {
        let mut body = read_json(FOLDER, "acknowledge.json");
        body["action"] = json!(action);
        let mapping = post(&body, &routing()).unwrap();
        assert_eq!(mapping.event_type, action);
        assert_skipped(&mapping, &format!("the {action} action changes nothing"));
        assert_skipped(&mapping, "Create, Acknowledge, Close");
    }
}

#[test]
fn a_body_without_an_action_or_an_alert_id_is_refused_naming_the_path() {
    let mut body = read_json(FOLDER, "create.json");
    body.as_object_mut().unwrap().remove("action");
    assert_eq!(
        post(&body, &Routing::default()).unwrap_err().0,
        "opsgenie: action is missing"
    );
    let mut body = read_json(FOLDER, "create.json");
    body["alert"].as_object_mut().unwrap().remove("alertId");
    assert_eq!(
        post(&body, &Routing::default()).unwrap_err().0,
        "opsgenie Create: alert.alertId is missing"
    );
    let mut body = read_json(FOLDER, "close.json");
    body["alert"]["entity"] = json!("Server");
    body["alert"].as_object_mut().unwrap().remove("updatedAt");
    assert_eq!(
        post(&body, &Routing::default()).unwrap_err().0,
        "opsgenie Close: alert.updatedAt is missing"
    );
    let mut body = read_json(FOLDER, "create.json");
    body["alert"]["createdAt"] = json!(true);
    assert!(
        post(&body, &Routing::default())
            .unwrap_err()
            .0
            .contains("alert.createdAt must be a number"),
    );
}

#[test]
fn the_tests_cover_every_opsgenie_fixture() {
    let not_deliveries = ["LICENSE", "SOURCE.md"];
    assert_table_covers(
        FOLDER,
        TABLE
            .iter()
            .map(|e| e.file)
            .chain(["close.json"])
            .chain(not_deliveries)
            .map(str::to_owned),
    );
}
