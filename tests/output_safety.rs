//! Output safety (issue 10, item 8): every string a sender controls — service, team,
//! environment, repository, deployment and incident ids, shas, incident titles and
//! severities, commit authors and messages, a webhook's event name and delivery id —
//! is posted with hostile values (markup that would open a tag or break out of an
//! attribute, spreadsheet formulas, commas, quotes and newlines), and then read back
//! from every page that shows it and from every CSV and the metrics JSON:
//!
//! - HTML: no tag, event-handler attribute or `javascript:` link comes from a value,
//!   and each value that a page shows is there as text (it was rendered, escaped);
//! - CSV: every line parses as RFC 4180 with the header's cell count, each text cell
//!   is the value with a leading `'` where it begins with `=`, `+`, `-`, `@`, tab or
//!   carriage return (SPEC §5), and numbers stay numbers;
//! - JSON: the values come back as they were sent.

#[path = "pages/html.rs"]
mod html;
mod support;

use secrecy::SecretString;
use serde_json::{Value, json};
use support::{FROM, TO, TestApp, spawn_app};

const SCRIPT: &str = "<script>alert(1)</script>";
const BREAKOUT: &str = "\"><img src=x onerror=alert(1)>";
const FORMULA: &str = "=HYPERLINK(\"http://x\")";
const PLUS: &str = "+1+1";
const AT: &str = "@SUM(A1)";
const MINUS: &str = "-2+3";
/// Names refuse control characters; free text takes the newline too.
const QUOTED: &str = "a,b \"c\"";
const DDE: &str = "=cmd|' /C calc'!A0";
const MULTILINE: &str = "a,b \"c\"\n=d";
/// A sha takes no whitespace, but can still try to break out of its `title`.
const SHA: &str = "\"><svg/onload=alert(1)>";

/// Every hostile name: the services, and (with a suffix) their teams, environments,
/// repositories, ids and titles. The last service deploys but never has an incident
/// (a silent service).
const NAMES: [&str; 8] = [SCRIPT, BREAKOUT, FORMULA, PLUS, AT, MINUS, QUOTED, DDE];
const TEXTS: [&str; 9] = [
    SCRIPT, BREAKOUT, FORMULA, PLUS, AT, MINUS, QUOTED, DDE, MULTILINE,
];

/// The title of the incident that nothing explains.
const LATE: &str = "a,b \"c\"\n=late";
/// A webhook's event name and delivery id, from its headers.
const HOOK_EVENT: &str = "<script>alert('hook')</script>";
const HOOK_ID: &str = "\"><img src=x onerror=alert('hook')>";
const UNDEPLOYED: &str = "<script>alert(1)</script>/undeployed";

const GITLAB_TOKEN: &str = "test-gitlab-token";

fn name(i: usize) -> &'static str {
    NAMES[i % NAMES.len()]
}

// Each kind of value its own text, so that a page shows it only where that kind is
// shown; each still begins (and so is guarded in CSV) as the hostile name does.

fn team(i: usize) -> String {
    format!("{} team", name(i + 1))
}

fn repo(i: usize) -> String {
    format!("{}/repo", name(i + 2))
}

fn environment(i: usize) -> String {
    format!("{} env", name(i + 4))
}

fn title(i: usize) -> String {
    format!("{} ({i})", TEXTS[(i + 5) % TEXTS.len()])
}

fn teams() -> Vec<String> {
    (0..NAMES.len()).map(team).collect()
}

fn strs(values: &[String]) -> Vec<&str> {
    values.iter().map(String::as_str).collect()
}

fn deployment_id(i: usize, n: usize) -> String {
    format!("{}#{n}", name(i))
}

fn incident_id(i: usize) -> String {
    format!("{}!incident", name(i))
}

