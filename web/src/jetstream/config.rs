//! `[nats]` in the config file, and `SHIPLOG_NATS_*` over it: where JetStream is, the
//! stream and consumer names, and the bounds of publishing and consuming. Without it
//! (no table, no `SHIPLOG_NATS_URL`) `shiplog serve` runs no consumer and `shiplog
//! ingest` refuses to start.

use std::num::{NonZeroU64, NonZeroUsize};
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use crate::config::ConfigError;

pub const DEFAULT_STREAM: &str = "SHIPLOG";
pub const DEFAULT_SUBJECT: &str = "shiplog.deliveries";
pub const DEFAULT_CONSUMER: &str = "shiplog-writer";
/// JetStream's own default: a sender's retry within two minutes is recognised by the
/// stream; an older repeat by the raw log's key, when the writer stores it.
pub const DEFAULT_DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// JetStream's own default.
pub const DEFAULT_ACK_WAIT: Duration = Duration::from_secs(30);
pub const DEFAULT_PUBLISH_TIMEOUT: Duration = Duration::from_secs(5);

/// How Shiplog uses JetStream (`docs/scaling.md`).
#[derive(Debug, Clone)]
pub struct NatsConfig {
    /// One server URL or several, comma-separated (`nats://a:4222,nats://b:4222`).
    pub url: String,
    pub stream: String,
    /// The one subject replicas publish to and the stream captures.
    pub subject: String,
    /// The durable consumer `shiplog serve` pulls with.
    pub consumer: String,
    /// The stream's window for `Nats-Msg-Id` deduplication.
    pub duplicate_window: Duration,
    /// How long JetStream waits for the writer's ack before it delivers a message
    /// again (after a crash of `shiplog serve`, its messages come back after this).
    pub ack_wait: Duration,
    /// How long a replica waits for JetStream's acknowledgement before it answers
    /// `503`.
    pub publish_timeout: Duration,
    /// Copies of the stream in a NATS cluster (1 to 5), when Shiplog creates it.
    pub stream_replicas: usize,
    pub user: Option<String>,
    /// `SHIPLOG_NATS_PASSWORD`, with `user`.
    pub password: Option<SecretString>,
    /// `SHIPLOG_NATS_TOKEN`.
    pub token: Option<SecretString>,
}

/// The `[nats]` table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileNats {
    url: Option<String>,
    stream: Option<String>,
    subject: Option<String>,
    consumer: Option<String>,
    duplicate_window_seconds: Option<NonZeroU64>,
    ack_wait_seconds: Option<NonZeroU64>,
    publish_timeout_seconds: Option<NonZeroU64>,
    stream_replicas: Option<NonZeroUsize>,
    user: Option<String>,
    password: Option<String>,
    token: Option<String>,
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// A stream's or consumer's name: JetStream refuses these characters in names (they
/// would make its API subjects ambiguous).
fn name(key: &str, value: Option<String>, default: &str) -> Result<String, String> {
    let value = non_empty(value).unwrap_or_else(|| default.to_owned());
    let bad = |c: char| c.is_whitespace() || matches!(c, '.' | '*' | '>' | '/' | '\\');
    if value.contains(bad) || value.len() > 255 {
        return Err(format!(
            "[nats] {key} = {value:?}: a JetStream name has at most 255 characters and no \
             spaces, `.`, `*`, `>`, `/` or `\\`"
        ));
    }
    Ok(value)
}

/// The subject: dot-separated tokens, none empty, no wildcard (a replica publishes
/// to it).
fn subject(value: Option<String>) -> Result<String, String> {
    let value = non_empty(value).unwrap_or_else(|| DEFAULT_SUBJECT.to_owned());
    let valid = value
        .split('.')
        .all(|token| !token.is_empty() && !token.contains(char::is_whitespace))
        && !value.split('.').any(|token| token == "*" || token == ">");
    if !valid {
        return Err(format!(
            "[nats] subject = {value:?}: give one subject, dot-separated tokens without \
             spaces or wildcards (`shiplog.deliveries`)"
        ));
    }
    Ok(value)
}

impl NatsConfig {
    /// The table as given; an error names the key. `url` may still come from
    /// `SHIPLOG_NATS_URL` ([`apply_env`] checks it is set).
    pub fn from_file(file: FileNats) -> Result<NatsConfig, String> {
        let seconds = |value: Option<NonZeroU64>, default: Duration| {
            value.map_or(default, |s| Duration::from_secs(s.get()))
        };
        let stream_replicas = file.stream_replicas.map_or(1, NonZeroUsize::get);
        if stream_replicas > 5 {
            return Err(format!(
                "[nats] stream_replicas = {stream_replicas}: JetStream keeps 1 to 5 copies"
            ));
        }
        Ok(NatsConfig {
            url: non_empty(file.url).unwrap_or_default(),
            stream: name("stream", file.stream, DEFAULT_STREAM)?,
            subject: subject(file.subject)?,
            consumer: name("consumer", file.consumer, DEFAULT_CONSUMER)?,
            duplicate_window: seconds(file.duplicate_window_seconds, DEFAULT_DUPLICATE_WINDOW),
            ack_wait: seconds(file.ack_wait_seconds, DEFAULT_ACK_WAIT),
            publish_timeout: seconds(file.publish_timeout_seconds, DEFAULT_PUBLISH_TIMEOUT),
            stream_replicas,
            user: non_empty(file.user),
            password: non_empty(file.password).map(SecretString::from),
            token: non_empty(file.token).map(SecretString::from),
        })
    }
}

