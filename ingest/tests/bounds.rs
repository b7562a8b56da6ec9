//! What every event must stay within, through the typed API and a webhook alike:
//! instants in the years 0000 to 9999 (at chrono's limits, the years -262,143 and
//! +262,142, the lead-time subtraction overflowed), names and ids within their length
//! limits. Each refusal names the field; a webhook's is the reason it is stored
//! unmapped (SPEC §6).

mod common;

use common::*;
use serde_json::{Value, json};
use shiplog_ingest::sources::generic::parse_event_text;
use shiplog_ingest::sources::{Incoming, Routing, Source, map_or_keep};
use shiplog_model::{Event, ID_MAX_BYTES, NAME_MAX_BYTES, TEXT_MAX_BYTES};

/// chrono's extremes and just past them, written the ways senders write instants.
const EXTREMES: [&str; 6] = [
    "+262142-12-31T23:59:59Z",
    "-262143-01-01T00:00:00Z",
    "+262142-12-31 23:59:59 UTC",
    "-262143-01-01 00:00:00 +0000",
    "+262143-12-31 23:59:59 UTC",
    "-262144-01-01 00:00:00 +0000",
];

fn deployment(fields: Value) -> String {
    let mut event = json!({
        "type": "deployment", "id": "d1", "service": "shop", "sha": "abc",
        "finished_at": "2026-03-02T11:00:00Z",
    });
    for (key, value) in fields.as_object().unwrap() {
        event[key] = value.clone();
    }
    event.to_string()
}

fn typed_error(text: &str) -> String {
    parse_event_text(1, text).unwrap_err().error
}

#[test]
fn a_typed_event_at_chronos_extremes_is_refused_naming_the_field() {
    for raw in EXTREMES {
        let e = typed_error(&deployment(json!({ "finished_at": raw })));
        assert!(
            e.contains("`finished_at` is not an RFC 3339 timestamp"),
            "{raw}: {e}"
        );
        let e = typed_error(&deployment(json!({ "started_at": raw })));
        assert!(e.contains("`started_at`"), "{raw}: {e}");
    }
    // RFC 3339 whose UTC instant leaves the four-digit years.
    let e = typed_error(&deployment(
        json!({"finished_at": "9999-12-31T23:59:59-01:00"}),
    ));
    assert!(e.contains("`finished_at`"), "{e}");
    assert!(
        parse_event_text(
            1,
            &deployment(json!({"finished_at": "9999-12-31T23:59:59Z"}))
        )
        .is_ok()
    );
}

fn github_deployment_status(edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut body = fixture_json("github", "octokit-webhooks/deployment_status/payload.json");
    edit(&mut body);
    to_body(&body)
}

fn gitlab_deployment(status_changed_at: &str) -> Vec<u8> {
    let mut body = fixture_json("gitlab", "xanzy-go-gitlab/deployment.json");
    body["status_changed_at"] = json!(status_changed_at);
    to_body(&body)
}

/// Maps a delivery as the webhook route does: refused by the adapter, kept unmapped.
fn kept_unmapped(source: Source, pairs: &[(&str, &str)], body: &[u8]) -> String {
    let headers = headers(pairs);
    let incoming = Incoming {
        headers: &headers,
        body,
    };
    let mapping = map_or_keep(source, &incoming, &Routing::default()).unwrap();
    assert_eq!(mapping.events, Vec::<Event>::new());
    mapping.skipped.expect("the reason it is unmapped")
}

#[test]
fn a_webhook_at_chronos_extremes_is_kept_unmapped_naming_the_field() {
    let gitlab = [
        ("x-gitlab-event", "Deployment Hook"),
        ("x-gitlab-event-uuid", "u-1"),
    ];
    let github = [
        ("x-github-event", "deployment_status"),
        ("x-github-delivery", "d-1"),
    ];
    for raw in EXTREMES {
        let body = gitlab_deployment(raw);
        let e = deliver(
            Source::Gitlab,
            &headers(&gitlab),
            &body,
            &Routing::default(),
        );
        let e = e.unwrap_err().0;
        assert!(
            e.contains("status_changed_at")
                && (e.contains("outside the years 0000 to 9999") || e.contains("not a timestamp")),
            "{raw}: {e}"
        );
        let reason = kept_unmapped(Source::Gitlab, &gitlab, &body);
        assert!(reason.contains("status_changed_at"), "{reason}");

        let body = github_deployment_status(|v| v["deployment_status"]["created_at"] = json!(raw));
        let reason = kept_unmapped(Source::Github, &github, &body);
        assert!(
            reason.contains("deployment_status.created_at"),
            "{raw}: {reason}"
        );
    }
    // GitLab's own format takes a year of any width: this one parses, and is refused
    // for its range alone.
    let body = gitlab_deployment("+262142-12-31 23:59:59 UTC");
    let e = deliver(
        Source::Gitlab,
        &headers(&gitlab),
        &body,
        &Routing::default(),
    );
    assert!(
        e.unwrap_err()
            .0
            .contains("status_changed_at is outside the years 0000 to 9999 (UTC)")
    );
    let body = gitlab_deployment("9999-12-31 23:59:59 UTC");
    let mapping = deliver(
        Source::Gitlab,
        &headers(&gitlab),
        &body,
        &Routing::default(),
    );
    assert_eq!(
        mapping.unwrap().events.len(),
        1,
        "the last instant of 9999 maps"
    );
}

