//! Who may call what (SPEC §7), route by route: every route the router serves
//! (`app::routes()`, made from the table the router is built from) is tried with no
//! token, a wrong one, every other scope's and its own; with no read token configured
//! reads are open and admin is refused. Then the real binary, with every secret set:
//! no secret shows in its log, an answer or the raw log; and its log has one line per
//! request (method, route pattern, status, duration) and one per writer batch, never a
//! query string.

mod support;

use std::path::Path;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE};
use secrecy::SecretString;
use serde_json::Value;
use shiplog_ingest::sources::Source;
use shiplog_ingest::sources::signature::sign_hex;
use shiplog_web::app::{Access, RouteInfo, routes};
use support::{INGEST_TOKEN, ServedBinary, serve_args, shiplog, spawn_app};

const READ_TOKEN: &str = "test-read-token";
const ADMIN_TOKEN: &str = "test-admin-token";
const GITHUB_SECRET: &str = "test-github-secret";
const GITLAB_TOKEN: &str = "test-gitlab-token";
const PAGERDUTY_SECRET: &str = "test-pagerduty-secret";
const ARGOCD_TOKEN: &str = "test-argocd-token";
const CDEVENTS_TOKEN: &str = "test-cdevents-token";
const OPSGENIE_TOKEN: &str = "test-opsgenie-token";
const JIRA_TOKEN: &str = "test-jira-token";
const CIRCLECI_SECRET: &str = "test-circleci-secret";
const ARGO_ROLLOUTS_TOKEN: &str = "test-argo-rollouts-token";
const BUILDKITE_SECRET: &str = "test-buildkite-secret";

/// A client that shows redirects instead of following them (a page's right `?token=`
/// is answered `303` with the cookie) and keeps no cookies.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The route's pattern with an example for each parameter; `{source}` is filled in by
/// the webhook cases. A parameter without an example fails the test: add one here.
fn example_path(route: &RouteInfo) -> String {
    let mut path = route.path.to_owned();
    for (name, value) in [
        ("{metric}", "lead-time"),
        ("{service}", "checkout"),
        ("{check}", "unmapped-deliveries"),
    ] {
        path = path.replace(name, value);
    }
    let unknown = path.replace("{source}", "");
    assert!(
        !unknown.contains('{'),
        "{}: give its parameter an example in example_path",
        route.path
    );
    path
}

/// How a request shows its credentials.
#[derive(Debug, Clone, Copy)]
enum Shown<'a> {
    Nothing,
    Bearer(&'a str),
    Query(&'a str),
    Cookie(&'a str),
}

/// The request as every case sends it: a small JSON body for a `POST`.
fn request(
    client: &reqwest::Client,
    base: &str,
    route: &RouteInfo,
    path: &str,
    shown: Shown<'_>,
) -> reqwest::RequestBuilder {
    let method = reqwest::Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
    let url = match shown {
        Shown::Query(token) => format!("{base}{path}?token={token}"),
        _ => format!("{base}{path}"),
    };
    let mut builder = client.request(method.clone(), url);
    if method == reqwest::Method::POST {
        builder = builder.header(CONTENT_TYPE, "application/json").body("{}");
    }
    match shown {
        Shown::Bearer(token) => builder.header(AUTHORIZATION, format!("Bearer {token}")),
        Shown::Cookie(token) => builder.header(COOKIE, format!("shiplog_read={token}")),
        Shown::Nothing | Shown::Query(_) => builder,
    }
}

/// What came back: the status and the refusal's message (the JSON body's `error`, or a
/// page's whole HTML), with what was wrong with its form.
async fn answer(route: &RouteInfo, response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = response.text().await.unwrap();
    if status != 401 {
        return (status, text);
    }
    if route.page {
        assert!(kind.starts_with("text/html"), "{}: {kind}", route.path);
        return (status, text);
    }
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("{}: a 401 that is not JSON: {text}", route.path));
    assert_eq!(body["detail"], Value::Null, "{}: {body}", route.path);
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
    )
}

/// The failures of one case, as lines of the test's report (a page's HTML cut short).
fn expect(
    failures: &mut Vec<String>,
    case: String,
    (status, message): (u16, String),
    refused_with: Option<&[&str]>,
) {
    let shown: String = message.chars().take(200).collect();
    match refused_with {
        Some(words) => {
            if status != 401 || !words.iter().all(|w| message.contains(w)) {
                failures.push(format!(
                    "{case}: {status} {shown:?}, expected 401 {words:?}"
                ));
            }
        }
        None => {
            if status == 401 || status == 403 {
                failures.push(format!("{case}: {status} {shown:?}, expected it let in"));
            }
        }
    }
}

