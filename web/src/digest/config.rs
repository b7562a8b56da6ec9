//! `[digest]` in the config file: where the dashboard is (for links), when the server
//! sends the digest (weekday, local time, IANA time zone), where it goes
//! (`[[digest.targets]]`), the SMTP server for email targets (`[digest.smtp]`) and the
//! retry policy. Every bad value is refused naming its key; webhook URLs and the SMTP
//! password are secrets (`SecretString`), never printed, and no refusal quotes them.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{NaiveTime, Weekday};
use chrono_tz::Tz;
use lettre::message::Mailbox;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The variable the SMTP password is read from (over `[digest.smtp] password`).
pub const SMTP_PASSWORD_ENV: &str = "SHIPLOG_SMTP_PASSWORD";

/// The digest's configuration; the default sends nothing and schedules nothing.
#[derive(Debug, Clone, Default)]
pub struct DigestConfig {
    /// The dashboard's public address, without a trailing `/`: the digest's links.
    pub dashboard_url: Option<String>,
    /// When the server sends it; `None`: only `shiplog digest send` does.
    pub schedule: Option<Schedule>,
    pub targets: Vec<Target>,
    pub smtp: Option<SmtpConfig>,
    pub retry: RetryPolicy,
}

/// A weekly time in a time zone: "Mondays at 08:00 in Europe/Oslo".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub weekday: Weekday,
    pub time: NaiveTime,
    pub timezone: Tz,
}

/// How often a send is tried and how long it waits between tries: `first_delay`, then
/// twice as long each time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            first_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt` (2, 3, …).
    pub fn delay_before(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(2).min(16);
        self.first_delay.saturating_mul(1 << doublings)
    }
}

/// One place the digest goes, for one team or (`team: None`) every team.
#[derive(Debug, Clone)]
pub struct Target {
    /// How logs and reports name it (`name`, else `slack #1`): never its URL.
    pub name: String,
    pub team: Option<String>,
    pub kind: TargetKind,
}

#[derive(Debug, Clone)]
pub enum TargetKind {
    /// A Slack incoming webhook: `{"text": …, "blocks": […]}` in mrkdwn.
    Slack { url: Endpoint },
    /// A Microsoft Teams incoming webhook (workflow or connector): an Adaptive Card.
    Teams { url: Endpoint },
    /// Any HTTP endpoint: the digest's data as JSON (`docs/digest.md` has the schema).
    Webhook { url: Endpoint },
    /// Email over `[digest.smtp]`: text and HTML.
    Email { to: Vec<Mailbox> },
}

/// A webhook's URL, or why it has none: a `url_env` naming a variable that is not
/// set is refused when the digest is sent (naming the key and the variable), not when
/// the config is read, so that `shiplog metrics` and the rest still run where only the
/// server has the digest's secrets.
#[derive(Debug, Clone)]
pub enum Endpoint {
    Url(SecretString),
    Missing(String),
}

impl TargetKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            TargetKind::Slack { .. } => "slack",
            TargetKind::Teams { .. } => "teams",
            TargetKind::Webhook { .. } => "webhook",
            TargetKind::Email { .. } => "email",
        }
    }
}

/// The SMTP server for email targets: STARTTLS always (a server that does not offer
/// it is refused before any credentials are sent), AUTH when a username is set.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub from: Mailbox,
    /// PEM certificates trusted beside the system's roots (a private CA).
    pub ca_file: Option<PathBuf>,
    pub ca_pem: Option<Vec<u8>>,
    pub timeout: Duration,
}