#[test]
fn a_service_name_over_its_limit_is_refused_naming_the_field() {
    let at_limit = "s".repeat(NAME_MAX_BYTES);
    let over = "s".repeat(NAME_MAX_BYTES + 1);
    let Event::Deployment(d) = parse_event_text(1, &deployment(json!({ "service": at_limit })))
        .unwrap()
        .event
    else {
        panic!("not a deployment");
    };
    assert_eq!(d.service.as_str().len(), NAME_MAX_BYTES);
    assert_eq!(
        typed_error(&deployment(json!({ "service": over }))),
        "`service` is 257 bytes long, over the limit of 256 bytes"
    );
    let e = typed_error(&deployment(json!({ "repo": over, "sha": over })));
    assert!(e.contains("`repo` is 257 bytes long"), "{e}");
    assert!(e.contains("`sha` is 257 bytes long"), "{e}");

    // A webhook's service, from GitHub's deployment payload.
    let github = [
        ("x-github-event", "deployment_status"),
        ("x-github-delivery", "d-1"),
    ];
    let body =
        github_deployment_status(|v| v["deployment"]["payload"] = json!({ "service": over }));
    let reason = kept_unmapped(Source::Github, &github, &body);
    assert!(
        reason.contains("is 257 bytes long, over the limit of 256 bytes"),
        "{reason}"
    );
    let body =
        github_deployment_status(|v| v["deployment"]["payload"] = json!({ "service": at_limit }));
    let mapping = deliver(
        Source::Github,
        &headers(&github),
        &body,
        &Routing::default(),
    );
    assert_eq!(mapping.unwrap().events.len(), 1);
}

#[test]
fn an_id_over_its_limit_is_refused_naming_the_field() {
    let at_limit = "i".repeat(ID_MAX_BYTES);
    let over = "i".repeat(ID_MAX_BYTES + 1);
    assert!(parse_event_text(1, &deployment(json!({ "id": at_limit }))).is_ok());
    assert_eq!(
        typed_error(&deployment(json!({ "id": over }))),
        "`id` is 1025 bytes long, over the limit of 1024 bytes"
    );
    let incident = |deployment_id: &str| {
        json!({
            "type": "incident", "id": "PD-1", "service": "shop",
            "opened_at": "2026-03-02T10:00:00Z", "deployment_id": deployment_id,
        })
        .to_string()
    };
    assert!(parse_event_text(1, &incident(&at_limit)).is_ok());
    assert_eq!(
        typed_error(&incident(&over)),
        "`deployment_id` is 1025 bytes long, over the limit of 1024 bytes"
    );
}

#[test]
fn a_plain_text_field_over_its_limit_is_refused_naming_the_field() {
    let at_limit = "t".repeat(NAME_MAX_BYTES);
    let over = "t".repeat(NAME_MAX_BYTES + 1);
    for field in ["team", "environment", "status"] {
        assert!(
            parse_event_text(1, &deployment(json!({ field: at_limit }))).is_ok(),
            "{field} at the limit"
        );
        assert_eq!(
            typed_error(&deployment(json!({ field: over }))),
            format!("`{field}` is 257 bytes long, over the limit of 256 bytes")
        );
    }
    // Free text takes more, and is bounded too.
    let change = |message: &str| {
        json!({
            "type": "change", "repo": "acme/shop", "sha": "abc",
            "committed_at": "2026-03-02T10:00:00Z", "message": message,
        })
        .to_string()
    };
    assert!(parse_event_text(1, &change(&"m".repeat(TEXT_MAX_BYTES))).is_ok());
    assert_eq!(
        typed_error(&change(&"m".repeat(TEXT_MAX_BYTES + 1))),
        "`message` is 65537 bytes long, over the limit of 65536 bytes"
    );

    // A webhook's environment, from GitHub's deployment: stored unmapped, naming it.
    let github = [
        ("x-github-event", "deployment_status"),
        ("x-github-delivery", "d-1"),
    ];
    let body = github_deployment_status(|v| {
        v["deployment"]["environment"] = json!(over);
        v["deployment_status"]["environment"] = json!(over);
    });
    let reason = kept_unmapped(Source::Github, &github, &body);
    assert!(
        reason.contains("`environment` is 257 bytes long, over the limit of 256 bytes"),
        "{reason}"
    );
}
