//! The SPEC §2 objects of `events`, written straight into a line of text: byte for byte
//! what `serde_json` prints for `events`' values (keys in sorted order, as its default
//! map keeps them), without building a value first.
//!
//! The scale generator writes tens of millions of events; building a `Value` (a map and
//! a `String` per field) and then printing it cost more than the simulation itself.
//! Keeping the bytes identical means one set of tests pins both forms.

use crate::calendar::push_rfc3339;
use crate::events::{Blame, Build, Commit, Deployment, Incident, PullRequest, status};

/// One JSON object being written: keys must come in sorted order.
struct Object<'l> {
    line: &'l mut String,
    empty: bool,
}

impl<'l> Object<'l> {
    fn open(line: &'l mut String) -> Self {
        line.push('{');
        Self { line, empty: true }
    }

    fn key(&mut self, key: &str) -> &mut String {
        if !self.empty {
            self.line.push(',');
        }
        self.empty = false;
        push_str(self.line, key);
        self.line.push(':');
        self.line
    }

    fn str(&mut self, key: &str, value: &str) {
        push_str(self.key(key), value);
    }

    fn time(&mut self, key: &str, t: i64) {
        let line = self.key(key);
        line.push('"');
        push_rfc3339(line, t);
        line.push('"');
    }

    fn raw(&mut self, key: &str, text: &str) {
        self.key(key).push_str(text);
    }

    fn close(self) {
        self.line.push('}');
    }
}

/// A JSON string, escaped as `serde_json` escapes it: `"`, `\` and control characters
/// only, with the short forms where JSON has them.
fn push_str(line: &mut String, text: &str) {
    line.push('"');
    for c in text.chars() {
        match c {
            '"' => line.push_str("\\\""),
            '\\' => line.push_str("\\\\"),
            '\u{8}' => line.push_str("\\b"),
            '\u{c}' => line.push_str("\\f"),
            '\n' => line.push_str("\\n"),
            '\r' => line.push_str("\\r"),
            '\t' => line.push_str("\\t"),
            c if c < ' ' => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let b = c as u8;
                line.push_str("\\u00");
                line.push(char::from(HEX[usize::from(b >> 4)]));
                line.push(char::from(HEX[usize::from(b & 0xf)]));
            }
            c => line.push(c),
        }
    }
    line.push('"');
}

fn push_u64(line: &mut String, n: u64) {
    let mut digits = [0_u8; 20];
    let mut at = digits.len();
    let mut v = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    line.extend(digits[at..].iter().map(|&b| char::from(b)));
}

fn pr(line: &mut String, pr: &PullRequest) {
    let mut o = Object::open(line);
    o.time("first_commit_at", pr.first_commit_at);
    o.time("merged_at", pr.merged_at);
    push_u64(o.key("number"), pr.number);
    o.time("opened_at", pr.opened_at);
    o.close();
}

pub(crate) fn change(line: &mut String, commit: &Commit<'_>) {
    let mut o = Object::open(line);
    o.str("author", commit.author);
    o.time("authored_at", commit.authored_at);
    o.time("committed_at", commit.committed_at);
    o.str("message", &commit.message);
    let parents = o.key("parents");
    parents.push('[');
    for (i, parent) in commit.parents.iter().enumerate() {
        if i > 0 {
            parents.push(',');
        }
        push_str(parents, parent);
    }
    parents.push(']');
    if let Some(p) = &commit.pr {
        pr(o.key("pr"), p);
    }
    o.str("repo", commit.repo);
    o.str("sha", &commit.sha);
    o.str("type", "change");
    o.close();
}

pub(crate) fn pr_update(
    line: &mut String,
    repo: &str,
    sha: &str,
    committed_at: i64,
    pull_request: &PullRequest,
) {
    let mut o = Object::open(line);
    o.time("committed_at", committed_at);
    pr(o.key("pr"), pull_request);
    o.str("repo", repo);
    o.str("sha", sha);
    o.str("type", "change");
    o.close();
}

pub(crate) fn deployment(line: &mut String, d: &Deployment<'_>) {
    let mut o = Object::open(line);
    o.str("environment", d.environment);
    o.time("finished_at", d.finished_at);
    o.str("id", d.id);
    o.str("repo", d.repo);
    o.str("service", d.service);
    o.str("sha", d.sha);
    o.time("started_at", d.started_at);
    o.str("status", status(d.succeeded));
    o.str("team", d.team);
    o.str("type", "deployment");
    o.close();
}