/// What a route with `access` answers to `shown`, all three tokens configured:
/// `None` when it lets the request in, else the words of its `401`.
fn refusal(access: Access, shown: Shown<'_>) -> Option<Vec<&'static str>> {
    let (own, variable) = match access {
        Access::Public => return None,
        Access::Read => (READ_TOKEN, "SHIPLOG_READ_TOKEN"),
        Access::Ingest => (INGEST_TOKEN, "SHIPLOG_INGEST_TOKEN"),
        Access::Admin => (ADMIN_TOKEN, "SHIPLOG_ADMIN_TOKEN"),
        Access::Webhook => unreachable!("a webhook's scheme is its source's: webhook_refusals"),
    };
    match shown {
        Shown::Bearer(token) | Shown::Query(token) if token == own => None,
        // Only reads take the cookie, so that a page visit cannot authorise a write.
        Shown::Cookie(token) if access == Access::Read && token == own => None,
        Shown::Cookie(_) if access == Access::Read => Some(vec!["wrong token", variable]),
        Shown::Nothing | Shown::Cookie(_) => Some(vec!["missing token", variable]),
        Shown::Bearer(_) | Shown::Query(_) => Some(vec!["wrong token", variable]),
    }
}

const API_TOKENS: [&str; 3] = [INGEST_TOKEN, READ_TOKEN, ADMIN_TOKEN];

/// Every source's secret, for "another scope's token" on a webhook.
const SOURCE_SECRETS: [&str; 10] = [
    GITHUB_SECRET,
    GITLAB_TOKEN,
    PAGERDUTY_SECRET,
    ARGOCD_TOKEN,
    CDEVENTS_TOKEN,
    OPSGENIE_TOKEN,
    JIRA_TOKEN,
    CIRCLECI_SECRET,
    ARGO_ROLLOUTS_TOKEN,
    BUILDKITE_SECRET,
];

/// The variable that configures `source`'s secret.
fn variable_of(source: Source) -> &'static str {
    match source {
        Source::Github => "SHIPLOG_GITHUB_SECRET",
        Source::Gitlab => "SHIPLOG_GITLAB_TOKEN",
        Source::Pagerduty => "SHIPLOG_PAGERDUTY_SECRET",
        Source::Argocd => "SHIPLOG_ARGOCD_TOKEN",
        Source::Cdevents => "SHIPLOG_CDEVENTS_TOKEN",
        Source::Opsgenie => "SHIPLOG_OPSGENIE_TOKEN",
        Source::Jira => "SHIPLOG_JIRA_TOKEN",
        Source::Circleci => "SHIPLOG_CIRCLECI_SECRET",
        Source::ArgoRollouts => "SHIPLOG_ARGO_ROLLOUTS_TOKEN",
        Source::Buildkite => "SHIPLOG_BUILDKITE_SECRET",
    }
}

fn secret_of(source: Source) -> &'static str {
    match source {
        Source::Github => GITHUB_SECRET,
        Source::Gitlab => GITLAB_TOKEN,
        Source::Pagerduty => PAGERDUTY_SECRET,
        Source::Argocd => ARGOCD_TOKEN,
        Source::Cdevents => CDEVENTS_TOKEN,
        Source::Opsgenie => OPSGENIE_TOKEN,
        Source::Jira => JIRA_TOKEN,
        Source::Circleci => CIRCLECI_SECRET,
        Source::ArgoRollouts => ARGO_ROLLOUTS_TOKEN,
        Source::Buildkite => BUILDKITE_SECRET,
    }
}

