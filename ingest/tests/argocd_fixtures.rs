//! The ArgoCD adapter on what the shipped notifications template renders from the
//! real Application resources in `tests/fixtures/argocd/applications`, and the shipped
//! template itself (`deploy/argocd/argocd-notifications-cm.yaml`) against what the
//! adapter reads.

mod fixture_support;

use std::path::Path;

use fixture_support::{
    assert_skipped, assert_table_covers, at, deliver, no_headers, read_text, the_deployment,
};
use serde_json::{Value, json};
use shiplog_ingest::sources::argocd::{BODY_KEYS, EVENTS};
use shiplog_ingest::sources::{Routing, Source};
use shiplog_model::ServiceSettings;

const FOLDER: &str = "argocd";

/// Fails unless the Application YAML holds `line`, so that the values copied into
/// the bodies below stay the fixture's.
fn assert_yaml_has(yaml: &str, line: &str) {
    assert!(
        yaml.lines().any(|l| l == line),
        "the fixture no longer has the line {line:?}"
    );
}

/// The body `template.shiplog-{event}` renders from applications/diff-cache.yaml.
fn diff_cache_body(event: &str) -> Value {
    let yaml = read_text(FOLDER, "applications/diff-cache.yaml");
    for line in [
        "  name: velero-test",
        "  namespace: argo-cd",
        "      revision: ea8759964626a583667a2bfd08f334ec2070040a",
        "    phase: Succeeded",
        "    status: Healthy",
        "    startedAt: \"2024-03-05T07:33:03Z\"",
        "    finishedAt: \"2024-03-05T07:33:04Z\"",
        "    repoURL: https://github.com/foo/manifests-velero.git",
    ] {
        assert_yaml_has(&yaml, line);
    }
    json!({
        // metadata.namespace "/" metadata.name "@" status.operationState.startedAt "#" event
        "id": format!("argo-cd/velero-test@2024-03-05T07:33:03Z#{event}"),
        "event": event,
        // metadata.name
        "app": "velero-test",
        // metadata.namespace
        "namespace": "argo-cd",
        // metadata.labels.environment: the app has labels but no `environment`
        "environment": null,
        // status.operationState.syncResult.revision
        "revision": "ea8759964626a583667a2bfd08f334ec2070040a",
        // status.operationState.phase
        "phase": "Succeeded",
        // status.health.status
        "health": "Healthy",
        // status.operationState.startedAt
        "started_at": "2024-03-05T07:33:03Z",
        // status.operationState.finishedAt
        "finished_at": "2024-03-05T07:33:04Z",
        // spec.source.repoURL
        "repo_url": "https://github.com/foo/manifests-velero.git",
    })
}

fn post(
    body: &Value,
    routing: &Routing,
) -> Result<shiplog_ingest::sources::Mapping, shiplog_ingest::sources::MapError> {
    let bytes = serde_json::to_vec(body).expect("serializes");
    deliver(Source::Argocd, &no_headers(), &bytes, routing)
}

#[test]
fn diff_cache_sync_succeeded_maps_to_one_successful_deployment() {
    let mapping = post(&diff_cache_body("sync-succeeded"), &Routing::default()).unwrap();
    assert_eq!(mapping.event_type, "sync-succeeded");
    assert_eq!(
        mapping.delivery_id.as_deref(),
        Some("argo-cd/velero-test@2024-03-05T07:33:03Z#sync-succeeded")
    );
    let d = the_deployment(&mapping);
    assert_eq!(
        d.id.as_str(),
        "argocd:argo-cd/velero-test@2024-03-05T07:33:03Z"
    );
    assert_eq!(d.service.as_str(), "velero-test");
    assert_eq!(
        d.environment, None,
        "no label and no config: SPEC's default applies"
    );
    assert_eq!(
        d.repo.as_ref().map(|r| r.as_str()),
        Some("foo/manifests-velero")
    );
    assert_eq!(d.sha.as_str(), "ea8759964626a583667a2bfd08f334ec2070040a");
    assert_eq!(d.status.as_deref(), Some("success"));
    assert_eq!(d.started_at, Some(at("2024-03-05T07:33:03Z")));
    assert_eq!(d.finished_at, at("2024-03-05T07:33:04Z"));
    assert_eq!(d.team, None);
    assert_eq!(d.commits, None);
}