/// Two commits, two production deployments and a staging one per service, in the
/// week of 2026-01-12, an incident after the second deployment (attributed to it by
/// rule c), and: a deployment of a sha no repository stores, an incident long after
/// any deployment (unattributed), a repository nothing deploys.
fn events() -> Vec<Value> {
    let mut events = Vec::new();
    for i in 0..NAMES.len() {
        let day = 12 + i / 2;
        let at = |d: usize, hour: u32| format!("2026-01-{d:02}T{hour:02}:00:00Z");
        let (a, b) = (format!("{i}a"), format!("{i}b"));
        events.push(
            json!({"type": "change", "repo": repo(i), "sha": a, "parents": [],
            "committed_at": at(day, 8), "author": title(i + 1), "message": title(i + 2)}),
        );
        events.push(
            json!({"type": "change", "repo": repo(i), "sha": b, "parents": [a],
            "committed_at": at(day + 1, 8), "author": MULTILINE, "message": MULTILINE}),
        );
        events.push(
            json!({"type": "deployment", "id": deployment_id(i, 1), "service": name(i),
            "environment": "production", "repo": repo(i), "sha": a, "finished_at": at(day, 10),
            "team": team(i)}),
        );
        events.push(
            json!({"type": "deployment", "id": deployment_id(i, 2), "service": name(i),
            "environment": environment(i), "repo": repo(i), "sha": b,
            "finished_at": at(day + 1, 9), "team": team(i)}),
        );
        events.push(
            json!({"type": "deployment", "id": deployment_id(i, 3), "service": name(i),
            "repo": repo(i), "sha": b, "finished_at": at(day + 1, 10), "team": team(i)}),
        );
        if i + 1 < NAMES.len() {
            events.push(
                json!({"type": "incident", "id": incident_id(i), "service": name(i),
                "opened_at": at(day + 1, 11), "resolved_at": at(day + 1, 13),
                "severity": title(i + 3), "title": title(i)}),
            );
        }
        events.push(
            json!({"type": "build", "id": format!("{}/build", name(i)), "repo": repo(i),
            "sha": b, "status": "success", "branch": "main", "started_at": at(day + 1, 8),
            "finished_at": at(day + 1, 9), "provider": title(i + 4)}),
        );
    }
    events.push(
        json!({"type": "deployment", "id": "unstored", "service": SCRIPT,
        "repo": repo(0), "sha": SHA, "finished_at": "2026-01-20T10:00:00Z"}),
    );
    events.push(
        json!({"type": "incident", "id": "late", "service": BREAKOUT,
        "opened_at": "2026-02-10T10:00:00Z", "title": LATE}),
    );
    events.push(json!({"type": "change", "repo": UNDEPLOYED, "sha": "u1",
        "committed_at": "2026-01-20T08:00:00Z"}));
    events
}

