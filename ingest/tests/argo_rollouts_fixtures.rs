//! The Argo Rollouts adapter on what the shipped notification templates
//! (`deploy/argo-rollouts/argo-rollouts-notification-configmap.yaml`) render from the
//! real Rollout resources in `tests/fixtures/argo-rollouts`: completed, aborted,
//! degraded and paused ones.
//!
//! The templates are Go text/template. No Go runs here, so the test renders them
//! with the small part of text/template they use (`{{ .path | toJson }}`, `index`,
//! `with … else … end`, a parenthesised pipeline's field), with Go's reading of a
//! missing map key (no value, which `toJson` writes `null`) and of `index` on no map
//! (an error: the notification is not sent). A template that uses anything more
//! fails the test rather than being rendered wrongly.

mod fixture_support;

use fixture_support::{assert_skipped, at, deliver, files_under, no_headers, read_text};
use serde_json::{Map, Value, json};
use shiplog_ingest::sources::argo_rollouts::{ABORTED, BODY_KEYS, EVENTS};
use shiplog_ingest::sources::{MapError, Mapping, Routing, Source};
use shiplog_model::ServiceSettings;

const FOLDER: &str = "argo-rollouts";
const SHIPPED: &str = "deploy/argo-rollouts/argo-rollouts-notification-configmap.yaml";

fn shipped_configmap() -> Map<String, Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(SHIPPED);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{SHIPPED}: {e}"));
    let cm: Value = serde_yaml::from_str(&text).expect("the shipped configmap is YAML");
    assert_eq!(
        cm["metadata"]["name"],
        "argo-rollouts-notification-configmap"
    );
    cm["data"].as_object().expect("a data map").clone()
}

/// The body template of `template.shiplog-{event}`.
fn body_template(event: &str) -> String {
    let data = shipped_configmap();
    let key = format!("template.shiplog-{event}");
    let entry = data[&key].as_str().unwrap_or_else(|| panic!("no {key}"));
    let template: Value = serde_yaml::from_str(entry).expect("the template is YAML");
    let webhook = &template["webhook"]["shiplog"];
    assert_eq!(webhook["method"], "POST");
    webhook["body"].as_str().expect("a body").to_owned()
}