#[test]
fn a_failed_sync_is_a_failed_deployment() {
    // No fixture holds a failed operation: the diff-cache body with the phase a
    // failed sync has.
    let mut body = diff_cache_body("sync-failed");
    body["phase"] = json!("Failed");
    let mapping = post(&body, &Routing::default()).unwrap();
    let d = the_deployment(&mapping);
    assert_eq!(d.status.as_deref(), Some("failure"));
    assert_eq!(
        d.id.as_str(),
        "argocd:argo-cd/velero-test@2024-03-05T07:33:03Z"
    );
    assert_eq!(d.finished_at, at("2024-03-05T07:33:04Z"));
}

#[test]
fn health_degraded_fails_the_deployment_of_the_same_sync_operation() {
    let succeeded = post(&diff_cache_body("sync-succeeded"), &Routing::default()).unwrap();
    let mut body = diff_cache_body("health-degraded");
    // status.health.status as the degraded trigger sees it (the fixture is Healthy).
    body["health"] = json!("Degraded");
    let degraded = post(&body, &Routing::default()).unwrap();
    assert_ne!(
        succeeded.delivery_id, degraded.delivery_id,
        "two deliveries, both stored"
    );
    let (first, later) = (the_deployment(&succeeded), the_deployment(&degraded));
    assert_eq!(first.id, later.id, "one operation, one deployment");
    assert_eq!(later.status.as_deref(), Some("failure"));
    assert_eq!(
        later.finished_at, first.finished_at,
        "the operation's finish, not the degradation's"
    );
    let merged = first.clone().merge(later.clone());
    assert_eq!(merged.status.as_deref(), Some("failure"));
}

#[test]
fn a_running_operation_is_skipped() {
    let mut body = diff_cache_body("sync-succeeded");
    body["phase"] = json!("Running");
    body["finished_at"] = Value::Null;
    let mapping = post(&body, &Routing::default()).unwrap();
    assert_skipped(&mapping, "still running");
    assert!(
        mapping.delivery_id.is_some(),
        "stored under its id all the same"
    );
}

#[test]
fn application_healthy_renders_a_body_without_revision_which_is_refused() {
    // applications/application-healthy.yaml has only status.health.status: every
    // other path is missing, and Go's text/template passes a missing map key to
    // `toJson` as nil, which renders `null`; printf renders it `%!s(<nil>)`. (No
    // shipped trigger fires for it: it has no operationState.)
    let yaml = read_text(FOLDER, "applications/application-healthy.yaml");
    assert_yaml_has(&yaml, "    status: Healthy");
    assert!(!yaml.contains("operationState"));
    let body = json!({
        "id": "%!s(<nil>)/%!s(<nil>)@%!s(<nil>)#sync-succeeded",
        "event": "sync-succeeded",
        "app": null,
        "namespace": null,
        "environment": null,
        "revision": null,
        "phase": null,
        // status.health.status
        "health": "Healthy",
        "started_at": null,
        "finished_at": null,
        "repo_url": null,
    });
    let error = post(&body, &Routing::default()).unwrap_err();
    assert_eq!(error.0, "argocd sync-succeeded: revision is missing");
}

#[test]
fn a_missing_finish_time_is_refused_naming_the_field() {
    let mut body = diff_cache_body("sync-succeeded");
    body.as_object_mut().unwrap().remove("finished_at");
    let error = post(&body, &Routing::default()).unwrap_err();
    assert_eq!(error.0, "argocd sync-succeeded: finished_at is missing");
}

#[test]
fn config_routes_the_app_to_its_service_and_environment() {
    let mut routing = Routing::default();
    routing.services.insert(
        "velero".into(),
        ServiceSettings {
            argocd_apps: vec!["velero-test".into()],
            ..ServiceSettings::default()
        },
    );
    routing
        .argocd_environments
        .insert("velero-test".into(), "production".into());
    let mut body = diff_cache_body("sync-succeeded");
    body["environment"] = json!("test-lla");
    let mapping = post(&body, &routing).unwrap();
    let d = the_deployment(&mapping);
    assert_eq!(d.service.as_str(), "velero");
    assert_eq!(
        d.environment.as_deref(),
        Some("production"),
        "the config wins over the label"
    );
}

#[test]
fn the_environment_label_goes_through_the_aliases() {
    let mut routing = Routing::default();
    routing
        .environment_aliases
        .insert("prd".into(), "production".into());
    let mut body = diff_cache_body("sync-succeeded");
    body["environment"] = json!("PRD");
    let mapping = post(&body, &routing).unwrap();
    assert_eq!(
        the_deployment(&mapping).environment.as_deref(),
        Some("production")
    );
}

