//! GET requests to GitHub's REST API: octocrab does the HTTP (base URI, token,
//! timeouts), and [`Api`] decides what to do with each answer — wait out a rate limit,
//! try a server error again after a pause, or stop with a message that says what
//! happened.
//!
//! octocrab's own retry layer is switched off (`RetryConfig::None`). Its default
//! (`Simple(3)`) retries `5xx` and `429` at once, without waiting, and passes a `403`
//! rate limit through; its `HandleRateLimits` does wait, but sleeps inside the client
//! where no progress bar can show it, with no upper bound, and on the real clock. Here
//! the wait is shown, bounded (`max_wait`, past which the run stops and resumes
//! later), and taken on a [`Clock`] that tests replace.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use octocrab::Octocrab;
use octocrab::service::middleware::retry::RetryConfig;
use serde_json::Value;
use shiplog_model::Timestamp;

use super::rate_limit::{Clock, Wait, wait_for};

/// The headers [`Api`] reads from an answer.
const READ_HEADERS: [&str; 4] = [
    "retry-after",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "link",
];

/// One answer as the policy sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// The headers of [`READ_HEADERS`] that were present, names lower-case.
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

/// Sends one GET; an `Err` is a request that got no answer (connection refused or
/// lost, timeout), with the reason.
pub trait Transport: Send + Sync {
    fn get(&self, path_and_query: &str) -> impl Future<Output = Result<Answer, String>> + Send;
}

/// Why a request failed for good.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("cannot set up a GitHub client for {url}: {detail}")]
    Setup { url: String, detail: String },
    #[error("GET {path} answered {status}: {message}")]
    Status {
        path: String,
        status: u16,
        message: String,
    },
    #[error("GET {path} got no answer: {detail}")]
    Transport { path: String, detail: String },
    #[error("GET {path} answered something that is not {expected}: {detail}")]
    Body {
        path: String,
        expected: &'static str,
        detail: String,
    },
    #[error(
        "GET {path}: {reason} until {} UTC, later than the longest wait allowed ({}s)",
        .until.format("%Y-%m-%d %H:%M:%S"),
        .max_wait.as_secs()
    )]
    RateLimited {
        path: String,
        reason: &'static str,
        until: Timestamp,
        max_wait: Duration,
    },
}

impl ApiError {
    /// The HTTP status, when the API answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// What to do with errors and rate limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Times a request is sent again after a `5xx` or no answer, waiting 1 s, 2 s,
    /// 4 s, … between tries.
    pub retries: u32,
    /// The longest rate-limit wait taken; a longer one stops the run (to resume later).
    pub max_wait: Duration,
    /// Rate-limit waits in a row for one request before giving up: a server that
    /// keeps saying "wait" with a reset in the past would otherwise be asked forever.
    pub max_rate_limit_waits: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            retries: 3,
            max_wait: Duration::from_secs(3600),
            max_rate_limit_waits: 5,
        }
    }
}

/// Told about each wait before it is taken, for a progress bar.
pub trait Observer: Sync {
    fn waiting(&self, _wait: &Wait) {}
}

/// A JSON answer and whether the list goes on (`Link: …; rel="next"`).
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched {
    pub body: Value,
    pub has_next: bool,
}

/// The REST API behind a [`Transport`], with the [`Policy`] applied on a [`Clock`].
#[derive(Debug)]
pub struct Api<T, C> {
    transport: T,
    clock: C,
    policy: Policy,
    requests: AtomicU64,
    waits: AtomicU64,
}

impl<T: Transport, C: Clock> Api<T, C> {
    pub fn new(transport: T, clock: C, policy: Policy) -> Self {
        Api {
            transport,
            clock,
            policy,
            requests: AtomicU64::new(0),
            waits: AtomicU64::new(0),
        }
    }

    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// Requests sent so far, retries included.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Rate-limit and retry pauses taken so far.
    pub fn waits(&self) -> u64 {
        self.waits.load(Ordering::Relaxed)
    }