/// A GitLab delivery whose event name and delivery id are hostile: stored unmapped,
/// listed on the data-health page with both.
async fn post_hostile_webhook(app: &TestApp) {
    let response = app
        .client
        .post(format!("{}/webhooks/gitlab", app.base))
        .header("x-gitlab-token", GITLAB_TOKEN)
        .header("x-gitlab-event", HOOK_EVENT)
        .header("x-gitlab-event-uuid", HOOK_ID)
        .header("content-type", "application/json")
        .body(json!({"object_kind": FORMULA}).to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    assert_eq!(status, 202, "{body}");
}

async fn loaded() -> TestApp {
    let app = spawn_app(|c| c.sources.gitlab_token = Some(SecretString::from(GITLAB_TOKEN))).await;
    let ndjson: Vec<String> = events().iter().map(Value::to_string).collect();
    let (status, body) = app
        .post_events(ndjson.join("\n"), "application/x-ndjson")
        .await;
    assert_eq!(status, 202, "{body}");
    post_hostile_webhook(&app).await;
    app
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn period() -> String {
    format!("from={FROM}&to={TO}")
}

const METRICS: [&str; 6] = [
    "deployment-frequency",
    "lead-time",
    "change-failure-rate",
    "failed-deployment-recovery",
    "time-to-restore",
    "rework-rate",
];

const CHECKS: [&str; 5] = [
    "unstored-shas",
    "silent-services",
    "unattributed-incidents",
    "undeployed-repos",
    "unmapped-deliveries",
];

// ---------------------------------------------------------------------------------
// HTML

/// A page read as markup: the tags it opens with their attributes, and its text.
#[derive(Debug, Default)]
struct Markup {
    /// (tag, attribute names with their raw values)
    tags: Vec<(String, Vec<(String, String)>)>,
    texts: Vec<String>,
}

impl Markup {
    /// What the page says, as a reader gets it: its text and attribute values with
    /// entities decoded.
    fn content(&self) -> String {
        let attrs = self.tags.iter().flat_map(|(_, a)| a.iter().map(|(_, v)| v));
        let parts: Vec<String> = self
            .texts
            .iter()
            .chain(attrs)
            .map(|s| html::unescape(s))
            .collect();
        parts.join("\u{1}")
    }
}

/// Reads tags, their attributes and the text between them the way a browser's
/// tokenizer does for this subset (quoted and unquoted attribute values, comments,
/// a doctype), so that a value that opened a tag or an attribute shows up as one.
fn scan(html: &str) -> Markup {
    let mut markup = Markup::default();
    let b = html.as_bytes();
    let mut i = 0;
    let mut text = String::new();
    while i < b.len() {
        if html[i..].starts_with("<!--") {
            i = html[i..].find("-->").map_or(b.len(), |e| i + e + 3);
            continue;
        }
        let opens = b[i] == b'<' && b.get(i + 1).is_some_and(|c| c.is_ascii_alphabetic());
        let closes_or_declares = b[i] == b'<' && matches!(b.get(i + 1), Some(b'/' | b'!' | b'?'));
        if closes_or_declares {
            i = html[i..].find('>').map_or(b.len(), |e| i + e + 1);
            continue;
        }
        if !opens {
            let c = html[i..].chars().next().unwrap();
            text.push(c);
            i += c.len_utf8();
            continue;
        }
        if !text.is_empty() {
            markup.texts.push(std::mem::take(&mut text));
        }
        i += 1;
        let start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'-') {
            i += 1;
        }
        let tag = html[start..i].to_ascii_lowercase();
        let mut attrs = Vec::new();
        loop {
            while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
                i += 1;
            }
            if i >= b.len() || b[i] == b'>' {
                i += 1;
                break;
            }
            let start = i;
            while i < b.len() && !b[i].is_ascii_whitespace() && !matches!(b[i], b'=' | b'>' | b'/')
            {
                i += 1;
            }
            let name = html[start..i].to_ascii_lowercase();
            let mut value = String::new();
            if b.get(i) == Some(&b'=') {
                i += 1;
                match b.get(i) {
                    Some(&q @ (b'"' | b'\'')) => {
                        let end = html[i + 1..].find(q as char).map_or(b.len(), |e| i + 1 + e);
                        value = html[i + 1..end].to_owned();
                        i = end + 1;
                    }
                    _ => {
                        let start = i;
                        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                            i += 1;
                        }
                        value = html[start..i].to_owned();
                    }
                }
            }
            attrs.push((name, value));
        }
        markup.tags.push((tag, attrs));
    }
    if !text.is_empty() {
        markup.texts.push(text);
    }
    markup
}

/// No value opened a tag, an event handler or a script link on `page`.
fn assert_inert(page: &str, body: &str) -> Markup {
    let markup = scan(body);
    for (tag, attrs) in &markup.tags {
        assert!(
            !matches!(
                tag.as_str(),
                "script" | "img" | "iframe" | "object" | "embed" | "style"
            ),
            "{page}: a <{tag}> element"
        );
        for (name, value) in attrs {
            assert!(
                !name.starts_with("on"),
                "{page}: <{tag}> has an event handler {name}={value:?}"
            );
            let url = html::unescape(value).trim().to_ascii_lowercase();
            assert!(
                !(matches!(name.as_str(), "href" | "src" | "action" | "xlink:href")
                    && url.starts_with("javascript:")),
                "{page}: <{tag} {name}={value:?}>"
            );
        }
    }
    for raw in [
        SCRIPT,
        "<img",
        "<svg/",
        "onerror=alert(1)>",
        "onload=alert(1)>",
    ] {
        assert!(!body.contains(raw), "{page}: {raw:?} appears unescaped");
    }
    markup
}

/// Status, `Content-Type`, whether the security headers are there, and the body.
async fn fetch(app: &TestApp, path: &str) -> (u16, String, bool, String) {
    let response = app
        .client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    let headers = response.headers();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let secured = header("x-content-type-options") == "nosniff"
        && header("content-security-policy").contains("default-src 'none'");
    let content_type = header("content-type");
    let status = response.status().as_u16();
    (
        status,
        content_type,
        secured,
        response.text().await.unwrap(),
    )
}

/// A page's content (see [`Markup::content`]): the whole page, and its `<main>`
/// alone (without the filter form's lists of every service and team).
struct Page {
    whole: String,
    main: String,
}