/// A delivery of `body` to `source` proved with `secret` in that source's own scheme
/// (`None`: no proof at all), as the sender would send it.
fn webhook(
    client: &reqwest::Client,
    base: &str,
    source: Source,
    secret: Option<&str>,
    body: &str,
) -> reqwest::RequestBuilder {
    let route = webhook_route();
    let path = route.path.replace("{source}", source.as_str());
    let mut builder = client
        .post(format!("{base}{path}"))
        .header(CONTENT_TYPE, "application/json")
        .body(body.to_owned());
    builder = match source {
        Source::Github => builder.header("x-github-event", "ping"),
        Source::Gitlab => builder.header("x-gitlab-event", "Push Hook"),
        _ => builder,
    };
    let Some(secret) = secret else {
        return builder;
    };
    let signature = sign_hex(secret.as_bytes(), body.as_bytes());
    match source {
        Source::Github => builder.header("x-hub-signature-256", format!("sha256={signature}")),
        Source::Pagerduty => builder.header("x-pagerduty-signature", format!("v1={signature}")),
        Source::Circleci => builder.header("circleci-signature", format!("v1={signature}")),
        Source::Buildkite => {
            let signed = format!("1700000000.{body}");
            let signature = sign_hex(secret.as_bytes(), signed.as_bytes());
            builder.header(
                "x-buildkite-signature",
                format!("timestamp=1700000000,signature={signature}"),
            )
        }
        Source::Gitlab => builder.header("x-gitlab-token", secret),
        Source::Argocd
        | Source::ArgoRollouts
        | Source::Cdevents
        | Source::Opsgenie
        | Source::Jira => builder.bearer_auth(secret),
    }
}

/// The route the webhooks share.
fn webhook_route() -> RouteInfo {
    let mut webhooks = routes().into_iter().filter(|r| r.access == Access::Webhook);
    let route = webhooks.next().expect("a webhook route");
    assert!(
        webhooks.next().is_none(),
        "one webhook route, by {{source}}"
    );
    route
}

/// What a source's refusals say: with no proof, and with a wrong one.
fn webhook_refusals(source: Source) -> (Vec<&'static str>, Vec<&'static str>) {
    match source {
        Source::Github => (
            vec!["X-Hub-Signature-256 header is missing"],
            vec!["X-Hub-Signature-256 signature does not match"],
        ),
        Source::Gitlab => (
            vec!["X-Gitlab-Token header is missing"],
            vec!["token does not match"],
        ),
        Source::Pagerduty => (
            vec!["X-PagerDuty-Signature header is missing"],
            vec!["X-PagerDuty-Signature signature does not match"],
        ),
        Source::Argocd => (
            vec!["missing token", "SHIPLOG_ARGOCD_TOKEN"],
            vec!["wrong token", "SHIPLOG_ARGOCD_TOKEN"],
        ),
        Source::Cdevents => (
            vec!["missing token", "SHIPLOG_CDEVENTS_TOKEN"],
            vec!["wrong token", "SHIPLOG_CDEVENTS_TOKEN"],
        ),
        Source::Opsgenie => (
            vec!["missing token", "SHIPLOG_OPSGENIE_TOKEN"],
            vec!["wrong token", "SHIPLOG_OPSGENIE_TOKEN"],
        ),
        Source::Jira => (
            vec!["missing token", "SHIPLOG_JIRA_TOKEN"],
            vec!["wrong token", "SHIPLOG_JIRA_TOKEN"],
        ),
        Source::Circleci => (
            vec!["circleci-signature header is missing"],
            vec!["circleci-signature signature does not match"],
        ),
        Source::ArgoRollouts => (
            vec!["missing token", "SHIPLOG_ARGO_ROLLOUTS_TOKEN"],
            vec!["wrong token", "SHIPLOG_ARGO_ROLLOUTS_TOKEN"],
        ),
        Source::Buildkite => (
            vec!["X-Buildkite-Signature (or X-Buildkite-Token) header is missing"],
            vec!["X-Buildkite-Signature signature does not match"],
        ),
    }
}

fn every_secret(config: &mut shiplog_web::Config) {
    config.tokens.read = Some(SecretString::from(READ_TOKEN));
    config.tokens.admin = Some(SecretString::from(ADMIN_TOKEN));
    let sources = &mut config.sources;
    sources.github_secret = Some(SecretString::from(GITHUB_SECRET));
    sources.gitlab_token = Some(SecretString::from(GITLAB_TOKEN));
    sources.pagerduty_secret = Some(SecretString::from(PAGERDUTY_SECRET));
    sources.argocd_token = Some(SecretString::from(ARGOCD_TOKEN));
    sources.cdevents_token = Some(SecretString::from(CDEVENTS_TOKEN));
    sources.opsgenie_token = Some(SecretString::from(OPSGENIE_TOKEN));
    sources.jira_token = Some(SecretString::from(JIRA_TOKEN));
    sources.circleci_secret = Some(SecretString::from(CIRCLECI_SECRET));
    sources.argo_rollouts_token = Some(SecretString::from(ARGO_ROLLOUTS_TOKEN));
    sources.buildkite_secret = Some(SecretString::from(BUILDKITE_SECRET));
}

