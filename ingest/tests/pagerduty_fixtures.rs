//! The PagerDuty adapter on the real webhooks v3 payloads in
//! `tests/fixtures/pagerduty`, field by field, and the event kinds it stores but
//! does not map.

mod fixture_support;

use fixture_support::{
    assert_skipped, assert_table_covers, at, deliver, no_headers, read_json, the_incident,
};
use serde_json::{Value, json};
use shiplog_ingest::sources::{MapError, Mapping, Routing, Source};
use shiplog_model::ServiceSettings;

const FOLDER: &str = "pagerduty";

fn post(body: &Value, routing: &Routing) -> Result<Mapping, MapError> {
    let bytes = serde_json::to_vec(body).expect("serializes");
    deliver(Source::Pagerduty, &no_headers(), &bytes, routing)
}

fn post_fixture(file: &str, routing: &Routing) -> Mapping {
    let body = fixture_support::read(FOLDER, file);
    deliver(Source::Pagerduty, &no_headers(), &body, routing)
        .unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// One delivery and the incident it must map to. The fixtures carry no
/// `data.created_at` (PagerDuty's documented payload does), so `opened_at` is the
/// event's `occurred_at` in each: exact for the trigger, a stand-in that never moves a
/// stored open time for the others; `priority` is null, so severity is the urgency.
struct Expected {
    file: &'static str,
    event_type: &'static str,
    delivery_id: &'static str,
    id: &'static str,
    opened_at: &'static str,
    opened_at_estimated: bool,
    resolved_at: Option<&'static str>,
    title: &'static str,
}

const TABLE: &[Expected] = &[
    Expected {
        file: "triggered_v3.json",
        event_type: "incident.triggered",
        delivery_id: "01BZYIL05THJDFF2Y08X9SVMTU",
        id: "pagerduty:PFQZPSY",
        opened_at: "2021-06-04T13:35:29.781Z",
        opened_at_estimated: false,
        resolved_at: None,
        title: "Test Incident 3",
    },
    Expected {
        file: "acknowledged_v3.json",
        event_type: "incident.acknowledged",
        delivery_id: "01BZYK8N47N5JG55J1EEEHPEJI",
        id: "pagerduty:PQ1K5C8",
        opened_at: "2021-06-04T13:55:30.394Z",
        opened_at_estimated: true,
        resolved_at: None,
        title: "Test Incident",
    },
    Expected {
        file: "resolved_v3.json",
        event_type: "incident.resolved",
        delivery_id: "01BZYH1JJY09P9LEIST8HG2PMN",
        id: "pagerduty:PCPZE64",
        opened_at: "2021-06-04T13:16:53.816Z",
        opened_at_estimated: true,
        resolved_at: Some("2021-06-04T13:16:53.816Z"),
        title: "Test Incident",
    },
];

#[test]
fn every_incident_fixture_maps_to_its_incident_field_by_field() {
    for want in TABLE {
        let mapping = post_fixture(want.file, &Routing::default());
        assert_eq!(mapping.event_type, want.event_type, "{}", want.file);
        assert_eq!(
            mapping.delivery_id.as_deref(),
            Some(want.delivery_id),
            "{}",
            want.file
        );
        let i = the_incident(&mapping);
        assert_eq!(i.id.as_str(), want.id, "{}", want.file);
        // data.service.summary: no service lists PA2P440
        assert_eq!(i.service.as_str(), "pig208", "{}", want.file);
        assert_eq!(i.opened_at, at(want.opened_at), "{}", want.file);
        assert_eq!(
            i.opened_at_estimated, want.opened_at_estimated,
            "{}",
            want.file
        );
        assert_eq!(i.resolved_at, want.resolved_at.map(at), "{}", want.file);
        assert_eq!(i.severity.as_deref(), Some("high"), "{}", want.file);
        assert_eq!(i.deployment_id, None, "{}", want.file);
        assert_eq!(i.sha, None, "{}", want.file);
        assert_eq!(i.title.as_deref(), Some(want.title), "{}", want.file);
    }
}

#[test]
fn a_pagerduty_service_listed_in_the_config_routes_to_its_service() {
    let mut routing = Routing::default();
    routing.services.insert(
        "checkout".into(),
        ServiceSettings {
            pagerduty_services: vec!["PA2P440".into()],
            ..ServiceSettings::default()
        },
    );
    for want in TABLE {
        let mapping = post_fixture(want.file, &routing);
        assert_eq!(
            the_incident(&mapping).service.as_str(),
            "checkout",
            "{}",
            want.file
        );
    }
}

#[test]
fn created_at_and_priority_win_over_occurred_at_and_urgency() {
    // The fixtures predate `data.created_at` and set no priority: the triggered
    // fixture with both, as PagerDuty's documented v3 payload has them.
    let mut body = read_json(FOLDER, "triggered_v3.json");
    body["event"]["data"]["created_at"] = json!("2021-06-04T13:35:00Z");
    body["event"]["data"]["priority"] = json!({
        "id": "PSO75BM", "type": "priority_reference", "summary": "P1"
    });
    let mapping = post(&body, &Routing::default()).unwrap();
    let i = the_incident(&mapping);
    assert_eq!(i.opened_at, at("2021-06-04T13:35:00Z"));
    assert_eq!(i.severity.as_deref(), Some("P1"));
}

#[test]
fn acknowledged_after_resolved_leaves_the_incident_resolved() {
    let resolved = post_fixture("resolved_v3.json", &Routing::default());
    // The acknowledgement of the same incident, delivered late.
    let mut body = read_json(FOLDER, "acknowledged_v3.json");
    body["event"]["data"]["id"] = json!("PCPZE64");
    let late = post(&body, &Routing::default()).unwrap();
    let merged = the_incident(&resolved)
        .clone()
        .merge(the_incident(&late).clone());
    assert_eq!(merged.resolved_at, Some(at("2021-06-04T13:16:53.816Z")));
}

#[test]
fn an_incident_whose_service_has_no_name_and_is_not_listed_is_skipped() {
    let mut body = read_json(FOLDER, "triggered_v3.json");
    body["event"]["data"]["service"]
        .as_object_mut()
        .unwrap()
        .remove("summary");
    let mapping = post(&body, &Routing::default()).unwrap();
    assert_skipped(&mapping, "pagerduty_services");
    assert_eq!(
        mapping.delivery_id.as_deref(),
        Some("01BZYIL05THJDFF2Y08X9SVMTU")
    );
}

#[test]
fn events_that_are_not_an_incidents_state_are_skipped() {
    // No fixture covers these; the bodies follow PagerDuty's v3 documentation.
    let ping = json!({"event": {
        "id": "01BZZ0000000000000000PING", "event_type": "pagey.ping", "resource_type": "pagey",
        "occurred_at": "2021-06-04T13:00:00Z", "agent": null, "client": null,
        "data": {"message": "Hello from your friend Pagey!", "type": "ping"}
    }});
    assert_skipped(
        &post(&ping, &Routing::default()).unwrap(),
        "incident events only",
    );
    let service = json!({"event": {
        "id": "01BRB6ZP4M6T8ZG4X6BP63ZB9O", "event_type": "service.updated", "resource_type": "service",
        "occurred_at": "2021-03-02T13:35:11.682Z", "agent": null, "client": null,
        "data": {"id": "PF9KMXH", "summary": "testing service updates", "type": "service"}
    }});
    assert_skipped(
        &post(&service, &Routing::default()).unwrap(),
        "incident events only",
    );
    let note = json!({"event": {
        "id": "01BZZ00000000000000000NOTE", "event_type": "incident.annotated", "resource_type": "incident",
        "occurred_at": "2021-06-04T13:40:00Z", "agent": null, "client": null,
        "data": {"incident": {"id": "PFQZPSY", "type": "incident_reference"},
                 "id": "P2LA89X", "content": "looking", "trimmed": false, "type": "incident_note"}
    }});
    let mapping = post(&note, &Routing::default()).unwrap();
    assert_skipped(&mapping, "incident_note");
    assert_eq!(mapping.event_type, "incident.annotated");
}

#[test]
fn a_body_without_its_event_time_is_refused_naming_the_path() {
    let mut body = read_json(FOLDER, "triggered_v3.json");
    body["event"].as_object_mut().unwrap().remove("occurred_at");
    let error = post(&body, &Routing::default()).unwrap_err();
    assert_eq!(error.0, "incident.triggered: event.occurred_at is missing");
    let error = post(&json!({"webhook": {}}), &Routing::default()).unwrap_err();
    assert_eq!(error.0, "pagerduty: event is missing");
}

#[test]
fn the_table_lists_every_pagerduty_fixture() {
    let not_deliveries = ["LICENSE", "SOURCE.md"];
    assert_table_covers(
        FOLDER,
        TABLE
            .iter()
            .map(|e| e.file)
            .chain(not_deliveries)
            .map(str::to_owned),
    );
}
