//! The digest written out: Markdown, HTML and plain text (askama templates in
//! `templates/digest/`), Slack's mrkdwn, a Microsoft Teams Adaptive Card, and JSON for
//! generic webhooks. Every format is made from one [`Page`] of lines, so they say the
//! same thing; numbers are written by `crate::format`, as the dashboard writes them.
//!
//! Strings users wrote (commit titles, incident titles, annotation text, ids, service
//! and team names) are neutralised for each format before they reach a template: for
//! Markdown every punctuation character that could make markup is backslash-escaped
//! and URL and mention starts are broken with a zero-width space, so `[x](http://…)`
//! or `@channel` in a title stay text; for Slack `&`, `<`, `>` are entity-escaped (no
//! `<!channel>`, `<@U…>` or `<url|…>`), with the same breaks; HTML is escaped by
//! askama; every format drops control characters, so a title cannot start a line.

use askama::Template;
use chrono::Days;
use serde::Serialize;
use serde_json::{Value, json};
use shiplog_model::Timestamp;
use shiplog_model::goals::{Goal, GoalCheck};
use shiplog_queries::dashboard::Metric;
use shiplog_queries::dashboard::metric::Unit;
use shiplog_queries::dashboard::overview::{Change, Tile};
use shiplog_queries::digest::{Digest, Listed, TeamDigest};
use shiplog_queries::figures::Figures;

use crate::format;
use crate::routes::dashboard::query_escape;

/// The formats `shiplog report digest` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Markdown,
    Html,
    Text,
    /// The generic webhook's payload.
    Json,
}

/// The longest user string a digest shows (characters); longer ones end in `…`.
const MAX_TEXT: usize = 200;
/// Services named in a team's heading; more are counted.
const MAX_SERVICES_NAMED: usize = 20;

/// Where the digest's links point: the dashboard's public address.
#[derive(Debug, Clone)]
pub struct Links {
    base: Option<String>,
}

impl Links {
    /// `base` without a trailing `/`; `None`: the digest has no links.
    pub fn new(base: Option<&str>) -> Links {
        Links {
            base: base.map(|b| b.trim_end_matches('/').to_owned()),
        }
    }

    fn url(&self, path: &str, digest: &Digest, team: Option<&str>) -> Option<String> {
        let base = self.base.as_ref()?;
        let mut query = format!("from={}&to={}", digest.period.from(), digest.period.to());
        if let Some(team) = team {
            query.push_str("&team=");
            query.push_str(&query_escape(team));
        }
        Some(format!("{base}{path}?{query}"))
    }
}

/// A link with its label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    pub label: String,
    pub url: String,
}

/// The digest as lines of text, every user string already neutralised for one format.
#[derive(Debug, Clone)]
pub struct Page {
    pub title: String,
    pub period: String,
    pub previous: String,
    pub teams: Vec<TeamPage>,
}

#[derive(Debug, Clone)]
pub struct TeamPage {
    pub heading: String,
    pub services: String,
    pub figures: Vec<FigureRow>,
    pub goals: Vec<String>,
    pub failed: Section,
    pub lead_times: Section,
    pub open_incidents: Section,
    pub annotations: Section,
    pub links: Vec<Link>,
}

#[derive(Debug, Clone)]
pub struct FigureRow {
    pub title: &'static str,
    pub value: String,
    pub previous: String,
    pub change: String,
    pub level: String,
    pub basis: String,
}

impl TeamPage {
    /// The four lists, in the order every format shows them.
    pub fn sections(&self) -> [&Section; 4] {
        [
            &self.failed,
            &self.lead_times,
            &self.open_incidents,
            &self.annotations,
        ]
    }
}

/// A list's lines, the heading's count and what was left out.
#[derive(Debug, Clone)]
pub struct Section {
    pub title: String,
    pub lines: Vec<String>,
    pub more: Option<String>,
    pub empty: &'static str,
}

/// Drops control characters (newlines included: a string cannot start a line) and
/// shortens to [`MAX_TEXT`] characters.
fn clean(raw: &str) -> String {
    let mut out: String = raw
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_TEXT)
        .collect();
    if raw.chars().count() > MAX_TEXT {
        out.push('…');
    }
    out
}