/// `[digest]` as the file writes it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDigest {
    dashboard_url: Option<String>,
    weekday: Option<String>,
    time: Option<String>,
    timezone: Option<String>,
    retry_attempts: Option<u32>,
    retry_delay_ms: Option<u64>,
    #[serde(default)]
    targets: Vec<FileTarget>,
    smtp: Option<FileSmtp>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTarget {
    kind: String,
    name: Option<String>,
    team: Option<String>,
    url: Option<String>,
    /// The variable holding the URL (a webhook URL is a secret).
    url_env: Option<String>,
    #[serde(default)]
    to: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSmtp {
    host: Option<String>,
    port: Option<u16>,
    username: Option<String>,
    password: Option<String>,
    from: Option<String>,
    ca_file: Option<PathBuf>,
    timeout_seconds: Option<u64>,
}

/// Parses a weekday: `monday` or `mon`, any case.
pub fn parse_weekday(raw: &str) -> Option<Weekday> {
    let lower = raw.trim().to_lowercase();
    [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ]
    .into_iter()
    .find(|d| {
        let full = match d {
            Weekday::Mon => "monday",
            Weekday::Tue => "tuesday",
            Weekday::Wed => "wednesday",
            Weekday::Thu => "thursday",
            Weekday::Fri => "friday",
            Weekday::Sat => "saturday",
            Weekday::Sun => "sunday",
        };
        lower == full || lower == full[..3]
    })
}

/// Parses `HH:MM` (24-hour, two digits each).
pub fn parse_time(raw: &str) -> Option<NaiveTime> {
    let (h, m) = raw.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, 0)
}

/// An `http(s)` URL, without saying what it is when it is not (it may be a secret).
fn http_url(key: &str, raw: &str) -> Result<SecretString, String> {
    match reqwest::Url::parse(raw.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            Ok(SecretString::from(raw.trim().to_owned()))
        }
        _ => Err(format!(
            "{key} is not an http:// or https:// URL (its value is not shown: a webhook URL is a secret)"
        )),
    }
}

impl FileDigest {
    /// The checked configuration; `env` gives the variables that `url_env` and
    /// [`SMTP_PASSWORD_ENV`] name.
    pub fn parse(self, env: &dyn Fn(&str) -> Option<String>) -> Result<DigestConfig, String> {
        let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let dashboard_url = match self.dashboard_url {
            None => None,
            Some(raw) => {
                let url = reqwest::Url::parse(raw.trim())
                    .map_err(|e| format!("digest.dashboard_url `{raw}` is not a URL: {e}"))?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(format!(
                        "digest.dashboard_url `{raw}` must start with http:// or https://"
                    ));
                }
                Some(raw.trim().trim_end_matches('/').to_owned())
            }
        };
        let schedule = match (self.weekday, self.time) {
            (None, None) => {
                if self.timezone.is_some() {
                    return Err(
                        "digest.timezone is set but digest.weekday and digest.time are not: \
                         set both to schedule the digest"
                            .into(),
                    );
                }
                None
            }
            (Some(_), None) => {
                return Err("digest.weekday is set without digest.time (\"HH:MM\")".into());
            }
            (None, Some(_)) => {
                return Err("digest.time is set without digest.weekday (e.g. \"monday\")".into());
            }
            (Some(weekday), Some(time)) => {
                let weekday = parse_weekday(&weekday).ok_or_else(|| {
                    format!("digest.weekday `{weekday}` is not a day: use monday … sunday")
                })?;
                let time = parse_time(&time).ok_or_else(|| {
                    format!("digest.time `{time}` is not a time of day as \"HH:MM\" (24-hour)")
                })?;
                let timezone = match self.timezone.as_deref() {
                    None => Tz::UTC,
                    Some(raw) => raw.trim().parse::<Tz>().map_err(|_| {
                        format!(
                            "digest.timezone `{raw}` is not an IANA time zone (e.g. \"Europe/Oslo\", \"UTC\")"
                        )
                    })?,
                };
                Some(Schedule {
                    weekday,
                    time,
                    timezone,
                })
            }
        };
        let mut retry = RetryPolicy::default();
        if let Some(attempts) = self.retry_attempts {
            if !(1..=10).contains(&attempts) {
                return Err(format!("digest.retry_attempts is {attempts}: use 1 to 10"));
            }
            retry.attempts = attempts;
        }
        if let Some(ms) = self.retry_delay_ms {
            if !(1..=600_000).contains(&ms) {
                return Err(format!(
                    "digest.retry_delay_ms is {ms}: use 1 to 600000 (ten minutes)"
                ));
            }
            retry.first_delay = Duration::from_millis(ms);
        }
        let smtp = self.smtp.map(|s| s.parse(&get)).transpose()?;
        let mut targets = Vec::with_capacity(self.targets.len());
        for (i, t) in self.targets.into_iter().enumerate() {
            let key = format!("digest.targets[{}]", i + 1);
            let url = |t: &FileTarget| -> Result<Endpoint, String> {
                match (&t.url, &t.url_env) {
                    (Some(_), Some(_)) => Err(format!("{key}: set url or url_env, not both")),
                    (Some(url), None) => http_url(&format!("{key}.url"), url).map(Endpoint::Url),
                    (None, Some(name)) => match get(name) {
                        Some(url) => {
                            http_url(&format!("{key}.url_env ({name})"), &url).map(Endpoint::Url)
                        }
                        None => Ok(Endpoint::Missing(format!(
                            "{key}.url_env names {name}, which is not set"
                        ))),
                    },
                    (None, None) => Err(format!(
                        "{key}: a {} target needs url or url_env (the variable holding its URL)",
                        t.kind
                    )),
                }
            };
            let kind = match t.kind.trim() {
                "slack" => TargetKind::Slack { url: url(&t)? },
                "teams" => TargetKind::Teams { url: url(&t)? },
                "webhook" => TargetKind::Webhook { url: url(&t)? },
                "email" => {
                    if t.url.is_some() || t.url_env.is_some() {
                        return Err(format!("{key}: an email target takes `to`, not a URL"));
                    }
                    if t.to.is_empty() {
                        return Err(format!("{key}: an email target needs `to` (addresses)"));
                    }
                    if smtp.is_none() {
                        return Err(format!(
                            "{key} is an email target but [digest.smtp] is not set"
                        ));
                    }
                    let to =
                        t.to.iter()
                            .map(|a| {
                                a.parse::<Mailbox>().map_err(|e| {
                                    format!("{key}.to: `{a}` is not an email address: {e}")
                                })
                            })
                            .collect::<Result<Vec<_>, _>>()?;
                    TargetKind::Email { to }
                }
                other => {
                    return Err(format!(
                        "{key}.kind `{other}`: use slack, teams, webhook or email"
                    ));
                }
            };
            if t.team.as_deref().is_some_and(|team| team.trim().is_empty()) {
                return Err(format!("{key}.team is empty: leave it out for every team"));
            }
            let name = t
                .name
                .unwrap_or_else(|| format!("{} #{}", kind.as_str(), i + 1));
            targets.push(Target {
                name,
                team: t.team,
                kind,
            });
        }
        Ok(DigestConfig {
            dashboard_url,
            schedule,
            targets,
            smtp,
            retry,
        })
    }
}