async fn page(app: &TestApp, path: &str, status: u16) -> Page {
    let (got, content_type, secured, body) = fetch(app, path).await;
    assert_eq!(got, status, "{path}: {body}");
    assert!(
        content_type.starts_with("text/html"),
        "{path}: {content_type}"
    );
    assert!(secured, "{path}: without nosniff and the script-less CSP");
    let whole = assert_inert(path, &body).content();
    let main = body
        .find("<main>")
        .and_then(|start| Some(&body[start..start + body[start..].find("</main>")?]))
        .map_or_else(|| whole.clone(), |main| scan(main).content());
    Page { whole, main }
}

fn assert_shows(path: &str, content: &str, values: &[&str]) {
    for value in values {
        assert!(
            content.contains(value),
            "{path} does not show {value:?} (as text)"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_values_are_text_on_every_page_that_shows_them() {
    let app = loaded().await;
    let q = period();

    let (teams, services) = (teams(), &NAMES[..]);
    let overview = page(&app, &format!("/?{q}"), 200).await;
    // The filter form's lists of known services and teams.
    assert_shows("/", &overview.whole, services);
    assert_shows("/", &overview.whole, &strs(&teams));
    let path = format!("/services?{q}");
    let table = page(&app, &path, 200).await;
    assert_shows(&path, &table.main, services);
    assert_shows(&path, &table.main, &strs(&teams));

    for i in 0..NAMES.len() {
        let path = format!("/services/{}?{q}", encode(name(i)));
        let content = page(&app, &path, 200).await.main;
        let mut shown = vec![name(i).to_owned(), team(i), environment(i)];
        shown.extend((1..=3).map(|n| deployment_id(i, n)));
        if i + 1 < NAMES.len() {
            shown.extend([title(i), incident_id(i)]);
        }
        assert_shows(&path, &content, &strs(&shown));

        // Filtered pages say the filter in the period line.
        for (filter, value) in [("service", name(i).to_owned()), ("team", team(i))] {
            let path = format!("/?{q}&{filter}={}", encode(&value));
            let content = page(&app, &path, 200).await.main;
            assert_shows(&path, &content, &[&value]);
        }
    }
    let first = format!("/services/{}?{q}", encode(SCRIPT));
    assert_shows(&first, &page(&app, &first, 200).await.main, &[SHA]);
    let unknown = format!("/services/{}?{q}", encode(&format!("{SCRIPT}nope")));
    assert_shows(&unknown, &page(&app, &unknown, 404).await.whole, &[SCRIPT]);

    let repos: Vec<String> = (0..NAMES.len()).map(repo).collect();
    let titles: Vec<String> = (0..NAMES.len() - 1).map(title).collect();
    for metric in METRICS {
        let path = format!("/metrics/{metric}?{q}");
        let content = page(&app, &path, 200).await.main;
        assert_shows(&path, &content, services);
        assert_shows(&path, &content, &strs(&teams));
        let path = format!("/explain/{metric}?{q}");
        let content = page(&app, &path, 200).await.main;
        match metric {
            "lead-time" => {
                assert_shows(&path, &content, services);
                assert_shows(&path, &content, &strs(&repos));
            }
            "time-to-restore" => assert_shows(&path, &content, &strs(&titles)),
            // Only failed deployments; the last service never fails.
            "failed-deployment-recovery" => assert_shows(&path, &content, &services[..7]),
            _ => assert_shows(&path, &content, services),
        }
    }

    let health = page(&app, &format!("/data-health?{q}"), 200).await;
    assert!(!health.main.is_empty());
    for check in CHECKS {
        // Deliveries count by when they were received: today, the default period.
        let path = match check {
            "unmapped-deliveries" => format!("/data-health/{check}"),
            _ => format!("/data-health/{check}?{q}"),
        };
        let content = page(&app, &path, 200).await.main;
        let shown: &[&str] = match check {
            "unstored-shas" => &[SCRIPT, SHA],
            "silent-services" => &[DDE],
            "unattributed-incidents" => &[BREAKOUT, LATE],
            "undeployed-repos" => &[UNDEPLOYED],
            _ => &[HOOK_EVENT, HOOK_ID],
        };
        assert_shows(&path, &content, shown);
    }
    app.stop().await;
}

// ---------------------------------------------------------------------------------
// CSV

/// RFC 4180, strictly: a quote only opens a field or doubles inside a quoted one,
/// lines end in `\n` (Shiplog writes no `\r\n`).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let (mut quoted, mut was_quoted) = (false, false);
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' => {
                assert!(
                    field.is_empty() && !was_quoted,
                    "a quote inside a field: {text}"
                );
                quoted = true;
                was_quoted = true;
            }
            ',' => {
                row.push(std::mem::take(&mut field));
                was_quoted = false;
            }
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                was_quoted = false;
            }
            '\r' => panic!("a bare carriage return outside quotes: {text}"),
            c => {
                assert!(!was_quoted, "text after a closing quote: {text}");
                field.push(c);
            }
        }
    }
    assert!(!quoted, "an unterminated quoted field: {text}");
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// The cell a text value must be written as (SPEC §5).
fn guarded(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

/// Reads a CSV: each row with the header's cell count; numbers (negative ones too)
/// stay numbers and every other cell that a spreadsheet would read as a formula is
/// guarded. Returns the rows as (column → cell) maps.
async fn csv(app: &TestApp, path: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let (status, content_type, secured, text) = fetch(app, path).await;
    assert_eq!(status, 200, "{path}: {text}");
    assert!(
        content_type.starts_with("text/csv"),
        "{path}: {content_type}"
    );
    assert!(secured, "{path}: without nosniff");
    let mut rows = parse_csv(&text).into_iter();
    let header = rows.next().expect("a header");
    rows.map(|row| {
        assert_eq!(row.len(), header.len(), "{path}: {row:?}");
        for cell in &row {
            let number = cell.parse::<f64>().is_ok();
            assert!(
                number || !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{path}: the cell {cell:?} is not guarded"
            );
            assert!(
                !cell.starts_with('\'') || cell[1..].parse::<f64>().is_err(),
                "{path}: the number {cell:?} is guarded"
            );
        }
        header.iter().cloned().zip(row).collect()
    })
    .collect()
}

fn column<'a>(rows: &'a [std::collections::BTreeMap<String, String>], name: &str) -> Vec<&'a str> {
    rows.iter().map(|r| r[name].as_str()).collect()
}