/// Breaks what chat tools and Markdown turn into links or mentions: `://`, `www.`
/// and `@` get a zero-width space.
fn break_links(text: &str) -> String {
    text.replace("://", ":\u{200B}//")
        .replace("www.", "www\u{200B}.")
        .replace('@', "@\u{200B}")
}

/// A user string as Markdown text: never markup, a link or a mention.
pub fn markdown(raw: &str) -> String {
    let mut out = String::new();
    for c in break_links(&clean(raw)).chars() {
        if "\\`*_{}[]()<>#+-.!|~&\"'=:$^".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A user string as Slack mrkdwn text: the three characters Slack asks to escape,
/// and no link or mention.
pub fn slack(raw: &str) -> String {
    break_links(&clean(raw))
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A user string as plain text (HTML: askama escapes it).
pub fn plain(raw: &str) -> String {
    clean(raw)
}

fn time(t: Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn short_sha(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// The label of a period's days, its last day included.
fn days_label(from: chrono::NaiveDate, to: chrono::NaiveDate) -> String {
    let last = to - Days::new(1);
    if last == from {
        from.to_string()
    } else {
        format!("{from} to {last}")
    }
}

fn goal_label(goal: Goal) -> &'static str {
    match goal {
        Goal::DeploymentsPerWeek => "Deployments per week",
        Goal::LeadTimeMedian => "Lead time (median)",
        Goal::ChangeFailureRate => "Change failure rate",
        Goal::RecoveryMedian => "Failed deployment recovery (median)",
        Goal::RestoreMedian => "Time to restore (median)",
        Goal::ReworkRate => "Rework rate",
    }
}

fn goal_actual(goal: Goal, actual: f64) -> String {
    match goal {
        Goal::DeploymentsPerWeek => format!("{actual:.1} / week"),
        Goal::ChangeFailureRate | Goal::ReworkRate => format::percent(actual),
        Goal::LeadTimeMedian | Goal::RecoveryMedian | Goal::RestoreMedian => format::hours(actual),
    }
}

/// "met", "missed" or "not judged", as a word every format can show.
pub fn goal_verdict(check: &GoalCheck) -> &'static str {
    match check.met() {
        Some(true) => "met",
        Some(false) => "missed",
        None => "not judged",
    }
}

fn team_name(team: &TeamDigest, esc: fn(&str) -> String) -> String {
    match &team.team {
        Some(t) => format!("Team {}", esc(t)),
        None => "Services without a team".to_owned(),
    }
}

fn section<T>(
    title: &str,
    listed: &Listed<T>,
    empty: &'static str,
    line: impl Fn(&T) -> String,
) -> Section {
    let shown = listed.rows.len() as i64;
    let more = (listed.total > shown).then(|| format!("and {} more", listed.total - shown));
    Section {
        title: if listed.total > shown {
            format!("{title} ({shown} of {})", listed.total)
        } else {
            format!("{title} ({})", listed.total)
        },
        lines: listed.rows.iter().map(line).collect(),
        more,
        empty,
    }
}

fn figure_row(tile: &Tile) -> FigureRow {
    let unit = tile.metric.unit();
    FigureRow {
        title: tile.metric.title(),
        value: format::value(unit, tile.value),
        previous: format::value(unit, tile.previous),
        change: format::change(&tile.change).text,
        level: tile
            .level
            .map_or_else(|| format::NONE.to_owned(), |l| l.as_str().to_owned()),
        basis: tile.metric.samples_counted(tile.samples),
    }
}

impl Page {
    /// The page of `digest`, user strings passed through `esc` for the format.
    pub fn build(digest: &Digest, links: &Links, esc: fn(&str) -> String) -> Page {
        let period = days_label(digest.period.from(), digest.period.to());
        let previous = days_label(digest.previous.from(), digest.previous.to());
        let teams = digest
            .teams
            .iter()
            .map(|t| team_page(digest, t, links, esc))
            .collect();
        Page {
            title: format!("Shiplog digest: {period}"),
            period,
            previous,
            teams,
        }
    }
}

fn team_page(digest: &Digest, t: &TeamDigest, links: &Links, esc: fn(&str) -> String) -> TeamPage {
    let named: Vec<String> = t
        .services
        .iter()
        .take(MAX_SERVICES_NAMED)
        .map(|s| esc(s))
        .collect();
    let mut services = if named.is_empty() {
        "no services".to_owned()
    } else {
        named.join(", ")
    };
    if t.services.len() > MAX_SERVICES_NAMED {
        services.push_str(&format!(
            " and {} more",
            t.services.len() - MAX_SERVICES_NAMED
        ));
    }
    let goals = t
        .goals
        .iter()
        .map(|g| {
            let whose = g
                .service
                .as_deref()
                .map(|s| format!("{}: ", esc(s)))
                .unwrap_or_default();
            let actual = g.check.actual.map_or_else(
                || "no figure this period".to_owned(),
                |a| goal_actual(g.check.goal, a),
            );
            format!(
                "{} — {whose}{} {}, this period {actual}",
                goal_verdict(&g.check),
                goal_label(g.check.goal),
                format::goal_target(g.check.goal, g.check.target)
            )
        })
        .collect();
    let failed = section(
        "Failed deployments",
        &t.failed,
        "No failed deployments.",
        |f| {
            let mut causes: Vec<String> = f
                .incidents
                .iter()
                .map(|i| match &i.title {
                    Some(title) if !title.is_empty() => {
                        format!("incident {} “{}”", esc(&i.id), esc(title))
                    }
                    _ => format!("incident {}", esc(&i.id)),
                })
                .collect();
            if let Some(by) = &f.rolled_back_by {
                causes.push(format!("rolled back by {}", esc(by)));
            }
            if causes.is_empty() {
                causes.push(esc(&f.cause));
            }
            let recovery = match f.recovery_hours {
                Some(h) => format!("recovered after {}", format::hours(h)),
                None => "not recovered".to_owned(),
            };
            format!(
                "{} {} deployment {} ({}): {}; {recovery}",
                time(f.finished_at),
                esc(&f.service),
                esc(&f.deployment_id),
                esc(short_sha(&f.sha)),
                causes.join(", ")
            )
        },
    );
    let lead_times = section(
        "Longest lead times",
        &t.longest_lead_times,
        "No lead-time samples.",
        |s| {
            let title = s
                .title
                .as_deref()
                .filter(|t| !t.is_empty())
                .map(|t| format!(" “{}”", esc(t)))
                .unwrap_or_default();
            let commit = match &s.repo {
                Some(repo) => format!("{}@{}", esc(repo), esc(short_sha(&s.sha))),
                None => esc(short_sha(&s.sha)),
            };
            format!(
                "{}: {commit}{title}, {} deployment {} at {}",
                format::hours(s.hours),
                esc(&s.service),
                esc(&s.deployment_id),
                time(s.deployed_at)
            )
        },
    );
    let open_incidents = section(
        "Open incidents",
        &t.open_incidents,
        "No incidents open at the end of the period.",
        |i| {
            let severity = i
                .severity
                .as_deref()
                .map(|s| format!(" [{}]", esc(s)))
                .unwrap_or_default();
            let title = i
                .title
                .as_deref()
                .filter(|t| !t.is_empty())
                .map(|t| format!(" “{}”", esc(t)))
                .unwrap_or_default();
            format!(
                "{}{severity}{title}, {} open since {}",
                esc(&i.id),
                esc(&i.service),
                time(i.opened_at)
            )
        },
    );
    let annotations = section("Annotations", &t.annotations, "No annotations.", |a| {
        let whose = match (&a.service, &a.team) {
            (Some(s), _) => format!(" ({})", esc(s.as_str())),
            (None, Some(team)) => format!(" (team {})", esc(team)),
            (None, None) => String::new(),
        };
        format!("{}{whose}: {}", a.at.format("%Y-%m-%d"), esc(&a.text))
    });
    let team = t.team.as_deref();
    let mut team_links = Vec::new();
    if t.team.is_some() {
        if let Some(url) = links.url("/", digest, team) {
            team_links.push(Link {
                label: "Dashboard".into(),
                url,
            });
        }
        for metric in Metric::ALL {
            if let Some(url) = links.url(&format!("/explain/{}", metric.slug()), digest, team) {
                team_links.push(Link {
                    label: metric.title().into(),
                    url,
                });
            }
        }
    }
    for s in t.services.iter().take(MAX_SERVICES_NAMED) {
        if let Some(url) = links.url(&format!("/services/{}", query_escape(s)), digest, None) {
            team_links.push(Link { label: esc(s), url });
        }
    }
    TeamPage {
        heading: team_name(t, esc),
        services,
        figures: t.figures.iter().map(figure_row).collect(),
        goals,
        failed,
        lead_times,
        open_incidents,
        annotations,
        links: team_links,
    }
}

#[derive(Template)]
#[template(path = "digest/digest.md")]
struct MarkdownTemplate<'a> {
    page: &'a Page,
}

#[derive(Template)]
#[template(path = "digest/digest.txt")]
struct TextTemplate<'a> {
    page: &'a Page,
}

#[derive(Template)]
#[template(path = "digest/digest.html")]
struct HtmlTemplate<'a> {
    page: &'a Page,
}