impl FileSmtp {
    fn parse(self, get: &dyn Fn(&str) -> Option<String>) -> Result<SmtpConfig, String> {
        let host = self
            .host
            .filter(|h| !h.trim().is_empty())
            .ok_or("digest.smtp.host is required")?;
        let from = self.from.ok_or("digest.smtp.from is required")?;
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| format!("digest.smtp.from `{from}` is not an email address: {e}"))?;
        let password = get(SMTP_PASSWORD_ENV)
            .or(self.password)
            .filter(|p| !p.is_empty())
            .map(SecretString::from);
        // A username without a password is refused when mail is sent (`send.rs`), not
        // here: the password is often only in the server's environment.
        if self.username.is_none() && password.is_some() {
            return Err("digest.smtp has a password but no username".into());
        }
        let ca_pem = match &self.ca_file {
            None => None,
            Some(path) => {
                let pem = std::fs::read(path).map_err(|e| {
                    format!(
                        "digest.smtp.ca_file {}: cannot read it: {e}",
                        path.display()
                    )
                })?;
                lettre::transport::smtp::client::Certificate::from_pem(&pem).map_err(|e| {
                    format!(
                        "digest.smtp.ca_file {} is not a PEM certificate: {e}",
                        path.display()
                    )
                })?;
                Some(pem)
            }
        };
        let timeout = match self.timeout_seconds {
            None => Duration::from_secs(30),
            Some(0) => return Err("digest.smtp.timeout_seconds must be at least 1".into()),
            Some(s) => Duration::from_secs(s.min(600)),
        };
        Ok(SmtpConfig {
            host: host.trim().to_owned(),
            port: self.port.unwrap_or(587),
            username: self.username,
            password,
            from,
            ca_file: self.ca_file,
            ca_pem,
            timeout,
        })
    }
}