#[test]
fn the_route_table_names_each_route_once_and_keeps_public_routes_few() {
    let all = routes();
    let mut seen: Vec<(String, &str)> =
        all.iter().map(|r| (r.method.to_string(), r.path)).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), all.len(), "a route is listed twice: {all:?}");
    // A route is public only when it is named here: liveness, readiness, the stylesheet
    // and the API's description (it holds no data).
    for route in &all {
        let public = [
            "/healthz",
            "/readyz",
            "/static/shiplog.css",
            "/api/v1/openapi.json",
        ]
        .contains(&route.path);
        assert_eq!(route.access == Access::Public, public, "{route:?}");
        let webhook = route.path.starts_with("/webhooks/");
        assert_eq!(route.access == Access::Webhook, webhook, "{route:?}");
        if route.path.starts_with("/api/v1/admin/") {
            assert_eq!(route.access, Access::Admin, "{route:?}");
        }
        if route.page {
            assert_eq!(route.access, Access::Read, "{route:?}");
        }
    }
    // SPEC §7: Prometheus is a read; the probes are not.
    let access = |path: &str| all.iter().find(|r| r.path == path).map(|r| r.access);
    assert_eq!(access("/metrics"), Some(Access::Read));
    assert_eq!(access("/api/v1/events"), Some(Access::Ingest));
    assert_eq!(access("/reports/weekly.csv"), Some(Access::Read));
}