#[derive(Template)]
#[template(path = "digest/slack.txt")]
struct SlackTemplate<'a> {
    page: &'a Page,
}

/// A URL inside Markdown's `(…)` or Slack's `<…|…>`: the characters that would end it
/// percent-encoded.
fn link_url(url: &str) -> String {
    url.replace('(', "%28")
        .replace(')', "%29")
        .replace('|', "%7C")
        .replace('>', "%3E")
        .replace('<', "%3C")
        .replace(' ', "%20")
}

fn rendered(result: askama::Result<String>) -> String {
    result.expect("the digest templates render from owned strings")
}

/// The digest in `format`.
pub fn render(digest: &Digest, links: &Links, format: Format) -> String {
    match format {
        Format::Markdown => markdown_text(digest, links),
        Format::Html => html(digest, links),
        Format::Text => text(digest, links),
        Format::Json => serde_json::to_string_pretty(&json_payload(digest, links))
            .expect("the digest serializes"),
    }
}

pub fn markdown_text(digest: &Digest, links: &Links) -> String {
    let mut page = Page::build(digest, links, markdown);
    for t in &mut page.teams {
        for l in &mut t.links {
            l.url = link_url(&l.url);
        }
    }
    rendered(MarkdownTemplate { page: &page }.render())
}

pub fn text(digest: &Digest, links: &Links) -> String {
    let page = Page::build(digest, links, plain);
    rendered(TextTemplate { page: &page }.render())
}