/// A target's URL, for sending only.
pub(crate) fn expose(url: &SecretString) -> &str {
    url.expose_secret()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, env: &[(&str, &str)]) -> Result<DigestConfig, String> {
        let file: FileDigest = toml::from_str(text).map_err(|e| e.to_string())?;
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        file.parse(&move |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn a_full_digest_section_parses() {
        let c = parse(
            "dashboard_url = \"https://shiplog.example.com/\"\nweekday = \"Monday\"\n\
             time = \"08:30\"\ntimezone = \"Europe/Oslo\"\n\
             [[targets]]\nkind = \"slack\"\nurl_env = \"SLACK_URL\"\nteam = \"payments\"\n\
             [[targets]]\nkind = \"email\"\nto = [\"Payments <payments@example.com>\"]\n\
             [smtp]\nhost = \"smtp.example.com\"\nusername = \"shiplog\"\nfrom = \"shiplog@example.com\"\n",
            &[("SLACK_URL", "https://hooks.slack.com/services/T/B/x"), (SMTP_PASSWORD_ENV, "pw")],
        )
        .unwrap();
        assert_eq!(
            c.dashboard_url.as_deref(),
            Some("https://shiplog.example.com")
        );
        let s = c.schedule.unwrap();
        assert_eq!(
            (s.weekday, s.time.to_string(), s.timezone),
            (Weekday::Mon, "08:30:00".into(), Tz::Europe__Oslo)
        );
        assert_eq!(c.targets.len(), 2);
        assert_eq!(c.targets[0].name, "slack #1");
        assert_eq!(c.targets[0].team.as_deref(), Some("payments"));
        assert!(matches!(&c.targets[1].kind, TargetKind::Email { to } if to.len() == 1));
        let smtp = c.smtp.unwrap();
        assert_eq!(smtp.port, 587);
        assert_eq!(
            smtp.password
                .as_ref()
                .map(|p| p.expose_secret().to_owned())
                .as_deref(),
            Some("pw")
        );
    }

    #[test]
    fn every_bad_value_names_its_key() {
        let cases: [(&str, &str); 10] = [
            ("weekday = \"someday\"\ntime = \"08:00\"", "digest.weekday"),
            ("weekday = \"mon\"\ntime = \"8:00\"", "digest.time"),
            ("weekday = \"mon\"\ntime = \"25:00\"", "digest.time"),
            (
                "weekday = \"mon\"\ntime = \"08:00\"\ntimezone = \"Mars/Olympus\"",
                "digest.timezone",
            ),
            ("weekday = \"mon\"", "digest.time"),
            ("dashboard_url = \"ftp://x\"", "digest.dashboard_url"),
            (
                "[[targets]]\nkind = \"pager\"\nurl = \"https://x\"",
                "digest.targets[1].kind",
            ),
            ("[[targets]]\nkind = \"slack\"", "digest.targets[1]"),
            (
                "[[targets]]\nkind = \"email\"\nto = [\"a@example.com\"]",
                "[digest.smtp]",
            ),
            ("retry_attempts = 0", "digest.retry_attempts"),
        ];
        for (text, key) in cases {
            let e = parse(text, &[]).unwrap_err();
            assert!(e.contains(key), "{text:?}: {e}");
        }
    }

    #[test]
    fn a_bad_secret_url_is_refused_without_being_quoted() {
        let e = parse(
            "[[targets]]\nkind = \"webhook\"\nurl_env = \"HOOK\"",
            &[("HOOK", "hunter2-not-a-url")],
        )
        .unwrap_err();
        assert!(e.contains("digest.targets[1].url_env (HOOK)"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        let c = parse("[[targets]]\nkind = \"webhook\"\nurl_env = \"HOOK\"", &[]).unwrap();
        let TargetKind::Webhook {
            url: Endpoint::Missing(why),
        } = &c.targets[0].kind
        else {
            panic!("{:?}", c.targets[0].kind)
        };
        assert!(
            why.contains("digest.targets[1].url_env names HOOK"),
            "{why}"
        );
        let c = parse(
            "[[targets]]\nkind = \"teams\"\nurl = \"https://example.webhook.office.com/x\"",
            &[],
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("office.com"));
    }

    #[test]
    fn the_backoff_doubles_from_the_first_delay() {
        let r = RetryPolicy {
            attempts: 4,
            first_delay: Duration::from_millis(100),
        };
        let waits: Vec<u128> = (2..=4).map(|a| r.delay_before(a).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400]);
    }
}