#[tokio::test]
async fn every_route_lets_in_only_its_own_token() {
    let app = spawn_app(every_secret).await;
    let client = client();
    let mut failures = Vec::new();
    let mut tried = 0;
    for route in routes() {
        if route.access == Access::Webhook {
            continue;
        }
        let path = example_path(&route);
        let mut shows = vec![
            Shown::Nothing,
            Shown::Bearer("wrong-token"),
            Shown::Query("wrong-token"),
        ];
        for token in API_TOKENS.iter().chain(&SOURCE_SECRETS) {
            shows.extend([
                Shown::Bearer(token),
                Shown::Query(token),
                Shown::Cookie(token),
            ]);
        }
        for shown in shows {
            let response = request(&client, &app.base, &route, &path, shown)
                .send()
                .await
                .unwrap();
            let got = answer(&route, response).await;
            tried += 1;
            let case = format!("{} {path} {shown:?}", route.method);
            let expected = refusal(route.access, shown);
            expect(&mut failures, case, got, expected.as_deref());
        }
    }
    for source in Source::ALL {
        let (missing, wrong) = webhook_refusals(source);
        let own = secret_of(source);
        let mut cases: Vec<(String, reqwest::RequestBuilder, Option<&[&str]>)> = vec![(
            format!("{source} nothing"),
            webhook(&client, &app.base, source, None, "{}"),
            Some(missing.as_slice()),
        )];
        for secret in SOURCE_SECRETS.iter().chain(&API_TOKENS).chain(&["wrong"]) {
            if *secret != own {
                cases.push((
                    format!("{source} proved with {secret}"),
                    webhook(&client, &app.base, source, Some(secret), "{}"),
                    Some(wrong.as_slice()),
                ));
            }
        }
        // An API token in the `Authorization` header opens no webhook.
        let by_bearer: &[&str] = match source {
            Source::Argocd
            | Source::ArgoRollouts
            | Source::Cdevents
            | Source::Opsgenie
            | Source::Jira => wrong.as_slice(),
            _ => missing.as_slice(),
        };
        for token in API_TOKENS {
            cases.push((
                format!("{source} bearer {token}"),
                webhook(&client, &app.base, source, None, "{}").bearer_auth(token),
                Some(by_bearer),
            ));
        }
        cases.push((
            format!("{source} proved with its own secret"),
            webhook(&client, &app.base, source, Some(own), "{}"),
            None,
        ));
        let route = webhook_route();
        for (case, builder, refused_with) in cases {
            let got = answer(&route, builder.send().await.unwrap()).await;
            tried += 1;
            expect(&mut failures, case, got, refused_with);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {tried} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    app.stop().await;
}

#[tokio::test]
async fn with_no_tokens_reads_are_open_and_everything_else_refused() {
    let app = spawn_app(|config| config.tokens.ingest = None).await;
    let client = client();
    let mut failures = Vec::new();
    for route in routes() {
        let path = example_path(&route);
        let variable = match route.access {
            Access::Public | Access::Read => None,
            Access::Ingest => Some("SHIPLOG_INGEST_TOKEN"),
            Access::Admin => Some("SHIPLOG_ADMIN_TOKEN"),
            Access::Webhook => {
                for source in Source::ALL {
                    let builder = webhook(&client, &app.base, source, Some("anything"), "{}");
                    let got = answer(&route, builder.send().await.unwrap()).await;
                    let said = match source {
                        // The bearer schemes say it as the API routes do.
                        Source::Argocd
                        | Source::ArgoRollouts
                        | Source::Cdevents
                        | Source::Opsgenie
                        | Source::Jira => "disabled until",
                        _ => "not configured",
                    };
                    let words = [said, variable_of(source)];
                    expect(&mut failures, format!("{source}"), got, Some(&words));
                }
                continue;
            }
        };
        for shown in [Shown::Nothing, Shown::Bearer("anything")] {
            let response = request(&client, &app.base, &route, &path, shown)
                .send()
                .await
                .unwrap();
            let got = answer(&route, response).await;
            let case = format!("{} {path} {shown:?}", route.method);
            match variable {
                None => expect(&mut failures, case, got, None),
                Some(variable) => {
                    let words = ["disabled until a token is configured", variable];
                    expect(&mut failures, case, got, Some(&words));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    app.stop().await;
}

/// The real binary on `dir`'s database, started with `envs` and `RUST_LOG`.
async fn start(dir: &Path, config: &Path, rust_log: &str, envs: &[(&str, &str)]) -> ServedBinary {
    let mut command = shiplog();
    command
        .current_dir(dir)
        .args(serve_args(&dir.join("shiplog.duckdb"), Some(config)))
        .env("RUST_LOG", rust_log)
        .envs(envs.iter().copied());
    ServedBinary::start_command(command).await
}

/// SIGTERM, then the whole log once the process has exited.
async fn stop(server: &ServedBinary) -> String {
    let status = server.terminate().await;
    let log = without_colours(&server.log());
    assert!(status.success(), "{status}:\n{log}");
    log
}

/// The log without ANSI colour codes, should the subscriber write them to a pipe.
fn without_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Distinctive values, so that a leak cannot match by chance.
const SECRETS: [(&str, &str); 13] = [
    ("SHIPLOG_INGEST_TOKEN", "ingest-Zq81-secret"),
    ("SHIPLOG_READ_TOKEN", "read-Kx27-secret"),
    ("SHIPLOG_ADMIN_TOKEN", "admin-Wm64-secret"),
    ("SHIPLOG_GITHUB_SECRET", "github-Pb19-secret"),
    ("SHIPLOG_GITLAB_TOKEN", "gitlab-Hc52-secret"),
    ("SHIPLOG_PAGERDUTY_SECRET", "pagerduty-Tn30-secret"),
    ("SHIPLOG_ARGOCD_TOKEN", "argocd-Vd73-secret"),
    ("SHIPLOG_CDEVENTS_TOKEN", "cdevents-Ly46-secret"),
    ("SHIPLOG_OPSGENIE_TOKEN", "opsgenie-Gs38-secret"),
    ("SHIPLOG_JIRA_TOKEN", "jira-Ji47-secret"),
    ("SHIPLOG_CIRCLECI_SECRET", "circleci-Cc29-secret"),
    ("SHIPLOG_ARGO_ROLLOUTS_TOKEN", "rollouts-Ar58-secret"),
    ("SHIPLOG_BUILDKITE_SECRET", "buildkite-Bk61-secret"),
];

/// Tokens presented that are not the configured ones: not to be echoed either.
const WRONG: [&str; 2] = ["wrong-Qa55-guess", "wrong-Rb66-guess"];

fn secret(variable: &str) -> &'static str {
    SECRETS.iter().find(|(v, _)| *v == variable).unwrap().1
}

const DEPLOY: &str = r#"{"type":"deployment","id":"d-1","service":"checkout","environment":"production","sha":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","finished_at":"2026-01-05T10:00:00Z","status":"success"}"#;

#[tokio::test]
async fn no_secret_shows_in_the_log_an_answer_or_the_raw_log() {
    let dir = tempfile::tempdir().unwrap();
    // The tokens from the environment, the webhook secrets from the file: both ways in.
    let config = dir.path().join("shiplog.toml");
    std::fs::write(
        &config,
        format!(
            "[sources.github]\nsecret = \"{}\"\n[sources.gitlab]\ntoken = \"{}\"\n\
             [sources.pagerduty]\nsecret = \"{}\"\n[sources.argocd]\ntoken = \"{}\"\n\
             [sources.cdevents]\ntoken = \"{}\"\n[sources.opsgenie]\ntoken = \"{}\"\n\
             [sources.jira]\ntoken = \"{}\"\n[sources.circleci]\nsecret = \"{}\"\n\
             [sources.argo_rollouts]\ntoken = \"{}\"\n[sources.buildkite]\nsecret = \"{}\"\n",
            secret("SHIPLOG_GITHUB_SECRET"),
            secret("SHIPLOG_GITLAB_TOKEN"),
            secret("SHIPLOG_PAGERDUTY_SECRET"),
            secret("SHIPLOG_ARGOCD_TOKEN"),
            secret("SHIPLOG_CDEVENTS_TOKEN"),
            secret("SHIPLOG_OPSGENIE_TOKEN"),
            secret("SHIPLOG_JIRA_TOKEN"),
            secret("SHIPLOG_CIRCLECI_SECRET"),
            secret("SHIPLOG_ARGO_ROLLOUTS_TOKEN"),
            secret("SHIPLOG_BUILDKITE_SECRET"),
        ),
    )
    .unwrap();
    let tokens: Vec<(&str, &str)> = SECRETS[..3].to_vec();
    // The most verbose log there is: whatever a level prints, no secret may be in it.
    let server = start(dir.path(), &config, "trace", &tokens).await;
    let client = client();
    let base = server.base.clone();
    let mut bodies = Vec::new();
    let presented: Vec<&str> = SECRETS.iter().map(|(_, s)| *s).chain(WRONG).collect();

    // Every route, with every secret and every wrong token, in the header, the query
    // and the cookie.
    for route in routes() {
        if route.access == Access::Webhook {
            continue;
        }
        let path = example_path(&route);
        for token in &presented {
            for shown in [
                Shown::Bearer(token),
                Shown::Query(token),
                Shown::Cookie(token),
            ] {
                let response = request(&client, &base, &route, &path, shown)
                    .send()
                    .await
                    .unwrap();
                let case = format!("{} {path} {shown:?}", route.method);
                bodies.push((case, response.text().await.unwrap()));
            }
        }
    }
    // An event stored (the token in the header), and a bad one refused with its
    // error quoted (the token in the query).
    let ingest = secret("SHIPLOG_INGEST_TOKEN");
    let events = format!("{base}/api/v1/events");
    let stored = client.post(&events).bearer_auth(ingest).body(DEPLOY);
    let refused = client
        .post(format!("{events}?token={ingest}"))
        .header(CONTENT_TYPE, "application/json")
        .body(r#"{"type":"nope","id":"x"}"#);
    for (case, builder, status) in [("stored", stored, 202), ("invalid", refused, 422)] {
        let response = builder.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{case}");
        bodies.push((format!("events {case}"), response.text().await.unwrap()));
    }
    // Every webhook, proved with its own secret (stored) and with every other one, its
    // token also in the query and in the `Authorization` header.
    let mut stored_deliveries = 1;
    for source in Source::ALL {
        let own = secret(variable_of(source));
        let body = format!("{{\"for\":\"{source}\"}}");
        let mut stored = vec![webhook(&client, &base, source, Some(own), &body)];
        if matches!(
            source,
            Source::Argocd
                | Source::ArgoRollouts
                | Source::Cdevents
                | Source::Opsgenie
                | Source::Jira
        ) {
            let url = format!("{base}/webhooks/{source}?token={own}");
            let body = format!("{{\"by\":\"query\",{}", &body[1..]);
            stored.push(
                client
                    .post(url)
                    .header(CONTENT_TYPE, "application/json")
                    .body(body),
            );
        }
        for builder in stored {
            let response = builder.send().await.unwrap();
            assert_eq!(response.status().as_u16(), 202, "{source}");
            bodies.push((
                format!("{source} own secret"),
                response.text().await.unwrap(),
            ));
            stored_deliveries += 1;
        }
        for token in presented.iter().filter(|t| **t != own) {
            let proved = webhook(&client, &base, source, Some(token), "{}");
            let url = format!("{base}/webhooks/{source}?token={token}");
            let by_query = client.post(url).bearer_auth(token).body("{}");
            for (how, builder) in [("proved with", proved), ("?token= and bearer", by_query)] {
                let response = builder.send().await.unwrap();
                assert_eq!(response.status().as_u16(), 401, "{source} {how} {token}");
                let case = format!("{source} {how} {token}");
                bodies.push((case, response.text().await.unwrap()));
            }
        }
    }

    let mut leaks = Vec::new();
    for (case, text) in bodies {
        for token in &presented {
            if text.contains(token) {
                leaks.push(format!("the answer to {case} holds {token}"));
            }
        }
    }
    let log = stop(&server).await;
    for token in &presented {
        for line in log.lines().filter(|l| l.contains(token)) {
            leaks.push(format!("the log holds {token}: {line}"));
        }
    }
    let db = duckdb::Connection::open(dir.path().join("shiplog.duckdb")).unwrap();
    let mut rows = db
        .prepare(
            "SELECT delivery_key, source, event_type, coalesce(headers, ''), body, \
             coalesce(unmapped, '') FROM raw_events",
        )
        .unwrap();
    let rows: Vec<[String; 6]> = rows
        .query_map([], |r| {
            Ok([
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ])
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    // The event and the deliveries are stored, with the headers their sources keep.
    assert_eq!(rows.len(), stored_deliveries, "{rows:?}");
    assert!(
        rows.iter().any(|r| r[3].contains("x-gitlab-event")),
        "{rows:?}"
    );
    for row in &rows {
        for token in &presented {
            if row.iter().any(|cell| cell.contains(token)) {
                leaks.push(format!("the raw log holds {token}: {row:?}"));
            }
        }
    }
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
}

#[tokio::test]
async fn the_log_has_a_line_per_request_and_per_batch_without_query_strings() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("shiplog.toml");
    std::fs::write(&config, "").unwrap();
    let read = "read-Jt08-secret";
    let envs = [
        ("SHIPLOG_INGEST_TOKEN", INGEST_TOKEN),
        ("SHIPLOG_READ_TOKEN", read),
    ];
    let server = start(dir.path(), &config, "info", &envs).await;
    let client = client();
    let base = &server.base;
    let get = |path: String| client.get(format!("{base}{path}")).send();
    let mut statuses = Vec::new();
    statuses.push(
        client
            .post(format!("{base}/api/v1/events"))
            .bearer_auth(INGEST_TOKEN)
            .header(CONTENT_TYPE, "application/json")
            .body(DEPLOY)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
    );
    for path in [
        format!("/api/v1/metrics?from=2026-01-01&to=2026-02-01&token={read}"),
        format!("/services/checkout?token={read}"),
        format!("/services/checkout?token={read}x"),
        "/no/such/route?token=abc".to_owned(),
        "/healthz".to_owned(),
    ] {
        statuses.push(get(path).await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [202, 200, 303, 401, 404, 200]);
    let log = stop(&server).await;

    let answered: Vec<&str> = log.lines().filter(|l| l.contains("answered")).collect();
    assert_eq!(answered.len(), statuses.len(), "{log}");
    for expected in [
        "method=POST route=/api/v1/events status=202 duration_ms=",
        "method=GET route=/api/v1/metrics status=200 duration_ms=",
        "method=GET route=/services/{service} status=303 duration_ms=",
        "method=GET route=/services/{service} status=401 duration_ms=",
        "method=GET route=/no/such/route status=404 duration_ms=",
        "method=GET route=/healthz status=200 duration_ms=",
    ] {
        assert!(
            answered.iter().any(|l| l.contains(expected)),
            "no line with {expected}:\n{log}"
        );
    }
    // The batch that stored the event: one delivery, one event, new.
    assert!(
        log.lines().any(|l| l.contains("batch committed")
            && l.contains("requests=1 deliveries=1 events=1 accepted=1 duration_ms=")),
        "{log}"
    );
    for never in [read, "token=", "route=/services/checkout"] {
        assert!(!log.contains(never), "the log holds {never:?}:\n{log}");
    }
}