/// A Rollout fixture as the object the controller hands the template.
fn rollout(file: &str) -> Value {
    serde_yaml::from_str(&read_text(FOLDER, file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

// ---- the part of Go's text/template the shipped templates use ----

#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// `.a.b`, or `.` alone.
    Path(Vec<String>),
    Str(String),
    Int(usize),
    Word(String),
    Open,
    /// `)`, with the fields chained after it (`).image`).
    Close(Vec<String>),
    Pipe,
}

fn fields(path: &str) -> Vec<String> {
    path.split('.')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn tokens(action: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut rest = action.trim();
    while !rest.is_empty() {
        let c = rest.chars().next().unwrap();
        let word_end = |s: &str| {
            s.find(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == '|')
                .unwrap_or(s.len())
        };
        match c {
            ' ' | '\t' | '\n' => rest = &rest[1..],
            '|' => {
                out.push(Token::Pipe);
                rest = &rest[1..];
            }
            '(' => {
                out.push(Token::Open);
                rest = &rest[1..];
            }
            ')' => {
                let after = &rest[1..];
                let end = if after.starts_with('.') {
                    word_end(after)
                } else {
                    0
                };
                out.push(Token::Close(fields(&after[..end])));
                rest = &after[end..];
            }
            '"' => {
                let end = rest[1..].find('"').expect("a closed string") + 1;
                out.push(Token::Str(rest[1..end].to_owned()));
                rest = &rest[end + 1..];
            }
            '.' => {
                let end = word_end(rest);
                out.push(Token::Path(fields(&rest[..end])));
                rest = &rest[end..];
            }
            d if d.is_ascii_digit() => {
                let end = word_end(rest);
                out.push(Token::Int(rest[..end].parse().expect("a number")));
                rest = &rest[end..];
            }
            _ => {
                let end = word_end(rest);
                out.push(Token::Word(rest[..end].to_owned()));
                rest = &rest[end..];
            }
        }
    }
    out
}

/// Go's field chain on a value: a missing key of a map is no value (`None`), and so
/// is any field of no value.
fn walk(value: Option<&Value>, path: &[String]) -> Option<Value> {
    let mut at = value?.clone();
    for field in path {
        at = at.as_object()?.get(field)?.clone();
    }
    Some(at)
}

/// One argument or command of a pipeline, from `tokens[*i]` on.
fn operand(tokens: &[Token], i: &mut usize, dot: &Value) -> Result<Option<Value>, String> {
    let token = tokens.get(*i).cloned().ok_or("an operand is missing")?;
    *i += 1;
    Ok(match token {
        Token::Path(path) => walk(Some(dot), &path),
        Token::Str(s) => Some(Value::String(s)),
        Token::Int(n) => Some(json!(n)),
        Token::Open => {
            let inner = command(tokens, i, dot)?;
            match tokens.get(*i) {
                Some(Token::Close(chain)) => {
                    *i += 1;
                    walk(inner.as_ref(), chain)
                }
                other => return Err(format!("expected ), got {other:?}")),
            }
        }
        other => return Err(format!("unsupported operand {other:?}")),
    })
}

/// A command: `index X k…`, or an operand.
fn command(tokens: &[Token], i: &mut usize, dot: &Value) -> Result<Option<Value>, String> {
    if tokens.get(*i) != Some(&Token::Word("index".into())) {
        return operand(tokens, i, dot);
    }
    *i += 1;
    let mut item = operand(tokens, i, dot)?;
    while let Some(Token::Path(_) | Token::Str(_) | Token::Int(_) | Token::Open) = tokens.get(*i) {
        let key = operand(tokens, i, dot)?;
        item = match (item, key) {
            (None, _) => return Err("index of untyped nil".into()),
            (Some(Value::Object(map)), Some(Value::String(k))) => map.get(&k).cloned(),
            (Some(Value::Array(items)), Some(Value::Number(n))) => {
                let n = n.as_u64().unwrap() as usize;
                Some(
                    items
                        .get(n)
                        .cloned()
                        .ok_or(format!("index out of range: {n}"))?,
                )
            }
            (item, key) => return Err(format!("cannot index {item:?} with {key:?}")),
        };
    }
    Ok(item)
}

/// A pipeline: a command, then `| toJson` at most.
fn pipeline(action: &str, dot: &Value) -> Result<String, String> {
    let tokens = tokens(action);
    let mut i = 0;
    let value = command(&tokens, &mut i, dot)?;
    match &tokens[i..] {
        [] => Ok(match value {
            None => "<no value>".into(),
            Some(Value::String(s)) => s,
            Some(other) => other.to_string(),
        }),
        [Token::Pipe, Token::Word(f)] if f == "toJson" => {
            Ok(value.unwrap_or(Value::Null).to_string())
        }
        rest => Err(format!("unsupported pipeline tail {rest:?} in {action:?}")),
    }
}

/// Go's truth of a value for `with`: no value, false, 0, "" and empty collections
/// are false.
fn truthy(value: &Option<Value>) -> bool {
    match value {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::Bool(true)) => true,
    }
}

/// Renders `template` with `dot`: text, actions, and `with`/`else`/`end` blocks.
fn render(template: &str, dot: &Value) -> Result<String, String> {
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        parts.push((false, rest[..start].to_owned()));
        let end = rest[start..].find("}}").ok_or("an unclosed action")? + start;
        parts.push((true, rest[start + 2..end].trim().to_owned()));
        rest = &rest[end + 2..];
    }
    parts.push((false, rest.to_owned()));
    let mut i = 0;
    render_parts(&parts, &mut i, dot, &[], true)
}

/// Renders `parts[*i..]` up to an action in `stop`; `live` false walks a branch not
/// taken without evaluating it, as Go does.
fn render_parts(
    parts: &[(bool, String)],
    i: &mut usize,
    dot: &Value,
    stop: &[&str],
    live: bool,
) -> Result<String, String> {
    let mut out = String::new();
    while let Some((action, text)) = parts.get(*i) {
        if !action {
            out.push_str(text);
            *i += 1;
            continue;
        }
        if stop.contains(&text.as_str()) {
            return Ok(out);
        }
        *i += 1;
        if let Some(subject) = text.strip_prefix("with ") {
            let value = if live {
                let tokens = tokens(subject);
                command(&tokens, &mut 0, dot)?
            } else {
                None
            };
            let taken = live && truthy(&value);
            let inner = value.unwrap_or(Value::Null);
            let then = render_parts(parts, i, &inner, &["else", "end"], taken)?;
            let mut otherwise = String::new();
            if parts.get(*i).map(|p| p.1.as_str()) == Some("else") {
                *i += 1;
                otherwise = render_parts(parts, i, dot, &["end"], live && !taken)?;
            }
            if parts.get(*i).map(|p| p.1.as_str()) != Some("end") {
                return Err("a with without its end".into());
            }
            *i += 1;
            out.push_str(if taken { &then } else { &otherwise });
        } else if live {
            out.push_str(&pipeline(text, dot)?);
        }
    }
    Ok(out)
}

// ---- what the shipped templates render from the fixtures ----

/// The body `template.shiplog-{event}` renders from the Rollout in `file`.
fn rendered(event: &str, file: &str) -> Result<Value, String> {
    let text = render(&body_template(event), &json!({ "rollout": rollout(file) }))?;
    Ok(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{event} over {file}: {e}\n{text}")))
}

fn post(body: &Value, routing: &Routing) -> Result<Mapping, MapError> {
    let bytes = serde_json::to_vec(body).expect("serializes");
    deliver(Source::ArgoRollouts, &no_headers(), &bytes, routing)
}

fn mapped(event: &str, file: &str) -> Mapping {
    let body = rendered(event, file).unwrap_or_else(|e| panic!("{event} over {file}: {e}"));
    post(&body, &Routing::default()).unwrap_or_else(|e| panic!("{event} over {file}: {e}"))
}

fn the_deployment(mapping: &Mapping) -> &shiplog_model::Deployment {
    fixture_support::the_deployment(mapping)
}

const ABORTED_CANARY: &str = "info-testdata/rollout-aborted/rollout.yaml";
const COMPLETED_CANARY: &str =
    "argo-cd-resource-customizations/Rollout/testdata/canary/healthy_executedAllSteps.yaml";
const COMPLETED_WORKLOAD_REF: &str =
    "argo-cd-resource-customizations/Rollout/testdata/healthy_newWorkloadGeneration.yaml";
const PAUSED: &str =
    "argo-cd-resource-customizations/Rollout/testdata/suspended_v1.0_pausedRollout.yaml";
const DEGRADED: &str =
    "argo-cd-resource-customizations/Rollout/testdata/degraded_statusPhaseMessage.yaml";
const DEGRADED_ABORTED: &str =
    "argo-cd-resource-customizations/Rollout/testdata/degraded_abortedRollout.yaml";
const ABORTED_BLUE_GREEN: &str =
    "argo-cd-resource-customizations/Rollout/actions/testdata/aborted_bg_rollout.yaml";

#[test]
fn the_shipped_configmap_has_the_service_templates_triggers_and_subscription() {
    let data = shipped_configmap();
    let service = data["service.webhook.shiplog"].as_str().unwrap();
    assert!(service.contains("/webhooks/argo-rollouts"));
    assert!(service.contains("Bearer $shiplog-token"));
    for (trigger, event) in [
        ("on-rollout-completed", "rollout-completed"),
        ("on-rollout-aborted", "rollout-aborted"),
    ] {
        let entry: Value =
            serde_yaml::from_str(data[&format!("trigger.{trigger}")].as_str().unwrap()).unwrap();
        assert_eq!(entry, json!([{ "send": [format!("shiplog-{event}")] }]));
        assert!(EVENTS.contains(&event));
    }
    let subscriptions: Value =
        serde_yaml::from_str(data["subscriptions"].as_str().unwrap()).unwrap();
    assert_eq!(
        subscriptions,
        json!([{ "recipients": ["shiplog"], "triggers": ["on-rollout-completed", "on-rollout-aborted"] }])
    );
}

#[test]
fn every_template_renders_every_key_the_adapter_reads_and_its_own_event() {
    for event in EVENTS {
        let body = rendered(event, COMPLETED_CANARY).unwrap();
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        let mut want: Vec<&str> = BODY_KEYS.to_vec();
        want.sort_unstable();
        assert_eq!(keys, want, "{event}");
        assert_eq!(body["event"], *event);
    }
}

#[test]
fn a_completed_canary_is_a_successful_deployment_at_its_image_tag() {
    let body = rendered("rollout-completed", COMPLETED_CANARY).unwrap();
    // What the template took from the Rollout.
    assert_eq!(body["rollout"], "guestbook-canary");
    assert_eq!(body["namespace"], "default");
    assert_eq!(
        body["environment"],
        Value::Null,
        "labels, but no environment"
    );
    assert_eq!(body["revision"], Value::Null, "no shiplog.dev/revision");
    assert_eq!(body["rollout_revision"], "1");
    assert_eq!(
        body["image"],
        "quay.io/argoprojlabs/argocd-e2e-container:0.1"
    );
    assert_eq!(
        body["phase"],
        Value::Null,
        "a controller before v1.0 sets no phase"
    );
    assert_eq!(body["conditions"].as_array().unwrap().len(), 2);

    let mapping = post(&body, &Routing::default()).unwrap();
    assert_eq!(mapping.event_type, "rollout-completed");
    assert_eq!(
        mapping.delivery_id.as_deref(),
        Some("argo-rollouts:default/guestbook-canary@1")
    );
    let d = the_deployment(&mapping);
    assert_eq!(d.id.as_str(), "argo-rollouts:default/guestbook-canary@1");
    assert_eq!(d.service.as_str(), "guestbook-canary");
    assert_eq!(d.environment, None, "SPEC's default, production, applies");
    assert_eq!(d.repo, None, "the service's configured repo applies");
    assert_eq!(
        d.sha.as_str(),
        "0.1",
        "the image tag stands in for the revision"
    );
    assert_eq!(d.status.as_deref(), Some("success"));
    // No Completed condition (before v1.1): the Progressing condition's last update
    // when it says the new ReplicaSet is available.
    assert_eq!(d.finished_at, at("2019-05-01T21:55:58Z"));
    assert_eq!(d.started_at, None);
}

#[test]
fn a_completed_rollout_finishes_when_its_completed_condition_turned_true() {
    let mut body = rendered("rollout-completed", COMPLETED_WORKLOAD_REF).unwrap();
    assert_eq!(body["phase"], "Healthy");
    assert_eq!(
        body["image"],
        Value::Null,
        "a workloadRef Rollout has no pod template"
    );
    // Without an annotation or an image there is nothing to name the revision by.
    let mapping = post(&body, &Routing::default()).unwrap();
    assert_skipped(&mapping, "annotate the Rollout with shiplog.dev/revision");
    assert_eq!(mapping.events.len(), 0);

    // The annotation the setup page asks for.
    body["revision"] = json!("ea8759964626a583667a2bfd08f334ec2070040a");
    let d = the_deployment(&post(&body, &Routing::default()).unwrap()).clone();
    assert_eq!(
        d.id.as_str(),
        "argo-rollouts:default/rollout-ref-deployment@1"
    );
    assert_eq!(d.sha.as_str(), "ea8759964626a583667a2bfd08f334ec2070040a");
    // The Completed condition's transition, not the Progressing one's (12:14:11).
    assert_eq!(d.finished_at, at("2021-07-27T12:14:21Z"));
}

#[test]
fn an_aborted_canary_is_an_aborted_attempt_at_its_abort() {
    let body = rendered("rollout-aborted", ABORTED_CANARY).unwrap();
    assert_eq!(body["abort"], true);
    assert_eq!(body["aborted_at"], "2020-09-22T09:10:05Z");
    assert_eq!(body["rollout_revision"], "2");
    let mapping = post(&body, &Routing::default()).unwrap();
    assert_eq!(mapping.event_type, "rollout-aborted");
    let d = the_deployment(&mapping);
    assert_eq!(
        d.id.as_str(),
        "argo-rollouts:default/rollout-background-analysis@2#aborted@2020-09-22T09:10:05Z"
    );
    assert_eq!(mapping.delivery_id.as_deref(), Some(d.id.as_str()));
    assert_eq!(d.service.as_str(), "rollout-background-analysis");
    assert_eq!(d.sha.as_str(), "yellow");
    assert_eq!(d.status.as_deref(), Some(ABORTED));
    assert!(
        !shiplog_model::succeeded(d.status.as_deref()),
        "an aborted attempt is no deployment for any figure"
    );
    assert_eq!(d.finished_at, at("2020-09-22T09:10:05Z"));
}

#[test]
fn the_rendered_aborted_canary_the_end_to_end_test_posts_is_what_the_template_renders() {
    let rendered = rendered("rollout-aborted", ABORTED_CANARY).unwrap();
    let posted = fixture_support::read_json(FOLDER, "rendered/rollout-aborted.json");
    assert_eq!(rendered, posted);
}

#[test]
fn an_aborted_blue_green_rollout_is_an_aborted_attempt_too() {
    let d = the_deployment(&mapped("rollout-aborted", ABORTED_BLUE_GREEN)).clone();
    assert_eq!(d.status.as_deref(), Some(ABORTED));
    assert_eq!(d.finished_at, at("2020-11-13T08:38:19Z"));
    assert!(
        d.id.as_str().ends_with("@2#aborted@2020-11-13T08:38:19Z"),
        "{}",
        d.id.as_str()
    );
}

#[test]
fn an_abort_without_abortedat_takes_the_progressing_conditions_update() {
    // degraded_abortedRollout.yaml (Argo CD's health test data): status.abort true, a
    // RolloutAborted condition, no abortedAt, and no annotations at all.
    let mut body = rendered("rollout-aborted", DEGRADED_ABORTED).unwrap();
    assert_eq!(body["aborted_at"], Value::Null);
    assert_eq!(body["rollout_revision"], Value::Null);
    assert_eq!(body["image"], "argoproj/rollouts-demo:yellow");
    // Without the controller's revision there is no telling this attempt from the
    // next: refused naming the field, and so stored unmapped for a replay.
    let error = post(&body, &Routing::default()).unwrap_err();
    assert_eq!(error.0, "rollout-aborted: rollout_revision is missing");

    // With the annotation a reconciled Rollout carries:
    body["rollout_revision"] = json!("3");
    let d = the_deployment(&post(&body, &Routing::default()).unwrap()).clone();
    assert_eq!(d.status.as_deref(), Some(ABORTED));
    // The Progressing condition's last update, when it turned RolloutAborted.
    assert_eq!(d.finished_at, at("2019-11-05T18:20:12Z"));
    assert_eq!(
        d.id.as_str(),
        "argo-rollouts:default/canary-demo@3#aborted@2019-11-05T18:20:12Z"
    );
}

#[test]
fn the_completed_template_over_rollouts_that_did_not_complete_is_skipped_with_the_reason() {
    for (file, reason) in [
        (ABORTED_CANARY, "aborted, not completed"),
        (PAUSED, "phase Paused"),
        (DEGRADED, "phase Degraded"),
    ] {
        let mapping = mapped("rollout-completed", file);
        assert!(mapping.events.is_empty(), "{file}");
        assert_skipped(&mapping, reason);
    }
}

#[test]
fn the_aborted_template_over_a_rollout_that_is_not_aborted_is_skipped() {
    let mapping = mapped("rollout-aborted", COMPLETED_CANARY);
    assert!(mapping.events.is_empty());
    assert_skipped(&mapping, "status.abort is not true");
}

#[test]
fn every_rollout_fixture_renders_and_maps_or_is_skipped_with_a_reason() {
    let rollouts: Vec<String> = files_under(FOLDER)
        .into_iter()
        .filter(|f| f.ends_with(".yaml") && !f.starts_with("notifications/"))
        .filter(|f| rollout(f)["kind"] == "Rollout")
        .collect();
    assert_eq!(rollouts.len(), 28, "{rollouts:?}");
    let (mut deployments, mut refused) = (0, 0);
    for file in &rollouts {
        for event in EVENTS {
            let body = rendered(event, file).unwrap_or_else(|e| panic!("{event} over {file}: {e}"));
            let mapping = match post(&body, &Routing::default()) {
                Ok(mapping) => mapping,
                // Only a Rollout the controller has not annotated (Argo CD's trimmed
                // test data) lacks its revision; a reconciled one always has it.
                Err(e) => {
                    assert_eq!(
                        e.0,
                        format!("{event}: rollout_revision is missing"),
                        "{file}"
                    );
                    assert_eq!(body["rollout_revision"], Value::Null, "{file}");
                    refused += 1;
                    continue;
                }
            };
            match mapping.events.len() {
                0 => assert!(mapping.skipped.is_some(), "{event} over {file}"),
                1 => {
                    deployments += 1;
                    let d = the_deployment(&mapping);
                    let want = if *event == "rollout-aborted" {
                        ABORTED
                    } else {
                        "success"
                    };
                    assert_eq!(d.status.as_deref(), Some(want), "{event} over {file}");
                }
                n => panic!("{event} over {file}: {n} events"),
            }
        }
    }
    assert!(deployments >= 4, "{deployments}");
    assert!(refused < rollouts.len(), "{refused}");
}

#[test]
fn the_rollout_is_routed_by_deploy_names_and_the_environment_label_through_aliases() {
    let mut body = rendered("rollout-completed", COMPLETED_CANARY).unwrap();
    body["environment"] = json!("prd");
    let mut routing = Routing::default();
    routing.services.insert(
        "guestbook".into(),
        ServiceSettings {
            deploy_names: vec!["guestbook-canary".into()],
            ..ServiceSettings::default()
        },
    );
    routing
        .environment_aliases
        .insert("prd".into(), "production".into());
    let d = the_deployment(&post(&body, &routing).unwrap()).clone();
    assert_eq!(d.service.as_str(), "guestbook");
    assert_eq!(d.environment.as_deref(), Some("production"));
}

#[test]
fn an_unknown_event_is_skipped_and_a_missing_name_is_refused_naming_it() {
    let mut body = rendered("rollout-completed", COMPLETED_CANARY).unwrap();
    body["event"] = json!("rollout-paused");
    let mapping = post(&body, &Routing::default()).unwrap();
    assert_skipped(&mapping, "not one Shiplog maps");
    body["event"] = json!("rollout-completed");
    body.as_object_mut().unwrap().remove("rollout");
    let error = post(&body, &Routing::default()).unwrap_err();
    assert_eq!(error.0, "rollout-completed: rollout is missing");
}

#[test]
fn the_renderer_reads_go_templates_as_go_does() {
    let dot = json!({ "a": { "b": "x", "m": { "k.j/l": 1 } }, "list": [{ "v": "first" }] });
    assert_eq!(render("{{ .a.b | toJson }}", &dot).unwrap(), "\"x\"");
    assert_eq!(
        render("{{ .a.missing.deeper | toJson }}", &dot).unwrap(),
        "null"
    );
    assert_eq!(
        render("{{ index .a.m \"k.j/l\" | toJson }}", &dot).unwrap(),
        "1"
    );
    assert_eq!(
        render("{{ index .a.m \"nope\" | toJson }}", &dot).unwrap(),
        "null"
    );
    assert_eq!(
        render("{{ index .a.none \"k\" | toJson }}", &dot).unwrap_err(),
        "index of untyped nil"
    );
    assert_eq!(
        render("{{ (index .list 0).v | toJson }}", &dot).unwrap(),
        "\"first\""
    );
    let with = "{{ with .a }}{{ .b | toJson }}{{ else }}null{{ end }}";
    assert_eq!(render(with, &dot).unwrap(), "\"x\"");
    let without = "{{ with .z }}{{ .b | toJson }}{{ else }}null{{ end }}";
    assert_eq!(render(without, &dot).unwrap(), "null");
    assert!(render("{{ .a.b | upper }}", &dot).is_err());
}

#[test]
fn every_fixture_is_listed_and_is_a_rendered_rollout_or_named_here_as_not_one() {
    let source = read_text(FOLDER, "SOURCE.md");
    let mut rollouts = 0;
    for file in files_under(FOLDER) {
        assert!(
            file == "SOURCE.md" || source.contains(&format!("| {file} |")),
            "{file} is not in SOURCE.md's table"
        );
        let why_not = if file.ends_with("LICENSE") || file == "SOURCE.md" {
            "provenance"
        } else if file.starts_with("rendered/") {
            "what the shipped template renders, checked above"
        } else if file.starts_with("notifications/") {
            // The upstream catalog and examples: the shape Shiplog's templates follow.
            "the upstream notification config"
        } else if file.ends_with("health_test.yaml") {
            "Argo CD's expected health of the resources beside it"
        } else if file.contains("AnalysisRun/") || file.ends_with("analysisrun.yaml") {
            // An abort is read from the Rollout it stopped (`status.abort`), not from
            // the AnalysisRun that decided it.
            "an AnalysisRun"
        } else {
            assert_eq!(rollout(&file)["kind"], "Rollout", "{file}");
            rollouts += 1;
            continue;
        };
        assert!(!why_not.is_empty());
    }
    assert_eq!(
        rollouts, 28,
        "each rendered by every_rollout_fixture_renders_…"
    );
}