    /// GETs `path` (path and query, relative to the API's base) as JSON.
    pub async fn get(&self, path: &str, observer: &dyn Observer) -> Result<Fetched, ApiError> {
        let mut failures = 0u32;
        let mut limited = 0u32;
        loop {
            self.requests.fetch_add(1, Ordering::Relaxed);
            let problem = match self.transport.get(path).await {
                Ok(answer) if (200..300).contains(&answer.status) => {
                    let body = serde_json::from_str(&answer.body).map_err(|e| ApiError::Body {
                        path: path.to_owned(),
                        expected: "JSON",
                        detail: e.to_string(),
                    })?;
                    return Ok(Fetched {
                        body,
                        has_next: has_next(answer.headers.get("link").map(String::as_str)),
                    });
                }
                Ok(answer) => {
                    let now = self.clock.now();
                    if let Some(wait) = wait_for(answer.status, &answer.headers, &answer.body, now)
                    {
                        limited += 1;
                        if wait.duration > self.policy.max_wait
                            || limited > self.policy.max_rate_limit_waits
                        {
                            return Err(ApiError::RateLimited {
                                path: path.to_owned(),
                                reason: wait.reason,
                                until: wait.until,
                                max_wait: self.policy.max_wait,
                            });
                        }
                        self.pause(wait, observer).await;
                        continue;
                    }
                    let error = ApiError::Status {
                        path: path.to_owned(),
                        status: answer.status,
                        message: github_message(&answer.body),
                    };
                    if answer.status < 500 {
                        return Err(error);
                    }
                    error
                }
                Err(detail) => ApiError::Transport {
                    path: path.to_owned(),
                    detail,
                },
            };
            failures += 1;
            if failures > self.policy.retries {
                return Err(problem);
            }
            let duration = retry_pause(failures);
            let until = self.clock.now()
                + chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::zero());
            tracing::info!(%problem, ?duration, "retrying");
            self.pause(
                Wait {
                    duration,
                    until,
                    reason: "server error, trying again",
                },
                observer,
            )
            .await;
        }
    }

    async fn pause(&self, wait: Wait, observer: &dyn Observer) {
        self.waits.fetch_add(1, Ordering::Relaxed);
        observer.waiting(&wait);
        if !wait.duration.is_zero() {
            self.clock.sleep(wait.duration).await;
        }
    }
}

/// The pause before try `n + 1` after `n` failures: 1 s, 2 s, 4 s, … at most a minute.
pub fn retry_pause(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.saturating_sub(1).min(6)).min(Duration::from_secs(60))
}

/// Whether a `Link` header names a next page.
pub fn has_next(link: Option<&str>) -> bool {
    link.is_some_and(|link| {
        link.split(',')
            .any(|part| part.split(';').skip(1).any(|p| p.trim() == "rel=\"next\""))
    })
}

/// GitHub's `message` from an error body, else the body itself (shortened).
fn github_message(body: &str) -> String {
    let message = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned));
    match message {
        Some(m) => m,
        None if body.trim().is_empty() => "no message".to_owned(),
        None => body.trim().chars().take(200).collect(),
    }
}

/// The real transport: octocrab pointed at `api_url` (GitHub's, or a GitHub
/// Enterprise Server's `https://HOST/api/v3`, or a local server in tests; plain
/// `http` works, as hyper-rustls is built with `https_or_http`).
#[derive(Debug)]
pub struct Octo {
    client: Octocrab,
}

impl Octo {
    pub fn new(api_url: &str, token: Option<String>) -> Result<Octo, ApiError> {
        let setup = |detail: String| ApiError::Setup {
            url: api_url.to_owned(),
            detail,
        };
        let mut builder = Octocrab::builder()
            .base_uri(api_url)
            .map_err(|e| setup(error_chain(&e)))?
            .add_retry_config(RetryConfig::None)
            .set_connect_timeout(Some(Duration::from_secs(20)))
            .set_read_timeout(Some(Duration::from_secs(120)));
        if let Some(token) = token.filter(|t| !t.trim().is_empty()) {
            builder = builder.personal_token(token);
        }
        let client = builder.build().map_err(|e| setup(error_chain(&e)))?;
        Ok(Octo { client })
    }
}

impl Transport for Octo {
    async fn get(&self, path_and_query: &str) -> Result<Answer, String> {
        // A path without scheme and host: octocrab joins it to the base URI and adds
        // the token only to such requests.
        let response = self
            .client
            ._get(path_and_query)
            .await
            .map_err(|e| error_chain(&e))?;
        let status = response.status().as_u16();
        let headers = READ_HEADERS
            .iter()
            .filter_map(|name| {
                let value = response.headers().get(*name)?.to_str().ok()?;
                Some(((*name).to_owned(), value.to_owned()))
            })
            .collect();
        let body = self
            .client
            .body_to_string(response)
            .await
            .map_err(|e| error_chain(&e))?;
        Ok(Answer {
            status,
            headers,
            body,
        })
    }
}