#[test]
fn an_unknown_event_is_stored_but_skipped() {
    let mut body = diff_cache_body("sync-succeeded");
    body["event"] = json!("sync-running");
    let mapping = post(&body, &Routing::default()).unwrap();
    assert_skipped(&mapping, "not one Shiplog maps");
}

// ---- the shipped template ----

fn shipped_cm() -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/argocd/argocd-notifications-cm.yaml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The lines of the ConfigMap's `data` key `key`, up to the next key.
fn data_entry(cm: &str, key: &str) -> String {
    let head = format!("  {key}: |");
    let mut lines = cm.lines().skip_while(|l| *l != head);
    assert!(lines.next().is_some(), "the ConfigMap has no key {key}");
    lines
        .take_while(|l| !is_data_key(l))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A line that starts the next `data` key: indented by exactly two spaces, no comment.
fn is_data_key(line: &str) -> bool {
    let body = line.trim_start_matches(' ');
    line.len() - body.len() == 2 && !body.is_empty() && !body.starts_with('#')
}

#[test]
fn shipped_configmap_has_the_service_templates_triggers_and_subscription_the_docs_promise() {
    let cm = shipped_cm();
    assert!(cm.contains("name: argocd-notifications-cm"));
    let service = data_entry(&cm, "service.webhook.shiplog");
    assert!(service.contains("/webhooks/argocd"), "{service}");
    assert!(
        service.contains("value: Bearer $shiplog-token"),
        "{service}"
    );
    assert!(service.contains("value: application/json"), "{service}");
    for event in EVENTS {
        let template = data_entry(&cm, &format!("template.shiplog-{event}"));
        assert!(template.contains("webhook:\n      shiplog:"), "{template}");
        assert!(template.contains("method: POST"));
        assert!(template.contains(&format!("\"event\": \"{event}\"")));
        assert!(template.contains(&format!("#{event}\" .app.metadata.namespace")));
        let trigger = data_entry(&cm, &format!("trigger.shiplog-on-{event}"));
        assert!(
            trigger.contains(&format!("send: [shiplog-{event}]")),
            "{trigger}"
        );
        // The catalog's form (notifications_catalog/triggers/*.yaml).
        assert!(trigger.contains("oncePer: app.status.operationState?.syncResult?.revision"));
        let subscriptions = data_entry(&cm, "subscriptions");
        assert!(
            subscriptions.contains(&format!("- shiplog-on-{event}")),
            "{subscriptions}"
        );
        assert!(subscriptions.contains("- shiplog\n"), "{subscriptions}");
    }
    let catalog = |f: &str| read_text(FOLDER, &format!("notifications_catalog/triggers/{f}"));
    assert!(catalog("on-sync-succeeded.yaml").contains("phase in ['Succeeded']"));
    assert!(
        data_entry(&cm, "trigger.shiplog-on-sync-succeeded").contains("phase in ['Succeeded']")
    );
    assert!(catalog("on-sync-failed.yaml").contains("phase in ['Error', 'Failed']"));
    assert!(
        data_entry(&cm, "trigger.shiplog-on-sync-failed").contains("phase in ['Error', 'Failed']")
    );
    assert!(catalog("on-health-degraded.yaml").contains("app.status.health.status == 'Degraded'"));
    assert!(
        data_entry(&cm, "trigger.shiplog-on-health-degraded")
            .contains("app.status.health.status == 'Degraded'")
    );
}

#[test]
fn every_key_the_adapter_reads_is_rendered_by_every_shipped_template_with_to_json() {
    let cm = shipped_cm();
    for event in EVENTS {
        let template = data_entry(&cm, &format!("template.shiplog-{event}"));
        for key in BODY_KEYS {
            let line = template
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("\"{key}\": ")))
                .unwrap_or_else(|| panic!("template.shiplog-{event} does not render {key:?}"));
            // Quoting by hand breaks on a quote in a value; `toJson` cannot.
            assert!(
                line.contains("toJson") || line.contains(&format!("\"{key}\": \"{event}\"")),
                "{key} is not rendered with toJson: {line}"
            );
        }
    }
    // The values the tests above copy into bodies, from the same template lines.
    let template = data_entry(&cm, "template.shiplog-sync-succeeded");
    for path in [
        ".app.metadata.name",
        ".app.metadata.namespace",
        ".app.metadata.labels.environment",
        ".app.status.operationState.syncResult.revision",
        ".app.status.sync.revision",
        ".app.status.operationState.phase",
        ".app.status.health.status",
        ".app.status.operationState.startedAt",
        ".app.status.operationState.finishedAt",
        ".app.spec.source",
        ".repoURL",
    ] {
        assert!(template.contains(path), "the template does not read {path}");
    }
}

