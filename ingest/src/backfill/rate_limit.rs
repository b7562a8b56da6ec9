//! How long GitHub asks a client to wait before asking again, read from one answer's
//! status and headers (docs: "Rate limits for the REST API"), with the time passed in
//! so the rule is tested without a clock; and the clock the backfill waits on.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use shiplog_model::Timestamp;

/// GitHub's advice when a `429` (or a secondary-limit `403`) says no more than that:
/// "wait at least one minute before retrying".
pub const DEFAULT_SECONDARY_WAIT: Duration = Duration::from_secs(60);

/// Why and until when to wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wait {
    pub duration: Duration,
    pub until: Timestamp,
    pub reason: &'static str,
}

fn header<'a>(headers: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.trim())
}

/// The wait a rate-limited answer asks for, or `None` when the answer is not a rate
/// limit (then a `403` is a real refusal: a token without access).
///
/// - `Retry-After: N` (seconds) on a `403` or `429`: wait N seconds.
/// - `x-ratelimit-remaining: 0` with `x-ratelimit-reset: EPOCH`: wait until that second
///   and one more (GitHub's clock and ours may differ by a little); a reset already in
///   the past means at once.
/// - a `429`, or a `403` whose message names the secondary rate limit, with neither:
///   one minute.
///
/// `headers` are lower-case names.
pub fn wait_for(
    status: u16,
    headers: &BTreeMap<String, String>,
    body: &str,
    now: Timestamp,
) -> Option<Wait> {
    if status != 403 && status != 429 {
        return None;
    }
    let after = |duration: Duration, reason| Wait {
        duration,
        until: now + chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::zero()),
        reason,
    };
    if let Some(seconds) = header(headers, "retry-after").and_then(|v| v.parse::<u64>().ok()) {
        return Some(after(Duration::from_secs(seconds), "asked to retry later"));
    }
    let remaining = header(headers, "x-ratelimit-remaining").and_then(|v| v.parse::<u64>().ok());
    let reset = header(headers, "x-ratelimit-reset").and_then(|v| v.parse::<i64>().ok());
    if let (Some(0), Some(reset)) = (remaining, reset) {
        let seconds = reset - now.timestamp();
        let duration = if seconds >= 0 {
            Duration::from_secs(seconds as u64 + 1)
        } else {
            Duration::ZERO
        };
        return Some(after(duration, "rate limit reached"));
    }
    if status == 429 || body.to_lowercase().contains("secondary rate limit") {
        return Some(after(DEFAULT_SECONDARY_WAIT, "secondary rate limit"));
    }
    None
}

/// The wall clock and sleeping, behind a trait so that tests neither read the real
/// time nor wait.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        chrono::Utc::now()
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shiplog_model::parse_timestamp;

    fn headers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn now() -> Timestamp {
        // 1_773_230_400 is 2026-03-11T12:00:00Z.
        parse_timestamp("2026-03-11T12:00:00Z").unwrap()
    }

    #[test]
    fn exhausted_limit_waits_until_the_reset_second_and_one_more() {
        let h = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1773231000"),
        ]);
        let wait = wait_for(403, &h, "{}", now()).unwrap();
        assert_eq!(wait.duration, Duration::from_secs(601));
        assert_eq!(wait.until, parse_timestamp("2026-03-11T12:10:01Z").unwrap());
        assert_eq!(
            wait_for(429, &h, "{}", now()).unwrap().duration,
            Duration::from_secs(601)
        );
    }

    #[test]
    fn reset_in_the_past_retries_at_once() {
        let h = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1700000000"),
        ]);
        assert_eq!(
            wait_for(403, &h, "{}", now()).unwrap().duration,
            Duration::ZERO
        );
    }

    #[test]
    fn retry_after_wins_over_the_reset_time() {
        let h = headers(&[
            ("retry-after", "30"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1773231000"),
        ]);
        assert_eq!(
            wait_for(403, &h, "", now()).unwrap().duration,
            Duration::from_secs(30)
        );
    }

    #[test]
    fn bare_429_and_secondary_403_wait_a_minute() {
        let none = headers(&[]);
        assert_eq!(
            wait_for(429, &none, "", now()).unwrap().duration,
            DEFAULT_SECONDARY_WAIT
        );
        let body =
            r#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes."}"#;
        assert_eq!(
            wait_for(403, &none, body, now()).unwrap().duration,
            DEFAULT_SECONDARY_WAIT
        );
    }

    #[test]
    fn forbidden_with_quota_left_is_a_refusal_not_a_limit() {
        let h = headers(&[
            ("x-ratelimit-remaining", "4000"),
            ("x-ratelimit-reset", "1773231000"),
        ]);
        assert_eq!(
            wait_for(403, &h, r#"{"message":"Resource not accessible"}"#, now()),
            None
        );
        assert_eq!(
            wait_for(500, &headers(&[("retry-after", "5")]), "", now()),
            None
        );
    }
}