pub fn html(digest: &Digest, links: &Links) -> String {
    let page = Page::build(digest, links, plain);
    rendered(HtmlTemplate { page: &page }.render())
}

/// Slack's incoming-webhook payload: the mrkdwn text as `text` (what notifications and
/// clients without blocks show) and as one section block per team (a section holds at
/// most 3,000 characters: longer ones are cut).
pub fn slack_payload(digest: &Digest, links: &Links) -> Value {
    let mut page = Page::build(digest, links, slack);
    for t in &mut page.teams {
        for l in &mut t.links {
            l.url = link_url(&l.url);
        }
    }
    let text = rendered(SlackTemplate { page: &page }.render());
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": cut(&page.title, 150)},
    })];
    // A bold line after a blank one is a team's heading (the template's only such).
    for team in text.split("\n\n*").enumerate().map(|(i, part)| {
        if i == 0 {
            part.to_owned()
        } else {
            format!("*{part}")
        }
    }) {
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": cut(&team, 3000)},
        }));
    }
    // Slack takes at most 50 blocks.
    blocks.truncate(50);
    json!({"text": text, "blocks": blocks})
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut out: String = text.chars().take(max - 1).collect();
        out.push('…');
        out
    }
}

/// A Microsoft Teams incoming-webhook payload: one Adaptive Card (1.4) in a `message`,
/// the form both Workflows ("Post to a channel when a webhook request is received")
/// and the older Office 365 connectors take. Text blocks are Markdown, user strings
/// escaped as for Markdown.
pub fn teams_payload(digest: &Digest, links: &Links) -> Value {
    let page = Page::build(digest, links, markdown);
    let mut body = vec![
        json!({"type": "TextBlock", "size": "Large", "weight": "Bolder", "wrap": true,
               "text": page.title}),
        json!({"type": "TextBlock", "isSubtle": true, "wrap": true,
               "text": format!("Compared with {}", page.previous)}),
    ];
    let mut actions = Vec::new();
    for t in &page.teams {
        body.push(
            json!({"type": "TextBlock", "size": "Medium", "weight": "Bolder",
                         "separator": true, "wrap": true, "text": t.heading}),
        );
        body.push(json!({"type": "TextBlock", "isSubtle": true, "wrap": true,
                         "text": t.services}));
        let facts: Vec<Value> = t
            .figures
            .iter()
            .map(|f| {
                json!({"title": f.title,
                       "value": format!("{} (previous {}, {}; {})", f.value, f.previous, f.change, f.level)})
            })
            .collect();
        body.push(json!({"type": "FactSet", "facts": facts}));
        let mut lines: Vec<String> = Vec::new();
        if !t.goals.is_empty() {
            lines.push("**Goals**".into());
            lines.extend(t.goals.iter().map(|g| format!("- {g}")));
        }
        for s in [&t.failed, &t.lead_times, &t.open_incidents, &t.annotations] {
            lines.push(format!("**{}**", s.title));
            if s.lines.is_empty() {
                lines.push(s.empty.to_owned());
            }
            lines.extend(s.lines.iter().map(|l| format!("- {l}")));
            if let Some(more) = &s.more {
                lines.push(more.clone());
            }
        }
        body.push(json!({"type": "TextBlock", "wrap": true, "text": lines.join("\n\n")}));
        if let Some(link) = t.links.first() {
            actions.push(json!({"type": "Action.OpenUrl",
                                "title": format!("{} dashboard", t.heading),
                                "url": link.url}));
        }
    }
    actions.truncate(5);
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "msteams": {"width": "Full"},
                "body": body,
                "actions": actions,
            }
        }]
    })
}