// ---- every fixture file accounted for ----

/// What each file of tests/fixtures/argocd is to this adapter.
const TABLE: &[(&str, &str)] = &[
    ("LICENSE", "not a delivery: the fixtures' license"),
    ("SOURCE.md", "not a delivery: where the fixtures come from"),
    (
        "applications/application-healthy.yaml",
        "an Application: rendered through the template in application_healthy_renders_a_body_without_revision_which_is_refused",
    ),
    (
        "applications/diff-cache.yaml",
        "an Application: rendered through the template in the diff_cache tests",
    ),
    (
        "docs/argocd-notifications-cm.yaml",
        "not a delivery: an example notifications ConfigMap",
    ),
    (
        "notifications_catalog/install.yaml",
        "not a delivery: the catalog's templates and triggers",
    ),
    (
        "notifications_catalog/templates/app-deployed.yaml",
        "not a delivery: a catalog template (chat message)",
    ),
    (
        "notifications_catalog/templates/app-health-degraded.yaml",
        "not a delivery: a catalog template (chat message)",
    ),
    (
        "notifications_catalog/templates/app-sync-failed.yaml",
        "not a delivery: a catalog template (chat message)",
    ),
    (
        "notifications_catalog/templates/app-sync-succeeded.yaml",
        "not a delivery: a catalog template (chat message)",
    ),
    (
        "notifications_catalog/triggers/on-deployed.yaml",
        "not a delivery: a catalog trigger",
    ),
    (
        "notifications_catalog/triggers/on-health-degraded.yaml",
        "not a delivery: a catalog trigger, whose condition Shiplog's trigger reuses",
    ),
    (
        "notifications_catalog/triggers/on-sync-failed.yaml",
        "not a delivery: a catalog trigger, whose condition Shiplog's trigger reuses",
    ),
    (
        "notifications_catalog/triggers/on-sync-succeeded.yaml",
        "not a delivery: a catalog trigger, whose condition Shiplog's trigger reuses",
    ),
    (
        "webhook-service/webhook.md.block1-register-service.yaml",
        "not a delivery: how a webhook service is registered",
    ),
    (
        "webhook-service/webhook.md.block2-template-and-trigger.yaml",
        "not a delivery: how a webhook template and trigger are written",
    ),
    (
        "webhook-service/webhook.md.block3-subscription.yaml",
        "not a delivery: how an Application subscribes",
    ),
    (
        "webhook-service/webhook.md.block4-tls-certs-cm.yaml",
        "not a delivery: TLS certificates for a webhook host",
    ),
    (
        "webhook-service/webhook.md.block5-github-commit-status-service.yaml",
        "not a delivery: a webhook service for GitHub",
    ),
    (
        "webhook-service/webhook.md.block6-github-commit-status-template.yaml",
        "not a delivery: a webhook template for GitHub commit statuses",
    ),
    (
        "webhook-service/webhook.md.block7-jenkins-job.yaml",
        "not a delivery: a webhook service for Jenkins",
    ),
    (
        "webhook-service/webhook.md.block8-form-data.yaml",
        "not a delivery: a form-data webhook template",
    ),
    (
        "webhook-service/webhook.md.block9-slack.yaml",
        "not a delivery: a Slack webhook template",
    ),
];

#[test]
fn configuration_files_posted_by_mistake_are_refused_as_not_json() {
    for (file, what) in TABLE {
        if !what.starts_with("not a delivery") || !file.ends_with(".yaml") {
            continue;
        }
        let body = fixture_support::read(FOLDER, file);
        let error =
            deliver(Source::Argocd, &no_headers(), &body, &Routing::default()).expect_err(file);
        assert!(
            error.0.starts_with("argocd: the body is not valid JSON"),
            "{file}: {}",
            error.0
        );
    }
}

#[test]
fn the_table_lists_every_argocd_fixture() {
    assert_table_covers(FOLDER, TABLE.iter().map(|(file, _)| (*file).to_owned()));
}