/// `SHIPLOG_NATS_URL` (which turns JetStream on with the defaults when the file has
/// no `[nats]`), `SHIPLOG_NATS_TOKEN` and `SHIPLOG_NATS_PASSWORD` over the file.
pub fn apply_env(
    nats: &mut Option<NatsConfig>,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    if let Some(url) = get("SHIPLOG_NATS_URL") {
        let config = match nats.take() {
            Some(config) => config,
            None => NatsConfig::from_file(FileNats::default()).expect("the defaults are valid"),
        };
        *nats = Some(NatsConfig {
            url: url.trim().to_owned(),
            ..config
        });
    }
    let Some(config) = nats else {
        return Ok(());
    };
    if config.url.is_empty() {
        return Err(ConfigError::Env {
            name: "SHIPLOG_NATS_URL",
            value: String::new(),
            message: "[nats] needs a server: set `url` in the file or SHIPLOG_NATS_URL".into(),
        });
    }
    if let Some(token) = get("SHIPLOG_NATS_TOKEN") {
        config.token = Some(SecretString::from(token));
    }
    if let Some(password) = get("SHIPLOG_NATS_PASSWORD") {
        config.password = Some(SecretString::from(password));
    }
    if config.password.is_some() && config.user.is_none() {
        return Err(ConfigError::Env {
            name: "SHIPLOG_NATS_PASSWORD",
            value: "(hidden)".into(),
            message: "a NATS password needs `user` in [nats]".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Option<NatsConfig>, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shiplog.toml");
        std::fs::write(&path, text).unwrap();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        crate::config::Config::load(Some(path.as_path()), |name| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
        .map(|c| c.nats)
        .map_err(|e| e.to_string())
    }

    #[test]
    fn no_table_and_no_url_is_no_jetstream() {
        assert!(load("", &[]).unwrap().is_none());
        assert!(load("", &[("SHIPLOG_NATS_TOKEN", "t")]).unwrap().is_none());
    }

    #[test]
    fn the_url_alone_turns_it_on_with_the_defaults() {
        let nats = load("", &[("SHIPLOG_NATS_URL", "nats://nats:4222")])
            .unwrap()
            .unwrap();
        assert_eq!(nats.url, "nats://nats:4222");
        assert_eq!(
            (
                nats.stream.as_str(),
                nats.subject.as_str(),
                nats.consumer.as_str()
            ),
            (DEFAULT_STREAM, DEFAULT_SUBJECT, DEFAULT_CONSUMER)
        );
        assert_eq!(nats.duplicate_window, DEFAULT_DUPLICATE_WINDOW);
        assert_eq!(nats.stream_replicas, 1);
    }

    #[test]
    fn the_table_is_read_and_the_environment_wins() {
        let nats = load(
            "[nats]\nurl = \"nats://a:4222\"\nstream = \"INGEST\"\nsubject = \"acme.shiplog\"\n\
             consumer = \"w\"\nduplicate_window_seconds = 600\nack_wait_seconds = 5\n\
             stream_replicas = 3\n",
            &[
                ("SHIPLOG_NATS_URL", "nats://b:4222"),
                ("SHIPLOG_NATS_TOKEN", "s3cret"),
            ],
        )
        .unwrap()
        .unwrap();
        assert_eq!(nats.url, "nats://b:4222");
        assert_eq!(nats.stream, "INGEST");
        assert_eq!(nats.subject, "acme.shiplog");
        assert_eq!(nats.consumer, "w");
        assert_eq!(nats.duplicate_window, Duration::from_secs(600));
        assert_eq!(nats.ack_wait, Duration::from_secs(5));
        assert_eq!(nats.stream_replicas, 3);
        assert!(nats.token.is_some());
        assert!(!format!("{nats:?}").contains("s3cret"));
    }

    #[test]
    fn bad_values_are_named() {
        for (text, named) in [
            ("[nats]\nurl = \"n\"\nstream = \"a.b\"\n", "stream"),
            ("[nats]\nurl = \"n\"\nsubject = \"shiplog.>\"\n", "subject"),
            ("[nats]\nurl = \"n\"\nsubject = \"a..b\"\n", "subject"),
            (
                "[nats]\nurl = \"n\"\nstream_replicas = 7\n",
                "stream_replicas",
            ),
            (
                "[nats]\nurl = \"n\"\nduplicate_window_seconds = 0\n",
                "duplicate_window_seconds",
            ),
            ("[nats]\nurl = \"n\"\nqueue = 1\n", "queue"),
            ("[nats]\nstream = \"S\"\n", "SHIPLOG_NATS_URL"),
        ] {
            let e = load(text, &[]).unwrap_err();
            assert!(e.contains(named), "{text:?}: {e}");
        }
        let e = load(
            "[nats]\nurl = \"n\"\n",
            &[("SHIPLOG_NATS_PASSWORD", "hunter2")],
        )
        .unwrap_err();
        assert!(e.contains("user") && !e.contains("hunter2"), "{e}");
    }
}