/// The generic webhook's JSON (`docs/digest.md`: schema `shiplog.digest.v1`):
/// unrounded figures of both periods, the tiles' values and changes, the goals, the
/// lists with their totals and the links; user strings as they were stored.
pub fn json_payload(digest: &Digest, links: &Links) -> Value {
    let teams: Vec<Value> = digest
        .teams
        .iter()
        .map(|t| {
            let now = &t.figure(Metric::DeploymentFrequency).figures;
            let page = team_page(digest, t, links, plain);
            json!({
                "team": t.team,
                "services": t.services,
                "figures": counts(now),
                "previous_figures": counts(&t.previous),
                "tiles": t.figures.iter().map(tile_json).collect::<Vec<_>>(),
                "goals": t.goals.iter().map(|g| json!({
                    "service": g.service,
                    "goal": g.check.goal.key(),
                    "target": g.check.target,
                    "actual": g.check.actual,
                    "met": g.check.met(),
                })).collect::<Vec<_>>(),
                "failed_deployments": {
                    "total": t.failed.total,
                    "rows": t.failed.rows.iter().map(|f| json!({
                        "deployment_id": f.deployment_id,
                        "service": f.service,
                        "finished_at": rfc3339(f.finished_at),
                        "sha": f.sha,
                        "cause": f.cause,
                        "rolled_back_by": f.rolled_back_by,
                        "incidents": f.incidents.iter().map(|i| json!({"id": i.id, "title": i.title})).collect::<Vec<_>>(),
                        "recovered_at": f.recovered_at.map(rfc3339),
                        "recovery_hours": f.recovery_hours,
                    })).collect::<Vec<_>>(),
                },
                "longest_lead_times": {
                    "total": t.longest_lead_times.total,
                    "rows": t.longest_lead_times.rows.iter().map(|s| json!({
                        "sha": s.sha,
                        "repo": s.repo,
                        "service": s.service,
                        "deployment_id": s.deployment_id,
                        "deployed_at": rfc3339(s.deployed_at),
                        "hours": s.hours,
                        "title": s.title,
                    })).collect::<Vec<_>>(),
                },
                "open_incidents": {
                    "total": t.open_incidents.total,
                    "rows": t.open_incidents.rows.iter().map(|i| json!({
                        "id": i.id,
                        "service": i.service,
                        "opened_at": rfc3339(i.opened_at),
                        "severity": i.severity,
                        "title": i.title,
                    })).collect::<Vec<_>>(),
                },
                "annotations": {
                    "total": t.annotations.total,
                    "rows": t.annotations.rows.iter().map(|a| json!({
                        "id": a.id.as_str(),
                        "at": rfc3339(a.at),
                        "text": a.text,
                        "service": a.service.as_ref().map(|s| s.as_str()),
                        "team": a.team,
                    })).collect::<Vec<_>>(),
                },
                "links": page.links,
            })
        })
        .collect();
    json!({
        "schema": "shiplog.digest.v1",
        "from": digest.period.from().to_string(),
        "to": digest.period.to().to_string(),
        "previous_from": digest.previous.from().to_string(),
        "previous_to": digest.previous.to().to_string(),
        "teams": teams,
    })
}