/// An error and its sources, on one line: octocrab's own messages are terse
/// ("Service error") and the cause is further down.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use super::*;
    use shiplog_model::parse_timestamp;

    /// Answers from a script, in order, and records each request.
    struct Script {
        answers: Mutex<VecDeque<Result<Answer, String>>>,
        asked: Mutex<Vec<String>>,
    }

    impl Script {
        fn new(answers: Vec<Result<Answer, String>>) -> Script {
            Script {
                answers: Mutex::new(answers.into()),
                asked: Mutex::new(Vec::new()),
            }
        }
    }

    impl Transport for Script {
        async fn get(&self, path: &str) -> Result<Answer, String> {
            self.asked.lock().unwrap().push(path.to_owned());
            self.answers
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or_else(|| Err("no more answers".into()))
        }
    }

    /// A clock that stands still and records the sleeps asked of it.
    struct Still {
        now: Timestamp,
        slept: Mutex<Vec<Duration>>,
    }

    impl Clock for Still {
        fn now(&self) -> Timestamp {
            self.now
        }

        async fn sleep(&self, duration: Duration) {
            self.slept.lock().unwrap().push(duration);
        }
    }

    struct Quiet;
    impl Observer for Quiet {}

    fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> Result<Answer, String> {
        Ok(Answer {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: body.to_owned(),
        })
    }

    fn api(answers: Vec<Result<Answer, String>>, policy: Policy) -> Api<Script, Still> {
        Api::new(
            Script::new(answers),
            Still {
                now: parse_timestamp("2026-03-11T12:00:00Z").unwrap(),
                slept: Mutex::new(Vec::new()),
            },
            policy,
        )
    }

    #[tokio::test]
    async fn rate_limit_waits_until_the_reset_then_asks_again() {
        let api = api(
            vec![
                answer(
                    403,
                    &[
                        ("x-ratelimit-remaining", "0"),
                        ("x-ratelimit-reset", "1773230460"),
                    ],
                    r#"{"message":"API rate limit exceeded for user ID 1."}"#,
                ),
                answer(200, &[], "[]"),
            ],
            Policy::default(),
        );
        let fetched = api
            .get("/repos/acme/shop/deployments", &Quiet)
            .await
            .unwrap();
        assert_eq!(fetched.body, serde_json::json!([]));
        assert_eq!(
            *api.clock.slept.lock().unwrap(),
            vec![Duration::from_secs(61)]
        );
        assert_eq!(api.requests(), 2);
    }

    #[tokio::test]
    async fn a_wait_past_the_limit_stops_with_the_reset_time() {
        let api = api(
            vec![answer(
                429,
                &[
                    ("x-ratelimit-remaining", "0"),
                    ("x-ratelimit-reset", "1773234000"),
                ],
                "",
            )],
            Policy {
                max_wait: Duration::from_secs(600),
                ..Policy::default()
            },
        );
        let error = api.get("/x", &Quiet).await.unwrap_err();
        assert!(
            error.to_string().contains("until 2026-03-11 13:00:01 UTC"),
            "{error}"
        );
        assert!(api.clock.slept.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn server_errors_are_tried_again_after_growing_pauses() {
        let api = api(
            vec![
                answer(502, &[], ""),
                Err("connection reset".into()),
                answer(200, &[("link", "<https://x/?page=2>; rel=\"next\"")], "[1]"),
            ],
            Policy::default(),
        );
        let fetched = api.get("/x", &Quiet).await.unwrap();
        assert!(fetched.has_next);
        assert_eq!(
            *api.clock.slept.lock().unwrap(),
            vec![Duration::from_secs(1), Duration::from_secs(2)]
        );
    }

    #[tokio::test]
    async fn retries_run_out_and_the_last_error_is_told() {
        let api = api(
            vec![answer(500, &[], r#"{"message":"Server Error"}"#)],
            Policy {
                retries: 0,
                ..Policy::default()
            },
        );
        let error = api.get("/x", &Quiet).await.unwrap_err();
        assert_eq!(error.status(), Some(500));
        assert_eq!(error.to_string(), "GET /x answered 500: Server Error");
    }

    #[tokio::test]
    async fn a_refusal_is_not_retried() {
        let api = api(
            vec![answer(404, &[], r#"{"message":"Not Found"}"#)],
            Policy::default(),
        );
        assert_eq!(api.get("/x", &Quiet).await.unwrap_err().status(), Some(404));
        assert_eq!(api.requests(), 1);
    }

    #[test]
    fn link_header_tells_whether_a_next_page_exists() {
        let both = r#"<https://api.github.com/repositories/1/deployments?page=2>; rel="next", <https://api.github.com/repositories/1/deployments?page=5>; rel="last""#;
        assert!(has_next(Some(both)));
        assert!(!has_next(Some(
            r#"<https://x/?page=1>; rel="prev", <https://x/?page=1>; rel="first""#
        )));
        assert!(!has_next(None));
    }
}