pub(crate) fn incident_opened(line: &mut String, incident: &Incident<'_>) {
    let mut o = Object::open(line);
    if let Blame::Deployment(id) = &incident.blame {
        o.str("deployment_id", id);
    }
    o.str("id", &incident.id);
    o.time("opened_at", incident.opened_at);
    o.raw("resolved_at", "null");
    o.str("service", incident.service);
    o.str("severity", incident.severity);
    if let Blame::Sha(sha) = &incident.blame {
        o.str("sha", sha);
    }
    o.str("title", incident.title);
    o.str("type", "incident");
    o.close();
}

pub(crate) fn incident_resolved(line: &mut String, incident: &Incident<'_>, resolved_at: i64) {
    let mut o = Object::open(line);
    o.str("id", &incident.id);
    o.time("opened_at", incident.opened_at);
    o.time("resolved_at", resolved_at);
    o.str("service", incident.service);
    o.str("type", "incident");
    o.close();
}

pub(crate) fn build(line: &mut String, b: &Build<'_>) {
    let mut o = Object::open(line);
    o.str("branch", b.branch);
    o.time("finished_at", b.finished_at);
    o.str("id", &b.id);
    o.str("provider", "github-actions");
    o.str("repo", b.repo);
    o.str("sha", b.sha);
    o.time("started_at", b.started_at);
    o.str("status", status(b.succeeded));
    o.str("type", "build");
    o.close();
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use crate::events::{self, Blame, Build, Commit, Deployment, Incident, PullRequest};

    const T: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

    fn line(write: impl FnOnce(&mut String)) -> String {
        let mut line = String::new();
        write(&mut line);
        line
    }

    fn commit(pr: Option<PullRequest>, parents: usize) -> Commit<'static> {
        Commit {
            repo: "org/svc-0001",
            sha: "a".repeat(40),
            parents: (0..parents).map(|i| format!("{i:040}")).collect(),
            committed_at: T + 3_600,
            authored_at: T + 60,
            author: "ana.lopez",
            message: "say \"hi\" \\ to\tall\n\u{1}ünïcode".to_owned(),
            pr,
        }
    }

    fn pull_request() -> PullRequest {
        PullRequest {
            number: 1_234,
            first_commit_at: T - 7_200,
            opened_at: T - 100,
            merged_at: T + 3_600,
        }
    }

    #[test]
    fn changes_are_written_as_serde_json_prints_them() {
        for c in [
            commit(None, 0),
            commit(None, 1),
            commit(Some(pull_request()), 2),
        ] {
            assert_eq!(
                line(|l| super::change(l, &c)),
                events::change(&c).value.to_string()
            );
        }
        let (repo, sha, pr) = ("org/svc-0002", "b".repeat(40), pull_request());
        assert_eq!(
            line(|l| super::pr_update(l, repo, &sha, T, &pr)),
            events::pr_update(repo, &sha, T, &pr).value.to_string()
        );
    }

    #[test]
    fn deployments_and_builds_are_written_as_serde_json_prints_them() {
        for succeeded in [true, false] {
            let d = Deployment {
                id: "argo-svc-0001-17",
                service: "svc-0001",
                environment: "staging",
                repo: "org/svc-0001",
                sha: "c0ffee",
                succeeded,
                started_at: T,
                finished_at: T + 400,
                team: "team-01",
            };
            let written = line(|l| super::deployment(l, &d));
            assert_eq!(written, events::deployment(&d).value.to_string());
            let b = Build {
                id: "ci-9".to_owned(),
                repo: "org/svc-0001",
                sha: "c0ffee",
                succeeded,
                branch: "main",
                started_at: T,
                finished_at: T + 500,
            };
            let written = line(|l| super::build(l, &b));
            assert_eq!(written, events::build(&b).value.to_string());
        }
    }

    #[test]
    fn incidents_are_written_as_serde_json_prints_them() {
        for blame in [
            Blame::Deployment("gha-1".to_owned()),
            Blame::Sha("d".repeat(40)),
            Blame::Unknown,
        ] {
            let i = Incident {
                id: "PD-7".to_owned(),
                service: "svc-0003",
                opened_at: T,
                severity: "sev2",
                title: "error rate elevated",
                blame,
            };
            let opened = line(|l| super::incident_opened(l, &i));
            assert_eq!(opened, events::incident_opened(&i).value.to_string());
            let resolved = line(|l| super::incident_resolved(l, &i, T + 90));
            assert_eq!(
                resolved,
                events::incident_resolved(&i, T + 90).value.to_string()
            );
        }
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let every: String = (0_u32..0x80)
            .filter_map(char::from_u32)
            .chain("é€😀".chars())
            .collect();
        let written = line(|l| super::push_str(l, &every));
        assert_eq!(written, Value::from(every.as_str()).to_string());
        for n in [0, 7, 10, 99, 1_000, u64::MAX] {
            assert_eq!(line(|l| super::push_u64(l, n)), n.to_string());
        }
    }
}