fn rfc3339(t: Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn counts(f: &Figures) -> Value {
    json!({
        "deployments": f.deployments,
        "deploy_days": f.deploy_days,
        "lead_time_samples": f.lead_time_samples,
        "lead_time_median_hours": f.lead_time_median_hours,
        "lead_time_p90_hours": f.lead_time_p90_hours,
        "failed_deployments": f.failed,
        "recovered_deployments": f.recovered,
        "recovery_median_hours": f.recovery_median_hours,
        "incidents": f.incidents,
        "resolved_incidents": f.resolved,
        "restore_median_hours": f.restore_median_hours,
        "rework_deployments": f.rework,
    })
}

fn tile_json(tile: &Tile) -> Value {
    let (amount, points, better, unavailable) = match &tile.change {
        Change::Delta {
            amount,
            points,
            better,
        } => (Some(*amount), Some(*points), *better, None),
        Change::Unavailable(reason) => (None, None, None, Some(reason.clone())),
    };
    json!({
        "metric": tile.metric.slug(),
        "title": tile.metric.title(),
        "unit": match tile.metric.unit() {
            Unit::PerDay => "per_day",
            Unit::Hours => "hours",
            Unit::Rate => "rate",
        },
        "value": tile.value,
        "previous": tile.previous,
        "level": tile.level.map(|l| l.as_str()),
        "samples": tile.samples,
        "change": {
            "amount": amount,
            "points": points,
            "better": better,
            "unavailable": unavailable,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_keeps_a_hostile_title_text() {
        let md = markdown("[click](http://evil.example) *now* @channel <b>");
        assert!(!md.contains("[click]("), "{md}");
        assert!(!md.contains("http://"), "{md}");
        assert!(!md.contains("@channel"), "{md}");
        assert!(md.contains("\\*now\\*"), "{md}");
        assert!(md.contains("\\<b\\>"), "{md}");
    }

    #[test]
    fn slack_text_cannot_mention_or_link() {
        let s = slack("<!channel> <@U123> <https://x|y> & @here");
        assert!(!s.contains('<') && !s.contains('>'), "{s}");
        assert!(s.contains("&lt;!channel&gt;") && s.contains("&amp;"), "{s}");
        assert!(!s.contains("@here"), "{s}");
    }

    #[test]
    fn control_characters_cannot_start_a_line_and_long_text_is_cut() {
        assert_eq!(plain("fix\n# heading"), "fix # heading");
        let long = "x".repeat(500);
        assert_eq!(plain(&long).chars().count(), MAX_TEXT + 1);
    }

    #[test]
    fn a_period_names_its_last_day() {
        let d = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
        assert_eq!(
            days_label(d("2026-02-09"), d("2026-02-16")),
            "2026-02-09 to 2026-02-15"
        );
        assert_eq!(days_label(d("2026-02-09"), d("2026-02-10")), "2026-02-09");
    }
}