fn assert_has(path: &str, cells: &[&str], values: &[&str]) {
    for value in values {
        let cell = guarded(value);
        assert!(
            cells.contains(&cell.as_str()),
            "{path}: no cell {cell:?} among {cells:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_text_cells_are_guarded_and_quoted_in_every_csv() {
    let app = loaded().await;
    let q = period();

    let path = format!("/reports/weekly.csv?{q}");
    let weekly = csv(&app, &path).await;
    assert_has(&path, &column(&weekly, "service"), &NAMES);
    for row in &weekly {
        for (name, cell) in row {
            if !matches!(name.as_str(), "week_start" | "service") {
                assert!(
                    cell.is_empty() || cell.parse::<f64>().is_ok(),
                    "{path}: {name} {cell:?}"
                );
            }
        }
    }
    // The week of 2026-01-12 has a row for each service, with its two deployments.
    for service in NAMES.iter().take(2) {
        let row = weekly
            .iter()
            .find(|r| r["week_start"] == "2026-01-12" && r["service"] == guarded(service))
            .unwrap_or_else(|| panic!("{path}: no row for {service:?}"));
        assert_eq!(row["deployments"], "2", "{row:?}");
    }

    let ids: Vec<String> = (0..NAMES.len()).map(|i| deployment_id(i, 1)).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let path = format!("/explain/deployment-frequency?{q}&format=csv");
    let rows = csv(&app, &path).await;
    assert_has(&path, &column(&rows, "service"), &NAMES);
    assert_has(&path, &column(&rows, "deployment_id"), &ids);

    let path = format!("/explain/lead-time?{q}&format=csv");
    let rows = csv(&app, &path).await;
    let repos: Vec<String> = (0..NAMES.len()).map(repo).collect();
    assert_has(&path, &column(&rows, "repo"), &strs(&repos));
    assert_has(&path, &column(&rows, "service"), &NAMES);

    let path = format!("/explain/time-to-restore?{q}&format=csv");
    let rows = csv(&app, &path).await;
    let titles: Vec<String> = (0..NAMES.len() - 1).map(title).collect();
    let severities: Vec<String> = (0..NAMES.len() - 1).map(|i| title(i + 3)).collect();
    assert_has(&path, &column(&rows, "title"), &strs(&titles));
    assert_has(&path, &column(&rows, "severity"), &strs(&severities));
    let incidents: Vec<String> = (0..NAMES.len() - 1).map(incident_id).collect();
    let incidents: Vec<&str> = incidents.iter().map(String::as_str).collect();
    assert_has(&path, &column(&rows, "incident_id"), &incidents);

    // The failed deployments name the incidents that failed them.
    for (metric, services) in [
        ("change-failure-rate", &NAMES[..]),
        ("failed-deployment-recovery", &NAMES[..7]),
        ("rework-rate", &NAMES[..]),
    ] {
        let path = format!("/explain/{metric}?{q}&format=csv");
        let rows = csv(&app, &path).await;
        assert_has(&path, &column(&rows, "service"), services);
        assert_has(&path, &column(&rows, "incidents"), &incidents);
    }

    let delivery = format!("gitlab:{HOOK_ID}");
    let expected: [(&str, &str, &[&str]); 8] = [
        ("unstored-shas", "service", &[SCRIPT]),
        ("unstored-shas", "sha", &[SHA]),
        ("silent-services", "service", &[DDE]),
        ("unattributed-incidents", "title", &[LATE]),
        ("unattributed-incidents", "service", &[BREAKOUT]),
        ("undeployed-repos", "repo", &[UNDEPLOYED]),
        ("unmapped-deliveries", "event_type", &[HOOK_EVENT]),
        ("unmapped-deliveries", "delivery_key", &[&delivery]),
    ];
    for (check, name, values) in expected {
        let path = match check {
            "unmapped-deliveries" => format!("/data-health/{check}?format=csv"),
            _ => format!("/data-health/{check}?{q}&format=csv"),
        };
        let rows = csv(&app, &path).await;
        assert_has(&path, &column(&rows, name), values);
    }
    app.stop().await;
}

// ---------------------------------------------------------------------------------
// JSON

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_filters_come_back_verbatim_in_the_metrics_json() {
    let app = loaded().await;
    let q = period();
    for i in 0..NAMES.len() {
        for (filter, value) in [("service", name(i).to_owned()), ("team", team(i))] {
            let path = format!("/api/v1/metrics?{q}&{filter}={}", encode(&value));
            let (status, content_type, secured, body) = fetch(&app, &path).await;
            assert_eq!(status, 200, "{path}: {body}");
            assert!(
                content_type.starts_with("application/json"),
                "{path}: {content_type}"
            );
            assert!(secured, "{path}: without nosniff");
            let json: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(json[filter], value.as_str(), "{path}");
            let deployments = json["deployment_frequency"]["deployments"].as_i64();
            assert!(
                deployments >= Some(2),
                "{path}: {deployments:?} deployments"
            );
        }
    }
    app.stop().await;
}

// ---------------------------------------------------------------------------------
// The checks themselves

/// Each check fails on what it is there to catch, so that a pass above means
/// something.
#[test]
fn the_checks_catch_markup_and_formulas_that_got_through() {
    let fails = |body: &'static str| {
        std::panic::catch_unwind(|| {
            assert_inert("test", body);
        })
        .is_err()
    };
    assert!(!fails(
        "<p title=\"&#34;&#62;&#60;img src=x onerror=alert(1)&#62;\">a &lt;b&gt;</p>"
    ));
    assert!(fails("<td><script>alert(1)</script></td>"));
    assert!(fails("<td title=\"\"><img src=x onerror=alert(1)>\"></td>"));
    assert!(fails("<td title=\"\" onmouseover=\"alert(1)\"></td>"));
    assert!(fails("<svg/onload=alert(1)>"));
    assert!(fails("<a href=\" JavaScript:alert(1)\">x</a>"));

    let decoded = scan("<b title=\"a &#34;b&#34;\">&lt;script&gt;</b>").content();
    assert!(
        decoded.contains("a \"b\"") && decoded.contains("<script>"),
        "{decoded}"
    );

    assert_eq!(
        parse_csv("a,\"b,\"\"c\"\"\nd\",'=e\n"),
        vec![vec!["a", "b,\"c\"\nd", "'=e"]]
    );
    for broken in ["a,b\"c\n", "\"a\"b\n", "a\r\n", "\"a\n"] {
        assert!(
            std::panic::catch_unwind(|| parse_csv(broken)).is_err(),
            "{broken:?} parsed"
        );
    }
    assert_eq!(guarded("-2+3"), "'-2+3");
    assert_eq!(guarded("<x>"), "<x>");
}
